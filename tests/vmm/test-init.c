/* A guest /init for the VM tests, booted instead of the agent. By default it says it started
 * on the console and sleeps forever without answering the agent channel (the timeout path).
 * With the kernel parameter "sc_test_panic" (the kernel passes it to init as an argument) it
 * loads the image's modules (pvpanic among them) and exits: PID 1 exiting panics the guest. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MODULE_LIST "/etc/secure-agent/modules"

static void load_modules(void)
{
    char path[4096];
    FILE *list = fopen(MODULE_LIST, "re");

    while (list != NULL && fgets(path, sizeof(path), list) != NULL) {
        int fd;

        path[strcspn(path, "\n")] = '\0';
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            syscall(SYS_finit_module, fd, "", 0);
            close(fd);
        }
    }
    if (list != NULL)
        fclose(list);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sc_test_panic") == 0) {
        load_modules();
        fprintf(stderr, "test-init: exiting to panic the guest\n");
        return 1;
    }
    fprintf(stderr, "test-init: started, never answering\n");
    for (;;)
        pause();
}
