/* `containerd-shim-secure-v2 start`: find or create the pod's shim and print its address. */
#pragma once

#include <glib.h>

#include "shim-args.h"

#define SHIM_SOCKET_DIR "/run/containerd/s"

/* "<SHIM_SOCKET_DIR>/<hex sha256(grpc_address/namespace/group)>", as containerd's own shims
 * compute it, so that one pod always maps to one socket. */
char *shim_start_socket_path(const char *grpc_address, const char *namespace, const char *group);

/* TRUE if a shim accepts connections on the unix socket @path. */
gboolean shim_start_socket_answers(const char *path);

/* Runs the start action with the working directory as the bundle; @stdin_fd carries the runtime
 * options. Prints the address on stdout on success. */
gboolean shim_start(const ShimArgs *args, int stdin_fd, GError **error);
