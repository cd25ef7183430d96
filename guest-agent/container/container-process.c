/* container-process.c: the last steps of a container process before execve (stdio, terminal,
 * cwd, rlimits, user, capabilities, no_new_privs, seccomp), run in the cloned child. */
#include "container-child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common-fd.h"

extern char **environ;

int child_setup_stdio(const int stdio_fds[3], ChildError *ce)
{
    /* Copy above 2 first: a source may itself be 0, 1 or 2. */
    int high[3];
    for (int i = 0; i < 3; i++) {
        high[i] = fcntl(stdio_fds[i], F_DUPFD_CLOEXEC, 3);
        if (high[i] < 0)
            return child_fail(ce, errno, "dup stdio fd %d", stdio_fds[i]);
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(high[i], i) < 0)
            return child_fail(ce, errno, "dup2 onto fd %d", i);
        close(high[i]);
    }
    if (setsid() < 0)
        return child_fail(ce, errno, "setsid");
    return 0;
}

/* The init's terminal is also its /dev/console, as the OCI runtime spec asks: the pty slave
 * (/dev/pts/N of the container's devpts) is bound onto /dev/console, created if missing. Runs
 * after the pivot into the container's root, so every path resolves inside it. */
static int bind_console(int root, int master, ChildError *ce)
{
    unsigned int n;
    if (ioctl(master, TIOCGPTN, &n) < 0)
        return child_fail(ce, errno, "get the pty number");
    common_autofd int dev = child_open_in_root(root, "/dev", O_PATH | O_DIRECTORY);
    if (dev < 0)
        return child_fail(ce, errno, "open /dev in the container (for /dev/console)");
    /* O_EXCL: an existing /dev/console (a device node from the spec) is mounted over, never opened.
     */
    int fd = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0 && errno != EEXIST)
        return child_fail(ce, errno, "create /dev/console");
    common_fd_close(&fd);
    char slave_path[32];
    snprintf(slave_path, sizeof slave_path, "/dev/pts/%u", n);
    if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return child_fail(ce, errno, "bind %s onto /dev/console", slave_path);
    return 0;
}

int child_setup_terminal(const OciProcess *p, gboolean console, int sock, ChildError *ce)
{
    common_autofd int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    common_autofd int master =
        root < 0 ? -1 : child_open_in_root(root, "/dev/ptmx", O_RDWR | O_NOCTTY);
    if (master < 0)
        return child_fail(ce, errno, "open /dev/ptmx in the container (a terminal needs /dev/pts)");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return child_fail(ce, errno, "unlock the pty");
    common_autofd int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return child_fail(ce, errno, "open the pty slave");
    if (console && bind_console(root, master, ce) < 0)
        return -1;
    if (p->console_rows && p->console_cols) {
        struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
        if (ioctl(master, TIOCSWINSZ, &ws) < 0)
            return child_fail(ce, errno, "set the terminal size");
    }
    SyncMsg msg = {.kind = SYNC_PTY};
    int rc = sync_send(sock, &msg, master);
    if (rc < 0)
        return child_fail(ce, -rc, "send the pty master");
    if (setsid() < 0)
        return child_fail(ce, errno, "setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return child_fail(ce, errno, "make the pty the controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return child_fail(ce, errno, "dup2 the pty onto fd %d", i);
    return 0;
}

static int set_rlimits(const OciProcess *p, ChildError *ce)
{
    for (gsize i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
        if (setrlimit(p->rlimits[i].resource, &rl) < 0)
            return child_fail(ce, errno, "setrlimit %d", p->rlimits[i].resource);
    }
    return 0;
}

static int set_oom_score_adj(const OciProcess *p, ChildError *ce)
{
    char value[16];
    if (!p->has_oom_score_adj)
        return 0;
    int n = snprintf(value, sizeof value, "%d", p->oom_score_adj);
    common_autofd int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, (size_t)n) != n)
        return child_fail(ce, errno, "write oom_score_adj %d", p->oom_score_adj);
    return 0;
}

