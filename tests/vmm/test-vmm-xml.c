/* Golden-file tests of vmm_domain_xml(): every tests/data/domain/<case>.conf (a VmmConfig as a
 * key file, unset keys keep vmm_config_init() defaults) must produce exactly <case>.xml.
 * VMM_REGENERATE=1 rewrites the .xml files for review; an .xml without its .conf fails. */
#include <stdlib.h>

#include "vmm.h"
#include "vmm-test.h"

#define GROUP "vm"

static const char *golden_dir(void)
{
    const char *dir = g_getenv("VMM_GOLDEN_DIR");

    ck_assert_msg(dir != NULL, "VMM_GOLDEN_DIR not set");
    return dir;
}

static const char *string_key(GKeyFile *file, GStringChunk *strings, const char *key,
                              const char *fallback)
{
    g_autofree char *value = g_key_file_get_string(file, GROUP, key, NULL);

    return value != NULL ? g_string_chunk_insert(strings, value) : fallback;
}

static guint uint_key(GKeyFile *file, const char *key, guint fallback)
{
    g_autoptr(GError) error = NULL;
    guint64 value = g_key_file_get_uint64(file, GROUP, key, &error);

    return error == NULL ? (guint)value : fallback;
}

/* nic_taps and nic_macs: two lists of the same length, into @nics (VMM_NICS_MAX entries). */
static void load_nics(GKeyFile *file, VmmConfig *config, GStringChunk *strings, VmmNic *nics)
{
    g_auto(GStrv) taps = g_key_file_get_string_list(file, GROUP, "nic_taps", NULL, NULL);
    g_auto(GStrv) macs = g_key_file_get_string_list(file, GROUP, "nic_macs", NULL, NULL);
    guint n = taps != NULL ? g_strv_length(taps) : 0;

    ck_assert_uint_eq(n, macs != NULL ? g_strv_length(macs) : 0);
    ck_assert_uint_le(n, VMM_NICS_MAX);
    for (guint i = 0; i < n; i++) {
        nics[i].tap = g_string_chunk_insert(strings, taps[i]);
        nics[i].mac = g_string_chunk_insert(strings, macs[i]);
    }
    config->nics = nics;
    config->n_nics = n;
}

static void load_config(const char *path, VmmConfig *config, GStringChunk *strings, VmmNic *nics)
{
    g_autoptr(GKeyFile) file = g_key_file_new();
    g_autoptr(GError) error = NULL;
    const char *accel, *shared_fs, *agent;

    ck_assert_msg(g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &error), "%s: %s", path,
                  error ? error->message : "");
    vmm_config_init(config);
    config->name = string_key(file, strings, "name", NULL);
    config->run_dir = string_key(file, strings, "run_dir", NULL);
    config->kernel = string_key(file, strings, "kernel", NULL);
    config->initrd = string_key(file, strings, "initrd", NULL);
    config->kernel_params = string_key(file, strings, "kernel_params", NULL);
    config->machine = string_key(file, strings, "machine", config->machine);
    config->emulator = string_key(file, strings, "emulator", config->emulator);
    config->shared_dir = string_key(file, strings, "shared_dir", NULL);
    config->virtiofsd = string_key(file, strings, "virtiofsd", config->virtiofsd);
    config->memory_mib = uint_key(file, "memory_mib", config->memory_mib);
    config->vcpus = uint_key(file, "vcpus", config->vcpus);
    config->max_memory_mib = uint_key(file, "max_memory_mib", config->max_memory_mib);
    config->max_vcpus = uint_key(file, "max_vcpus", config->max_vcpus);
    config->tcg_tb_cache_mib = uint_key(file, "tcg_tb_cache_mib", config->tcg_tb_cache_mib);
    config->vsock_cid = uint_key(file, "vsock_cid", config->vsock_cid);
    config->vsock_port = uint_key(file, "vsock_port", config->vsock_port);
    config->qemu_uid = uint_key(file, "qemu_uid", config->qemu_uid);
    config->qemu_gid = uint_key(file, "qemu_gid", config->qemu_gid);
    config->netns = string_key(file, strings, "netns", NULL);
    load_nics(file, config, strings, nics);
    config->template_layout = g_key_file_get_boolean(file, GROUP, "template_layout", NULL);

    accel = string_key(file, strings, "accel", "tcg");
    ck_assert_msg(vmm_accel_from_name(accel, &config->accel), "%s: accel '%s'", path, accel);
    shared_fs = string_key(file, strings, "shared_fs", "none");
    config->shared_fs = g_str_equal(shared_fs, "virtiofs") ? VMM_SHARED_FS_VIRTIOFS
                        : g_str_equal(shared_fs, "9p")     ? VMM_SHARED_FS_9P
                                                           : VMM_SHARED_FS_NONE;
    agent = string_key(file, strings, "agent", "virtio-serial");
    config->agent = g_str_equal(agent, "vsock") ? VMM_AGENT_VSOCK : VMM_AGENT_VIRTIO_SERIAL;
}

