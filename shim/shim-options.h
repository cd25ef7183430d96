/* containerd's runtime options: what `start` reads on stdin and Create carries in `options`. */
#pragma once

#include <glib.h>

#define SHIM_OPTIONS_TYPE_URL "runtimeoptions.v1.Options"

/* Decodes @data (0 bytes: no options) as containerd 1.6-2.2 send it (an Any) or as 2.3+ does (a
 * BootstrapParams whose extensions carry the Any). Sets *@out_config_path to the options'
 * ConfigPath (NULL when none is given). Fails on bytes that are neither, or on an options type
 * this shim does not understand. */
gboolean shim_options_decode(const guint8 *data, gsize len, char **out_config_path, GError **error);
