/* oci-name.h: character checks of the names a spec hands to the kernel (mount options and
 * types, sysctl keys, cgroup file names, cpu lists), in plain C. They replace regular
 * expressions: GLib's PCRE2 costs a compile per call, and its `$` also matched before a final
 * line break, which let "name\n" through. */
#pragma once

#include <glib.h>

#define OCI_NAME_LOWER "abcdefghijklmnopqrstuvwxyz"
#define OCI_NAME_UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define OCI_NAME_DIGIT "0123456789"
#define OCI_NAME_ALNUM OCI_NAME_LOWER OCI_NAME_UPPER OCI_NAME_DIGIT

/* TRUE when `s` has at least `min` characters and all are from `set`. */
gboolean oci_name_is(const char *s, const char *set, gsize min);

/* TRUE when `s` is one or more non-empty words of `set` joined by single `sep` characters
 * ("a.b.c", not ".a", "a..b" or "a."). */
gboolean oci_name_is_joined(const char *s, const char *set, char sep);
