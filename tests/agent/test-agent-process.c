/* AgentProcess (exit status, waits, signals after exit) and the id rules, with real child
 * processes. No root. */
#include "agent-error.h"
#include "agent-pod.h"
#include "agent-process.h"

#include "agent-test.h"

#include <check.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs a child that ends with exit(@code), or by signal @sig when @sig != 0; returns its wait
 * status. */
static int child_status(int code, int sig)
{
    pid_t pid = fork();
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Check's own SIGTERM handler (inherited) would kill the whole process group. */
        if (sig != 0) {
            signal(sig, SIG_DFL);
            raise(sig);
            _exit(99);
        }
        _exit(code);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(test_exit_status)
{
    ck_assert_uint_eq(agent_process_exit_status(child_status(0, 0)), 0);
    ck_assert_uint_eq(agent_process_exit_status(child_status(7, 0)), 7);
    ck_assert_uint_eq(agent_process_exit_status(child_status(0, SIGKILL)), 128 + SIGKILL);
    ck_assert_uint_eq(agent_process_exit_status(child_status(0, SIGTERM)), 128 + SIGTERM);
}
END_TEST

typedef struct {
    int calls;
    guint32 status;
    gboolean failed;
} WaitResult;

static void on_exit_cb(AgentProcess *process, const GError *error, gpointer user_data)
{
    WaitResult *result = user_data;

    result->calls++;
    result->failed = error != NULL;
    if (error == NULL)
        result->status = agent_process_get_exit_status(process);
}

START_TEST(test_wait_before_and_after_exit)
{
    AgentStdio stdio = AGENT_STDIO_INIT;
    pid_t pid = fork();
    g_autoptr(AgentProcess) process = NULL;
    g_autoptr(GError) error = NULL;
    WaitResult early = {0}, late = {0};
    int status = 0;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    process = agent_process_new("e1", pid, AGENT_PROCESS_RUNNING, &stdio, NULL);
    agent_process_wait(process, on_exit_cb, &early);
    ck_assert_int_eq(early.calls, 0);
    ck_assert(agent_process_signal(process, SIGKILL, &error));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    agent_process_exited(process, status, FALSE);
    ck_assert_int_eq(early.calls, 1);
    ck_assert_uint_eq(early.status, 128 + SIGKILL);
    ck_assert_int_eq(agent_process_get_state(process), AGENT_PROCESS_EXITED);
    ck_assert_int_gt(agent_process_get_exited_at(process), 0);
    agent_process_wait(process, on_exit_cb, &late);
    ck_assert_int_eq(late.calls, 1);
    ck_assert_uint_eq(late.status, 128 + SIGKILL);
    /* The pid is gone (and may be reused): no signal may reach it. */
    ck_assert(!agent_process_signal(process, SIGKILL, &error));
    ck_assert(g_error_matches(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND));
}
END_TEST

START_TEST(test_free_fails_waits)
{
    AgentStdio stdio = AGENT_STDIO_INIT;
    AgentProcess *process = agent_process_new("", getpid(), AGENT_PROCESS_CREATED, &stdio, NULL);
    WaitResult result = {0};
    g_autoptr(GError) error = NULL;

    agent_process_wait(process, on_exit_cb, &result);
    ck_assert(!agent_process_resize(process, 10, 10, &error));
    ck_assert(g_error_matches(error, AGENT_ERROR, AGENT_ERROR_STATE));
    agent_process_free(process);
    ck_assert_int_eq(result.calls, 1);
    ck_assert(result.failed);
}
END_TEST

START_TEST(test_ids)
{
    static const char *const good[] = {"a", "A-b_c.d",
                                       "0123456789012345678901234567890123456789"
                                       "012345678901234567890123"};
    static const char *const bad[] = {"",
                                      ".a",
                                      "a/b",
                                      "..",
                                      "a b",
                                      "a\n",
                                      "ä",
                                      "0123456789012345678901234567890123456789"
                                      "0123456789012345678901234"};

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
        ck_assert_msg(agent_pod_check_id("id", good[i], NULL), "'%s' refused", good[i]);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(!agent_pod_check_id("id", bad[i], &error), "'%s' accepted", bad[i]);
        ck_assert(g_error_matches(error, AGENT_ERROR, AGENT_ERROR_INVALID));
    }
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_exit_status, test_wait_before_and_after_exit, test_free_fails_waits, test_ids, NULL,
    };

    return agent_test_main("agent-process", tests, 30, NULL, NULL);
}
