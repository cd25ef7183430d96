/* The error domain of the VM layer. */
#include "vmm.h"

G_DEFINE_QUARK(vmm - error - quark, vmm_error)
