/* Shared by the vmm test binaries. */
#pragma once

#include <check.h>
#include <glib.h>
#include <sys/types.h>

#include "test-util.h"

/* Called after all tests ran with the scratch directory, before it is removed: undoes what a
 * failed test could not (processes, mounts). Returns FALSE if it found anything. */
typedef gboolean (*VmmTestCleanupFunc)(const char *dir);

/* Runs @tests (a NULL-terminated list) as one Check suite named @name with a per-test
 * @timeout in seconds. Tests put their files under vmm_test_dir(), which is removed afterwards
 * whatever the tests did. Returns the exit status for main(). */
int vmm_test_run(const char *name, const TTest *const *tests, double timeout,
                 VmmTestCleanupFunc cleanup);

/* The scratch directory of this run. */
const char *vmm_test_dir(void);

/* The libvirt capabilities cache's name in vmm_test_dir(), shared by the run's pods. */
#define VMM_TEST_CACHE "cache"

/* A VmmTestCleanupFunc for pods that have their run directory in @dir (all but VMM_TEST_CACHE)
 * and a virtio-fs share in <run dir>/shared: stops and removes what each left. */
gboolean vmm_test_clean_up_pods(const char *dir);

/* Calls @func for every process with a command line (arguments joined by spaces). */
typedef void (*VmmTestProcessFunc)(pid_t pid, const char *cmdline, gpointer user_data);
void vmm_test_foreach_process(VmmTestProcessFunc func, gpointer user_data);
