/* AgentOutput and AgentInput over real pipes, driven by the default main context. No root. */
#include "agent-error.h"
#include "agent-stream.h"

#include "agent-test.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_US (5 * G_USEC_PER_SEC)

typedef struct {
    GString *data;
    gboolean done;
    gboolean eof;
    gboolean refuse; /* return FALSE: the reader is gone */
} ReadResult;

static gboolean on_read(const guint8 *data, gsize len, gboolean eof, gpointer user_data)
{
    ReadResult *result = user_data;

    result->done = TRUE;
    result->eof = eof;
    if (result->refuse)
        return FALSE;
    g_string_append_len(result->data, (const char *)data, len);
    return TRUE;
}

static char *read_once(AgentOutput *output, gsize max, gboolean *out_eof)
{
    ReadResult result = {.data = g_string_new(NULL)};

    agent_output_read(output, max, on_read, &result);
    TEST_UTIL_WAIT(result.done, WAIT_US);
    *out_eof = result.eof;
    return g_string_free(result.data, FALSE);
}

static void make_pipe(int fds[2])
{
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
}

START_TEST(test_output_chunks_then_eof)
{
    int fds[2];
    g_autoptr(AgentOutput) output = NULL;
    gboolean eof = TRUE;
    g_autofree char *ab = NULL, *c = NULL, *end = NULL;

    make_pipe(fds);
    output = agent_output_new(&fds[0], NULL);
    ck_assert_int_eq(fds[0], -1);
    ck_assert_int_eq(write(fds[1], "abc", 3), 3);
    ab = read_once(output, 2, &eof);
    ck_assert_str_eq(ab, "ab");
    ck_assert(!eof);
    c = read_once(output, 10, &eof);
    ck_assert_str_eq(c, "c");
    ck_assert(!eof);
    ck_assert(!agent_output_is_done(output));
    close(fds[1]);
    end = read_once(output, 10, &eof);
    ck_assert_str_eq(end, "");
    ck_assert(eof);
    ck_assert(agent_output_is_done(output));
}
END_TEST

START_TEST(test_output_eof_only_after_drain)
{
    int fds[2];
    g_autoptr(AgentOutput) output = NULL;
    gboolean eof = TRUE;
    g_autofree char *a = NULL, *rest = NULL;

    make_pipe(fds);
    ck_assert_int_eq(write(fds[1], "abc", 3), 3);
    close(fds[1]);
    output = agent_output_new(&fds[0], NULL);
    test_util_run_for(50 * G_TIME_SPAN_MILLISECOND);
    a = read_once(output, 1, &eof);
    ck_assert_str_eq(a, "a");
    ck_assert(!eof);
    /* The last bytes come with the EOF flag. */
    rest = read_once(output, 10, &eof);
    ck_assert_str_eq(rest, "bc");
    ck_assert(eof);
}
END_TEST

START_TEST(test_output_pending_read_completes_on_data)
{
    int fds[2];
    g_autoptr(AgentOutput) output = NULL;
    ReadResult result = {.data = g_string_new(NULL)};

    make_pipe(fds);
    output = agent_output_new(&fds[0], NULL);
    agent_output_read(output, 100, on_read, &result);
    test_util_run_for(50 * G_TIME_SPAN_MILLISECOND);
    ck_assert(!result.done);
    ck_assert_int_eq(write(fds[1], "late", 4), 4);
    TEST_UTIL_WAIT(result.done, WAIT_US);
    ck_assert_str_eq(result.data->str, "late");
    ck_assert(!result.eof);
    close(fds[1]);
    g_string_free(result.data, TRUE);
}
END_TEST

START_TEST(test_output_refused_read_keeps_data)
{
    int fds[2];
    g_autoptr(AgentOutput) output = NULL;
    ReadResult gone = {.data = g_string_new(NULL), .refuse = TRUE};
    gboolean eof = TRUE;
    g_autofree char *kept = NULL;

    make_pipe(fds);
    output = agent_output_new(&fds[0], NULL);
    agent_output_read(output, 100, on_read, &gone);
    ck_assert_int_eq(write(fds[1], "kept", 4), 4);
    TEST_UTIL_WAIT(gone.done, WAIT_US);
    kept = read_once(output, 100, &eof);
    ck_assert_str_eq(kept, "kept");
    close(fds[1]);
    g_string_free(gone.data, TRUE);
}
END_TEST

START_TEST(test_output_buffer_is_bounded)
{
    int fds[2];
    g_autoptr(AgentOutput) output = NULL;
    g_autofree guint8 *chunk = g_malloc(4096);
    gsize written = 0, received = 0;
    int capacity;
    gboolean eof = FALSE;

    make_pipe(fds);
    ck_assert_int_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    output = agent_output_new(&fds[0], NULL);
    /* The agent enlarges the pipe to its own bound. */
    capacity = fcntl(fds[1], F_GETPIPE_SZ);
    ck_assert_int_eq(capacity, AGENT_OUTPUT_BUFFER_MAX);
    /* With nobody reading, the agent buffers up to its bound and then leaves the pipe full. */
    for (int idle = 0; idle < 100;) {
        ssize_t n;

        memset(chunk, 'a' + (written / 4096) % 26, 4096);
        n = write(fds[1], chunk, 4096);
        if (n > 0) {
            written += n;
            idle = 0;
        } else {
            ck_assert_int_eq(errno, EAGAIN);
            idle++;
        }
        g_main_context_iteration(NULL, FALSE);
    }
    ck_assert_uint_ge(written, AGENT_OUTPUT_BUFFER_MAX);
    ck_assert_uint_le(written, AGENT_OUTPUT_BUFFER_MAX + capacity);
    close(fds[1]);
    while (!eof) {
        g_autofree char *data = read_once(output, 65536, &eof);
        gsize len = strlen(data);

        gsize bad = len;

        for (gsize i = 0; i < len && bad == len; i++) {
            if (data[i] != (char)('a' + ((received + i) / 4096) % 26))
                bad = i;
        }
        ck_assert_msg(bad == len, "byte %zu is out of order", received + bad);
        received += len;
    }
    ck_assert_uint_eq(received, written);
}
END_TEST

