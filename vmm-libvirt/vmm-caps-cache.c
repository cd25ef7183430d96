/* libvirt's QEMU capabilities cache, shared by every pod's embedded driver (VmmConfig.cache_dir),
 * tuned for fast VM starts.
 *
 * After QEMU starts (a boot or a restore), libvirt 9.0 reads the guest CPU's features back. With
 * the "cpu-unavailable-features" capability it asks QEMU for every CPU property, one qom-get
 * each: about 400 monitor round trips, 600 ms of each pod start under TCG here (more than
 * loading the whole VM template). Without it libvirt asks for the CPUID words and the filtered
 * features, two round trips for the same information: its path for QEMUs that predate the
 * capability. So the cache goes without the flag. libvirt keeps a cache entry as long as QEMU
 * and libvirt are unchanged, and a reprobe (a new QEMU) writes the flag back, which the next
 * pod's start removes again. */
#include <string.h>

#include "vmm-internal.h"

#define CAPS_FLAG_LINE "  <flag name='cpu-unavailable-features'/>\n"

/* Rewrites @path without CAPS_FLAG_LINE, atomically: an embedded driver reading it at the same
 * time sees the old file or the new one. */
static gboolean drop_flag(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    g_autofree char *tuned = NULL;
    char *flag;

    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    flag = strstr(text, CAPS_FLAG_LINE);
    if (flag == NULL)
        return TRUE;
    tuned = g_strdup_printf("%.*s%s", (int)(flag - text), text, flag + strlen(CAPS_FLAG_LINE));
    return g_file_set_contents_full(path, tuned, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

void vmm_caps_cache_tune(const char *cache_dir)
{
    g_autofree char *dir = g_build_filename(cache_dir, "qemu", "capabilities", NULL);
    g_autoptr(GDir) entries = g_dir_open(dir, 0, NULL);
    const char *name;

    /* No cache yet: this start's driver probes QEMU and writes it; the next start tunes it. */
    if (entries == NULL)
        return;
    while ((name = g_dir_read_name(entries)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autoptr(GError) error = NULL;

        if (g_str_has_suffix(name, ".xml") && !drop_flag(path, &error))
            g_warning("libvirt capabilities cache: %s (VM starts stay slower)", error->message);
    }
}
