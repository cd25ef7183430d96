/* `secure-container exec POD [CMD [ARG...]]`: a command in the pod's guest itself, outside any
 * container, for debugging (the pod's config must have [agent] debug_exec = true); without CMD,
 * a line-by-line shell: each line runs in a fresh `sh -c` in the guest. */
#pragma once

int tool_exec(int argc, char **argv);
