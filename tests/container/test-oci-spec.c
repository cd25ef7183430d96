/* test-oci-spec: OCI spec parsing and validation (no root needed). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "container-devices.h"
#include "container.h"
#include "oci-spec-private.h"
#include "test-util.h"

/* A spec like containerd's default, with one seccomp rule; @PROCESS@ etc. are replaced. */
static const char base_spec[] =
    "{\"ociVersion\": \"1.1.0\","
    " \"process\": {\"terminal\": false, \"user\": {\"uid\": 1000, \"gid\": 1000,"
    "   \"additionalGids\": [10, 20]},"
    "  \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"PATH=/bin\", \"A=b\"], \"cwd\": \"/tmp\","
    "  \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"effective\": "
    "[\"CAP_KILL\"],"
    "   \"permitted\": [\"CAP_KILL\"], \"inheritable\": [], \"ambient\": []},"
    "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 512}],"
    "  \"noNewPrivileges\": true, \"oomScoreAdj\": 100},"
    " \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
    " \"hostname\": \"box\","
    " \"hooks\": {},"
    " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
    "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
    "  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\","
    "   \"options\": [\"rbind\", \"ro\", \"rprivate\"]}],"
    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": "
    "\"uts\"}],"
    "  \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}],"
    "   \"memory\": {\"limit\": 33554432, \"swap\": 67108864}, \"pids\": {\"limit\": 64},"
    "   \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000}},"
    "  \"cgroupsPath\": \"/default/x\","
    "  \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],"
    "  \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": "
    "[\"SCMP_ARCH_X86_64\"],"
    "   \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\","
    "     \"errnoRet\": 18},"
    "    {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\","
    "     \"args\": [{\"index\": 1, \"value\": 10, \"op\": \"SCMP_CMP_EQ\"}]}]}}}";

/* base_spec with the first occurrence of `from` replaced by `to`. */
static char *spec_with(const char *from, const char *to)
{
    const char *at = strstr(base_spec, from);
    ck_assert_msg(at != NULL, "'%s' not in the base spec", from);
    return g_strdup_printf("%.*s%s%s", (int)(at - base_spec), base_spec, to, at + strlen(from));
}

static void assert_rejected(const char *json, int code, const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(OciSpec) spec = oci_spec_parse(json, strlen(json), &error);
    ck_assert_msg(spec == NULL, "accepted: %s", json);
    ck_assert_msg(g_error_matches(error, CONTAINER_ERROR, code), "error %d '%s', expected code %d",
                  error->code, error->message, code);
    ck_assert_msg(strstr(error->message, needle) != NULL, "'%s' does not name '%s'", error->message,
                  needle);
}

static void assert_replacement_rejected(const char *from, const char *to, int code,
                                        const char *needle)
{
    g_autofree char *json = spec_with(from, to);
    assert_rejected(json, code, needle);
}

START_TEST(test_valid_spec)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(OciSpec) spec = oci_spec_parse(base_spec, strlen(base_spec), &error);
    ck_assert_msg(spec != NULL, "%s", error ? error->message : "");
    const OciProcess *p = oci_spec_get_process(spec);
    ck_assert_uint_eq(p->uid, 1000);
    ck_assert_uint_eq(p->n_additional_gids, 2);
    ck_assert_uint_eq(p->additional_gids[1], 20);
    ck_assert_str_eq(p->args[2], "true");
    ck_assert_str_eq(p->env[1], "A=b");
    ck_assert_str_eq(p->cwd, "/tmp");
    ck_assert_uint_eq(p->caps.bounding, (1u << CAP_CHOWN) | (1u << CAP_KILL));
    ck_assert_uint_eq(p->caps.effective, 1u << CAP_KILL);
    ck_assert_uint_eq(p->n_rlimits, 1);
    ck_assert_int_eq(p->rlimits[0].resource, RLIMIT_NOFILE);
    ck_assert_uint_eq(p->rlimits[0].soft, 512);
    ck_assert(p->no_new_privileges);
    ck_assert_int_eq(p->oom_score_adj, 100);
    ck_assert(!oci_process_get_terminal(p));
    ck_assert(spec->root_readonly);
    ck_assert_str_eq(spec->hostname, "box");
    ck_assert_uint_eq(spec->n_mounts, 3);
    ck_assert_str_eq(spec->mounts[1].data, "mode=755,size=65536k");
    ck_assert_uint_eq(spec->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
    ck_assert(spec->mounts[2].bind && spec->mounts[2].recursive);
    ck_assert_uint_eq(spec->mounts[2].flags, MS_RDONLY);
    ck_assert_uint_eq(spec->mounts[2].propagation, MS_PRIVATE | MS_REC);
    ck_assert_int_eq(spec->resources.memory_limit, 33554432);
    ck_assert_int_eq(spec->resources.memory_swap, 67108864);
    ck_assert_int_eq(spec->resources.pids_limit, 64);
    ck_assert_int_eq(spec->resources.cpu_quota, 50000);
    ck_assert_ptr_nonnull(spec->seccomp_filter);
    ck_assert_uint_gt(spec->seccomp_len, 4);
    ck_assert_str_eq(spec->masked_paths[0], "/proc/kcore");
}
END_TEST

