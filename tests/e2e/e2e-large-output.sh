#!/bin/bash
# A large stream reaches `ctr run` whole and in order: about 64 MiB on stdout and 16 MiB on
# stderr at the same time, each compared by size and checksum with the same bytes made here.
. "$(dirname "$0")/../lib/testenv.sh"
testenv_setup

# block FROM TO NAME COUNT: the lines FROM..TO (7 bytes each), COUNT times over, from a file in
# $dir. The same function runs in the container (busybox) and here (coreutils).
repeat_block='block() { seq "$1" "$2" >"$dir/$3"; i=0; while [ "$i" -lt "$4" ]; do cat "$dir/$3"; i=$((i + 1)); done; }'
out=$TESTENV_DIR/large-out
err=$TESTENV_DIR/large-err
sc_run large sh -c "dir=/tmp; $repeat_block
block 200000 249999 err 48 >&2 &
block 100000 199999 out 96
wait" >"$out" 2>"$err" || testenv_fail "ctr run failed ($?): $(tail -c 2000 "$err")"

eval "$repeat_block"
dir=$TESTENV_DIR
assert_eq "stdout size" "$((96 * 700000))" "$(stat -c %s "$out")"
assert_eq "stderr size" "$((48 * 350000))" "$(stat -c %s "$err")"
assert_eq "stdout checksum" "$(block 100000 199999 want-out 96 | sha256sum)" "$(sha256sum <"$out")"
assert_eq "stderr checksum" "$(block 200000 249999 want-err 48 | sha256sum)" "$(sha256sum <"$err")"
rm -f "$out" "$err" "$dir/want-out" "$dir/want-err"
