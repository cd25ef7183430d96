/* container-devices.c: the cgroup v2 device controller: linux.resources.devices compiled into
 * a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup. */
#include "container-devices.h"

#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common-fd.h"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* What every container may use whatever its rules say (the nodes the builder itself creates,
 * and mknod, which CAP_MKNOD governs). Appended last, so they win. */
static const OciDeviceRule default_rules[] = {
    {TRUE, 'c', -1, -1, BPF_DEVCG_ACC_MKNOD},
    {TRUE, 'b', -1, -1, BPF_DEVCG_ACC_MKNOD},
    {TRUE, 'c', 1, 3, ACC_ALL},    /* null */
    {TRUE, 'c', 1, 5, ACC_ALL},    /* zero */
    {TRUE, 'c', 1, 7, ACC_ALL},    /* full */
    {TRUE, 'c', 1, 8, ACC_ALL},    /* random */
    {TRUE, 'c', 1, 9, ACC_ALL},    /* urandom */
    {TRUE, 'c', 5, 0, ACC_ALL},    /* tty */
    {TRUE, 'c', 5, 1, ACC_ALL},    /* console */
    {TRUE, 'c', 5, 2, ACC_ALL},    /* ptmx */
    {TRUE, 'c', 136, -1, ACC_ALL}, /* pts */
};

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define JNE_IMM(reg, imm, off) INSN(BPF_JMP | BPF_JNE | BPF_K, reg, 0, off, imm)

/* Registers: r2 device type, r3 requested access, r4 major, r5 minor, r6 scratch. */
static void emit_prologue(GArray *prog)
{
    const struct bpf_insn insns[] = {
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
        INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
        INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
    };
    g_array_append_vals(prog, insns, G_N_ELEMENTS(insns));
}

/* One rule: every check that fails jumps past the block's "return verdict". Returns FALSE for a
 * rule that matches every access, after which nothing more can run (the verifier refuses
 * unreachable code). */
