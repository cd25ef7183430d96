/* What the host tool asks the host: where a program is, the version it prints, which kernel a
 * guest image holds, and what containerd's effective config registers for CRI. */
#pragma once

#include <glib.h>

/* @name on $PATH, then in root's /usr/local/sbin, /usr/sbin, /sbin; NULL when absent. */
char *tool_find_program(const char *name);
/* The first line with a version number that @path prints for @arg ("--version"), or NULL when it
 * cannot run. */
char *tool_program_version(const char *path, const char *arg);
/* "6.1.0-28-amd64 ..." from the "Linux version " banner inside a kernel image, or NULL. */
char *tool_kernel_version(const char *image);

/* The parts of containerd's effective config (`containerd config dump`) that matter to us. */
typedef struct {
    GPtrArray *handlers;     /* CRI runtime names whose runtime_type is io.containerd.secure.v2 */
    GPtrArray *host_devices; /* those of them without privileged_without_host_devices = true */
    char *cni_bin_dir;       /* NULL when the dump has none */
    char *cni_conf_dir;
} ToolContainerd;

/* Runs `@containerd [--config @config] config dump` and reads it. */
gboolean tool_containerd_read(const char *containerd, const char *config, ToolContainerd *out,
                              GError **error);
/* Reads a dump (the TOML containerd prints): exposed for the unit test. */
void tool_containerd_parse(const char *dump, ToolContainerd *out);
void tool_containerd_clear(ToolContainerd *c);
