/* Unit tests of pod sizing (shim-resources.c): limits and annotations parsed from specs, and the
 * VM sizes that follow under a config. */
#include <check.h>

#include "test-util.h"
#include "shim-error.h"
#include "shim-resources.h"
#include "shim-spec.h"

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)

static json_object *parse(const char *text)
{
    json_object *obj = json_tokener_parse(text);
    ck_assert_msg(obj != NULL, "bad test JSON: %s", text);
    return obj;
}

/* A config with the shipped defaults but ceilings any host of the suite has. */
static void test_config(ShimConfig *config)
{
    *config = (ShimConfig){0};
    config->path = "/etc/test.conf";
    config->memory_mib = 512;
    config->vcpus = 1;
    config->min_memory_mib = 256;
    config->memory_overhead_mib = 128;
    config->max_memory_mib = 1024;
    config->max_vcpus = 1;
}

START_TEST(test_parse_limits)
{
    g_autoptr(json_object) spec = parse("{\"linux\": {\"resources\": {"
                                        "\"memory\": {\"limit\": 268435456},"
                                        "\"cpu\": {\"quota\": 150000, \"period\": 100000,"
                                        " \"shares\": 2}}}}");
    g_autoptr(GError) error = NULL;
    ShimResources own, pod;
    ck_assert_msg(shim_resources_from_spec(spec, &own, &pod, &error), "%s",
                  error ? error->message : "");
    ck_assert_uint_eq(own.memory_bytes, 256 * MIB);
    ck_assert_uint_eq(own.cpu_millis, 1500);
    ck_assert_uint_eq(pod.memory_bytes, 0);
    ck_assert_uint_eq(pod.cpu_millis, 0);
}
END_TEST

/* -1 and absent mean no limit; a quota that is not a whole number of millis rounds up. */
START_TEST(test_parse_no_limits_and_rounding)
{
    g_autoptr(json_object) none = parse("{\"memory\": {\"limit\": -1}, \"cpu\": {\"quota\": -1,"
                                        " \"period\": 100000}}");
    g_autoptr(json_object) odd = parse("{\"cpu\": {\"quota\": 1001, \"period\": 100000}}");
    ShimResources r = {1, 1};
    ck_assert(shim_resources_parse(none, &r, NULL));
    ck_assert_uint_eq(r.memory_bytes, 0);
    ck_assert_uint_eq(r.cpu_millis, 0);
    ck_assert(shim_resources_parse(NULL, &r, NULL));
    ck_assert_uint_eq(r.memory_bytes, 0);
    ck_assert(shim_resources_parse(odd, &r, NULL));
    ck_assert_uint_eq(r.cpu_millis, 11);
}
END_TEST

static void expect_invalid(const char *text, const char *needle)
{
    g_autoptr(json_object) resources = parse(text);
    g_autoptr(GError) error = NULL;
    ShimResources r;
    ck_assert_msg(!shim_resources_parse(resources, &r, &error), "accepted: %s", text);
    ck_assert_int_eq(error->code, SHIM_ERROR_INVALID);
    ck_assert_msg(strstr(error->message, needle), "'%s' not in: %s", needle, error->message);
}

START_TEST(test_parse_invalid)
{
    expect_invalid("[]", "linux.resources");
    expect_invalid("{\"memory\": 5}", "linux.resources");
    expect_invalid("{\"memory\": {\"limit\": \"1G\"}}", "linux.resources.memory.limit");
    expect_invalid("{\"memory\": {\"limit\": 2199023255553}}", "above 1 TiB");
    expect_invalid("{\"cpu\": {\"quota\": 50000}}", "period");
    expect_invalid("{\"cpu\": {\"quota\": 50000, \"period\": 2000000}}", "period");
    expect_invalid("{\"cpu\": {\"quota\": 9223372036854775807, \"period\": 100000}}", "255");
}
END_TEST

START_TEST(test_annotations)
{
    g_autoptr(json_object) spec =
        parse("{\"annotations\": {\"io.kubernetes.cri.sandbox-memory\": \"805306368\","
              "\"io.kubernetes.cri.sandbox-cpu-quota\": \"200000\","
              "\"io.kubernetes.cri.sandbox-cpu-period\": \"100000\"}}");
    g_autoptr(json_object) bad =
        parse("{\"annotations\": {\"io.kubernetes.cri.sandbox-memory\": \"768Mi\"}}");
    g_autoptr(json_object) unset =
        parse("{\"annotations\": {\"io.kubernetes.cri.sandbox-memory\": \"0\","
              "\"io.kubernetes.cri.sandbox-cpu-quota\": \"-1\","
              "\"io.kubernetes.cri.sandbox-cpu-period\": \"100000\"}}");
    g_autoptr(GError) error = NULL;
    ShimResources own, pod;
    ck_assert(shim_resources_from_spec(spec, &own, &pod, NULL));
    ck_assert_uint_eq(pod.memory_bytes, 768 * MIB);
    ck_assert_uint_eq(pod.cpu_millis, 2000);
    ck_assert_uint_eq(own.memory_bytes, 0);
    ck_assert(shim_resources_from_spec(unset, &own, &pod, NULL));
    ck_assert_uint_eq(pod.memory_bytes, 0);
    ck_assert_uint_eq(pod.cpu_millis, 0);
    ck_assert(!shim_resources_from_spec(bad, &own, &pod, &error));
    ck_assert_ptr_nonnull(strstr(error->message, "io.kubernetes.cri.sandbox-memory"));
}
END_TEST

