/* fuzz-oci-spec: the OCI spec and process parsers on arbitrary bytes (config.json and exec's
 * process object come from the shim, which the guest must not trust blindly either way). */
#include <stdint.h>

#include "container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    OciSpec *spec = oci_spec_parse((const char *)data, size, NULL);
    if (spec) {
        const OciProcess *p = oci_spec_get_process(spec);
        g_assert(p != NULL);
        (void)oci_process_get_terminal(p);
        oci_spec_free(spec);
    }
    oci_process_free(oci_process_parse((const char *)data, size, NULL));
    return 0;
}
