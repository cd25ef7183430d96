/* CPU and memory hot-plug against a fake sysfs tree and meminfo file in a temp dir: onlining,
 * counting, strict parsing, and requests that wait, complete, time out and fail. */
#include "agent-test.h"

#include "agent-error.h"
#include "agent-hotplug.h"

#include <glib/gstdio.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <unistd.h>

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)
#define BOOT_KIB G_GUINT64_CONSTANT(2048000)

static char *root;
static char *meminfo;

static void test_write(const char *relative, const char *text)
{
    agent_test_write(root, relative, text);
}

/* A file of the fake tree holds @expected. */
static void test_assert_file(const char *relative, const char *expected)
{
    g_autofree char *path = g_build_filename(root, relative, NULL);
    g_autofree char *text = NULL;

    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "read %s", path);
    ck_assert_msg(g_str_equal(text, expected), "%s holds '%s', not '%s'", relative, text, expected);
}

static void test_set_mem_total(guint64 kib)
{
    g_autofree char *text = g_strdup_printf("MemTotal:       %" G_GUINT64_FORMAT " kB\n"
                                            "MemFree:         1000000 kB\n",
                                            kib);

    test_write("meminfo", text);
}

/* A guest with cpu0 (no online file, as on x86) and cpu1 online, cpu2 just hot-added; three
 * boot memory blocks and two hot-added ones. */
static void setup(void)
{
    root = g_dir_make_tmp("test-agent-hotplug-XXXXXX", NULL);
    ck_assert_ptr_nonnull(root);
    meminfo = g_build_filename(root, "meminfo", NULL);
    test_write("devices/system/cpu/online", "0-1\n");
    test_write("devices/system/cpu/cpu0/topology/core_id", "0\n");
    test_write("devices/system/cpu/cpu1/online", "1\n");
    test_write("devices/system/cpu/cpu2/online", "0\n");
    test_write("devices/system/cpu/cpufreq/online", "0\n");
    test_write("devices/system/cpu/cpuidle/current_driver", "none\n");
    test_write("devices/system/memory/block_size_bytes", "8000000\n");
    test_write("devices/system/memory/memory0/state", "online\n");
    test_write("devices/system/memory/memory1/state", "online\n");
    test_write("devices/system/memory/memory2/state", "going-offline\n");
    test_write("devices/system/memory/memory3/state", "offline\n");
    test_write("devices/system/memory/memory4/state", "offline\n");
    test_set_mem_total(BOOT_KIB);
}

static void teardown(void)
{
    agent_test_remove_tree(root);
    g_clear_pointer(&root, g_free);
    g_clear_pointer(&meminfo, g_free);
}

/* Each kind onlines what is offline (once: a second pass finds nothing) and leaves every other
 * state, and files of other names, alone. */
START_TEST(test_online_devices)
{
    static const struct {
        gboolean (*online)(const char *sysfs, guint *out_onlined, GError **error);
        guint onlined;
        const char *files[3];
        const char *after[3];
    } kinds[] = {
        {agent_hotplug_online_cpus,
         1,
         {"devices/system/cpu/cpu2/online", "devices/system/cpu/cpu1/online",
          "devices/system/cpu/cpufreq/online"},
         {"1", "1\n", "0\n"}},
        {agent_hotplug_online_memory,
         2,
         {"devices/system/memory/memory3/state", "devices/system/memory/memory4/state",
          "devices/system/memory/memory2/state"},
         {"online", "online", "going-offline\n"}},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autoptr(GError) error = NULL;
        guint onlined = 99;

        ck_assert_msg(kinds[i].online(root, &onlined, &error), "%s", error->message);
        ck_assert_uint_eq(onlined, kinds[i].onlined);
        for (gsize j = 0; j < G_N_ELEMENTS(kinds[i].files); j++)
            test_assert_file(kinds[i].files[j], kinds[i].after[j]);
        ck_assert(kinds[i].online(root, &onlined, NULL));
        ck_assert_uint_eq(onlined, 0);
    }
}
END_TEST

