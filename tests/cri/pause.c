/* The pod's placeholder process for the CRI tests' sandbox image: it holds the pod's namespaces
 * open, so it does nothing but wait. As PID 1 of a pod's PID namespace it must reap the orphans
 * that get reparented to it (otherwise they stay zombies), and it must exit on the signals a
 * runtime stops a sandbox with: as PID 1 the kernel ignores any signal it has no handler for. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sigaction under -std=c11 */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

/* Reaps every child that has ended; WNOHANG so that one SIGCHLD for several exits loses none. */
static void on_child(int sig)
{
    int saved = errno;
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

static int install(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
        fprintf(stderr, "pause: sigaction(%d): %s\n", sig, strerror(errno));
        return -1;
    }
    return 0;
}

int main(void)
{
    if (install(SIGINT, on_stop) != 0 || install(SIGTERM, on_stop) != 0 ||
        install(SIGCHLD, on_child) != 0)
        return EXIT_FAILURE;
    for (;;)
        pause();
}
