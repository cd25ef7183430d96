#!/bin/bash
# Benchmark (figures are printed, never asserted): how fast a pod starts and what it costs, cold
# and resumed from a VM template, side by side with runc through one private containerd:
#   - `ctr run --rm true`, start to exit, median of --runs N (default 10) for runc, the shipped
#     cold boot (virtio-fs), a cold boot with virtio-9p, and a resume from a template (virtio-9p,
#     [template] enable = true); each with the ratio to runc and the median of every step of the
#     shim's "pod start:" line (VM start or resume, agent ready, CreateSandbox, CreateContainer);
#   - the time to build the template;
#   - pods started one after the other up to each count of --pods (default "1 10 30 50") with a
#     template, each running `sleep`: the median start time of the pods added since the last
#     count, and the memory per pod (PSS of shims and QEMUs) --settle seconds (default 10) after
#     the last one started; where starting more fails first, and with what error.
#
# With --ksm, the kernel's same-page merging runs during the pod counts (its settings are put
# back at the end), and each count's memory is read once ksmd has made two full scans after the
# settle: resumed pods hold identical copies of the template's pages (the guest kernel, the
# unpacked initramfs), which KSM merges.
#
#   sudo tests/bench/bench-start.sh [--runs N] [--pods "1 10 30 50"] [--settle S] [--ksm]
#
# The shim and its config are found as the e2e tests find them (tests/lib/testenv.sh): SC_SHIM
# and SC_BUILD_DIR. The per-mode configs are that config plus a few keys, passed to each run
# with `ctr run --runtime-config-path`.

# shellcheck source=tests/lib/testenv.sh
. "$(dirname "$0")/../lib/testenv.sh"
# shellcheck source=tests/lib/bench.sh
. "$(dirname "$0")/../lib/bench.sh"

runs=10
pod_counts="1 10 30 50"
settle=10
ksm=0
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --pods) pod_counts=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --ksm) ksm=1; shift ;;
    *) echo "usage: $0 [--runs N] [--pods \"1 10 30 50\"] [--settle S] [--ksm]" >&2; exit 2 ;;
    esac
done
KSM=/sys/kernel/mm/ksm
if [ "$ksm" = 1 ]; then
    [ -w "$KSM/run" ] || { echo "bench-start: no KSM here ($KSM/run)" >&2; exit 1; }
    ksm_saved="$(cat "$KSM/run") $(cat "$KSM/pages_to_scan")"
fi

# Waits until ksmd has finished two more full scans than now.
ksm_settle() {
    local target=$(($(cat "$KSM/full_scans") + 2))
    until [ "$(cat "$KSM/full_scans")" -ge "$target" ]; do sleep 1; done
}

SC_RUNTIME=io.containerd.secure.v2
testenv_setup
[ -n "${SC_CONFIG:-}" ] || testenv_fail "needs SC_CONFIG or SC_BUILD_DIR (the guest image's config)"

# mode_config NAME SHARED_FS TEMPLATES: the test config with these two settings (a key file
# may name a group again: the later value wins).
mode_config() {
    local file=$TESTENV_DIR/$1.conf
    { cat "$SC_CONFIG"; printf '[hypervisor]\nshared_fs = %s\n[template]\nenable = %s\ndirectory = %s\n' \
        "$2" "$3" "$TESTENV_DIR/templates"; } >"$file"
    echo "$file"
}
declare -A config
config[cold-virtiofs]=$(mode_config cold-virtiofs virtio-fs false)
config[cold-9p]=$(mode_config cold-9p virtio-9p false)
config[template]=$(mode_config template virtio-9p true)
modes="runc cold-virtiofs cold-9p template"

# mode_run MODE ID FLAG CMD...: ctr run with FLAG (--rm, -d) of CMD in the mode's runtime.
mode_run() {
    local mode=$1 id=$2 flag=$3
    shift 3
    if [ "$mode" = runc ]; then
        sc_ctr run --runtime io.containerd.runc.v2 "$flag" "$IMAGE" "$id" "$@"
    else
        sc_ctr run --runtime "$SC_RUNTIME" --runtime-config-path "${config[$mode]}" "$flag" \
            "$IMAGE" "$id" "$@"
    fi
}

# Milliseconds from `ctr run --rm` to its exit, for `true`.
time_to_exit() {
    local start
    start=$(now_ms)
    mode_run "$1" "$2" --rm true >/dev/null 2>"$TESTENV_DIR/last-error" || return 1
    echo $(($(now_ms) - start))
}

