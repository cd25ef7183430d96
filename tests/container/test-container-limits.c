/* test-container-limits: cgroup v2 limits of real containers (memory, pids, cpu, OOM kills).
 * Needs root and a cgroup v2 hierarchy that owns the memory, pids and cpu controllers; the suite
 * runs it only inside test-container-vm's VM (see meson.build). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static Container *create_with(const char *script, const char *resources, int *out_fd)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new((const char *const[]){"sh", "-c", script, NULL});
    ct_spec_set(spec, "linux.resources", ct_json(resources));
    Container *c = ct_create(env, spec, out_fd, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    return c;
}

static void finish(Container *c, int fd)
{
    g_autoptr(GError) error = NULL;
    pid_t pid = container_get_pid(c);
    ck_assert_msg(container_destroy(c, &error), "destroy: %s", error ? error->message : "");
    ct_reap(pid);
    g_free(ct_read_all(fd));
}

START_TEST(test_limits_written)
{
    int fd;
    Container *c = create_with("true",
                               "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432,"
                               "  \"reservation\": 1048576},"
                               " \"pids\": {\"limit\": 16},"
                               " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000}}",
                               &fd);
    g_autofree char *memory_max = ct_cgroup_read(env, c, "memory.max");
    g_autofree char *memory_low = ct_cgroup_read(env, c, "memory.low");
    g_autofree char *pids_max = ct_cgroup_read(env, c, "pids.max");
    g_autofree char *cpu_max = ct_cgroup_read(env, c, "cpu.max");
    g_autofree char *cpu_weight = ct_cgroup_read(env, c, "cpu.weight");
    ck_assert_str_eq(memory_max, "33554432");
    ck_assert_str_eq(memory_low, "1048576");
    ck_assert_str_eq(pids_max, "16");
    ck_assert_str_eq(cpu_max, "50000 100000");
    /* 512 shares on the v1 scale [2, 262144] is weight 20 on the v2 scale [1, 10000]. */
    ck_assert_str_eq(cpu_weight, "20");
    g_autofree char *swap_max = ct_cgroup_read(env, c, "memory.swap.max");
    if (swap_max)
        ck_assert_str_eq(swap_max, "0");

    g_autoptr(GError) error = NULL;
    static const char update[] = "{\"pids\": {\"limit\": 8}, \"memory\": {\"limit\": -1}}";
    ck_assert_msg(container_update(c, update, strlen(update), &error), "%s",
                  error ? error->message : "");
    g_free(pids_max);
    g_free(memory_max);
    pids_max = ct_cgroup_read(env, c, "pids.max");
    memory_max = ct_cgroup_read(env, c, "memory.max");
    ck_assert_str_eq(pids_max, "8");
    ck_assert_str_eq(memory_max, "max");
    static const char bad[] = "{\"pids\": {\"limit\": \"many\"}}";
    ck_assert(!container_update(c, bad, strlen(bad), &error));
    ck_assert_ptr_nonnull(strstr(error->message, "linux.resources.pids.limit"));
    finish(c, fd);
}
END_TEST

START_TEST(test_fork_bomb_is_bounded)
{
    int fd;
    g_autoptr(GError) error = NULL;
    Container *c = create_with("i=0; while [ $i -lt 64 ]; do sleep 1000 & i=$((i+1)); done;"
                               " echo spawned; exec sleep 1000",
                               "{\"pids\": {\"limit\": 10}}", &fd);
    ck_assert(container_start(c, &error));
    /* Wait until the loop is done (the init execs sleep at the end). */
    for (int i = 0; i < 200; i++) {
        g_autofree char *comm_path = g_strdup_printf("/proc/%d/comm", (int)container_get_pid(c));
        g_autofree char *comm = NULL;
        if (g_file_get_contents(comm_path, &comm, NULL, NULL) && g_str_has_prefix(comm, "sleep"))
            break;
        g_usleep(50 * 1000);
    }
    g_autofree char *current = ct_cgroup_read(env, c, "pids.current");
    g_autofree char *events = ct_cgroup_read(env, c, "pids.events");
    ck_assert_int_le(atoi(current), 10);
    ck_assert_msg(events && strstr(events, "max 0") == NULL, "pids.events: %s", events);
    Io__Containerd__Cgroups__V2__Metrics *m = container_stats(c, &error);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(m->pids);
    ck_assert_uint_eq(m->pids->limit, 10);
    ck_assert_uint_eq(m->pids->current, (guint64)atoi(current));
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    finish(c, fd);
}
END_TEST

START_TEST(test_oom_kill_counted)
{
    int fd;
    g_autoptr(GError) error = NULL;
    Container *c = create_with("exec tail /dev/zero",
                               "{\"memory\": {\"limit\": 16777216, \"swap\": 16777216}}", &fd);
    int events_fd = container_get_memory_events_fd(c);
    ck_assert_int_ge(events_fd, 0);
    guint64 kills = 99;
    ck_assert(container_get_oom_kill_count(c, &kills, &error));
    ck_assert_uint_eq(kills, 0);
    ck_assert(container_start(c, &error));
    int status = ct_reap(container_get_pid(c));
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The kernel flags memory.events as changed for pollers. */
    struct pollfd pfd = {.fd = events_fd, .events = POLLPRI};
    ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    ck_assert(container_get_oom_kill_count(c, &kills, &error));
    ck_assert_uint_ge(kills, 1);
    Io__Containerd__Cgroups__V2__Metrics *m = container_stats(c, &error);
    ck_assert_ptr_nonnull(m->memory_events);
    ck_assert_uint_ge(m->memory_events->oom_kill, 1);
    ck_assert_ptr_nonnull(m->memory);
    ck_assert_uint_eq(m->memory->usage_limit, 16777216);
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    ck_assert(container_destroy(c, &error));
    g_free(ct_read_all(fd));
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("container-limits");
    TCase *tc = tcase_create("cgroup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_limits_written);
    tcase_add_test(tc, test_fork_bomb_is_bounded);
    tcase_add_test(tc, test_oom_kill_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ct_require_root();
    ct_require_controllers((const char *const[]){"memory", "pids", "cpu", NULL});
    return ct_run_suite(limits_suite());
}
