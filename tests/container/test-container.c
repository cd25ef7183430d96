/* test-container: builds real containers from a busybox rootfs (root needed). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container-test.h"

static CtEnv *env;

static void setup(void)
{
  env = ct_env_new();
}

static void teardown(void)
{
  ct_env_free(env);
  env = NULL;
}

#define SH(script) ((const char *const[]){"sh", "-c", script, NULL})

/* Runs `script` in a container made from `spec` (the default spec when NULL). */
static char *run_sh(json_object *spec, const char *script, int *status)
{
  g_autoptr(json_object) owned = spec ? NULL : ct_spec_new(SH("true"));
  ct_spec_set_script(spec ? spec : owned, script);
  return ct_run(env, spec ? spec : owned, status);
}

START_TEST(test_output_and_exit_code)
{
  int status;
  g_autofree char *out = run_sh(NULL, "echo hello; echo oops >&2; exit 3", &status);
  ck_assert_str_eq(out, "hello\noops\n");
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 3);
}
END_TEST

START_TEST(test_hostname_and_pid1)
{
  int status;
  g_autofree char *out = run_sh(NULL, "hostname; echo $$", &status);
  ck_assert_str_eq(out, "testbox\n1\n");
  ck_assert_int_eq(status, 0);
}
END_TEST

START_TEST(test_env_and_cwd)
{
  int status;
  g_autoptr(json_object) spec = ct_spec_new(SH(""));
  ct_spec_set(spec, "process.cwd", json_object_new_string("/tmp/work"));
  ct_spec_set(spec, "process.env", ct_json("[\"PATH=/bin\", \"GREETING=hi there\"]"));
  /* Nothing of the builder's environment reaches the container. */
  g_setenv("SC_HOST_ONLY", "leaked", TRUE);
  g_autofree char *out = run_sh(spec, "echo \"$GREETING\"; pwd; echo ${SC_HOST_ONLY:-unset}", &status);
  ck_assert_str_eq(out, "hi there\n/tmp/work\nunset\n");
  g_autofree char *created = g_build_filename(env->rootfs, "tmp", "work", NULL);
  ck_assert(g_file_test(created, G_FILE_TEST_IS_DIR));
}
END_TEST

START_TEST(test_uid_gid)
{
  int status;
  g_autoptr(json_object) spec = ct_spec_new(SH("true"));
  ct_spec_set(spec, "process.user",
              ct_json("{\"uid\": 1000, \"gid\": 1001, \"additionalGids\": [20, 30]}"));
  g_autofree char *out = run_sh(spec, "id -u; id -g; id -G", &status);
  ck_assert_str_eq(out, "1000\n1001\n1001 20 30\n");
}
END_TEST

