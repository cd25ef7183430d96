/* container-rootfs.c: the container's mount tree, built in the child's new mount namespace.
 *
 * Every destination is opened beneath the root fd (RESOLVE_IN_ROOT) and mounted through
 * /proc/self/fd/N, so that a symlink in the container image can never redirect a mount or a
 * created directory to the host (CVE-2021-30465). */
#include "container-child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common-fd.h"

typedef struct {
    char path[32];
} FdPath;

static const char *fd_path(FdPath *buf, int fd)
{
    snprintf(buf->path, sizeof buf->path, "/proc/self/fd/%d", fd);
    return buf->path;
}

/* After a create that found `name` existing: a symlink whose target does not exist inside the
 * root (typically an absolute link meant for the host) is refused rather than followed. */
static gboolean dangling_symlink(int rootfd, int parent, const char *name, const char *path,
                                 ChildError *ce)
{
    char target[PATH_MAX];
    common_autofd int fd = child_open_in_root(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return FALSE;
    ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
    if (n < 0)
        return FALSE;
    target[n] = '\0';
    child_fail(ce, 0,
               "'%s' is a symlink to '%s', which does not exist inside the container root "
               "(symlinks are never followed out of it)",
               path, target);
    ce->code = CONTAINER_ERROR_ESCAPE;
    return TRUE;
}

/* Creates what is missing of `path` beneath rootfd (directories, and the last component as an
 * empty file when `last_is_file`), then opens it with O_PATH. Returns the fd or -1 (ce set). */
static int make_path(int rootfd, const char *path, gboolean last_is_file, ChildError *ce)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return child_fail(ce, ENAMETOOLONG, "path '%s'", path);
    memcpy(buf, path, len + 1);

    for (size_t end = 1; end <= len; end++) {
        if (end < len && buf[end] != '/')
            continue;
        char saved = buf[end];
        buf[end] = '\0';
        common_autofd int fd = child_open_in_root(rootfd, buf, O_PATH);
        if (fd < 0 && errno != ENOENT) {
            int err = errno;
            buf[end] = saved;
            return child_fail(ce, err, "open '%s' in the container", buf);
        }
        if (fd < 0) {
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            common_autofd int parent = child_open_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
            *slash = '/';
            if (parent < 0)
                return child_fail(ce, errno, "open the parent of '%s' in the container", buf);
            const char *name = slash + 1;
            if (end == len && last_is_file) {
                common_autofd int f = openat(
                    parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0 && errno != EEXIST)
                    return child_fail(ce, errno, "create '%s' in the container", buf);
            } else if (*name && mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
                return child_fail(ce, errno, "mkdir '%s' in the container", buf);
            }
            if (dangling_symlink(rootfd, parent, name, buf, ce))
                return -1;
        }
        buf[end] = saved;
    }
    int fd = child_open_in_root(rootfd, path, O_PATH);
    if (fd < 0)
        return child_fail(ce, errno, "open '%s' in the container", path);
    return fd;
}

static int set_propagation(int fd, unsigned long propagation, const char *what, ChildError *ce)
{
    FdPath p;
    if (propagation && mount(NULL, fd_path(&p, fd), NULL, propagation, NULL) < 0)
        return child_fail(ce, errno, "set propagation of '%s'", what);
    return 0;
}