START_TEST(test_output_free_completes_reads)
{
    int fds[2];
    AgentOutput *output;
    ReadResult result = {.data = g_string_new(NULL)};

    make_pipe(fds);
    output = agent_output_new(&fds[0], NULL);
    agent_output_read(output, 100, on_read, &result);
    agent_output_free(output);
    ck_assert(result.done);
    ck_assert(result.eof);
    close(fds[1]);
    g_string_free(result.data, TRUE);
}
END_TEST

START_TEST(test_output_absent_is_eof)
{
    int fd = -1;
    g_autoptr(AgentOutput) output = agent_output_new(&fd, NULL);
    gboolean eof = FALSE;
    g_autofree char *data = read_once(output, 10, &eof);

    ck_assert_str_eq(data, "");
    ck_assert(eof);
}
END_TEST

typedef struct {
    gboolean done;
    gsize written;
    GError *error;
} WriteResult;

static void on_written(gsize written, const GError *error, gpointer user_data)
{
    WriteResult *result = user_data;

    result->done = TRUE;
    result->written = written;
    result->error = error ? g_error_copy(error) : NULL;
}

START_TEST(test_input_waits_for_room_then_closes)
{
    int fds[2];
    g_autoptr(AgentInput) input = NULL;
    gsize len = 256 * 1024; /* more than a pipe holds */
    g_autofree guint8 *data = g_malloc(len);
    g_autofree guint8 *back = g_malloc(len + 1);
    WriteResult result = {0};
    gsize got = 0;
    ssize_t n;

    make_pipe(fds);
    for (gsize i = 0; i < len; i++)
        data[i] = i % 251;
    input = agent_input_new(&fds[1], AGENT_INPUT_PIPE, NULL);
    agent_input_write(input, data, len, on_written, &result);
    test_util_run_for(50 * G_TIME_SPAN_MILLISECOND);
    ck_assert(!result.done);
    agent_input_close(input);
    ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    /* Until read() returns 0: the agent closed its end once everything was written. */
    while ((n = read(fds[0], back + got, len + 1 - got)) != 0) {
        ck_assert(n > 0 || errno == EAGAIN);
        got += MAX(n, 0);
        g_main_context_iteration(NULL, FALSE);
    }
    ck_assert_uint_eq(got, len);
    ck_assert(memcmp(data, back, len) == 0);
    ck_assert(result.done);
    ck_assert(result.error == NULL);
    ck_assert_uint_eq(result.written, len);
    close(fds[0]);
}
END_TEST

START_TEST(test_input_errors)
{
    int fds[2];
    g_autoptr(AgentInput) input = NULL;
    WriteResult broken = {0}, closed = {0};

    make_pipe(fds);
    input = agent_input_new(&fds[1], AGENT_INPUT_PIPE, NULL);
    close(fds[0]);
    agent_input_write(input, (const guint8 *)"x", 1, on_written, &broken);
    ck_assert(broken.done);
    ck_assert(g_error_matches(broken.error, AGENT_ERROR, AGENT_ERROR_STATE));
    agent_input_close(input);
    agent_input_write(input, (const guint8 *)"x", 1, on_written, &closed);
    ck_assert(closed.done);
    ck_assert(g_error_matches(closed.error, AGENT_ERROR, AGENT_ERROR_STATE));
    g_error_free(broken.error);
    g_error_free(closed.error);
}
END_TEST

/* A socket's input ends with shutdown(SHUT_WR): the peer reads end-of-file after the queued bytes
 * although the socket stays open through another fd, which goes on reading. */
START_TEST(test_input_socket_shuts_down_write_side)
{
    int fds[2];
    int write_fd;
    g_autoptr(AgentInput) input = NULL;
    g_autoptr(AgentOutput) output = NULL;
    WriteResult result = {0};
    char buf[8];
    gboolean eof = TRUE;
    g_autofree char *back = NULL;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    write_fd = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
    ck_assert_int_ge(write_fd, 0);
    input = agent_input_new(&write_fd, AGENT_INPUT_SOCKET, NULL);
    output = agent_output_new(&fds[0], NULL);
    agent_input_write(input, (const guint8 *)"ab", 2, on_written, &result);
    agent_input_close(input);
    TEST_UTIL_WAIT(result.done, WAIT_US);
    ck_assert(result.error == NULL);
    ck_assert_int_eq(read(fds[1], buf, sizeof(buf)), 2);
    ck_assert_int_eq(read(fds[1], buf, sizeof(buf)), 0);
    ck_assert_int_eq(write(fds[1], "cd", 2), 2);
    back = read_once(output, 10, &eof);
    ck_assert_str_eq(back, "cd");
    ck_assert(!eof);
    close(fds[1]);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_output_chunks_then_eof,
        test_output_eof_only_after_drain,
        test_output_pending_read_completes_on_data,
        test_output_refused_read_keeps_data,
        test_output_buffer_is_bounded,
        test_output_free_completes_reads,
        test_output_absent_is_eof,
        test_input_waits_for_room_then_closes,
        test_input_errors,
        test_input_socket_shuts_down_write_side,
        NULL,
    };

    /* As in the agent: a closed pipe gives EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return agent_test_main("agent-stream", tests, 30, NULL, NULL);
}
