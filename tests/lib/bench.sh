# Shell helpers the benchmarks under tests/bench share (sourced after testenv.sh).
# shellcheck shell=bash

now_ms() { date +%s%3N; }

# The median of the numbers on stdin, one per line ("-" for none).
median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# sum_kib EXE FIELD: FIELD summed over this benchmark's processes whose executable's basename is
# EXE (testenv_is_ours), in KiB: VmRSS (from status) or Pss (from smaps_rollup).
sum_kib() {
    local exe=$1 field=$2 pid total=0 kib
    for pid in $(testenv_our_processes "^$exe\$" | cut -d' ' -f1); do
        if [ "$field" = Pss ]; then
            kib=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
        else
            kib=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
        fi
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}
