/* The init-mode pieces that run on the host too: the kernel command line settings. */
#include "agent-test.h"

#include "agent-error.h"
#include "agent-init.h"

START_TEST(test_cmdline)
{
    static const struct {
        const char *cmdline;
        const char *port_name; /* NULL: an error or vsock */
        guint vsock_port;
        gboolean ok;
    } cases[] = {
        {"console=ttyS0 panic=1\n", AGENT_INIT_PORT_NAME, 0, TRUE},
        {"quiet sc.agent_port=other.port panic=1", "other.port", 0, TRUE},
        {"sc.agent_vsock=1024 sc.agent_port=ignored", NULL, 1024, TRUE},
        {"xsc.agent_vsock=5", AGENT_INIT_PORT_NAME, 0, TRUE},
        {"sc.agent_vsock=abc", NULL, 0, FALSE},
        {"sc.agent_vsock=0", NULL, 0, FALSE},
        {"sc.agent_vsock=4294967296", NULL, 0, FALSE},
        {"sc.agent_port=", NULL, 0, FALSE},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *name = NULL;
        guint port = 99;
        gboolean ok = agent_init_parse_cmdline(cases[i].cmdline, &name, &port, &error);

        ck_assert_msg(ok == cases[i].ok, "'%s': %s", cases[i].cmdline,
                      error ? error->message : "accepted");
        if (!ok)
            continue;
        ck_assert_str_eq(name ? name : "(none)",
                         cases[i].port_name ? cases[i].port_name : "(none)");
        ck_assert_uint_eq(port, cases[i].vsock_port);
    }
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_cmdline, NULL};

    return agent_test_main("agent-init", tests, 30, NULL, NULL);
}
