#!/bin/bash
# Benchmark (figures are printed, never asserted): container stdout throughput through `ctr run`,
# for our runtime and for runc on the same image, side by side in one run. The container writes
# SIZE bytes of zeros to its stdout; a counter on the host reads ctr's stdout and times the bytes
# from the first to the last one (the pod's start is not part of it). Runs are interleaved
# (secure, runc, secure, ...) so that both see the same load; the median of N runs is printed,
# with the share of the machine's CPU time that went elsewhere meanwhile.
#
#   sudo tests/bench/bench-stdout.sh [--runs N] [--sizes "100M 1G"] [--runtimes "A B"]
#                                    [--writer head|dd]
#
# --writer head (default): `head -c SIZE /dev/zero`, as issue 11 measured it. Busybox's head copies
# byte by byte through stdio: under TCG that alone bounds a guest near 18 MiB/s (1.1 s for 20 MiB
# into /dev/null, measured in the guest). --writer dd: `dd bs=1M`, whose own cost is small, shows
# what the relay carries. PRIVATE_CONTAINERD_LOG=debug keeps the shims' call traces (each agent
# call with its duration) in the private containerd's log, at some cost in throughput.
# The shim is found as the e2e tests find it (tests/lib/testenv.sh): SC_SHIM, SC_BUILD_DIR.

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"
# shellcheck source=tests/lib/bench.sh
. "$(dirname "$0")/../lib/bench.sh"

runs=3
sizes="100M 1G"
runtimes="io.containerd.secure.v2 io.containerd.runc.v2"
writer=head
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --runtimes) runtimes=$2; shift 2 ;;
    --writer) writer=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--sizes \"100M 1G\"] [--runtimes \"A B\"] [--writer head|dd]" >&2
       exit 2 ;;
    esac
done

# Reads stdin to its end; prints "BYTES SECONDS" from the first byte to the end.
count_bytes() {
    python3 -c '
import sys, time
buf, total, first = bytearray(1 << 20), 0, None
stdin = sys.stdin.buffer.raw
while True:
    n = stdin.readinto(buf)
    if not n:
        break
    if first is None:
        first = time.monotonic()
    total += n
print(total, time.monotonic() - first if first else 0)'
}

# The container command writing $1 bytes (head's suffixes: 100M, 1G) to stdout.
writer_command() {
    local bytes
    bytes=$(numfmt --from=iec "$1") || return 1
    case "$writer" in
    head) echo "head -c $bytes /dev/zero" ;;
    dd) echo "dd if=/dev/zero bs=1048576 count=$((bytes / 1048576)) 2>/dev/null" ;;
    *) echo "unknown writer '$writer'" >&2; return 1 ;;
    esac
}

# "busy idle" jiffies of the whole machine, from /proc/stat.
cpu_jiffies() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# One run of runtime $1 writing $2 bytes: prints "MIB_PER_S BUSY_PERCENT", nothing on failure.
# BUSY_PERCENT: how much of the machine's CPU time was used meanwhile, by anyone.
throughput() {
    local runtime=$1 size=$2 cmd bytes b0 i0 b1 i1 got secs
    cmd=$(writer_command "$size") || return 1
    bytes=$(numfmt --from=iec "$size")
    read -r b0 i0 <<<"$(cpu_jiffies)"
    read -r got secs <<<"$(SC_RUNTIME=$runtime sc_run "stdout-$RANDOM" sh -c "$cmd" \
        2>"$TESTENV_DIR/last-error" | count_bytes)"
    read -r b1 i1 <<<"$(cpu_jiffies)"
    if [ "$got" != "$bytes" ]; then
        echo "  $runtime: $got of $bytes bytes: $(tr '\n' ' ' <"$TESTENV_DIR/last-error")" >&2
        return 1
    fi
    awk -v n="$bytes" -v s="$secs" -v b=$((b1 - b0)) -v i=$((i1 - i0)) \
        'BEGIN { printf "%.1f %.0f\n", n / s / 1048576, 100 * b / (b + i) }'
}

case " $runtimes " in
*" io.containerd.secure.v2 "*) SC_RUNTIME=io.containerd.secure.v2 ;;
*) SC_RUNTIME=${runtimes%% *} ;;
esac
PRIVATE_CONTAINERD_LOG=${PRIVATE_CONTAINERD_LOG:-info}
testenv_setup
echo "# bench-stdout: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), writer '$writer', $runs runs each, interleaved"
declare -A rates busy
for size in $sizes; do
    for i in $(seq "$runs"); do
        for runtime in $runtimes; do
            if read -r rate cpu <<<"$(throughput "$runtime" "$size")" && [ -n "$rate" ]; then
                rates[$runtime/$size]+="$rate"$'\n'
                busy[$runtime/$size]+="$cpu"$'\n'
                echo "  $size run $i $runtime: $rate MiB/s, machine ${cpu}% busy" >&2
            fi
        done
    done
done

echo
printf '%-26s %6s %16s %16s %14s\n' runtime size "median MiB/s" "runs (MiB/s)" "machine busy"
for size in $sizes; do
    for runtime in $runtimes; do
        all=$(printf '%s' "${rates[$runtime/$size]:-}" | sort -n | tr '\n' ' ')
        printf '%-26s %6s %16s %16s %13s%%\n' "$runtime" "$size" \
            "$(printf '%s' "${rates[$runtime/$size]:-}" | median)" "${all:-failed}" \
            "$(printf '%s' "${busy[$runtime/$size]:-}" | median)"
    done
done
echo "(MiB/s from the first to the last byte that ctr printed; machine busy: the median share of"
echo " both CPUs' time in use during a run, by this benchmark and anything else on the machine)"