/* A device that refuses to go online (here: a write that fails, as the kernel's ENODEV or
 * EINVAL for a memory block it is still adding) is skipped, not an error: what counts is what is
 * online in the end. */
START_TEST(test_refused_online_skipped)
{
    g_autofree char *target = g_build_filename(root, "state-target", NULL);
    g_autofree char *link = g_build_filename(root, "devices/system/memory/memory3/state", NULL);
    g_autoptr(GError) error = NULL;
    guint onlined = 99;

    /* Read through the link ("offline"), but never written: writes do not follow links. */
    ck_assert(g_file_set_contents(target, "offline\n", -1, NULL));
    ck_assert_int_eq(g_unlink(link), 0);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_msg(agent_hotplug_online_memory(root, &onlined, &error), "%s",
                  error ? error->message : "");
    ck_assert_uint_eq(onlined, 1);
    test_assert_file("devices/system/memory/memory4/state", "online");
    test_assert_file("state-target", "offline\n");
}
END_TEST

/* Content that is neither state of a device is an error that names the file and the text. */
START_TEST(test_malformed_device_files)
{
    static const struct {
        const char *file;
        const char *text;
        gboolean (*online)(const char *sysfs, guint *out_onlined, GError **error);
    } cases[] = {
        {"devices/system/cpu/cpu2/online", "2\n", agent_hotplug_online_cpus},
        {"devices/system/cpu/cpu2/online", "0\n0\n", agent_hotplug_online_cpus},
        {"devices/system/cpu/cpu2/online", "", agent_hotplug_online_cpus},
        {"devices/system/memory/memory3/state", "offline \n", agent_hotplug_online_memory},
        {"devices/system/memory/memory3/state", "Online\n", agent_hotplug_online_memory},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        guint onlined = 0;

        test_write(cases[i].file, cases[i].text);
        ck_assert_msg(!cases[i].online(root, &onlined, &error), "'%s' accepted", cases[i].text);
        ck_assert_msg(strstr(error->message, cases[i].file) != NULL, "%s", error->message);
    }
}
END_TEST

START_TEST(test_cpu_list)
{
    static const struct {
        const char *text;
        guint count;
    } good[] = {
        {"0", 1}, {"0-3", 4}, {"0-1,3", 3}, {"0,2-3,5-7", 6}, {"1-1", 1}, {"0-8191", 8192},
    };
    static const char *const bad[] = {
        "",   "-1",    "1-0", "0-1,1", "0,",   ",0",  "0-",  "a",      "0 ",
        " 0", "0-1-2", "+1",  "8192",  "0,,1", "3,1", "0x1", "0-1\n2", "99999999999999999999",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        guint count = 0;

        ck_assert_msg(agent_hotplug_parse_cpu_list("online", good[i].text, &count, &error),
                      "'%s': %s", good[i].text, error ? error->message : "");
        ck_assert_uint_eq(count, good[i].count);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        guint count = 0;

        ck_assert_msg(!agent_hotplug_parse_cpu_list("online", bad[i], &count, &error),
                      "'%s' accepted as %u", bad[i], count);
        ck_assert_msg(strstr(error->message, "'online'") != NULL, "%s", error->message);
    }
}
END_TEST

START_TEST(test_count_cpus)
{
    g_autoptr(GError) error = NULL;
    guint count = 0;

    test_write("devices/system/cpu/online", "0-1,3\n");
    ck_assert_msg(agent_hotplug_count_cpus(root, &count, &error), "%s", error->message);
    ck_assert_uint_eq(count, 3);
    test_write("devices/system/cpu/online", "0-1\n\n");
    ck_assert(!agent_hotplug_count_cpus(root, &count, &error));
    ck_assert_msg(strstr(error->message, "devices/system/cpu/online") != NULL, "%s",
                  error->message);
}
END_TEST

/* ---- requests */

typedef struct {
    gboolean done;
    AgentHotplugResources have;
    GError *error;
} TestReply;