static void check_case(const char *conf_path)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autofree char *base = g_strndup(conf_path, strlen(conf_path) - strlen(".conf"));
    g_autofree char *xml_path = g_strconcat(base, ".xml", NULL);
    g_autofree char *expected = NULL;
    g_autofree char *xml = NULL;
    VmmConfig config;
    VmmNic nics[VMM_NICS_MAX];

    load_config(conf_path, &config, strings, nics);
    xml = vmm_domain_xml(&config, &error);
    ck_assert_msg(xml != NULL, "%s: %s", conf_path, error ? error->message : "");
    if (g_getenv("VMM_REGENERATE") != NULL) {
        ck_assert(g_file_set_contents(xml_path, xml, -1, NULL));
        return;
    }
    ck_assert_msg(g_file_get_contents(xml_path, &expected, NULL, NULL),
                  "'%s' missing (VMM_REGENERATE=1 writes it)", xml_path);
    ck_assert_msg(g_str_equal(xml, expected), "%s differs from what we generate:\n%s", xml_path,
                  xml);
}

START_TEST(test_golden_files)
{
    g_autoptr(GDir) dir = g_dir_open(golden_dir(), 0, NULL);
    const char *entry;
    guint cases = 0;

    ck_assert(dir != NULL);
    while ((entry = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(golden_dir(), entry, NULL);

        if (g_str_has_suffix(entry, ".conf")) {
            check_case(path);
            cases++;
        } else if (g_str_has_suffix(entry, ".xml")) {
            g_autofree char *base = g_strndup(path, strlen(path) - strlen(".xml"));
            g_autofree char *conf = g_strconcat(base, ".conf", NULL);

            ck_assert_msg(g_file_test(conf, G_FILE_TEST_EXISTS), "unused golden file '%s'", path);
        } else {
            ck_abort_msg("unexpected file '%s' in the golden directory", path);
        }
    }
    ck_assert_uint_ge(cases, 4);
}
END_TEST

static void valid_config(VmmConfig *config)
{
    vmm_config_init(config);
    config->name = "pod1";
    config->run_dir = "/run/sc/pod1";
    config->kernel = "/k/vmlinux";
    config->initrd = "/k/initramfs.img";
    config->accel = VMM_ACCEL_TCG;
}

static void assert_invalid(const VmmConfig *config, const char *quoted)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = vmm_domain_xml(config, &error);

    ck_assert_ptr_null(xml);
    ck_assert(g_error_matches(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG));
    ck_assert_msg(strstr(error->message, quoted) != NULL, "'%s' not in '%s'", quoted,
                  error->message);
}

START_TEST(test_invalid_configs)
{
    /* Even entries have a bad tap, odd ones a bad MAC (the error quotes it). */
    static const VmmNic bad_nics[] = {
        {"tap0123456789abc", "02:00:00:00:00:01"},
        {"tap0", "02:00:00:00:00:0G"},
        {"tap'/><x", "02:00:00:00:00:01"},
        {"tap0", "02:00:00:00:00:AB"},
        {"..", "02:00:00:00:00:01"},
        {"tap0", "02:00:00:00:00:1"},
        {"", "02:00:00:00:00:01"},
        {"tap0", "02-00-00-00-00-01"},
        {"tap 0", "02:00:00:00:00:01"},
        {"tap0", "02:00:00:00:00:01:"},
        {"t/0", "02:00:00:00:00:01"},
        {"tap0", "0200:00:00:00:001"},
    };
    VmmNic many[VMM_NICS_MAX + 1];
    g_autofree char *xml = NULL;
    VmmConfig config;
    g_autofree char *long_dir = g_strnfill(100, 'd');
    g_autofree char *long_run_dir = g_strconcat("/", long_dir, NULL);

    valid_config(&config);
    config.name = "../escape";
    assert_invalid(&config, "'../escape'");

    valid_config(&config);
    config.name = NULL;
    assert_invalid(&config, "(unset)");

    valid_config(&config);
    config.kernel = "relative/vmlinux";
    assert_invalid(&config, "'relative/vmlinux'");

    valid_config(&config);
    config.accel = VMM_ACCEL_AUTO;
    assert_invalid(&config, "resolved");

    valid_config(&config);
    config.memory_mib = 16;
    assert_invalid(&config, "memory 16 MiB");

    valid_config(&config);
    config.max_memory_mib = config.memory_mib - 2;
    assert_invalid(&config, "maximum memory 510 MiB out of range (0 for none, or 512..");

    valid_config(&config);
    config.max_memory_mib = 2 * 1024 * 1024;
    assert_invalid(&config, "maximum memory 2097152 MiB");

    valid_config(&config);
    config.vcpus = 2;
    config.max_vcpus = 1;
    assert_invalid(&config, "maximum vcpus 1 out of range (0 for none, or 2..255)");

    valid_config(&config);
    config.max_vcpus = 256;
    assert_invalid(&config, "maximum vcpus 256");

    valid_config(&config);
    config.shared_fs = VMM_SHARED_FS_VIRTIOFS;
    assert_invalid(&config, "shared directory");

    valid_config(&config);
    config.agent = VMM_AGENT_VSOCK;
    config.vsock_cid = 2;
    assert_invalid(&config, "vsock cid 2");

    valid_config(&config);
    config.run_dir = long_run_dir;
    assert_invalid(&config, "agent socket path");

    valid_config(&config);
    config.machine = "q35'/><evil";
    assert_invalid(&config, "machine type");

    for (gsize i = 0; i < G_N_ELEMENTS(bad_nics); i++) {
        valid_config(&config);
        config.nics = &bad_nics[i];
        config.n_nics = 1;
        assert_invalid(&config, i % 2 == 0 ? bad_nics[i].tap : bad_nics[i].mac);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(many); i++)
        many[i] = (VmmNic){"tap0123456789ab", "02:00:00:00:00:01"};
    valid_config(&config);
    config.nics = many;
    config.n_nics = VMM_NICS_MAX;
    xml = vmm_domain_xml(&config, NULL);
    ck_assert_ptr_nonnull(xml);
    config.n_nics = VMM_NICS_MAX + 1;
    assert_invalid(&config, "NICs, at most");
    valid_config(&config);
    config.netns = "run/netns/x";
    assert_invalid(&config, "'run/netns/x'");
}
END_TEST

