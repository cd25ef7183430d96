/* Per-pod state file. Every write goes through g_file_set_contents(), which writes a temp file,
 * fsyncs it and renames it over the old one: a crash leaves the old or the new state, never a
 * mix. */
#include "shim-state.h"

#include <sys/stat.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "shim-error.h"

#define CONTAINER_PREFIX "container "

void shim_state_free(ShimState *state)
{
    if (!state)
        return;
    g_key_file_free(state->file);
    g_free(state->dir);
    g_free(state->path);
    g_free(state);
}

char *shim_state_pod_dir(const char *pod)
{
    /* libvirt's embedded driver puts unix sockets a few levels below this directory, and
     * socket paths are limited to 107 bytes: 64 bits of the hash keep it short and unique. */
    g_autofree char *name = g_strndup(pod, SHIM_STATE_POD_NAME_LEN);
    return g_build_filename(SHIM_STATE_ROOT, name, NULL);
}

static ShimState *state_new(const char *dir)
{
    ShimState *state = g_new0(ShimState, 1);
    state->dir = g_strdup(dir);
    state->path = g_build_filename(dir, "state", NULL);
    state->file = g_key_file_new();
    return state;
}

ShimState *shim_state_load(const char *dir, GError **error)
{
    g_autoptr(ShimState) state = state_new(dir);
    if (!g_key_file_load_from_file(state->file, state->path, G_KEY_FILE_NONE, error)) {
        g_prefix_error(error, "state '%s': ", state->path);
        return NULL;
    }
    return g_steal_pointer(&state);
}

ShimState *shim_state_open(const char *dir, GError **error)
{
    /* The root mode 0711: a pod's QEMU, which runs as the pod's own uid, passes through it to
     * its files in the pod's directory (vmm-libvirt makes that one 0711 too); nobody lists it. */
    if (g_mkdir_with_parents(dir, 0700) < 0 || chmod(SHIM_STATE_ROOT, 0711) < 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "mkdir '%s': %s", dir,
                    g_strerror(err));
        return NULL;
    }
    g_autoptr(GError) local = NULL;
    ShimState *state = shim_state_load(dir, &local);
    if (state)
        return state;
    if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    return state_new(dir);
}

gboolean shim_state_save(ShimState *state, GError **error)
{
    gsize len;
    g_autofree char *data = g_key_file_to_data(state->file, &len, NULL);
    if (!g_file_set_contents_full(state->path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT,
                                  0600, error)) {
        g_prefix_error(error, "state '%s': ", state->path);
        return FALSE;
    }
    return TRUE;
}

static char *group_of(const char *container)
{
    return container ? g_strconcat(CONTAINER_PREFIX, container, NULL) : g_strdup(SHIM_STATE_POD);
}

char *shim_state_get(ShimState *state, const char *container, const char *key)
{
    g_autofree char *group = group_of(container);
    return g_key_file_get_value(state->file, group, key, NULL);
}

void shim_state_set(ShimState *state, const char *container, const char *key, const char *value)
{
    g_autofree char *group = group_of(container);
    if (value)
        g_key_file_set_value(state->file, group, key, value);
    else
        g_key_file_remove_key(state->file, group, key, NULL);
}

void shim_state_set_int(ShimState *state, const char *container, const char *key, gint64 value)
{
    g_autofree char *group = group_of(container);
    g_key_file_set_int64(state->file, group, key, value);
}

gint64 shim_state_get_int(ShimState *state, const char *container, const char *key)
{
    g_autofree char *group = group_of(container);
    return g_key_file_get_int64(state->file, group, key, NULL);
}

void shim_state_remove_container(ShimState *state, const char *container)
{
    g_autofree char *group = group_of(container);
    g_key_file_remove_group(state->file, group, NULL);
}

GStrv shim_state_containers(ShimState *state)
{
    g_auto(GStrv) groups = g_key_file_get_groups(state->file, NULL);
    g_autoptr(GStrvBuilder) ids = g_strv_builder_new();
    for (gsize i = 0; groups[i]; i++)
        if (g_str_has_prefix(groups[i], CONTAINER_PREFIX))
            g_strv_builder_add(ids, groups[i] + strlen(CONTAINER_PREFIX));
    return g_strv_builder_end(ids);
}
