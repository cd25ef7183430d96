/* Unix socket details shared by the client and the server. */
#pragma once

#include <glib.h>
#include <sys/un.h>

/* Fills @out_addr for @path; fails when the path does not fit in sun_path. */
gboolean ttrpc_unix_address(const char *path, struct sockaddr_un *out_addr, GError **error);

/* containerd's rule for unix sockets: the peer must have our own euid and egid. */
gboolean ttrpc_unix_peer_is_same_user(int fd);