START_TEST(test_readonly_rootfs)
{
  int status;
  g_autoptr(json_object) spec = ct_spec_new(SH("true"));
  ct_spec_set(spec, "root.readonly", json_object_new_boolean(TRUE));
  g_autofree char *out = run_sh(spec, "touch /newfile && echo wrote; touch /dev/shm/ok && echo tmpfs-ok",
                                &status);
  ck_assert_msg(strstr(out, "Read-only file system") != NULL, "output: %s", out);
  ck_assert_ptr_null(strstr(out, "wrote"));
  ck_assert_ptr_nonnull(strstr(out, "tmpfs-ok"));
  g_autofree char *host = g_build_filename(env->rootfs, "newfile", NULL);
  ck_assert(!g_file_test(host, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_bind_mounts)
{
  int status;
  g_autofree char *src = g_build_filename(env->dir, "shared", NULL);
  g_autofree char *file = g_build_filename(src, "hello.txt", NULL);
  ck_assert_int_eq(g_mkdir_with_parents(src, 0755), 0);
  ck_assert(g_file_set_contents(file, "from the host\n", -1, NULL));
  g_autoptr(json_object) spec = ct_spec_new(SH("true"));
  json_object *mounts;
  ck_assert(json_object_object_get_ex(spec, "mounts", &mounts));
  g_autofree char *ro = g_strdup_printf("{\"destination\": \"/mnt/ro\", \"type\": \"bind\","
                                        " \"source\": \"%s\", \"options\": [\"rbind\", \"ro\"]}", src);
  g_autofree char *rw = g_strdup_printf("{\"destination\": \"/mnt/rw/deep\", \"type\": \"none\","
                                        " \"source\": \"%s\", \"options\": [\"bind\"]}", src);
  g_autofree char *one = g_strdup_printf("{\"destination\": \"/etc/hello\", \"type\": \"bind\","
                                         " \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]}", file);
  json_object_array_add(mounts, ct_json(ro));
  json_object_array_add(mounts, ct_json(rw));
  json_object_array_add(mounts, ct_json(one));
  g_autofree char *out = run_sh(spec,
                                "cat /mnt/ro/hello.txt; cat /etc/hello;"
                                " touch /mnt/ro/new || echo ro-refused;"
                                " echo written > /mnt/rw/deep/new && echo rw-ok",
                                &status);
  ck_assert_msg(g_str_has_prefix(out, "from the host\nfrom the host\n"), "output: %s", out);
  ck_assert_ptr_nonnull(strstr(out, "Read-only file system"));
  ck_assert_ptr_nonnull(strstr(out, "ro-refused"));
  ck_assert_ptr_nonnull(strstr(out, "rw-ok"));
  g_autofree char *written = g_build_filename(src, "new", NULL);
  g_autofree char *content = NULL;
  ck_assert(g_file_get_contents(written, &content, NULL, NULL));
  ck_assert_str_eq(content, "written\n");
}
END_TEST

static guint64 cap_mask(const char *const *names)
{
  static const struct {
    const char *name;
    int cap;
  } known[] = {{"CAP_CHOWN", CAP_CHOWN}, {"CAP_KILL", CAP_KILL},
               {"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE}, {"CAP_SYS_ADMIN", CAP_SYS_ADMIN},
               {"CAP_NET_RAW", CAP_NET_RAW}};
  guint64 mask = 0;
  for (const char *const *n = names; *n; n++)
    for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
      if (strcmp(*n, known[i].name) == 0)
        mask |= G_GUINT64_CONSTANT(1) << known[i].cap;
  return mask;
}

static guint64 status_field(const char *status_text, const char *field)
{
  const char *at = strstr(status_text, field);
  ck_assert_msg(at != NULL, "no %s in: %s", field, status_text);
  return g_ascii_strtoull(at + strlen(field), NULL, 16);
}

START_TEST(test_capabilities)
{
  int status;
  g_autoptr(json_object) spec = ct_spec_new(SH("true"));
  ct_spec_set(spec, "process.user", ct_json("{\"uid\": 1000, \"gid\": 1000}"));
  ct_spec_set(spec, "process.capabilities",
              ct_json("{\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
                      " \"effective\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
                      " \"permitted\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
                      " \"inheritable\": [\"CAP_NET_BIND_SERVICE\"],"
                      " \"ambient\": [\"CAP_NET_BIND_SERVICE\"]}"));
  g_autofree char *out = run_sh(spec, "grep -E '^Cap|^NoNewPrivs' /proc/self/status", &status);
  /* A non-root process keeps across execve only its ambient set (in permitted and effective). */
  guint64 ambient = cap_mask((const char *const[]){"CAP_NET_BIND_SERVICE", NULL});
  ck_assert_uint_eq(status_field(out, "CapBnd:\t"),
                    cap_mask((const char *const[]){"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL}));
  ck_assert_uint_eq(status_field(out, "CapInh:\t"), ambient);
  ck_assert_uint_eq(status_field(out, "CapAmb:\t"), ambient);
  ck_assert_uint_eq(status_field(out, "CapPrm:\t"), ambient);
  ck_assert_uint_eq(status_field(out, "CapEff:\t"), ambient);
  ck_assert_uint_eq(status_field(out, "NoNewPrivs:\t"), 1);

  /* Root gets exactly the spec's sets. */
  g_autoptr(json_object) root_spec = ct_spec_new(SH("true"));
  ct_spec_set(root_spec, "process.capabilities",
              ct_json("{\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
                      " \"effective\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
                      " \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\"]}"));
  g_autofree char *root_out = run_sh(root_spec, "grep -E '^Cap' /proc/self/status", &status);
  guint64 both = cap_mask((const char *const[]){"CAP_CHOWN", "CAP_KILL", NULL});
  ck_assert_uint_eq(status_field(root_out, "CapBnd:\t"), both);
  ck_assert_uint_eq(status_field(root_out, "CapEff:\t"), both);
  ck_assert_uint_eq(status_field(root_out, "CapPrm:\t"), both);
  ck_assert_uint_eq(status_field(root_out, "CapInh:\t"), 0);
}
END_TEST

START_TEST(test_seccomp)
{
  int status;
  g_autoptr(json_object) spec = ct_spec_new(SH("true"));
  ct_spec_set(spec, "linux.seccomp",
              ct_json("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
                      " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
                      " \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"],"
                      "   \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 18},"
                      "  {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 33,"
                      "   \"args\": [{\"index\": 1, \"value\": 10, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
  g_autofree char *out = run_sh(spec,
                                "grep Seccomp: /proc/self/status; mkdir /tmp/x;"
                                " kill -0 $$ && echo kill0-ok; kill -USR1 $$ || echo usr1-denied",
                                &status);
  ck_assert_msg(strstr(out, "Seccomp:\t2\n") != NULL, "output: %s", out);
  ck_assert_ptr_nonnull(strstr(out, g_strerror(EXDEV)));
  ck_assert_ptr_nonnull(strstr(out, "kill0-ok"));
  ck_assert_ptr_nonnull(strstr(out, g_strerror(EDOM)));
  ck_assert_ptr_nonnull(strstr(out, "usr1-denied"));
  g_autofree char *host = g_build_filename(env->rootfs, "tmp", "x", NULL);
  ck_assert(!g_file_test(host, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_devices_masks_rlimits)
{
  int status;
  g_autofree char *out = run_sh(NULL,
                                "test -c /dev/null && test -c /dev/urandom && test -c /dev/tty"
                                " && test -L /dev/ptmx && test -L /dev/fd && echo devices-ok;"
                                " echo x > /dev/null && echo null-ok;"
                                " wc -c < /proc/timer_list; ulimit -n;"
                                " echo 1 > /proc/sys/kernel/ns_last_pid || echo sys-ro",
                                &status);
  ck_assert_msg(strstr(out, "devices-ok\nnull-ok\n0\n1024\n") != NULL, "output: %s", out);
  ck_assert_ptr_nonnull(strstr(out, "sys-ro"));
}
END_TEST

START_TEST(test_no_fd_leaks_into_container)
{
  int status;
  /* An fd the caller forgot to mark close-on-exec must still not reach the container. */
  int leaky = open("/dev/null", O_RDONLY);
  ck_assert_int_ge(leaky, 3);
  g_autofree char *out = run_sh(NULL, "ls /proc/self/fd | wc -l", &status);
  close(leaky);
  /* ls sees 0, 1, 2 and its own directory fd. */
  ck_assert_str_eq(out, "4\n");
}
END_TEST

static Suite *container_suite(void)
{
  Suite *s = suite_create("container");
  TCase *tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_output_and_exit_code);
  tcase_add_test(tc, test_hostname_and_pid1);
  tcase_add_test(tc, test_env_and_cwd);
  tcase_add_test(tc, test_uid_gid);
  tcase_add_test(tc, test_readonly_rootfs);
  tcase_add_test(tc, test_bind_mounts);
  tcase_add_test(tc, test_capabilities);
  tcase_add_test(tc, test_seccomp);
  tcase_add_test(tc, test_devices_masks_rlimits);
  tcase_add_test(tc, test_no_fd_leaks_into_container);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  ct_require_root();
  SRunner *sr = srunner_create(container_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