# The shim's "pod start:" lines logged since line $1 of containerd's log, as medians per step.
step_medians() {
    local since=$1 step
    for step in "sandbox start" "agent ready" CreateSandbox CreateContainer; do
        printf '%s %s ms; ' "$step" "$(tail -n +"$since" "$TESTENV_DIR/containerd.log" |
            grep -o 'pod start: [^"]*' | grep -o "$step [0-9.]*" | awk '{ print $NF }' | median)"
    done
}

log_lines() { wc -l <"$TESTENV_DIR/containerd.log"; }

echo "# bench-start: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), $runs runs each"
start=$(now_ms)
"$(dirname "$SC_SHIM")/secure-container-template" --config "${config[template]}" >/dev/null 2>&1 \
    || testenv_fail "the template did not build: $(tail -n 5 "$TESTENV_DIR/templates/build.log" 2>/dev/null)"
echo "template build: $(($(now_ms) - start)) ms ($(du -m "$TESTENV_DIR"/templates/*.save | cut -f1) MiB on disk)"

declare -A exit_ms steps
for mode in $modes; do
    since=$(($(log_lines) + 1))
    values=""
    for i in $(seq "$runs"); do
        if ! value=$(time_to_exit "$mode" "start-$i"); then
            echo "  $mode: run $i failed: $(tr '\n' ' ' <"$TESTENV_DIR/last-error")" >&2
            sc_remove "start-$i"
            continue
        fi
        values="$values$value"$'\n'
    done
    exit_ms[$mode]=$(printf '%s' "$values" | median)
    [ "$mode" = runc ] || steps[$mode]=$(step_medians "$since")
done
echo
printf '%-15s %10s %8s  %s\n' mode "exit (ms)" "x runc" "shim's pod start steps (medians)"
for mode in $modes; do
    printf '%-15s %10s %8s  %s\n' "$mode" "${exit_ms[$mode]}" \
        "$(awk -v a="${exit_ms[$mode]}" -v b="${exit_ms[runc]}" \
            'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "-" }')" \
        "${steps[$mode]:-}"
done

if [ "$ksm" = 1 ]; then
    trap 'rc=$?; read -r run pages <<<"$ksm_saved"; echo "$pages" >"$KSM/pages_to_scan"
          echo "$run" >"$KSM/run"; (exit $rc); testenv_teardown' EXIT
    echo 1000 >"$KSM/pages_to_scan"
    echo 1 >"$KSM/run"
fi
echo
echo "pods resumed from the template, started one after the other$([ "$ksm" = 1 ] && echo ", with KSM"):"
printf '%6s %22s %14s %14s %14s\n' pods "start (ms, median)" "shim PSS/pod" "QEMU PSS/pod" \
    "total/pod"
running=0
for target in $pod_counts; do
    values=""
    while [ "$running" -lt "$target" ]; do
        id=scale-$((running + 1))
        t0=$(now_ms)
        if ! mode_run template "$id" -d sleep 1000000 >/dev/null 2>"$TESTENV_DIR/last-error" ||
            ! testenv_wait_status "$id" RUNNING; then
            echo "pod $((running + 1)) did not start: $(tr '\n' ' ' <"$TESTENV_DIR/last-error")"
            sc_remove "$id"
            break 2
        fi
        values="$values$(($(now_ms) - t0))"$'\n'
        running=$((running + 1))
    done
    sleep "$settle"
    [ "$ksm" = 0 ] || ksm_settle
    shim=$(sum_kib containerd-shim-secure-v2 Pss)
    qemu=$(sum_kib qemu-system-x86_64 Pss)
    printf '%6s %22s %14s %14s %14s\n' "$running" "$(printf '%s' "$values" | median)" \
        "$(awk -v k="$shim" -v n="$running" 'BEGIN { printf "%.1f MiB", k / n / 1024 }')" \
        "$(awk -v k="$qemu" -v n="$running" 'BEGIN { printf "%.1f MiB", k / n / 1024 }')" \
        "$(awk -v k="$((shim + qemu))" -v n="$running" 'BEGIN { printf "%.1f MiB", k / n / 1024 }')"
done
[ "$ksm" = 0 ] || echo "KSM: $(cat "$KSM/pages_sharing") pages sharing $(cat "$KSM/pages_shared") shared pages"
echo "host: $(free -m | awk '/^Mem:/ { print $3 " MiB used, " $7 " MiB available" }'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$running"); do
    sc_remove "scale-$i"
done