static int bind_mount(int rootfd, const OciMount *m, ChildError *ce)
{
    struct stat st;
    FdPath src_path, dst_path;
    common_autofd int src = open(m->source, O_PATH | O_CLOEXEC);
    if (src < 0 || fstat(src, &st) < 0)
        return child_fail(ce, errno, "bind source '%s'", m->source);
    common_autofd int dst = make_path(rootfd, m->destination, !S_ISDIR(st.st_mode), ce);
    if (dst < 0)
        return -1;
    if (mount(fd_path(&src_path, src), fd_path(&dst_path, dst), NULL,
              MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0)
        return child_fail(ce, errno, "bind '%s' on '%s'", m->source, m->destination);

    /* Flags of a bind mount only take effect with a remount of the new mount itself. */
    common_autofd int mounted = child_open_in_root(rootfd, m->destination, O_PATH);
    if (mounted < 0)
        return child_fail(ce, errno, "reopen '%s' in the container", m->destination);
    unsigned long flags = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                      MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
    if (flags &&
        mount(NULL, fd_path(&dst_path, mounted), NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
        return child_fail(ce, errno, "remount '%s' with its options", m->destination);
    return set_propagation(mounted, m->propagation, m->destination, ce);
}

static int fs_mount(int rootfd, const OciMount *m, ChildError *ce)
{
    FdPath p;
    common_autofd int dst = make_path(rootfd, m->destination, FALSE, ce);
    if (dst < 0)
        return -1;
    if (mount(m->source ? m->source : m->type, fd_path(&p, dst), m->type, m->flags, m->data) < 0)
        return child_fail(ce, errno, "mount %s on '%s'", m->type, m->destination);
    common_autofd int mounted = child_open_in_root(rootfd, m->destination, O_PATH);
    if (mounted < 0)
        return child_fail(ce, errno, "reopen '%s' in the container", m->destination);
    return set_propagation(mounted, m->propagation, m->destination, ce);
}

static const OciDevice default_devices[] = {
    {'c', 1, 3, 0666, 0, 0, (char *)"/dev/null"},    {'c', 1, 5, 0666, 0, 0, (char *)"/dev/zero"},
    {'c', 1, 7, 0666, 0, 0, (char *)"/dev/full"},    {'c', 1, 8, 0666, 0, 0, (char *)"/dev/random"},
    {'c', 1, 9, 0666, 0, 0, (char *)"/dev/urandom"}, {'c', 5, 0, 0666, 0, 0, (char *)"/dev/tty"},
};

static int make_device(int rootfd, const OciDevice *d, ChildError *ce)
{
    const char *slash = strrchr(d->path, '/');
    char dir[PATH_MAX];
    size_t dirlen = (size_t)(slash - d->path);
    if (dirlen >= sizeof dir)
        return child_fail(ce, ENAMETOOLONG, "device '%s'", d->path);
    memcpy(dir, d->path, dirlen);
    dir[dirlen] = '\0';
    common_autofd int parent = make_path(rootfd, dirlen ? dir : "/", FALSE, ce);
    if (parent < 0)
        return -1;
    common_autofd int dirfd = openat(parent, ".", O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return child_fail(ce, errno, "open '%s' in the container", dir);
    mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
    if (mknodat(dirfd, slash + 1, type | (d->mode & 0777), makedev(d->major, d->minor)) < 0 &&
        errno != EEXIST)
        return child_fail(ce, errno, "mknod '%s'", d->path);
    /* mknod honours the umask; the spec's mode is exact. */
    if (fchmodat(dirfd, slash + 1, d->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 && errno != EOPNOTSUPP)
        return child_fail(ce, errno, "chmod '%s'", d->path);
    if (fchownat(dirfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return child_fail(ce, errno, "chown '%s'", d->path);
    return 0;
}

static int make_dev_links(int rootfd, gboolean has_devpts, ChildError *ce)
{
    static const char *const links[][2] = {
        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"},      {"ptmx", "pts/ptmx"},
    };
    common_autofd int dev = child_open_in_root(rootfd, "/dev", O_DIRECTORY);
    if (dev < 0)
        return child_fail(ce, errno, "open /dev in the container");
    for (gsize i = 0; i < G_N_ELEMENTS(links); i++) {
        if (strcmp(links[i][0], "ptmx") == 0 && has_devpts) {
            /* Replace a ptmx node so that the container's own devpts instance is used. */
            unlinkat(dev, "ptmx", 0);
        }
        if (strcmp(links[i][0], "ptmx") == 0 && !has_devpts)
            continue;
        if (symlinkat(links[i][1], dev, links[i][0]) < 0 && errno != EEXIST)
            return child_fail(ce, errno, "symlink /dev/%s", links[i][0]);
    }
    return 0;
}

static gboolean spec_mounts(const OciSpec *spec, const char *destination)
{
    for (gsize i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i].destination, destination) == 0)
            return TRUE;
    return FALSE;
}

static int make_devices(int rootfd, const OciSpec *spec, const OciDevice *devices, gsize n_devices,
                        ChildError *ce)
{
    /* Default devices only go into a /dev the spec mounts (a tmpfs), never into the image. */
    if (spec_mounts(spec, "/dev")) {
        for (gsize i = 0; i < G_N_ELEMENTS(default_devices); i++)
            if (make_device(rootfd, &default_devices[i], ce) < 0)
                return -1;
        if (make_dev_links(rootfd, spec_mounts(spec, "/dev/pts"), ce) < 0)
            return -1;
    }
    for (gsize i = 0; i < n_devices; i++)
        if (make_device(rootfd, &devices[i], ce) < 0)
            return -1;
    return 0;
}

/* Masked and read-only paths resolve like every other path: a symlink is followed, inside the
 * root. A path that does not exist needs no protection. */
static int mask_paths(int rootfd, char **paths, ChildError *ce)
{
    FdPath src, dst;
    common_autofd int null_fd = open("/dev/null", O_PATH | O_CLOEXEC);
    if (null_fd < 0)
        return child_fail(ce, errno, "open /dev/null");
    for (char **p = paths; *p; p++) {
        struct stat st;
        common_autofd int fd = child_open_in_root(rootfd, *p, O_PATH);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0 || fstat(fd, &st) < 0)
            return child_fail(ce, errno, "masked path '%s'", *p);
        int rc = S_ISDIR(st.st_mode)
                     ? mount("tmpfs", fd_path(&dst, fd), "tmpfs", MS_RDONLY, NULL)
                     : mount(fd_path(&src, null_fd), fd_path(&dst, fd), NULL, MS_BIND, NULL);
        if (rc < 0)
            return child_fail(ce, errno, "mask '%s'", *p);
    }
    return 0;
}

static int readonly_paths(int rootfd, char **paths, ChildError *ce)
{
    FdPath p1, p2;
    for (char **p = paths; *p; p++) {
        common_autofd int fd = child_open_in_root(rootfd, *p, O_PATH);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            return child_fail(ce, errno, "read-only path '%s'", *p);
        if (mount(fd_path(&p1, fd), fd_path(&p2, fd), NULL, MS_BIND | MS_REC, NULL) < 0)
            return child_fail(ce, errno, "bind read-only path '%s'", *p);
        common_autofd int mounted = child_open_in_root(rootfd, *p, O_PATH);
        struct statvfs sv;
        if (mounted < 0 || fstatvfs(mounted, &sv) < 0)
            return child_fail(ce, errno, "reopen read-only path '%s'", *p);
        unsigned long keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
        if (mount(NULL, fd_path(&p1, mounted), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep,
                  NULL) < 0)
            return child_fail(ce, errno, "remount read-only path '%s'", *p);
    }
    return 0;
}

static int pivot(int rootfd, ChildError *ce)
{
    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the
     * container's tree, without needing a directory for the old root. */
    if (fchdir(rootfd) < 0)
        return child_fail(ce, errno, "chdir to the container root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        if (errno != EINVAL)
            return child_fail(ce, errno, "pivot_root");
        /* The initramfs cannot be pivoted away (the agent runs from it in the VM): move the
         * container root over / and chroot into it; exec'd processes enter that root too. */
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
            return child_fail(ce, errno, "move the container root over /");
        if (chroot(".") < 0)
            return child_fail(ce, errno, "chroot into the container root");
        return chdir("/") < 0 ? child_fail(ce, errno, "chdir /") : 0;
    }
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return child_fail(ce, errno, "make the old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
        return child_fail(ce, errno, "detach the old root");
    if (chdir("/") < 0)
        return child_fail(ce, errno, "chdir /");
    return 0;
}

static int remount_root_readonly(ChildError *ce)
{
    struct statvfs sv;
    if (statvfs("/", &sv) < 0)
        return child_fail(ce, errno, "statvfs /");
    unsigned long keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_RELATIME);
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        return child_fail(ce, errno, "remount the root read-only");
    return 0;
}

/* Through the container's /proc (still beneath rootfd): the values land in its namespaces.
 * Before the read-only paths, which usually include /proc/sys. */
static int write_sysctls(int rootfd, const OciSpec *spec, ChildError *ce)
{
    for (gsize i = 0; i < spec->n_sysctls; i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "/proc/sys/%s", spec->sysctls[i].key);
        if (n < 0 || (size_t)n >= sizeof path)
            return child_fail(ce, ENAMETOOLONG, "sysctl '%s'", spec->sysctls[i].key);
        for (char *c = path + strlen("/proc/sys/"); *c; c++)
            if (*c == '.')
                *c = '/';
        common_autofd int fd = child_open_in_root(rootfd, path, O_WRONLY | O_NOFOLLOW);
        size_t len = strlen(spec->sysctls[i].value);
        if (fd < 0 || write(fd, spec->sysctls[i].value, len) != (ssize_t)len)
            return child_fail(ce, errno, "sysctl '%s' (needs /proc mounted in the container)",
                              spec->sysctls[i].key);
    }
    return 0;
}

static int set_names(const OciSpec *spec, ChildError *ce)
{
    if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        return child_fail(ce, errno, "sethostname '%s'", spec->hostname);
    if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
        return child_fail(ce, errno, "setdomainname '%s'", spec->domainname);
    return 0;
}

int child_setup_rootfs(const OciSpec *spec, const OciDevice *devices, gsize n_devices,
                       const char *rootfs, ChildError *ce)
{
    /* Nothing done below may propagate back to the caller's mounts. */
    unsigned long propagation = spec->rootfs_propagation;
    if (mount(NULL, "/", NULL, (propagation & MS_SHARED) ? MS_SLAVE | MS_REC : propagation, NULL) <
        0)
        return child_fail(ce, errno, "set the propagation of /");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return child_fail(ce, errno, "bind the root '%s' on itself", rootfs);
    common_autofd int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return child_fail(ce, errno, "open the root '%s'", rootfs);

    for (gsize i = 0; i < spec->n_mounts; i++) {
        const OciMount *m = &spec->mounts[i];
        if ((m->bind ? bind_mount(rootfd, m, ce) : fs_mount(rootfd, m, ce)) < 0)
            return -1;
    }
    /* Like other runtimes, create a missing cwd (beneath the root, as every path here). */
    common_autofd int cwd = make_path(rootfd, spec->process->cwd, FALSE, ce);
    if (cwd < 0)
        return -1;
    if (make_devices(rootfd, spec, devices, n_devices, ce) < 0 ||
        write_sysctls(rootfd, spec, ce) < 0 || mask_paths(rootfd, spec->masked_paths, ce) < 0 ||
        readonly_paths(rootfd, spec->readonly_paths, ce) < 0 || pivot(rootfd, ce) < 0)
        return -1;
    if (propagation & MS_SHARED) {
        if (mount(NULL, "/", NULL, MS_SHARED | MS_REC, NULL) < 0)
            return child_fail(ce, errno, "make the root shared");
    }
    if (spec->root_readonly && remount_root_readonly(ce) < 0)
        return -1;
    return set_names(spec, ce);
}