START_TEST(test_malformed_json)
{
    assert_rejected("{\"ociVersion\": ", CONTAINER_ERROR_INVALID, "not valid JSON");
    assert_rejected("[1, 2]", CONTAINER_ERROR_INVALID, "not a JSON object");
    assert_rejected("{} {}", CONTAINER_ERROR_INVALID, "JSON");
    assert_rejected("", CONTAINER_ERROR_INVALID, "empty");
    /* json-c's lenient extensions (comments, single quotes) are off. */
    assert_rejected("{'ociVersion': '1.0.0'}", CONTAINER_ERROR_INVALID, "not valid JSON");
    /* Nesting deeper than any real spec. */
    g_autofree char *deep = g_strnfill(200, '[');
    g_autofree char *deep_json = g_strdup_printf("{\"a\": %s}", deep);
    assert_rejected(deep_json, CONTAINER_ERROR_INVALID, "not valid JSON");
}
END_TEST

START_TEST(test_oversized)
{
    gsize len = OCI_SPEC_MAX_BYTES + 1;
    g_autofree char *big = g_malloc(len);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    g_autoptr(GError) error = NULL;
    ck_assert_ptr_null(oci_spec_parse(big, len, &error));
    ck_assert(g_error_matches(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID));
    ck_assert_ptr_nonnull(strstr(error->message, "more than the limit"));
    g_clear_error(&error);
    ck_assert_ptr_null(oci_process_parse(big, len, &error));
    ck_assert(g_error_matches(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID));
}
END_TEST

START_TEST(test_missing_parts)
{
    assert_rejected("{\"ociVersion\": \"1.0.0\", \"linux\": {\"namespaces\": [{\"type\": \"pid\"},"
                    " {\"type\": \"mount\"}]}}",
                    CONTAINER_ERROR_INVALID, "'process' is missing");
    assert_replacement_rejected("\"args\": [\"sh\", \"-c\", \"true\"], ", "",
                                CONTAINER_ERROR_INVALID, "process.args");
    assert_replacement_rejected("\"cwd\": \"/tmp\",", "", CONTAINER_ERROR_INVALID, "process.cwd");
    assert_replacement_rejected("\"ociVersion\": \"1.1.0\"", "\"ociVersion\": \"2.0\"",
                                CONTAINER_ERROR_UNSUPPORTED, "ociVersion");
    assert_replacement_rejected("{\"type\": \"mount\"}", "{\"type\": \"mount\", \"path\": \"/x\"}",
                                CONTAINER_ERROR_UNSUPPORTED, "new mount namespace");
    /* No pid namespace: the container shares the agent's (hostPID), which is allowed. */
    g_autofree char *no_pid = spec_with("{\"type\": \"pid\"}, ", "");
    g_autoptr(GError) error = NULL;
    g_autoptr(OciSpec) spec = oci_spec_parse(no_pid, strlen(no_pid), &error);
    ck_assert_msg(spec != NULL, "%s", error ? error->message : "");
}
END_TEST

