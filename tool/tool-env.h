/* `secure-container env`: the config files tried in order and the one used, every key's value
 * in force and where it came from, and the versions of every component; --json for tools. */
#pragma once

int tool_env(int argc, char **argv);
