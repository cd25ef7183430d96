/* What the agent does as PID 1 of the pod VM, and nothing else: the system mounts, kernel modules,
 * the loopback interface, finding the agent channel, powering off. All of it is skipped in host
 * mode. Messages go to stderr (the VM console) with the "secure-agent:" prefix. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The port name the VM description gives the agent channel. */
#define AGENT_INIT_PORT_NAME "io.secure-container.agent"
/* Kernel modules to load, one absolute path per line, in order. */
#define AGENT_INIT_MODULES_FILE "/etc/secure-agent/modules"

/* Mounts /proc, /sys, /dev, /dev/pts, /dev/shm, /run and cgroup2 (controllers enabled for the
 * containers), loads the listed modules and brings up lo. */
gboolean agent_init_setup(GError **error);

/* Where to serve: from the kernel command line, either a vsock port (sc.agent_vsock=PORT; sets
 * *out_vsock_port, *out_port_path NULL) or the device of the virtio-serial port named
 * sc.agent_port=NAME (default AGENT_INIT_PORT_NAME), waiting a while for it to appear. */
gboolean agent_init_find_channel(char **out_port_path, guint *out_vsock_port, GError **error);

/* Reads the channel settings from the kernel command line @cmdline: sc.agent_vsock=PORT sets
 * *@out_vsock_port (and *@out_port_name NULL); otherwise *@out_port_name is sc.agent_port=NAME
 * or AGENT_INIT_PORT_NAME (caller frees). */
gboolean agent_init_parse_cmdline(const char *cmdline, char **out_port_name, guint *out_vsock_port,
                                  GError **error);

/* Flushes the disks and powers the VM off. Never returns. */
G_NORETURN void agent_init_power_off(void);

G_END_DECLS
