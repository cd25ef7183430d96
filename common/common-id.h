/* common-id.h: the rules for names that come from outside: the ids of pods, containers and exec
 * processes, and network interface names. An id becomes a file name, a cgroup name and part of a
 * VM name, so it is held to a short portable alphabet; an interface name to the same. */
#pragma once

#include <glib.h>

#define COMMON_ID_MAX 64
/* The rule in words, for error messages. */
#define COMMON_ID_RULE "1..64 characters of [A-Za-z0-9_.-] without a leading '.'"

/* TRUE if @id (NULL is refused) is 1..COMMON_ID_MAX characters of [A-Za-z0-9_.-] and does not
 * start with '.' (so never "." or ".."). */
gboolean common_id_is_valid(const char *id);

/* common_id_is_valid(), with an error in the caller's @domain and @code naming @what ("container
 * id"): the error text quotes the id escaped, as it may come from a peer. */
gboolean common_id_check(const char *what, const char *id, GQuark domain, gint code,
                         GError **error);

/* The longest interface name the kernel takes (IFNAMSIZ - 1). */
#define COMMON_IFNAME_MAX 15

/* TRUE if @name (NULL is refused) is 1..COMMON_IFNAME_MAX characters of [A-Za-z0-9_.-] and not
 * "." or "..". The kernel takes more, but a name from the host ends up in logs and tools. */
gboolean common_ifname_is_valid(const char *name);
