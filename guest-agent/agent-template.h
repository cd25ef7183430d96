/* PrepareTemplate: a VM about to be saved as a template gets its free memory zeroed, so that the
 * pages its guest freed are saved as zero pages and no pod resumed from it holds them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Left free while the rest is zeroed: the kernel's own needs in the meantime (the agent is the
 * guest's init, which the OOM killer cannot pick). */
#define AGENT_TEMPLATE_RESERVE_MIB 32

/* Takes the guest's free memory but AGENT_TEMPLATE_RESERVE_MIB at once, populated (zeroed by
 * the kernel), and releases it; *@out_zeroed is how many bytes. With @may_change FALSE (host
 * mode) it fails with AGENT_ERROR_STATE instead. */
gboolean agent_template_prepare(gboolean may_change, guint64 *out_zeroed, GError **error);

G_END_DECLS
