/* Runs a fuzz target's LLVMFuzzerTestOneInput() once on every file named on the command line
 * (directories: every file inside, in name order), so the corpus is a regression test in every
 * `meson test`. With -Dfuzzing=true, libFuzzer's own main() is used instead of this one. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean run_file(const char *path, guint *count)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *contents = NULL;
    gsize len;
    if (!g_file_get_contents(path, &contents, &len, &error)) {
        fprintf(stderr, "fuzz-main: %s\n", error->message);
        return FALSE;
    }
    /* A copy of exactly @len bytes, so the sanitizers see any read past the input. */
    g_autofree uint8_t *input = g_memdup2(contents, len);
    LLVMFuzzerTestOneInput(input, len);
    (*count)++;
    return TRUE;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static gboolean run_dir(const char *path, guint *count)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(path, 0, &error);
    if (dir == NULL) {
        fprintf(stderr, "fuzz-main: %s\n", error->message);
        return FALSE;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *name; (name = g_dir_read_name(dir)) != NULL;)
        g_ptr_array_add(names, g_build_filename(path, name, NULL));
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *file = g_ptr_array_index(names, i);
        if (g_file_test(file, G_FILE_TEST_IS_REGULAR) && !run_file(file, count))
            return FALSE;
    }
    return TRUE;
}

int main(int argc, char **argv)
{
    guint count = 0;
    for (int i = 1; i < argc; i++) {
        gboolean ok = g_file_test(argv[i], G_FILE_TEST_IS_DIR) ? run_dir(argv[i], &count)
                                                               : run_file(argv[i], &count);
        if (!ok)
            return EXIT_FAILURE;
    }
    if (count == 0) {
        fprintf(stderr, "fuzz-main: no inputs: an empty corpus tests nothing\n");
        return EXIT_FAILURE;
    }
    printf("fuzz-main: %u inputs ran\n", count);
    return EXIT_SUCCESS;
}
