/* VM templates, the shim's side: which saved agent-ready VM a pod can resume from instead of
 * booting, and a background build of it when it is missing. The template is built for the
 * config's default pod size (default_memory, default_vcpus); a pod that needs more grows by
 * hot-plug before its first container is created. */
#pragma once

#include <glib.h>

#include "shim-config.h"
#include "shim-resources.h"
#include "vmm.h"

/* The program that builds templates, installed next to the shim. */
#define SHIM_TEMPLATE_BUILDER "secure-container-template"

/* The VM config and size of the template for @config, with the given directories. */
gboolean shim_template_vm_config(const ShimConfig *config, const char *run_dir,
                                 const char *shared_dir, VmmConfig *out_vc, ShimVmSize *out_size,
                                 GError **error);

/* The file the template for @template (a template-layout VM config of @config) is saved in. */
char *shim_template_path(const ShimConfig *config, const VmmConfig *template, GError **error);

/* Where the builder runs the template's VM for @config: a short directory under
 * SHIM_STATE_ROOT, as libvirt's sockets below it must fit the 107 bytes of a unix socket path
 * (the template directory can be anywhere). One per template directory, so builds that share
 * one are serialised by its build lock and a crashed build's leftovers are reused. */
char *shim_template_build_dir(const ShimConfig *config);

/* With templates on, starts a build (shim_template_build_later()) when the template of @config
 * is missing. Called before the shim enters the pod's cgroup: the builder and its VM are no
 * pod's. */
void shim_template_ensure(const ShimConfig *config);

/* The template file a pod can resume from, or NULL. @vc and @size are the pod's VM config and
 * boot size; on success @out_vc is @vc with the template's layout and size, and @out_size that
 * size (the pod's ceilings kept). NULL with *@out_reason set says why not, for the log (NULL
 * reason: templates are off). */
char *shim_template_find(const ShimConfig *config, const VmmConfig *vc, const ShimVmSize *size,
                         VmmConfig *out_vc, ShimVmSize *out_size, char **out_reason);

/* A template that failed to resume: removed (the next pod's shim_template_ensure() builds a new
 * one). */
void shim_template_discard(const char *path);

/* Starts SHIM_TEMPLATE_BUILDER for @config in the background, detached (it outlives the pod;
 * its lock makes a second build a no-op). Its output goes to build.log in the template
 * directory. */
void shim_template_build_later(const ShimConfig *config);
