#!/bin/bash
# Benchmark (figures are printed, never asserted): `ctr run --rm` through a private containerd,
# for our runtime and for runc on the same image, side by side in one run:
#   - start to exit of `true`, and start to the first byte of output of `echo`: median of N runs
#     and the ratio secure/runc;
#   - memory per pod with 1 and 10 pods running `sleep`: shim RSS and PSS, QEMU PSS, virtiofsd PSS
#     and their PSS in all, and QEMU's PSS split by what its mappings hold,
#     read --settle seconds (default 10) after the last pod started: a guest hands the memory it
#     freed back (free page reporting) about 2 s after freeing it.
#
#   sudo tests/bench/bench-ctr-run.sh [--runs N] [--pods "1 10"] [--runtimes "A B"] [--settle S]
#
# The shim and its config are found as the e2e tests find them (tests/lib/testenv.sh): SC_SHIM
# and SC_BUILD_DIR (the build dir holding the guest image), or the installed ones. A runtime that
# fails is reported as such and the other figures are still measured.

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"
# shellcheck source=tests/lib/bench.sh
. "$(dirname "$0")/../lib/bench.sh"

runs=10
pod_counts="1 10"
runtimes="io.containerd.secure.v2 io.containerd.runc.v2"
settle=10
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --pods) pod_counts=$2; shift 2 ;;
    --runtimes) runtimes=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--pods \"1 10\"] [--runtimes \"A B\"] [--settle S]" >&2; exit 2 ;;
    esac
done

# Milliseconds from `ctr run` to its exit, for `true`; nothing when the run fails.
time_to_exit() {
    local start
    start=$(now_ms)
    SC_RUNTIME=$1 sc_run "$2" true >/dev/null 2>"$TESTENV_DIR/last-error" || return 1
    echo $(($(now_ms) - start))
}

# Milliseconds from `ctr run` to the first byte of the container's output.
time_to_output() {
    local start first
    start=$(now_ms)
    first=$(SC_RUNTIME=$1 sc_run "$2" echo ready 2>"$TESTENV_DIR/last-error" \
        | { [ -n "$(head -c 1)" ] && now_ms; cat >/dev/null; })
    [ -n "$first" ] || return 1
    echo $((first - start))
}

# Prints the median of `runs` measurements by function $1 for runtime $2 (or "failed").
measure() {
    local fn=$1 runtime=$2 i value values=""
    for i in $(seq "$runs"); do
        if ! value=$("$fn" "$runtime" "bench-$i"); then
            echo "  $runtime: run $i failed: $(tr '\n' ' ' <"$TESTENV_DIR/last-error")" >&2
            sc_remove "bench-$i"
            echo failed
            return
        fi
        values="$values$value"$'\n'
    done
    printf '%s' "$values" | median
}