/* A template's config, valid as it is. */
static void template_config(VmmConfig *config)
{
    g_autofree char *xml = NULL;

    valid_config(config);
    config->template_layout = TRUE;
    xml = vmm_domain_xml(config, NULL);
    ck_assert_ptr_nonnull(xml);
}

/* What a template cannot be saved or restored with: the error says what it needs. */
START_TEST(test_invalid_template_configs)
{
    static const VmmNic nics[] = {
        {"tap0", "02:00:00:00:00:01"},
        {"tap1", "02:00:00:00:00:02"},
    };
    g_autofree char *xml = NULL;
    VmmConfig config;

    template_config(&config);
    config.shared_fs = VMM_SHARED_FS_VIRTIOFS;
    config.shared_dir = "/run/sc/pod1/shared";
    assert_invalid(&config, "a VM template needs virtio-9p or no shared directory, not virtio-fs");

    template_config(&config);
    config.uri = "qemu:///system";
    assert_invalid(&config, "a VM template needs the embedded driver");

    template_config(&config);
    config.machine = "pc";
    assert_invalid(&config, "a VM template needs machine q35");

    /* One NIC is fine (attached after the restore), two are not. */
    template_config(&config);
    config.nics = nics;
    config.n_nics = 1;
    xml = vmm_domain_xml(&config, NULL);
    ck_assert_ptr_nonnull(xml);
    ck_assert_ptr_null(strstr(xml, "<interface"));
    config.n_nics = 2;
    assert_invalid(&config, "a VM template needs at most 1 NIC");
}
END_TEST

START_TEST(test_accel_names)
{
    VmmAccel accel = VMM_ACCEL_LAST;

    for (VmmAccel a = 0; a < VMM_ACCEL_LAST; a++) {
        ck_assert(vmm_accel_from_name(vmm_accel_name(a), &accel));
        ck_assert_int_eq(accel, a);
    }
    ck_assert(!vmm_accel_from_name("hvf", &accel));
    ck_assert(!vmm_accel_from_name(NULL, &accel));
}
END_TEST

START_TEST(test_derived_paths)
{
    VmmConfig config;
    g_autofree char *uri = NULL;
    g_autofree char *socket_path = NULL;
    g_autofree char *name = NULL;

    valid_config(&config);
    uri = vmm_config_uri(&config);
    socket_path = vmm_config_agent_socket(&config);
    name = vmm_config_domain_name(&config);
    ck_assert_str_eq(uri, "qemu:///embed?root=/run/sc/pod1/libvirt");
    ck_assert_str_eq(socket_path, "/run/sc/pod1/agent.sock");
    ck_assert_str_eq(name, "sc-pod1");
    /* A template's domain has one name whatever the pod's. */
    config.template_layout = TRUE;
    g_free(name);
    name = vmm_config_domain_name(&config);
    ck_assert_str_eq(name, "sc-template");

    g_clear_pointer(&uri, g_free);
    config.uri = "qemu:///system";
    uri = vmm_config_uri(&config);
    ck_assert_str_eq(uri, "qemu:///system");
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_golden_files, test_invalid_configs, test_invalid_template_configs,
        test_accel_names,  test_derived_paths,   NULL,
    };

    return vmm_test_run("vmm-xml", tests, 30, NULL);
}
