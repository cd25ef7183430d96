/* `secure-container check`: every host prerequisite, one line each with OK, WARN or FAIL and,
 * when not OK, the command or setting that fixes it. Exit status 1 on any FAIL. */
#pragma once

int tool_check(int argc, char **argv);
