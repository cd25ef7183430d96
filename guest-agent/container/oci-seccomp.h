/* oci-seccomp.h: compiles an OCI linux.seccomp object into a BPF program with libseccomp. */
#pragma once

#include <json-c/json.h>
#include <linux/filter.h>

#include "container.h"

/* Compiles `seccomp` to BPF at parse time, so that the cloned child only has to load it with
 * seccomp(SECCOMP_SET_MODE_FILTER, *out_flags, ...). *out_filter is a new array of *out_len
 * instructions. A syscall name this libseccomp does not know is skipped in an allow rule (the
 * call then gets the default action) and is an error in any other rule; unknown actions,
 * architectures, operators and flags are errors. */
gboolean oci_seccomp_compile(json_object *seccomp, struct sock_filter **out_filter, gsize *out_len,
                             unsigned int *out_flags, GError **error);
