/* Unix socket details shared by the client and the server. */
#include "ttrpc-unix.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ttrpc.h"

gboolean ttrpc_unix_address(const char *path, struct sockaddr_un *out_addr, GError **error)
{
    memset(out_addr, 0, sizeof(*out_addr));
    out_addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(out_addr->sun_path)) {
        g_set_error(error, TTRPC_ERROR, TTRPC_CODE_INVALID_ARGUMENT, "socket path '%s' is too long",
                    path);
        return FALSE;
    }
    strcpy(out_addr->sun_path, path);
    return TRUE;
}

gboolean ttrpc_unix_peer_is_same_user(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        g_debug("SO_PEERCRED: %s", g_strerror(errno));
        return FALSE;
    }
    if (cred.uid != geteuid() || cred.gid != getegid()) {
        g_debug("refusing peer pid %d with uid %u gid %u", (int)cred.pid, (unsigned)cred.uid,
                (unsigned)cred.gid);
        return FALSE;
    }
    return TRUE;
}