START_TEST(test_bad_types)
{
    assert_replacement_rejected("\"uid\": 1000", "\"uid\": \"1000\"", CONTAINER_ERROR_INVALID,
                                "process.user.uid");
    assert_replacement_rejected("\"uid\": 1000", "\"uid\": -1", CONTAINER_ERROR_INVALID,
                                "process.user.uid");
    assert_replacement_rejected("\"uid\": 1000", "\"uid\": 1.5", CONTAINER_ERROR_INVALID,
                                "process.user.uid");
    assert_replacement_rejected("\"args\": [\"sh\"", "\"args\": [7", CONTAINER_ERROR_INVALID,
                                "process.args[0]");
    assert_replacement_rejected("\"terminal\": false", "\"terminal\": 0", CONTAINER_ERROR_INVALID,
                                "process.terminal");
    assert_replacement_rejected("\"hard\": 1024, \"soft\": 512", "\"hard\": 1, \"soft\": 512",
                                CONTAINER_ERROR_INVALID, "soft limit above hard");
    assert_replacement_rejected("RLIMIT_NOFILE", "RLIMIT_BOGUS", CONTAINER_ERROR_INVALID,
                                "RLIMIT_BOGUS");
    assert_replacement_rejected("\"CAP_CHOWN\"", "\"CAP_FLY\"", CONTAINER_ERROR_INVALID, "CAP_FLY");
    assert_replacement_rejected("\"A=b\"", "\"novalue\"", CONTAINER_ERROR_INVALID, "NAME=VALUE");
    assert_replacement_rejected("\"limit\": 64", "\"limit\": 18446744073709551615",
                                CONTAINER_ERROR_INVALID, "linux.resources.pids.limit");
    assert_replacement_rejected("\"hostname\": \"box\"", "\"hostname\": [\"box\"]",
                                CONTAINER_ERROR_INVALID, "hostname");
    assert_replacement_rejected("\"access\": \"rwm\"", "\"access\": \"rwx\"",
                                CONTAINER_ERROR_INVALID, "rwx");
    assert_replacement_rejected(
        "\"cpu\": {",
        "\"hugepageLimits\": [{\"pageSize\": \"2MB/../x\", \"limit\": 0}], \"cpu\": {",
        CONTAINER_ERROR_INVALID, "hugepageLimits[0]");
    assert_replacement_rejected("\"allow\": false,", "\"allow\": false, \"type\": \"x\",",
                                CONTAINER_ERROR_INVALID, "linux.resources.devices[0].type");
    assert_replacement_rejected("{\"type\": \"uts\"}", "{\"type\": \"pid\"}",
                                CONTAINER_ERROR_INVALID, "listed twice");
    assert_replacement_rejected("[{\"type\": \"RLIMIT_NOFILE\"", "[7, {\"type\": \"RLIMIT_NOFILE\"",
                                CONTAINER_ERROR_INVALID, "'process.rlimits[0]' must be an object");
    assert_replacement_rejected("\"index\": 1,", "\"index\": 6,", CONTAINER_ERROR_INVALID,
                                "linux.seccomp.syscalls[1].args[0].index");
}
END_TEST

/* One value put into the base spec where `format` has its %s: accepted or rejected. */
typedef struct {
    const char *from;
    const char *format;
    int code;
    const char *needle;
} NameSite;

