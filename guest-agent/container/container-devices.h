/* container-devices.h: the cgroup v2 device controller (an eBPF program per container). */
#pragma once

#include "oci-spec-private.h"

/* Compiles res->device_rules (nothing to do when NULL), plus allow rules for the devices the
 * builder creates and for `devices` (the spec's linux.devices), into a device filter attached to
 * the cgroup `cgroup_fd` (replacing a previous one). The last matching rule decides; a device no
 * rule matches is denied. */
gboolean container_devices_attach(int cgroup_fd, const char *cgroup_path, const OciResources *res,
                                  const OciDevice *devices, gsize n_devices, GError **error);

/* The spec's linux.devices this kernel has, for the builder to create and allow. A device is this
 * kernel's when <sys_dir>/dev/{char,block}/MAJOR:MINOR/uevent names the same node under /dev
 * (DEVNAME); fifos always are. In a pod VM the spec's list comes from the host: a node made with
 * the host's numbers would be another guest device, or none. A spec whose device rules let every
 * device through (a privileged container, whose list containerd fills from the host's /dev)
 * leaves out the devices this kernel does not have, named in one g_message(); any other spec that
 * asks for one is refused (CONTAINER_ERROR_UNSUPPORTED). Returns *out_n devices (free the array
 * with g_free; the paths are the spec's), or NULL. */
OciDevice *container_devices_select(const OciSpec *spec, const char *sys_dir, gsize *out_n,
                                    GError **error);
