/* oci-name.c: character checks of names from the spec (see oci-name.h). */
#include "oci-name.h"

#include <string.h>

gboolean oci_name_is(const char *s, const char *set, gsize min)
{
    gsize n = strspn(s, set);
    return n >= min && s[n] == '\0';
}

gboolean oci_name_is_joined(const char *s, const char *set, char sep)
{
    for (;;) {
        gsize n = strspn(s, set);
        if (n == 0)
            return FALSE;
        if (s[n] == '\0')
            return TRUE;
        if (s[n] != sep)
            return FALSE;
        s += n + 1;
    }
}
