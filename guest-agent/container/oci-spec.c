/* oci-spec.c: parses and validates OCI runtime spec JSON (placeholder until the parser lands). */
#include "container.h"

struct OciSpec {
  int unused;
};

struct OciProcess {
  int unused;
};

OciSpec *oci_spec_parse(const char *json, gsize len, GError **error)
{
  (void)json;
  (void)len;
  g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED, "oci_spec_parse: not implemented yet");
  return NULL;
}

void oci_spec_free(OciSpec *spec)
{
  g_free(spec);
}

OciProcess *oci_process_parse(const char *json, gsize len, GError **error)
{
  (void)json;
  (void)len;
  g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED, "oci_process_parse: not implemented yet");
  return NULL;
}

void oci_process_free(OciProcess *process)
{
  g_free(process);
}

const OciProcess *oci_spec_get_process(const OciSpec *spec)
{
  (void)spec;
  return NULL;
}

gboolean oci_process_get_terminal(const OciProcess *process)
{
  (void)process;
  return FALSE;
}