static void check_name(const NameSite *site, const char *value, gboolean accepted)
{
    g_autofree char *to = g_strdup_printf(site->format, value);
    g_autofree char *json = spec_with(site->from, to);
    if (!accepted) {
        assert_rejected(json, site->code, site->needle);
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(OciSpec) spec = oci_spec_parse(json, strlen(json), &error);
    ck_assert_msg(spec != NULL, "'%s' in %s: %s", value, site->needle, error ? error->message : "");
}

/* The character checks of names handed to the kernel, at their edges. A trailing line break
 * (JSON "\n", "\r\n") is refused everywhere. */
START_TEST(test_name_checks)
{
    static const NameSite option = {"\"size=65536k\"", "\"%s\"", CONTAINER_ERROR_UNSUPPORTED,
                                    "mount option"};
    static const NameSite type = {"\"type\": \"tmpfs\"", "\"type\": \"%s\"",
                                  CONTAINER_ERROR_INVALID, "mounts[1].type"};
    static const NameSite sysctl = {"\"cgroupsPath\"",
                                    "\"sysctl\": {\"%s\": \"1\"}, \"cgroupsPath\"",
                                    CONTAINER_ERROR_INVALID, "linux.sysctl"};
    static const NameSite cpus = {"\"cpu\": {", "\"cpu\": {\"cpus\": \"%s\", ",
                                  CONTAINER_ERROR_INVALID, "linux.resources.cpu.cpus"};
    static const NameSite unified = {"\"cpu\": {", "\"unified\": {\"%s\": \"1\"}, \"cpu\": {",
                                     CONTAINER_ERROR_INVALID, "linux.resources.unified"};
    static const NameSite page = {
        "\"cpu\": {", "\"hugepageLimits\": [{\"pageSize\": \"%s\", \"limit\": 0}], \"cpu\": {",
        CONTAINER_ERROR_INVALID, "hugepageLimits[0]"};
    static const struct {
        const NameSite *site;
        const char *value;
        gboolean accepted;
    } cases[] = {
        {&option, "k", TRUE},
        {&option, "A_9", TRUE},
        {&option, "k=", TRUE},
        {&option, "k=a.b:c/d,e+f-g_0", TRUE},
        {&option, "", FALSE},
        {&option, "=v", FALSE},
        {&option, "-k", FALSE},
        {&option, "k=v w", FALSE},
        {&option, "k==v", FALSE},
        {&option, "k=v;x", FALSE},
        {&option, "k\\u00e9", FALSE},
        {&option, "k\\n", FALSE},
        {&option, "k=v\\n", FALSE},
        {&option, "k=v\\r\\n", FALSE},
        {&type, "tmpfs", TRUE},
        {&type, "9p", TRUE},
        {&type, "fuse.a_b", TRUE},
        {&type, "", FALSE},
        {&type, "Tmpfs", FALSE},
        {&type, "tmp-fs", FALSE},
        {&type, "tmp fs", FALSE},
        {&type, "tmpfs\\n", FALSE},
        {&type, "tmpfs\\r", FALSE},
        {&sysctl, "a", TRUE},
        {&sysctl, "net.ipv4.ip_forward", TRUE},
        {&sysctl, "A-b.c_9", TRUE},
        {&sysctl, "", FALSE},
        {&sysctl, ".a", FALSE},
        {&sysctl, "a.", FALSE},
        {&sysctl, "a..b", FALSE},
        {&sysctl, "a/b", FALSE},
        {&sysctl, "a.b\\n", FALSE},
        {&cpus, "", TRUE},
        {&cpus, "0", TRUE},
        {&cpus, "0-3,5", TRUE},
        {&cpus, ",-", TRUE},
        {&cpus, "0 1", FALSE},
        {&cpus, "a", FALSE},
        {&cpus, "0-3\\n", FALSE},
        {&cpus, "\\n", FALSE},
        {&unified, "memory.max", TRUE},
        {&unified, "io.bfq.weight", TRUE},
        {&unified, "a._", TRUE},
        {&unified, "a..", TRUE},
        {&unified, "memory", FALSE},
        {&unified, ".max", FALSE},
        {&unified, "memory.", FALSE},
        {&unified, "Memory.max", FALSE},
        {&unified, "memory/max", FALSE},
        {&unified, "cgroup.procs", FALSE},
        {&unified, "memory.max\\n", FALSE},
        {&page, "2MB", TRUE},
        {&page, "1GB", TRUE},
        {&page, "999999KB", TRUE},
        {&page, "", FALSE},
        {&page, "MB", FALSE},
        {&page, "1234567KB", FALSE},
        {&page, "2mB", FALSE},
        {&page, "2M", FALSE},
        {&page, "2TB", FALSE},
        {&page, "2MBB", FALSE},
        {&page, "2MB\\n", FALSE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
        check_name(cases[i].site, cases[i].value, cases[i].accepted);
}
END_TEST

START_TEST(test_unsupported_features)
{
    assert_replacement_rejected("\"hooks\": {}", "\"hooks\": {\"prestart\": [{\"path\": \"/x\"}]}",
                                CONTAINER_ERROR_UNSUPPORTED, "'spec.hooks'");
    assert_replacement_rejected("\"cgroupsPath\"", "\"uidMappings\": [{\"containerID\": 0}], \"x\"",
                                CONTAINER_ERROR_UNSUPPORTED, "linux.uidMappings");
    assert_replacement_rejected("{\"type\": \"uts\"}", "{\"type\": \"user\"}",
                                CONTAINER_ERROR_UNSUPPORTED, "user");
    assert_replacement_rejected("\"noNewPrivileges\": true",
                                "\"noNewPrivileges\": true, \"apparmorProfile\": \"x\"",
                                CONTAINER_ERROR_UNSUPPORTED, "process.apparmorProfile");
    assert_replacement_rejected("\"limit\": 33554432", "\"limit\": 1, \"swappiness\": 10",
                                CONTAINER_ERROR_UNSUPPORTED, "linux.resources.memory.swappiness");
    assert_replacement_rejected("\"rbind\"", "\"idmap\"", CONTAINER_ERROR_UNSUPPORTED, "idmap");
    assert_replacement_rejected("SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY", CONTAINER_ERROR_UNSUPPORTED,
                                "SCMP_ACT_NOTIFY");
    assert_replacement_rejected("SCMP_ARCH_X86_64", "SCMP_ARCH_VAX", CONTAINER_ERROR_UNSUPPORTED,
                                "SCMP_ARCH_VAX");
    assert_replacement_rejected("SCMP_CMP_EQ", "SCMP_CMP_LIKE", CONTAINER_ERROR_INVALID,
                                "SCMP_CMP_LIKE");
    /* An unknown syscall in a deny rule cannot be enforced. */
    assert_replacement_rejected("\"kill\"", "\"not_a_syscall_name\"", CONTAINER_ERROR_UNSUPPORTED,
                                "not_a_syscall_name");
}
END_TEST

START_TEST(test_path_escapes)
{
    assert_replacement_rejected("\"destination\": \"/data\"",
                                "\"destination\": \"/data/../../etc\"", CONTAINER_ERROR_ESCAPE,
                                "'..'");
    assert_replacement_rejected("\"destination\": \"/data\"", "\"destination\": \"data\"",
                                CONTAINER_ERROR_INVALID, "not an absolute path");
    assert_replacement_rejected("\"cwd\": \"/tmp\"", "\"cwd\": \"/tmp/../..\"",
                                CONTAINER_ERROR_ESCAPE, "process.cwd");
    assert_replacement_rejected("\"/proc/kcore\"", "\"/proc/../../x\"", CONTAINER_ERROR_ESCAPE,
                                "maskedPaths");
}
END_TEST

START_TEST(test_process_parse)
{
    static const char json[] =
        "{\"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
        " \"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"ls\"], \"cwd\": \"/\"}";
    g_autoptr(GError) error = NULL;
    g_autoptr(OciProcess) p = oci_process_parse(json, strlen(json), &error);
    ck_assert_msg(p != NULL, "%s", error ? error->message : "");
    ck_assert(oci_process_get_terminal(p));
    ck_assert_uint_eq(p->console_rows, 24);
    ck_assert(!p->has_capabilities);
    ck_assert_ptr_nonnull(p->env);
    ck_assert_ptr_null(p->env[0]);

    static const char no_user[] = "{\"args\": [\"ls\"], \"cwd\": \"/\"}";
    ck_assert_ptr_null(oci_process_parse(no_user, strlen(no_user), &error));
    ck_assert_ptr_nonnull(strstr(error->message, "process.user"));
}
END_TEST

/* A stand-in for /sys: what a pod VM's kernel has (null 1:3, fuse 10:229), and not the host's
 * disk (block 254:0) nor kvm (char 10:232). */
static char *fake_sys_dir(void)
{
    static const char *const nodes[][2] = {{"char/1:3", "null"}, {"char/10:229", "fuse"}};
    char *dir = g_dir_make_tmp("test-oci-devices-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    for (gsize i = 0; i < G_N_ELEMENTS(nodes); i++) {
        g_autofree char *node = g_strdup_printf("%s/dev/%s", dir, nodes[i][0]);
        g_autofree char *uevent = g_strdup_printf("%s/uevent", node);
        g_autofree char *text = g_strdup_printf("MAJOR=0\nMINOR=0\nDEVNAME=%s\n", nodes[i][1]);
        ck_assert_int_eq(g_mkdir_with_parents(node, 0755), 0);
        ck_assert(g_file_set_contents(uevent, text, -1, NULL));
    }
    return dir;
}

static void remove_dir(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

#define PRIVILEGED_RULES                                                                           \
    "{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"access\": \"rwm\"}"
#define DEFAULT_RULES "{\"allow\": false, \"access\": \"rwm\"}"
#define DEV_NULL "{\"type\": \"c\", \"path\": \"/dev/null\", \"major\": 1, \"minor\": 3}"
#define DEV_FUSE "{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229}"
#define DEV_FIFO "{\"type\": \"p\", \"path\": \"/dev/fifo\"}"
#define DEV_VDA "{\"type\": \"b\", \"path\": \"/dev/vda\", \"major\": 254, \"minor\": 0}"
#define DEV_KVM "{\"type\": \"c\", \"path\": \"/dev/kvm\", \"major\": 10, \"minor\": 232}"

/* The paths container_devices_select() keeps from a spec with these device rules and
 * linux.devices (JSON array bodies), space-separated; or "error: <code> <message>". */
static char *select_devices(const char *rules, const char *devices)
{
    g_autofree char *json = g_strdup_printf(
        "{\"ociVersion\": \"1.1.0\", \"process\": {\"user\": {\"uid\": 0, \"gid\": 0},"
        " \"args\": [\"true\"], \"cwd\": \"/\"}, \"root\": {\"path\": \"rootfs\"},"
        " \"linux\": {\"namespaces\": [{\"type\": \"mount\"}],"
        " \"resources\": {\"devices\": [%s]}, \"devices\": [%s]}}",
        rules, devices);
    g_autoptr(GError) error = NULL;
    g_autoptr(OciSpec) spec = oci_spec_parse(json, strlen(json), &error);
    ck_assert_msg(spec != NULL, "%s", error ? error->message : "");
    g_autofree char *sys_dir = fake_sys_dir();
    gsize n = 99;
    g_autofree OciDevice *kept = container_devices_select(spec, sys_dir, &n, &error);
    remove_dir(sys_dir);
    if (kept == NULL)
        return g_strdup_printf("error: %d %s", error->code, error->message);
    GString *paths = g_string_new(NULL);
    for (gsize i = 0; i < n; i++)
        g_string_append_printf(paths, "%s%s", i ? " " : "", kept[i].path);
    return g_string_free(paths, FALSE);
}

/* Devices the kernel has, by number and name, and fifos, are kept as they are. */
START_TEST(test_devices_the_kernel_has)
{
    g_autofree char *kept = select_devices(DEFAULT_RULES, DEV_NULL ", " DEV_FUSE ", " DEV_FIFO);
    ck_assert_str_eq(kept, "/dev/null /dev/fuse /dev/fifo");
}
END_TEST

/* A device the kernel lacks, or has under another name, is refused, naming it. */
START_TEST(test_host_device_refused)
{
    g_autofree char *vda = select_devices(DEFAULT_RULES, DEV_NULL ", " DEV_VDA);
    g_autofree char *renamed = select_devices(
        DEFAULT_RULES, "{\"type\": \"c\", \"path\": \"/dev/mine\", \"major\": 1, \"minor\": 3}");
    g_autofree char *outside = select_devices(
        DEFAULT_RULES, "{\"type\": \"c\", \"path\": \"/null\", \"major\": 1, \"minor\": 3}");
    ck_assert_str_eq(vda,
                     "error: 1 device '/dev/vda' (block 254:0) is not one this kernel has: in a "
                     "pod VM only the VM's own devices can be given to a container");
    ck_assert_ptr_nonnull(strstr(renamed, "error: 1 device '/dev/mine' (char 1:3)"));
    ck_assert_ptr_nonnull(strstr(outside, "error: 1 device '/null' (char 1:3)"));
}
END_TEST

/* A privileged spec (every device allowed) keeps what the kernel has and leaves out the rest;
 * a deny rule after the allow-all makes it unprivileged again. */
START_TEST(test_privileged_leaves_host_devices_out)
{
    g_autofree char *kept =
        select_devices(PRIVILEGED_RULES, DEV_VDA ", " DEV_NULL ", " DEV_KVM ", " DEV_FUSE);
    g_autofree char *denied =
        select_devices(PRIVILEGED_RULES
                       ", {\"allow\": false, \"type\": \"c\", \"major\": 10, \"access\": \"rwm\"}",
                       DEV_NULL ", " DEV_KVM);
    g_autofree char *none = select_devices(PRIVILEGED_RULES, DEV_VDA);
    ck_assert_str_eq(kept, "/dev/null /dev/fuse");
    ck_assert_ptr_nonnull(strstr(denied, "error: 1 device '/dev/kvm'"));
    ck_assert_str_eq(none, "");
}
END_TEST

static Suite *oci_spec_suite(void)
{
    Suite *s = suite_create("oci-spec");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_valid_spec);
    tcase_add_test(tc, test_malformed_json);
    tcase_add_test(tc, test_oversized);
    tcase_add_test(tc, test_missing_parts);
    tcase_add_test(tc, test_bad_types);
    tcase_add_test(tc, test_name_checks);
    tcase_add_test(tc, test_unsupported_features);
    tcase_add_test(tc, test_path_escapes);
    tcase_add_test(tc, test_process_parse);
    suite_add_tcase(s, tc);
    tc = tcase_create("devices");
    tcase_add_test(tc, test_devices_the_kernel_has);
    tcase_add_test(tc, test_host_device_refused);
    tcase_add_test(tc, test_privileged_leaves_host_devices_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_util_run(oci_spec_suite(), CK_FORK_GETENV);
}
