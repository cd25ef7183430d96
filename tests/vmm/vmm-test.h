/* Shared by the vmm test binaries. */
#pragma once

#include <check.h>
#include <glib.h>

/* Runs @tests (a NULL-terminated list) as one Check suite named @name with a per-test
 * @timeout in seconds; returns the exit status for main(). */
int vmm_test_run(const char *name, const TTest *const *tests, double timeout);
