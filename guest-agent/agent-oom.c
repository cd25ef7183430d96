/* The OOM event queue. The kernel signals a change of memory.events with POLLPRI on an fd that
 * has read the file; reading it again re-arms the notification, so every wake-up re-reads through
 * the same fd before asking the builder for the counter. */
#include "agent-oom.h"
#include "agent-error.h"

#include <glib-unix.h>
#include <unistd.h>

typedef struct {
    AgentOom *oom;
    Container *container;
    GSource *source;
    guint64 seen; /* oom_kill count already reported */
} OomWatch;

typedef struct {
    AgentOomFunc func;
    gpointer user_data;
} OomPoll;

struct _AgentOom {
    GMainContext *context;
    GHashTable *watches; /* Container* -> OomWatch */
    GQueue events;       /* char *container_id */
    GQueue polls;        /* OomPoll */
};

static void oom_deliver(AgentOom *oom)
{
    while (!g_queue_is_empty(&oom->events) && !g_queue_is_empty(&oom->polls)) {
        g_autofree char *id = g_queue_pop_head(&oom->events);
        g_autofree OomPoll *poll = g_queue_pop_head(&oom->polls);

        poll->func(id, NULL, poll->user_data);
    }
}

static void oom_push(AgentOom *oom, const char *container_id)
{
    if (g_queue_get_length(&oom->events) >= AGENT_OOM_QUEUE_MAX)
        g_free(g_queue_pop_head(&oom->events));
    g_queue_push_tail(&oom->events, g_strdup(container_id));
    oom_deliver(oom);
}

/* Re-arms the notification and queues an event if the counter went up. */
static void oom_check(OomWatch *watch)
{
    int fd = container_get_memory_events_fd(watch->container);
    g_autoptr(GError) error = NULL;
    char buf[512];
    guint64 count = 0;

    if (fd < 0 || pread(fd, buf, sizeof(buf), 0) < 0)
        return;
    if (!container_get_oom_kill_count(watch->container, &count, &error)) {
        g_debug("oom_kill count of '%s': %s", container_get_id(watch->container), error->message);
        return;
    }
    if (count > watch->seen) {
        watch->seen = count;
        oom_push(watch->oom, container_get_id(watch->container));
    }
}

static gboolean oom_on_event(gint fd, GIOCondition condition, gpointer user_data)
{
    (void)fd;
    (void)condition;
    oom_check(user_data);
    return G_SOURCE_CONTINUE;
}

static void oom_watch_free(OomWatch *watch)
{
    g_source_destroy(watch->source);
    g_source_unref(watch->source);
    g_free(watch);
}

AgentOom *agent_oom_new(GMainContext *context)
{
    AgentOom *oom = g_new0(AgentOom, 1);

    oom->context = context;
    oom->watches = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)oom_watch_free);
    g_queue_init(&oom->events);
    g_queue_init(&oom->polls);
    return oom;
}

void agent_oom_free(AgentOom *oom)
{
    g_autoptr(GError) error = NULL;
    OomPoll *poll;

    if (oom == NULL)
        return;
    error = g_error_new_literal(AGENT_ERROR, AGENT_ERROR_STATE, "the agent is shutting down");
    while ((poll = g_queue_pop_head(&oom->polls)) != NULL) {
        poll->func(NULL, error, poll->user_data);
        g_free(poll);
    }
    g_queue_clear_full(&oom->events, g_free);
    g_hash_table_unref(oom->watches);
    g_free(oom);
}

void agent_oom_watch(AgentOom *oom, Container *container)
{
    int fd = container_get_memory_events_fd(container);
    OomWatch *watch;
    char buf[512];

    if (fd < 0)
        return;
    watch = g_new0(OomWatch, 1);
    watch->oom = oom;
    watch->container = container;
    /* The first read arms the notification; kills before this point belong to nobody. */
    if (pread(fd, buf, sizeof(buf), 0) < 0 ||
        !container_get_oom_kill_count(container, &watch->seen, NULL))
        watch->seen = 0;
    watch->source = g_unix_fd_source_new(fd, G_IO_PRI);
    g_source_set_callback(watch->source, G_SOURCE_FUNC(oom_on_event), watch, NULL);
    g_source_attach(watch->source, oom->context);
    g_hash_table_insert(oom->watches, container, watch);
}

void agent_oom_unwatch(AgentOom *oom, Container *container)
{
    OomWatch *watch = g_hash_table_lookup(oom->watches, container);

    if (watch == NULL)
        return;
    oom_check(watch);
    g_hash_table_remove(oom->watches, container);
}

void agent_oom_poll(AgentOom *oom, AgentOomFunc func, gpointer user_data)
{
    OomPoll *poll = g_new0(OomPoll, 1);

    poll->func = func;
    poll->user_data = user_data;
    g_queue_push_tail(&oom->polls, poll);
    oom_deliver(oom);
}
