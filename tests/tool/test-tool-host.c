/* Unit tests of what the host tool reads (tool-host.c): containerd's config dump, a guest
 * kernel's version banner, a program's version line. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"
#include "tool-host.h"

/* Shaped like `containerd config dump` of containerd 1.6 (sub-tables, quoted names). */
static const char dump_v2[] =
    "version = 2\n"
    "[plugins]\n"
    "  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
    "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
    "      bin_dir = \"/usr/lib/cni\"\n"
    "      conf_dir = \"/etc/cni/net.d\"\n"
    "    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
    "      default_runtime_name = \"runc\"\n"
    "      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n"
    "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
    "          privileged_without_host_devices = false\n"
    "          runtime_type = \"io.containerd.runc.v2\"\n"
    "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.secure]\n"
    "          privileged_without_host_devices = true\n"
    "          runtime_type = \"io.containerd.secure.v2\"\n"
    "          [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.secure.options]\n"
    "            ConfigPath = \"/etc/secure-container/secure-container.conf\"\n"
    "        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"vm.two\"]\n"
    "          runtime_type = \"io.containerd.secure.v2\"\n"
    "    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
    "      runtime_type = \"io.containerd.secure.v2\"\n";

START_TEST(test_containerd_dump)
{
    ToolContainerd c = {0};
    tool_containerd_parse(dump_v2, &c);
    /* runc is not ours; a key of another section does not make a runtime. */
    ck_assert_uint_eq(c.handlers->len, 2);
    ck_assert_str_eq(c.handlers->pdata[0], "secure");
    ck_assert_str_eq(c.handlers->pdata[1], "vm.two");
    ck_assert_uint_eq(c.host_devices->len, 1);
    ck_assert_str_eq(c.host_devices->pdata[0], "vm.two");
    ck_assert_str_eq(c.cni_bin_dir, "/usr/lib/cni");
    ck_assert_str_eq(c.cni_conf_dir, "/etc/cni/net.d");
    tool_containerd_clear(&c);
}
END_TEST

/* containerd 2.x keeps the runtimes in its own plugin; a config without ours has none. */
START_TEST(test_containerd_dump_v3_and_none)
{
    ToolContainerd c = {0}, none = {0};
    tool_containerd_parse("version = 3\n"
                          "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.secure]\n"
                          "  runtime_type = \"io.containerd.secure.v2\"\n"
                          "  privileged_without_host_devices = true\n",
                          &c);
    ck_assert_uint_eq(c.handlers->len, 1);
    ck_assert_uint_eq(c.host_devices->len, 0);
    ck_assert_ptr_null(c.cni_bin_dir);
    tool_containerd_parse("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd."
                          "runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n",
                          &none);
    ck_assert_uint_eq(none.handlers->len, 0);
    tool_containerd_clear(&c);
    tool_containerd_clear(&none);
}
END_TEST

/* @len -1: a string. */
static char *write_temp(const char *data, gssize len)
{
    g_autoptr(GError) error = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("sc-tool-XXXXXX", &path, &error);
    ck_assert_msg(fd >= 0, "%s", error ? error->message : "");
    close(fd);
    ck_assert(g_file_set_contents(path, data, len, NULL));
    return path;
}

START_TEST(test_kernel_version)
{
    /* A vmlinux: the banner somewhere inside, ended by a newline. */
    static const char vmlinux[] = "\x7f"
                                  "ELF....Linux version 6.1.0-9-amd64 (someone) #1 SMP\n\0tail";
    g_autofree char *elf = write_temp(vmlinux, sizeof(vmlinux));
    g_autofree char *v1 = tool_kernel_version(elf);
    ck_assert_str_eq(v1, "6.1.0-9-amd64 (someone) #1 SMP");

    /* A bzImage: the version string's offset (less 0x200) at 0x20e, "HdrS" at 0x202. */
    char bz[0x400] = {0};
    memcpy(bz + 0x202, "HdrS", 4);
    bz[0x20e] = 0x00;
    bz[0x20f] = 0x01; /* 0x100 + 0x200 = 0x300 */
    strcpy(bz + 0x300, "6.12.0-lean (builder) #2");
    g_autofree char *bzimage = write_temp(bz, sizeof(bz));
    g_autofree char *v2 = tool_kernel_version(bzimage);
    ck_assert_str_eq(v2, "6.12.0-lean (builder) #2");

    g_autofree char *neither = write_temp("just bytes", -1);
    ck_assert_ptr_null(tool_kernel_version(neither));
    ck_assert_ptr_null(tool_kernel_version("/nonexistent/vmlinux"));
    g_unlink(elf);
    g_unlink(bzimage);
    g_unlink(neither);
}
END_TEST

/* The first line with a version number, on stdout or else stderr; NULL when it fails. */
START_TEST(test_program_version)
{
    g_autofree char *script =
        write_temp("#!/bin/sh\necho 'prog-v2:'\necho '  Version: 1.2.3' >&2\n", -1);
    ck_assert_int_eq(g_chmod(script, 0755), 0);
    g_autofree char *v = tool_program_version(script, "--version");
    ck_assert_str_eq(v, "Version: 1.2.3");
    ck_assert_ptr_null(tool_program_version("/bin/false", "--version"));
    ck_assert_ptr_null(tool_program_version("/nonexistent/prog", "--version"));
    g_unlink(script);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tool-host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, test_containerd_dump);
    tcase_add_test(tc, test_containerd_dump_v3_and_none);
    tcase_add_test(tc, test_kernel_version);
    tcase_add_test(tc, test_program_version);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