static void test_reply_clear(TestReply *result)
{
    g_clear_error(&result->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TestReply, test_reply_clear)

static void test_on_done(const AgentHotplugResources *have, const GError *error, gpointer data)
{
    TestReply *result = data;

    ck_assert(!result->done);
    ck_assert((have == NULL) != (error == NULL));
    result->done = TRUE;
    if (have != NULL)
        result->have = *have;
    else
        result->error = g_error_copy(error);
}

static AgentHotplug *test_hotplug_new(gboolean may_change, gboolean listen_uevents)
{
    g_autoptr(GError) error = NULL;
    AgentHotplugOptions options = {
        .sysfs = root,
        .meminfo = meminfo,
        .may_change = may_change,
        .listen_uevents = listen_uevents,
    };
    AgentHotplug *hotplug = agent_hotplug_new(NULL, &options, &error);

    ck_assert_msg(hotplug != NULL, "%s", error ? error->message : "");
    return hotplug;
}

/* How long the hotplug's work may take. */
#define TEST_WAIT_US (5 * G_USEC_PER_SEC)

static void test_wait(TestReply *result)
{
    TEST_UTIL_WAIT(result->done, TEST_WAIT_US);
}

/* Whether @hotplug has a source on the default context: the poll timer, or the uevent listener
 * where there is one. */
static gboolean test_has_source(AgentHotplug *hotplug)
{
    return g_main_context_find_source_by_user_data(NULL, hotplug) != NULL;
}

START_TEST(test_request_already_satisfied)
{
    g_autoptr(AgentHotplug) hotplug = test_hotplug_new(TRUE, FALSE);
    g_auto(TestReply) result = {0};

    agent_hotplug_online(hotplug, 2, 0, 1000, test_on_done, &result);
    ck_assert(result.done);
    ck_assert_ptr_null(result.error);
    ck_assert_uint_eq(result.have.cpus_online, 2);
    ck_assert_uint_eq(result.have.memory_total, BOOT_KIB * 1024);
    ck_assert_uint_eq(result.have.boot_memory_total, BOOT_KIB * 1024);
    /* The request onlined what was offline. */
    test_assert_file("devices/system/cpu/cpu2/online", "1");
    ck_assert(!test_has_source(hotplug));
}
END_TEST

static gboolean test_on_cpu_up(gpointer data)
{
    (void)data;
    test_write("devices/system/cpu/online", "0-2\n");
    return G_SOURCE_REMOVE;
}

/* Two requests wait at once and each completes when the guest has what it asked for; the
 * timer runs only while one is pending. */
START_TEST(test_requests_wait)
{
    g_autoptr(AgentHotplug) hotplug = test_hotplug_new(TRUE, FALSE);
    g_auto(TestReply) cpus = {0};
    g_auto(TestReply) memory = {0};

    agent_hotplug_online(hotplug, 3, 0, 5000, test_on_done, &cpus);
    agent_hotplug_online(hotplug, 2, 256 * MIB, 5000, test_on_done, &memory);
    ck_assert(!cpus.done && !memory.done);
    ck_assert(test_has_source(hotplug));
    g_timeout_add(50, test_on_cpu_up, NULL);
    test_wait(&cpus);
    ck_assert_ptr_null(cpus.error);
    ck_assert_uint_eq(cpus.have.cpus_online, 3);
    ck_assert(!memory.done);
    ck_assert(test_has_source(hotplug));

    test_set_mem_total(BOOT_KIB + 256 * 1024);
    test_wait(&memory);
    ck_assert_ptr_null(memory.error);
    ck_assert_uint_eq(memory.have.memory_total, (BOOT_KIB + 256 * 1024) * 1024);
    ck_assert_uint_eq(memory.have.boot_memory_total, BOOT_KIB * 1024);
    ck_assert(!test_has_source(hotplug));
}
END_TEST

START_TEST(test_request_times_out)
{
    g_autoptr(AgentHotplug) hotplug = test_hotplug_new(TRUE, FALSE);
    g_auto(TestReply) result = {0};
    gint64 start = g_get_monotonic_time();

    test_write("devices/system/cpu/online", "0-2\n");
    test_set_mem_total(BOOT_KIB + 256 * 1024);
    agent_hotplug_online(hotplug, 4, 512 * MIB, 30, test_on_done, &result);
    test_wait(&result);
    ck_assert_int_ge(g_get_monotonic_time() - start, 30 * G_TIME_SPAN_MILLISECOND);
    ck_assert(g_error_matches(result.error, AGENT_ERROR, AGENT_ERROR_TIMED_OUT));
    ck_assert_str_eq(result.error->message,
                     "3 of 4 CPUs online, 256 of 512 MiB hot-plugged memory after 30 ms");
    ck_assert(!test_has_source(hotplug));
}
END_TEST

/* A file gone bad while requests wait fails them all. */
START_TEST(test_request_fails_on_bad_file)
{
    g_autoptr(AgentHotplug) hotplug = test_hotplug_new(TRUE, FALSE);
    g_auto(TestReply) first = {0};
    g_auto(TestReply) second = {0};

    agent_hotplug_online(hotplug, 3, 0, 5000, test_on_done, &first);
    agent_hotplug_online(hotplug, 4, 0, 5000, test_on_done, &second);
    test_write("devices/system/cpu/online", "0-x\n");
    test_wait(&first);
    test_wait(&second);
    ck_assert(g_error_matches(first.error, AGENT_ERROR, AGENT_ERROR_FAILED));
    ck_assert(g_error_matches(second.error, AGENT_ERROR, AGENT_ERROR_FAILED));
    ck_assert(!test_has_source(hotplug));
}
END_TEST

START_TEST(test_free_fails_pending)
{
    AgentHotplug *hotplug = test_hotplug_new(TRUE, FALSE);
    g_auto(TestReply) result = {0};

    agent_hotplug_online(hotplug, 3, 0, 5000, test_on_done, &result);
    ck_assert(!result.done);
    agent_hotplug_free(hotplug);
    ck_assert(result.done);
    ck_assert(g_error_matches(result.error, AGENT_ERROR, AGENT_ERROR_STATE));
    ck_assert(!g_main_context_pending(NULL));
}
END_TEST

static void test_expect_error(AgentHotplug *hotplug, guint vcpus, guint64 memory_bytes,
                              guint timeout_ms, gint code)
{
    g_auto(TestReply) result = {0};

    agent_hotplug_online(hotplug, vcpus, memory_bytes, timeout_ms, test_on_done, &result);
    ck_assert_msg(result.done, "%u %" G_GUINT64_FORMAT " %u: pending", vcpus, memory_bytes,
                  timeout_ms);
    ck_assert_msg(g_error_matches(result.error, AGENT_ERROR, code),
                  "%u %" G_GUINT64_FORMAT " %u: %s", vcpus, memory_bytes, timeout_ms,
                  result.error ? result.error->message : "ok");
}

/* Arguments are checked in both modes; a host-mode agent then refuses (and changes nothing). */
START_TEST(test_bad_arguments_and_host_mode)
{
    static const struct {
        guint vcpus;
        guint64 memory_bytes;
        guint timeout_ms;
    } bad[] = {
        {0, 0, 1000},           {256, 0, 1000}, {1, AGENT_HOTPLUG_MEMORY_MAX + 1, 1000},
        {1, G_MAXUINT64, 1000}, {1, 0, 0},      {1, 0, 60001},
    };
    g_autoptr(AgentHotplug) guest = test_hotplug_new(TRUE, FALSE);
    g_autoptr(AgentHotplug) host = test_hotplug_new(FALSE, FALSE);

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        test_expect_error(guest, bad[i].vcpus, bad[i].memory_bytes, bad[i].timeout_ms,
                          AGENT_ERROR_INVALID);
        test_expect_error(host, bad[i].vcpus, bad[i].memory_bytes, bad[i].timeout_ms,
                          AGENT_ERROR_INVALID);
    }
    test_expect_error(host, 255, AGENT_HOTPLUG_MEMORY_MAX, 60000, AGENT_ERROR_STATE);
    test_expect_error(host, 1, 0, 1, AGENT_ERROR_STATE);
    test_assert_file("devices/system/cpu/cpu2/online", "0\n");
}
END_TEST