START_TEST(test_boot_size)
{
    ShimConfig config;
    ShimVmSize size;
    test_config(&config);

    /* Unknown size: the defaults. */
    ShimResources none = {0};
    ck_assert(shim_resources_boot_size(&config, &none, &size, NULL));
    ck_assert_uint_eq(size.memory_mib, 512);
    ck_assert_uint_eq(size.vcpus, 1);
    ck_assert_uint_eq(size.max_memory_mib, 1024);
    ck_assert_uint_eq(size.max_vcpus, 1);
    /* Limits plus the guest's overhead, rounded up to whole MiB. */
    ShimResources mid = {600 * MIB + 1, 500};
    ck_assert(shim_resources_boot_size(&config, &mid, &size, NULL));
    ck_assert_uint_eq(size.memory_mib, 601 + 128);
    ck_assert_uint_eq(size.vcpus, 1);
    /* The guest's files (its initrd) live in its RAM: they come on top. */
    config.guest_files_mib = 24;
    ck_assert(shim_resources_boot_size(&config, &mid, &size, NULL));
    ck_assert_uint_eq(size.memory_mib, 601 + 128 + 24);
    config.guest_files_mib = 0;
    /* Never below the minimum. */
    ShimResources tiny = {16 * MIB, 0};
    ck_assert(shim_resources_boot_size(&config, &tiny, &size, NULL));
    ck_assert_uint_eq(size.memory_mib, 256);
    ck_assert_uint_eq(size.vcpus, 1);
}
END_TEST

START_TEST(test_boot_size_refused)
{
    ShimConfig config;
    ShimVmSize size;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) cpu_error = NULL;
    test_config(&config);

    ShimResources big = {1024 * MIB, 0};
    ck_assert(!shim_resources_boot_size(&config, &big, &size, &error));
    ck_assert_int_eq(error->code, SHIM_ERROR_EXHAUSTED);
    ck_assert_msg(strstr(error->message, "1152 MiB") && strstr(error->message, "max_memory") &&
                      strstr(error->message, "/etc/test.conf"),
                  "%s", error->message);
    ShimResources cpus = {0, 1001};
    ck_assert(!shim_resources_boot_size(&config, &cpus, &size, &cpu_error));
    ck_assert_int_eq(cpu_error->code, SHIM_ERROR_EXHAUSTED);
    ck_assert_msg(strstr(cpu_error->message, "2 vCPUs") && strstr(cpu_error->message, "max_vcpus"),
                  "%s", cpu_error->message);
}
END_TEST

/* Memory follows the demand down to the boot size; vCPUs never shrink. */
START_TEST(test_running_size)
{
    ShimConfig config;
    ShimVmSize boot, grown, shrunk;
    g_autoptr(GError) error = NULL;
    test_config(&config);
    config.max_vcpus = 2;
    ShimResources none = {0};
    ck_assert(shim_resources_boot_size(&config, &none, &boot, NULL));

    ShimResources two = {600 * MIB, 1200};
    ck_assert(shim_resources_running_size(&config, &boot, &boot, &two, &grown, NULL));
    ck_assert_uint_eq(grown.memory_mib, 728);
    ck_assert_uint_eq(grown.vcpus, 2);
    ck_assert_uint_eq(grown.max_memory_mib, boot.max_memory_mib);

    ShimResources small = {100 * MIB, 0};
    ck_assert(shim_resources_running_size(&config, &boot, &grown, &small, &shrunk, NULL));
    ck_assert_uint_eq(shrunk.memory_mib, 512);
    ck_assert_uint_eq(shrunk.vcpus, 2);

    ShimResources over = {900 * MIB, 0};
    ck_assert(!shim_resources_running_size(&config, &boot, &grown, &over, &shrunk, &error));
    ck_assert_int_eq(error->code, SHIM_ERROR_EXHAUSTED);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-resources");
    TCase *tc = tcase_create("resources");
    tcase_add_test(tc, test_parse_limits);
    tcase_add_test(tc, test_parse_no_limits_and_rounding);
    tcase_add_test(tc, test_parse_invalid);
    tcase_add_test(tc, test_annotations);
    tcase_add_test(tc, test_boot_size);
    tcase_add_test(tc, test_boot_size_refused);
    tcase_add_test(tc, test_running_size);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