static int drop_bounding_set(const OciCapabilities *caps, ChildError *ce)
{
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (caps->bounding & (G_GUINT64_CONSTANT(1) << cap))
            continue;
        /* EINVAL: the running kernel does not know this capability. */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return child_fail(ce, errno, "drop capability %d from the bounding set", cap);
    }
    return 0;
}

static int set_user(const OciProcess *p, ChildError *ce)
{
    if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
        return child_fail(ce, errno, "setgroups");
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return child_fail(ce, errno, "setresgid %u", (unsigned)p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return child_fail(ce, errno, "setresuid %u", (unsigned)p->uid);
    return 0;
}

static int set_capabilities(const OciCapabilities *caps, ChildError *ce)
{
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = (guint32)(caps->effective >> (32 * i));
        data[i].permitted = (guint32)(caps->permitted >> (32 * i));
        data[i].inheritable = (guint32)(caps->inheritable >> (32 * i));
    }
    if (syscall(SYS_capset, &header, data) < 0)
        return child_fail(ce, errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return child_fail(ce, errno, "clear the ambient capabilities");
    /* What the kernel refuses (EPERM: not both permitted and inheritable; EINVAL: a capability
     * the running kernel lacks) is skipped, as runc does; the parser has logged it. */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if ((caps->ambient & (G_GUINT64_CONSTANT(1) << cap)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM &&
            errno != EINVAL)
            return child_fail(ce, errno, "raise ambient capability %d", cap);
    }
    return 0;
}

static int load_seccomp(const OciSpec *spec, ChildError *ce)
{
    if (spec->seccomp_filter == NULL)
        return 0;
    struct sock_fprog prog = {.len = (unsigned short)spec->seccomp_len,
                              .filter = spec->seccomp_filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, spec->seccomp_flags, &prog) < 0)
        return child_fail(ce, errno, "load the seccomp filter");
    return 0;
}

/* User, capabilities and seccomp, in the order the kernel allows: the bounding set is dropped
 * while we still have CAP_SETPCAP; without no_new_privs, loading a filter needs CAP_SYS_ADMIN,
 * so it happens before the capabilities go. With no_new_privs it is the last step. */
static int apply_security(const OciProcess *p, const OciSpec *spec, ChildError *ce)
{
    static const OciCapabilities none = {0};
    const OciCapabilities *caps = p->has_capabilities ? &p->caps : &none;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return child_fail(ce, errno, "PR_SET_KEEPCAPS");
    if (drop_bounding_set(caps, ce) < 0 || (!p->no_new_privileges && load_seccomp(spec, ce) < 0) ||
        set_user(p, ce) < 0 || set_capabilities(caps, ce) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return child_fail(ce, errno, "PR_SET_KEEPCAPS");
    if (p->no_new_privileges) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            return child_fail(ce, errno, "PR_SET_NO_NEW_PRIVS");
        return load_seccomp(spec, ce);
    }
    return 0;
}

/* The caller may block signals (for a signalfd) or ignore some (SIGPIPE); execve keeps both. */
static int reset_signals(ChildError *ce)
{
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL); /* EINVAL for the real-time signals glibc reserves */
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        return child_fail(ce, errno, "sigprocmask");
    return 0;
}

int child_exec_process(const OciProcess *p, const OciSpec *spec, ChildError *ce)
{
    if (reset_signals(ce) < 0)
        return -1;
    if (chdir(p->cwd) < 0)
        return child_fail(ce, errno, "chdir to cwd '%s'", p->cwd);
    if (p->has_umask)
        umask(p->umask);
    if (set_rlimits(p, ce) < 0 || set_oom_score_adj(p, ce) < 0)
        return -1;
    /* No fd of the builder may reach the container (CVE-2024-21626); the sync socket stays
     * usable until execve to report its failure. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return child_fail(ce, errno, "close_range");
    if (apply_security(p, spec, ce) < 0)
        return -1;
    environ = p->env;
    execvp(p->args[0], p->args);
    return child_fail(ce, errno, "exec '%s'", p->args[0]);
}