/* The uevent listener (init mode) is a source on the loop and leaves no fd behind. */
START_TEST(test_uevent_listener)
{
    guint fds;
    AgentHotplug *hotplug;

    g_main_context_default(); /* its wakeup fd is not ours to count */
    fds = agent_test_count_entries(getpid(), "fd");
    hotplug = test_hotplug_new(TRUE, TRUE);

    ck_assert_uint_eq(agent_test_count_entries(getpid(), "fd"), fds + 1);
    ck_assert(test_has_source(hotplug));
    g_main_context_iteration(NULL, FALSE);
    agent_hotplug_free(hotplug);
    ck_assert_uint_eq(agent_test_count_entries(getpid(), "fd"), fds);
}
END_TEST

/* What `udevadm trigger` does to memory0: the kernel announces it again as added, and the host's
 * block stays as it is. */
#define TEST_SYNTHETIC_UEVENT "/sys/devices/system/memory/memory0/uevent"

/* A process (with CAP_NET_ADMIN) claims on the kernel's uevent group that a block was added; one
 * that the host does not have, and that udev would ignore as not from the kernel. */
static void test_send_fake_uevent(const char *name)
{
    g_autofree char *message = g_strdup_printf("add@/devices/system/memory/%s", name);
    struct nl_sock *sock = nl_socket_alloc();

    ck_assert_ptr_nonnull(sock);
    nl_socket_set_peer_groups(sock, 1);
    ck_assert_int_eq(nl_connect(sock, NETLINK_KOBJECT_UEVENT), 0);
    ck_assert_int_ge(nl_sendto(sock, message, strlen(message) + 1), 0);
    nl_socket_free(sock);
}

