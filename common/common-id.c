/* common-id.c: the id rule and the interface name rule. */
#include "common-id.h"

#include <string.h>

/* 1..@max characters of [A-Za-z0-9_.-]. */
static gboolean plain_name(const char *name, gsize max)
{
    gsize len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > max)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && strchr("_.-", name[i]) == NULL)
            return FALSE;
    }
    return TRUE;
}

gboolean common_id_is_valid(const char *id)
{
    return plain_name(id, COMMON_ID_MAX) && id[0] != '.';
}

gboolean common_ifname_is_valid(const char *name)
{
    return plain_name(name, COMMON_IFNAME_MAX) && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
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
