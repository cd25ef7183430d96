/* A guest /init that never answers the agent channel: it says it started on the console and then
 * sleeps forever. The VM tests boot it to check the agent timeout path. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    fprintf(stderr, "sleep-init: started, never answering\n");
    for (;;)
        pause();
}