static gboolean test_memory0_online(void)
{
    g_autofree char *path = g_build_filename(root, "devices/system/memory/memory0/state", NULL);
    g_autofree char *state = NULL;

    ck_assert(g_file_get_contents(path, &state, NULL, NULL));
    return g_str_equal(state, "online");
}

/* A real kernel uevent reaches the listener, which onlines the block it names (memory0 of the
 * fake tree); one from a process does not. Needs root. */
START_TEST(test_uevent_onlines)
{
    g_autoptr(AgentHotplug) hotplug = NULL;

    test_write("devices/system/memory/memory0/state", "offline\n");
    test_write("devices/system/memory/memory999999/state", "offline\n");
    hotplug = test_hotplug_new(TRUE, TRUE);
    /* In this order: the fake one has been handled by the time the real one has. */
    test_send_fake_uevent("memory999999");
    ck_assert(g_file_set_contents_full(TEST_SYNTHETIC_UEVENT, "add", -1, G_FILE_SET_CONTENTS_NONE,
                                       0644, NULL));
    TEST_UTIL_WAIT(test_memory0_online(), TEST_WAIT_US);
    test_assert_file("devices/system/memory/memory999999/state", "offline\n");
}
END_TEST

int main(void)
{
    const TTest *tests[] = {
        test_online_devices,
        test_refused_online_skipped,
        test_malformed_device_files,
        test_cpu_list,
        test_count_cpus,
        test_request_already_satisfied,
        test_requests_wait,
        test_request_times_out,
        test_request_fails_on_bad_file,
        test_free_fails_pending,
        test_bad_arguments_and_host_mode,
        test_uevent_listener,
        NULL,
        NULL,
    };

    if (access(TEST_SYNTHETIC_UEVENT, W_OK) == 0)
        tests[G_N_ELEMENTS(tests) - 2] = test_uevent_onlines;
    else
        g_printerr("not root: no test of a real kernel uevent\n");
    return agent_test_main("agent-hotplug", tests, 30, setup, teardown);
}
