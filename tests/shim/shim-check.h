/* Runs a Check suite the way every shim test binary does. */
#pragma once

#include <check.h>

/* Runs @suite (forking per test unless @nofork) and returns the process exit status. */
int shim_check_run(Suite *suite, int nofork);
