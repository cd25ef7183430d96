#!/bin/bash
# stdin reaches the container. ctr does not send CloseIO when its stdin ends, so the reader
# must stop by itself: head -n 1.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

out=$(printf 'first line\nsecond line\n' | sc_run in head -n 1) || testenv_fail "ctr run failed"
assert_eq "first line read by head in the container" "first line" "$out"

out=$(printf 'abc\n' | sc_run count sh -c 'read -r line; echo "${#line}:$line"') \
    || testenv_fail "ctr run failed"
assert_eq "line read by sh" "3:abc" "$out"
