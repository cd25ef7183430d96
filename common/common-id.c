/* common-id.c: the id rule. */
#include "common-id.h"

#include <string.h>

gboolean common_id_is_valid(const char *id)
{
    gsize len = id != NULL ? strlen(id) : 0;

    if (len == 0 || len > COMMON_ID_MAX || id[0] == '.')
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isalnum(id[i]) && strchr("_.-", id[i]) == NULL)
            return FALSE;
    }
    return TRUE;
}

gboolean common_id_check(const char *what, const char *id, GQuark domain, gint code, GError **error)
{
    if (common_id_is_valid(id))
        return TRUE;
    /* A long id is not repeated whole: it may be anything a peer sent. */
    g_autofree char *shown =
        id == NULL ? g_strdup("(unset)")
                   : g_strescape(strlen(id) > COMMON_ID_MAX ? "(too long)" : id, NULL);
    g_set_error(error, domain, code, "%s '%s' is not " COMMON_ID_RULE, what, shown);
    return FALSE;
}
