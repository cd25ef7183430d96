/* Where containerd's definitions live and how protoc is run against them. */
#include "proto-oracle.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ttrpc-oracle.h"

/* GOCODE_DIR, PROTOC_INCLUDE_DIR and OUR_PROTO_DIR come from meson. */
#define CONTAINERD "github.com/containerd/containerd/"
#define CGROUPS "github.com/containerd/cgroups/"
#define TTRPC_TYPES_GO GOCODE_DIR "/github.com/containerd/ttrpc/types.go"
/* Written into the work dir by proto_oracle_setup(). */
#define TTRPC_ORACLE_PROTO "ttrpc-oracle.proto"

G_DEFINE_QUARK(conformance_error, conformance_error)

static const char *const mount_files[] = {CONTAINERD "api/types/mount.proto", NULL};
static const char *const task_type_files[] = {CONTAINERD "api/types/task/task.proto", NULL};
static const char *const shim_files[] = {CONTAINERD "runtime/v2/task/shim.proto", NULL};
static const char *const task_event_files[] = {CONTAINERD "api/events/task.proto", NULL};
static const char *const events_ttrpc_files[] = {
    CONTAINERD "api/services/ttrpc/events/v1/events.proto", NULL};
static const char *const cgroups_v1_files[] = {CGROUPS "stats/v1/metrics.proto", NULL};
static const char *const cgroups_v2_files[] = {CGROUPS "v2/stats/metrics.proto", NULL};
static const char *const runtimeoptions_files[] = {CONTAINERD "pkg/runtimeoptions/v1/api.proto",
                                                   NULL};
static const char *const wellknown_files[] = {"google/protobuf/any.proto",
                                              "google/protobuf/timestamp.proto",
                                              "google/protobuf/empty.proto", NULL};
static const char *const status_files[] = {"google/rpc/status.proto", NULL};
static const char *const ttrpc_files[] = {TTRPC_ORACLE_PROTO, NULL};

const ProtoOracle proto_oracles[] = {
    {"containerd.types", mount_files, TRUE},
    /* task.proto also has Process, which the shim API does not use. */
    {"containerd.v1.types", task_type_files, FALSE},
    {"containerd.task.v2", shim_files, TRUE},
    {"containerd.events", task_event_files, TRUE},
    {"containerd.services.events.ttrpc.v1", events_ttrpc_files, TRUE},
    {"io.containerd.cgroups.v1", cgroups_v1_files, TRUE},
    {"io.containerd.cgroups.v2", cgroups_v2_files, TRUE},
    {"runtimeoptions.v1", runtimeoptions_files, TRUE},
    {"google.protobuf", wellknown_files, TRUE},
    {"google.rpc", status_files, TRUE},
    /* types.go also has StringList, which no ttrpc v1.1 frame carries. */
    {"ttrpc", ttrpc_files, FALSE},
    {NULL, NULL, FALSE},
};

/* Where the oracle's imports resolve: containerd's "github.com/..." paths, cgroups'
 * "gogoproto/gogo.proto", "google/rpc/status.proto" and protoc's own well-known types. */
static const char *const oracle_include_dirs[] = {
    GOCODE_DIR,
    GOCODE_DIR "/github.com/gogo/protobuf",
    GOCODE_DIR "/github.com/gogo/googleapis",
    PROTOC_INCLUDE_DIR,
    NULL,
};

/* Files the oracle needs besides those in proto_oracles[] (imports). */
static const char *const oracle_imports[] = {
    "gogoproto/gogo.proto",
    CONTAINERD "protobuf/plugin/fieldpath.proto",
    "google/protobuf/descriptor.proto",
    NULL,
};

const ProtoOracle *proto_oracle_find(const char *package)
{
    for (const ProtoOracle *oracle = proto_oracles; oracle->package; oracle++) {
        if (g_str_equal(oracle->package, package))
            return oracle;
    }
    return NULL;
}

gboolean proto_oracle_is_ours_only(const char *package)
{
    /* The agent's API, and the shim's debug service for `secure-container`. */
    return g_str_equal(package, "secure.agent.v1") || g_str_equal(package, "secure.debug.v1");
}

static const ProtoNewerField newer_fields[] = {
    /* containerd 1.7 added config_body (pkg/runtimeoptions/v1/api.proto); 1.6 skips it as an
     * unknown field. */
    {"runtimeoptions.v1.Options", 3, "config_body", PROTOBUF_C_TYPE_BYTES},
};

const ProtoNewerField *proto_oracle_newer_field(const char *message, guint32 number)
{
    for (gsize i = 0; i < G_N_ELEMENTS(newer_fields); i++) {
        if (g_str_equal(newer_fields[i].message, message) && newer_fields[i].number == number)
            return &newer_fields[i];
    }
    return NULL;
}

