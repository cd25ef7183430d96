/* common-check.h: the runner the common/ test binaries share. */
#pragma once

#include <check.h>

/* Runs @suite in this process; the exit status for main(). */
int common_check_run(Suite *suite);
