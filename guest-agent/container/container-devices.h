/* container-devices.h: the cgroup v2 device controller (an eBPF program per container). */
#pragma once

#include "oci-spec-private.h"

/* Compiles res->device_rules (nothing to do when NULL), plus allow rules for the devices the
 * builder creates and for `devices` (the spec's linux.devices), into a device filter attached to
 * the cgroup `cgroup_fd` (replacing a previous one). The last matching rule decides; a device no
 * rule matches is denied. */
gboolean container_devices_attach(int cgroup_fd, const char *cgroup_path, const OciResources *res,
                                  const OciDevice *devices, gsize n_devices, GError **error);