static gboolean emit_rule(GArray *prog, const OciDeviceRule *r)
{
    struct bpf_insn block[12];
    int n = 0;
    if (r->type != 'a')
        block[n++] =
            JNE_IMM(BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
    if ((r->access & ACC_ALL) != ACC_ALL) {
        block[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
        block[n++] =
            INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (gint32)(~r->access & ACC_ALL));
        block[n++] = JNE_IMM(BPF_REG_6, 0, 0);
    }
    if (r->major >= 0)
        block[n++] = JNE_IMM(BPF_REG_4, (gint32)r->major, 0);
    if (r->minor >= 0)
        block[n++] = JNE_IMM(BPF_REG_5, (gint32)r->minor, 0);
    block[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
    block[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (int i = 0; i < n; i++)
        if (block[i].code == (BPF_JMP | BPF_JNE | BPF_K))
            block[i].off = (gint16)(n - 1 - i);
    g_array_append_vals(prog, block, (guint)n);
    return n > 2;
}

static int bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

#define VERIFIER_LOG_SIZE (256 * 1024)

static int load_program(GArray *prog, char *log, gsize log_size)
{
    union bpf_attr load;
    memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (guint64)(guintptr)prog->data;
    load.insn_cnt = prog->len;
    load.license = (guint64)(guintptr) "Apache-2.0";
    load.log_buf = (guint64)(guintptr)log;
    load.log_size = (guint32)log_size;
    load.log_level = log ? 1 : 0;
    return bpf(BPF_PROG_LOAD, &load);
}

gboolean container_devices_attach(int cgroup_fd, const char *cgroup_path, const OciResources *res,
                                  const OciDevice *devices, gsize n_devices, GError **error)
{
    if (res->device_rules == NULL)
        return TRUE;

    g_autoptr(GArray) prog = g_array_new(FALSE, FALSE, sizeof(struct bpf_insn));
    emit_prologue(prog);
    /* The last matching rule decides, so the program tries them from the end. */
    gboolean open_ended = TRUE;
    for (gsize i = n_devices; open_ended && i-- > 0;) {
        OciDeviceRule r = {TRUE, devices[i].type == 'b' ? 'b' : 'c', devices[i].major,
                           devices[i].minor, ACC_ALL};
        if (devices[i].type != 'p')
            open_ended = emit_rule(prog, &r);
    }
    for (gsize i = G_N_ELEMENTS(default_rules); open_ended && i-- > 0;)
        open_ended = emit_rule(prog, &default_rules[i]);
    for (gsize i = res->n_device_rules; open_ended && i-- > 0;)
        open_ended = emit_rule(prog, &res->device_rules[i]);
    const OciDeviceRule deny = {FALSE, 'a', -1, -1, ACC_ALL};
    if (open_ended)
        emit_rule(prog, &deny);

    common_autofd int prog_fd = load_program(prog, NULL, 0);
    if (prog_fd < 0) {
        /* Load again with the verifier's log, to say why. */
        g_autofree char *log = g_malloc0(VERIFIER_LOG_SIZE);
        int err = errno;
        int again = load_program(prog, log, VERIFIER_LOG_SIZE);
        common_fd_close(&again);
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "load the device filter for '%s': %s %s", cgroup_path, g_strerror(err), log);
        return FALSE;
    }
    /* Without flags a second attach replaces the first, which is what an update needs. */
    union bpf_attr attach;
    memset(&attach, 0, sizeof attach);
    attach.target_fd = (guint32)cgroup_fd;
    attach.attach_bpf_fd = (guint32)prog_fd;
    attach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_ATTACH, &attach) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "attach the device filter to '%s': %s", cgroup_path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* TRUE when the rules give every access to every device, as a privileged spec's do: the last
 * rule about all devices allows all, and no deny rule follows it. */
static gboolean rules_allow_all(const OciResources *res)
{
    for (gsize i = res->n_device_rules; i-- > 0;) {
        const OciDeviceRule *r = &res->device_rules[i];
        if (!r->allow)
            return FALSE;
        if (r->type == 'a' && r->major < 0 && r->minor < 0 && (r->access & ACC_ALL) == ACC_ALL)
            return TRUE;
    }
    return FALSE;
}

/* TRUE when <sys_dir>/dev says this kernel has d's node: same type, numbers and name. */
static gboolean kernel_has_device(const OciDevice *d, const char *sys_dir)
{
    if (d->type == 'p')
        return TRUE;
    if (!g_str_has_prefix(d->path, "/dev/"))
        return FALSE;
    char uevent[PATH_MAX];
    snprintf(uevent, sizeof uevent, "%s/dev/%s/%u:%u/uevent", sys_dir,
             d->type == 'b' ? "block" : "char", d->major, d->minor);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(uevent, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line != NULL; line++)
        if (g_str_has_prefix(*line, "DEVNAME="))
            return strcmp(*line + strlen("DEVNAME="), d->path + strlen("/dev/")) == 0;
    return FALSE;
}

OciDevice *container_devices_select(const OciSpec *spec, const char *sys_dir, gsize *out_n,
                                    GError **error)
{
    gboolean privileged = rules_allow_all(&spec->resources);
    g_autofree OciDevice *kept = g_new(OciDevice, spec->n_devices + 1);
    g_autoptr(GString) left_out = g_string_new(NULL);
    gsize n = 0;
    for (gsize i = 0; i < spec->n_devices; i++) {
        const OciDevice *d = &spec->devices[i];
        if (kernel_has_device(d, sys_dir)) {
            kept[n++] = *d;
        } else if (privileged) {
            g_string_append_printf(left_out, " %s", d->path);
        } else {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                        "device '%s' (%s %u:%u) is not one this kernel has: in a pod VM only the "
                        "VM's own devices can be given to a container",
                        d->path, d->type == 'b' ? "block" : "char", d->major, d->minor);
            return NULL;
        }
    }
    if (left_out->len > 0)
        g_message("privileged container: left out the devices this kernel does not have:%s",
                  left_out->str);
    *out_n = n;
    return g_steal_pointer(&kept);
}
