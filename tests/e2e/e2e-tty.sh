#!/bin/bash
# `ctr run -t` gives the container a terminal of the caller's size (script provides the caller's
# terminal), which is also its /dev/console; without -t the container has none.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

# ctr sends the size (ResizePty) only after the task started: wait for it in the container
# (busybox stty prints nothing for a 0x0 terminal, and exits 0).
in_container='test -t 0 && test -t 1 && echo is-a-tty
[ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T "$(tty)")" ] && echo console-is-the-tty
for i in $(seq 100); do size=$(stty size 2>/dev/null); [ -n "$size" ] && break; sleep 0.1; done
echo "$size"'
# script's stdin must not end while ctr runs: at EOF script hangs up the terminal.
# --foreground keeps ctr in the terminal's foreground process group: plain timeout moves it to a
# group of its own, and when the shell script starts is one that does not exec its last command
# (dash, the /bin/sh script falls back to without $SHELL) ctr is stopped by SIGTTIN/SIGTTOU.
exec 3< <(sleep "$TESTENV_CTR_TIMEOUT")
sleeper=$!
out=$(SHELL=/bin/sh script -qec "stty cols 77 rows 22; timeout --foreground -k 5 $TESTENV_CTR_TIMEOUT ctr run --runtime $SC_RUNTIME -t --rm $IMAGE tty1 sh -c '$in_container'" /dev/null <&3 | tr -d '\r') \
    || testenv_fail "ctr run -t failed"
exec 3<&-
kill "$sleeper"
assert_match "terminal in the container" '^is-a-tty$' "$out"
assert_match "/dev/console in the container" '^console-is-the-tty$' "$out"
assert_match "terminal size in the container" '^22 77$' "$out"

out=$(sc_run notty sh -c 'test -t 1 && echo tty || echo no-tty' </dev/null) \
    || testenv_fail "ctr run failed"
assert_eq "stdout without -t" "no-tty" "$out"
