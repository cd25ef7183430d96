/* The shim's error domain. */
#include "shim-error.h"

G_DEFINE_QUARK(shim - error - quark, shim_error)