static gboolean oracle_file_exists(const char *relative)
{
    for (const char *const *dir = oracle_include_dirs; *dir; dir++) {
        g_autofree char *path = g_build_filename(*dir, relative, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return TRUE;
    }
    return FALSE;
}

char *proto_oracle_find_missing(void)
{
    g_autofree char *protoc = g_find_program_in_path("protoc");
    if (!protoc)
        return g_strdup("protoc is not installed (Debian package protobuf-compiler)");
    if (!g_file_test(TTRPC_TYPES_GO, G_FILE_TEST_IS_REGULAR))
        return g_strdup_printf("'%s' is missing (golang-github-containerd-ttrpc-dev)",
                               TTRPC_TYPES_GO);
    for (const char *const *file = oracle_imports; *file; file++) {
        if (!oracle_file_exists(*file))
            return g_strdup_printf("containerd's proto import '%s' is missing "
                                   "(golang-github-containerd-containerd-dev, libprotobuf-dev)",
                                   *file);
    }
    for (const ProtoOracle *oracle = proto_oracles; oracle->package; oracle++) {
        for (const char *const *file = oracle->files; *file; file++) {
            if (!g_str_equal(*file, TTRPC_ORACLE_PROTO) && !oracle_file_exists(*file))
                return g_strdup_printf("containerd's '%s' is missing "
                                       "(golang-github-containerd-containerd-dev)",
                                       *file);
        }
    }
    return NULL;
}

char *proto_oracle_setup(GError **error)
{
    g_autofree char *workdir = g_dir_make_tmp("sc-proto-conformance-XXXXXX", error);
    if (!workdir)
        return NULL;
    g_autofree char *ttrpc_proto = g_build_filename(workdir, TTRPC_ORACLE_PROTO, NULL);
    if (!ttrpc_oracle_write(TTRPC_TYPES_GO, ttrpc_proto, error)) {
        proto_oracle_cleanup(workdir);
        return NULL;
    }
    return g_steal_pointer(&workdir);
}

gboolean proto_oracle_cleanup(const char *workdir)
{
    g_autofree char *ttrpc_proto = g_build_filename(workdir, TTRPC_ORACLE_PROTO, NULL);
    if (g_unlink(ttrpc_proto) < 0 && errno != ENOENT)
        return FALSE;
    return g_rmdir(workdir) == 0;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* All our .proto files, sorted, so protoc knows every package of ours at once. */
static GPtrArray *our_proto_files(GError **error)
{
    g_autoptr(GDir) dir = g_dir_open(OUR_PROTO_DIR, 0, error);
    if (!dir)
        return NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir))) {
        if (g_str_has_suffix(name, ".proto"))
            g_ptr_array_add(files, g_strdup(name));
    }
    g_ptr_array_sort(files, compare_strings);
    return g_steal_pointer(&files);
}

/* protoc's command line (NULL-terminated) with @side's definitions. */
static GPtrArray *protoc_argv(const char *workdir, ProtoSide side, const char *package,
                              const char *const *modes, GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup("protoc"));
    for (const char *const *mode = modes; *mode; mode++)
        g_ptr_array_add(argv, g_strdup(*mode));
    if (side == PROTO_SIDE_OURS) {
        g_autoptr(GPtrArray) files = our_proto_files(error);
        if (!files)
            return NULL;
        g_ptr_array_add(argv, g_strdup("-I" OUR_PROTO_DIR));
        for (guint i = 0; i < files->len; i++)
            g_ptr_array_add(argv, g_strdup(files->pdata[i]));
        g_ptr_array_add(argv, NULL);
        return g_steal_pointer(&argv);
    }

    const ProtoOracle *oracle = proto_oracle_find(package);
    if (!oracle) {
        g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_ORACLE,
                    "containerd has no package '%s'", package);
        return NULL;
    }
    g_ptr_array_add(argv, g_strconcat("-I", workdir, NULL));
    for (const char *const *dir = oracle_include_dirs; *dir; dir++)
        g_ptr_array_add(argv, g_strconcat("-I", *dir, NULL));
    for (const char *const *file = oracle->files; *file; file++)
        g_ptr_array_add(argv, g_strdup(*file));
    g_ptr_array_add(argv, NULL);
    return g_steal_pointer(&argv);
}

static GBytes *protoc_run(const char *workdir, ProtoSide side, const char *package,
                          const char *const *modes, GBytes *input, GError **error)
{
    g_autoptr(GPtrArray) argv = protoc_argv(workdir, side, package, modes, error);
    if (!argv)
        return NULL;

    g_autoptr(GSubprocess) protoc =
        g_subprocess_newv((const char *const *)argv->pdata,
                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE,
                          error);
    g_autoptr(GBytes) no_input = g_bytes_new_static("", 0);
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GBytes) err = NULL;
    if (!protoc ||
        !g_subprocess_communicate(protoc, input ? input : no_input, NULL, &out, &err, error)) {
        g_prefix_error(error, "protoc %s: ", modes[0]);
        return NULL;
    }
    if (!g_subprocess_get_if_exited(protoc) || g_subprocess_get_exit_status(protoc) != 0) {
        g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_PROTOC,
                    "protoc %s with %s definitions failed: %.*s", modes[0],
                    side == PROTO_SIDE_ORACLE ? "containerd's" : "our", (int)g_bytes_get_size(err),
                    (const char *)g_bytes_get_data(err, NULL));
        return NULL;
    }
    return g_steal_pointer(&out);
}

GBytes *proto_oracle_protoc(const char *workdir, ProtoSide side, const char *package,
                            const char *mode, GBytes *input, GError **error)
{
    const char *const modes[] = {mode, NULL};
    return protoc_run(workdir, side, package, modes, input, error);
}

Google__Protobuf__FileDescriptorSet *proto_oracle_descriptors(const char *workdir,
                                                              const char *package, GError **error)
{
    const char *const modes[] = {"--descriptor_set_out=/dev/stdout", "--include_imports", NULL};
    g_autoptr(GBytes) set = protoc_run(workdir, PROTO_SIDE_ORACLE, package, modes, NULL, error);
    if (!set)
        return NULL;
    gsize size;
    const guint8 *data = g_bytes_get_data(set, &size);
    Google__Protobuf__FileDescriptorSet *descriptors =
        google__protobuf__file_descriptor_set__unpack(NULL, size, data);
    if (!descriptors)
        g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_PROTOC,
                    "protoc's descriptor set for '%s' does not parse", package);
    return descriptors;
}