# QEMU's PSS summed over this benchmark's QEMU processes, split by what the mappings hold (KiB):
# guest RAM (memfd), TCG translation cache (the rwx anonymous mapping), the guest kernel and
# initramfs (the files after -kernel and -initrd), QEMU's other files (binary, libraries,
# firmware), the rest of its anonymous memory (heap, stacks).
qemu_parts_kib() {
    local pid
    for pid in $(testenv_our_processes '^qemu-system-x86_64$' | cut -d' ' -f1); do
        tr '\0' '\n' <"/proc/$pid/cmdline" | awk '/^-(kernel|initrd)$/ { getline; print }' |
            awk -v smaps="/proc/$pid/smaps" '
            { image[$0] = 1 }
            END {
                while ((getline line < smaps) > 0) {
                    n = split(line, f, " ")
                    if (f[1] ~ /^[0-9a-f]+-[0-9a-f]+$/) {
                        path = n >= 6 ? f[6] : ""
                        if (path ~ /^\/memfd:/) part = 1
                        else if (path == "" && f[2] == "rwxp") part = 2
                        else if (path in image) part = 3
                        else if (path ~ /^\//) part = 4
                        else part = 5
                    } else if (f[1] == "Pss:") {
                        kib[part] += f[2]
                    }
                }
                print kib[1] + 0, kib[2] + 0, kib[3] + 0, kib[4] + 0, kib[5] + 0
            }'
    done | awk '{ for (i = 1; i <= 5; i++) t[i] += $i }
        END { print t[1] + 0, t[2] + 0, t[3] + 0, t[4] + 0, t[5] + 0 }'
}

# Starts $2 pods of runtime $1, prints per-pod MiB: shim RSS, shim PSS, QEMU PSS, virtiofsd PSS,
# their PSS in all, then QEMU's PSS by mapping (qemu_parts_kib).
memory_per_pod() {
    local runtime=$1 pods=$2 i shim shim_pss qemu vfs ok=1
    for i in $(seq "$pods"); do
        if ! SC_RUNTIME=$runtime sc_run_detached "mem-$i" sleep 100000 >/dev/null \
            2>"$TESTENV_DIR/last-error"; then
            echo "  $runtime: pod $i of $pods did not start" >&2
            ok=0
            break
        fi
    done
    if [ "$ok" = 1 ]; then
        sleep "$settle"
        shim=$(sum_kib "containerd-shim-$(echo "$runtime" | cut -d. -f3)-v2" VmRSS)
        shim_pss=$(sum_kib "containerd-shim-$(echo "$runtime" | cut -d. -f3)-v2" Pss)
        qemu=$(sum_kib qemu-system-x86_64 Pss)
        vfs=$(sum_kib virtiofsd Pss)
        awk -v s="$shim" -v p="$shim_pss" -v q="$qemu" -v v="$vfs" -v n="$pods" 'BEGIN {
            printf "%.1f %.1f %.1f %.1f %.1f", s / n / 1024, p / n / 1024, q / n / 1024,
                v / n / 1024, (p + q + v) / n / 1024 }'
        qemu_parts_kib | awk -v n="$pods" '{ for (i = 1; i <= 5; i++) printf " %.1f", $i / n / 1024 }'
    else
        echo failed
    fi
    for i in $(seq "$pods"); do
        sc_remove "mem-$i"
    done
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "-" }'
}

# testenv_setup wires our shim into containerd when SC_RUNTIME is ours.
case " $runtimes " in
*" io.containerd.secure.v2 "*) SC_RUNTIME=io.containerd.secure.v2 ;;
*) SC_RUNTIME=${runtimes%% *} ;;
esac
testenv_setup
echo "# bench-ctr-run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), $runs runs each"
declare -A exit_ms output_ms
for runtime in $runtimes; do
    exit_ms[$runtime]=$(measure time_to_exit "$runtime")
    output_ms[$runtime]=$(measure time_to_output "$runtime")
done

echo
printf '%-26s %14s %18s\n' runtime "exit (ms)" "first output (ms)"
for runtime in $runtimes; do
    printf '%-26s %14s %18s\n' "$runtime" "${exit_ms[$runtime]}" "${output_ms[$runtime]}"
done
read -r -a names <<<"$runtimes"
set -- "${names[@]}"
if [ $# -eq 2 ]; then
    printf '%-26s %14s %18s\n' "ratio $(echo "$1" | cut -d. -f3)/$(echo "$2" | cut -d. -f3)" \
        "$(ratio "${exit_ms[$1]}" "${exit_ms[$2]}")" "$(ratio "${output_ms[$1]}" "${output_ms[$2]}")"
fi

echo
printf '%-26s %5s %10s %10s %10s %14s %10s\n' runtime pods "shim RSS" "shim PSS" "QEMU PSS" \
    "virtiofsd PSS" "PSS total"
parts=""
for runtime in $runtimes; do
    for pods in $pod_counts; do
        read -r shim shim_pss qemu vfs total ram tcg image files anon \
            <<<"$(memory_per_pod "$runtime" "$pods")"
        if [ "$shim" = failed ]; then
            printf '%-26s %5s %12s\n' "$runtime" "$pods" failed
            continue
        fi
        printf '%-26s %5s %10s %10s %10s %14s %10s\n' "$runtime" "$pods" "$shim MiB" \
            "$shim_pss MiB" "$qemu MiB" "$vfs MiB" "$total MiB"
        [ "$qemu" != 0.0 ] && parts="$parts$(printf '%5s pods: guest RAM %s, TCG cache %s, kernel+initrd %s, QEMU files %s, QEMU anon %s' \
            "$pods" "$ram" "$tcg" "$image" "$files" "$anon")"$'\n'
    done
done
echo "(memory figures are per pod: the sum over the pods' processes divided by the pod count)"
if [ -n "$parts" ]; then
    echo "QEMU PSS per pod by mapping (MiB):"
    printf '%s' "$parts"
fi
