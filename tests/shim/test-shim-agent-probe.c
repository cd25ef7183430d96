/* The agent-readiness probe (shim-agent-probe.c) on a host agent: the fake agent, started before
 * or after the probe, answering or hanging. */
#include <check.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>

#include "agent.pb-c.h"
#include "shim-agent-probe.h"
#include "test-util.h"
#include "shim-error.h"

#define ANSWER_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define SHORT_TIMEOUT_US (300 * 1000)
/* The agent comes up this long after the probe started: the probe must retry meanwhile. */
#define LATE_START_MS 300

typedef struct {
    gboolean done;
    TtrpcClient *client;
    char *agent_version;
    guint32 agent_pid;
    GError *error;
} Answer;

static char *dir;
static char *socket_path;
static GPid agent = 0;

static void setup(void)
{
    dir = g_dir_make_tmp("sc-probe-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    socket_path = g_build_filename(dir, "agent.sock", NULL);
}

static void teardown(void)
{
    if (agent > 0) {
        kill(agent, SIGKILL);
        waitpid(agent, NULL, 0);
        agent = 0;
    }
    g_unlink(socket_path);
    g_rmdir(dir);
    g_clear_pointer(&socket_path, g_free);
    g_clear_pointer(&dir, g_free);
}

static gboolean start_agent(gpointer mode)
{
    const char *argv[] = {g_getenv("SC_FAKE_AGENT"), "--listen", NULL, NULL};
    g_autofree char *listen = g_strconcat("unix:", socket_path, NULL);
    g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "SC_FAKE_AGENT_MODE", mode, TRUE);
    g_autoptr(GError) error = NULL;

    argv[2] = listen;
    ck_assert_msg(argv[0] != NULL, "SC_FAKE_AGENT not set");
    ck_assert_msg(g_spawn_async(NULL, (char **)argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &agent, &error),
                  "%s", error ? error->message : "");
    return G_SOURCE_REMOVE;
}

static void on_answer(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                      gpointer data)
{
    Answer *answer = data;

    ck_assert(!answer->done);
    answer->done = TRUE;
    answer->client = client;
    answer->error = error ? g_error_copy(error) : NULL;
    if (info) {
        answer->agent_version = g_strdup(info->agent_version);
        answer->agent_pid = info->agent_pid;
    }
}

static void answer_clear(Answer *answer)
{
    g_clear_pointer(&answer->client, ttrpc_client_free);
    g_clear_pointer(&answer->agent_version, g_free);
    g_clear_error(&answer->error);
}

/* The socket appears only later: the probe retries, then hands over a live client. */
START_TEST(test_agent_starts_late)
{
    Answer answer = {0};
    g_autoptr(ShimAgentProbe) probe =
        shim_agent_probe_host(socket_path, ANSWER_TIMEOUT_US, on_answer, &answer);
    g_autoptr(GBytes) reply = NULL;
    g_autoptr(GError) error = NULL;

    ck_assert(!answer.done); /* never from inside the call */
    g_timeout_add(LATE_START_MS, start_agent, "");
    test_util_run_until(&answer.done, ANSWER_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(answer.done && answer.error == NULL, "%s",
                  answer.error ? answer.error->message : "no answer");
    ck_assert_str_eq(answer.agent_version, "fake");
    ck_assert_uint_eq(answer.agent_pid, 1);
    reply = ttrpc_client_call_sync(answer.client, secure__agent__v1__agent__descriptor.name,
                                   "CreateSandbox", NULL, ANSWER_TIMEOUT_US, &error);
    ck_assert_msg(reply != NULL, "%s", error ? error->message : "");
    answer_clear(&answer);
}
END_TEST

START_TEST(test_no_agent_times_out)
{
    Answer answer = {0};
    g_autoptr(ShimAgentProbe) probe =
        shim_agent_probe_host(socket_path, SHORT_TIMEOUT_US, on_answer, &answer);

    test_util_run_until(&answer.done, SHORT_TIMEOUT_US + 2 * G_USEC_PER_SEC);
    ck_assert(answer.done);
    ck_assert_ptr_null(answer.client);
    ck_assert_msg(g_error_matches(answer.error, SHIM_ERROR, SHIM_ERROR_UNAVAILABLE), "%s",
                  answer.error ? answer.error->message : "no error");
    ck_assert_msg(strstr(answer.error->message, socket_path), "%s", answer.error->message);
    answer_clear(&answer);
}
END_TEST

/* An agent that answered once and then hangs: the second probe's Health gets no answer. */
START_TEST(test_hanging_agent_times_out)
{
    Answer first = {0}, second = {0};
    g_autoptr(ShimAgentProbe) probe = NULL;

    start_agent("hang");
    probe = shim_agent_probe_host(socket_path, ANSWER_TIMEOUT_US, on_answer, &first);
    test_util_run_until(&first.done, ANSWER_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(first.done && first.error == NULL, "%s",
                  first.error ? first.error->message : "no answer");
    g_clear_pointer(&probe, shim_agent_probe_free);
    probe = shim_agent_probe_host(socket_path, SHORT_TIMEOUT_US, on_answer, &second);
    test_util_run_until(&second.done, SHORT_TIMEOUT_US + 2 * G_USEC_PER_SEC);
    ck_assert(second.done);
    ck_assert_msg(g_error_matches(second.error, SHIM_ERROR, SHIM_ERROR_UNAVAILABLE), "%s",
                  second.error ? second.error->message : "no error");
    answer_clear(&first);
    answer_clear(&second);
}
END_TEST

/* A probe freed while its Health call is in flight never calls back. */
START_TEST(test_freed_probe_is_silent)
{
    Answer answer = {0};
    ShimAgentProbe *probe;

    start_agent("");
    probe = shim_agent_probe_host(socket_path, ANSWER_TIMEOUT_US, on_answer, &answer);
    g_main_context_iteration(NULL, FALSE); /* the connect and the call go out */
    shim_agent_probe_free(probe);
    test_util_run_for(500 * G_TIME_SPAN_MILLISECOND);
    ck_assert(!answer.done);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("shim-agent-probe");
    TCase *tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_agent_starts_late);
    tcase_add_test(tc, test_no_agent_times_out);
    tcase_add_test(tc, test_hanging_agent_times_out);
    tcase_add_test(tc, test_freed_probe_is_silent);
    suite_add_tcase(suite, tc);
    return test_util_run(suite, CK_FORK_GETENV);
}
