#!/bin/bash
# The environment end-to-end tests and benchmarks run in: a private containerd that finds our
# shim, the busybox image imported into it, and a check that nothing is left behind afterwards.
#
#   . tests/lib/testenv.sh
#   testenv_setup                      # sets TESTENV_DIR, IMAGE; traps EXIT for the teardown
#   out=$(sc_ctr run --runtime "$SC_RUNTIME" --rm "$IMAGE" id1 echo hi)
#   assert_eq "output" "hi" "$out"
#
# Variables read:
#   SC_RUNTIME   the runtime under test: io.containerd.secure.v2 (default) or io.containerd.runc.v2,
#                which proves the harness itself on any machine
#   SC_SHIM      the containerd-shim-secure-v2 to test (meson passes the one in the build dir);
#                unset: the one on PATH (an installed shim)
#   SC_CONFIG    the shim's config file; unset: SC_BUILD_DIR/tests/e2e/secure-container-test.conf
#                when that exists, else the shim's own default
#   CI=true      a missing requirement fails instead of skipping
#   TESTENV_SNAPSHOT_EXTRA  a function printing more things the leftover check compares

TESTENV_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/private-containerd.sh
. "$TESTENV_LIB/private-containerd.sh"
# shellcheck source=tests/lib/busybox-image.sh
. "$TESTENV_LIB/busybox-image.sh"

SC_RUNTIME=${SC_RUNTIME:-io.containerd.secure.v2}
TESTENV_CTR_TIMEOUT=${TESTENV_CTR_TIMEOUT:-180}
# Executables whose leftovers a test must not leave (matched on the basename of /proc/PID/exe).
TESTENV_WATCHED_EXE='^(qemu-system-.*|virtiofsd|containerd-shim-.*|secure-agent|runc)$'
# Where a runtime keeps sockets, state and mounts on the host. (runc keeps an empty directory per
# namespace under /run/containerd/runc; what it keeps per container is one level deeper.)
TESTENV_WATCHED_DIRS="/run/containerd/s /run/containerd/fifo /run/containerd/runc/* /run/secure-container"

testenv_log() { echo "# $*" >&2; }

# A test that cannot run here exits 77 (meson's "skipped"), but never in CI.
testenv_skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: CI=true, so not skipping: $*" >&2
        exit 1
    fi
    echo "SKIP: $*" >&2
    exit 77
}

testenv_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

assert_eq() {
    [ "$2" = "$3" ] || testenv_fail "$1: expected '$2', got '$3'"
}

assert_ne() {
    [ "$2" != "$3" ] || testenv_fail "$1: expected something other than '$2'"
}

# assert_match WHAT EXTENDED-REGEX TEXT
assert_match() {
    printf '%s\n' "$3" | grep -Eq -- "$2" || testenv_fail "$1: '$3' does not match /$2/"
}

# ctr against the private containerd, never hanging: ctr forwards SIGTERM to the container,
# so timeout needs -k to stop a stuck ctr.
sc_ctr() {
    timeout -k 5 "$TESTENV_CTR_TIMEOUT" ctr "$@"
}

# sc_run ID CMD...: `ctr run --rm` of the busybox image with the runtime under test.
sc_run() {
    local id=$1
    shift
    sc_ctr run --runtime "$SC_RUNTIME" --rm "$IMAGE" "$id" "$@"
}

# sc_run_detached ID CMD...: starts a long-running task and waits until it runs.
sc_run_detached() {
    local id=$1
    shift
    sc_ctr run --runtime "$SC_RUNTIME" -d "$IMAGE" "$id" "$@" || return 1
    testenv_wait_status "$id" RUNNING
}

# Prints the status (RUNNING, PAUSED, STOPPED, ...) of task $1, or nothing if there is none.
testenv_task_status() {
    sc_ctr task list 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'
}

# testenv_wait_status ID STATUS [SECONDS]
testenv_wait_status() {
    local id=$1 want=$2 deadline=$((SECONDS + ${3:-60})) got
    while :; do
        got=$(testenv_task_status "$id")
        [ "$got" = "$want" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "task '$id': status '$got', waited for '$want'" >&2
            return 1
        fi
        sleep 0.2
    done
}

# testenv_wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds (returns 0)
# or SECONDS pass (returns 1). For what a slow guest does some time after a call returned.
testenv_wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# True when container $1's PID 1 runs $2 (its words separated by blanks).
testenv_pid1_is() {
    [ "$(sc_ctr task exec --exec-id "pid1-$RANDOM$RANDOM" "$1" cat /proc/1/cmdline 2>/dev/null \
        | tr '\0' ' ')" = "$2 " ]
}

# testenv_wait_pid1 ID CMDLINE: waits until the container's PID 1 runs CMDLINE, i.e. until a
# start-up script has done what it does before its exec.
testenv_wait_pid1() {
    testenv_wait_until 60 testenv_pid1_is "$1" "$2" \
        || testenv_fail "container '$1': PID 1 never became '$2'"
}

# Removes task and container $1, whatever state they are in.
sc_remove() {
    if [ -n "$(testenv_task_status "$1")" ]; then
        sc_ctr task kill -s SIGKILL "$1" >/dev/null 2>&1
        testenv_wait_status "$1" STOPPED 30 >/dev/null 2>&1
    fi
    sc_ctr task delete "$1" >/dev/null 2>&1
    sc_ctr container delete "$1" >/dev/null 2>&1
}

# True when process $1 descends from this test (see testenv_become_subreaper).
testenv_is_ours() {
    local pid=$1
    while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
        [ "$pid" = "$$" ] && return 0
        pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    done
    return 1
}

# testenv_our_processes EXE-REGEX: "PID EXE" for each process of this test whose executable's
# basename matches.
testenv_our_processes() {
    local path exe pid
    # One find reads every process's executable link: a readlink per process costs seconds on
    # a busy machine, and the leftover check calls this often.
    while read -r path exe; do
        exe=${exe% (deleted)}
        exe=${exe##*/}
        pid=${path#/proc/}
        pid=${pid%/exe}
        [[ $exe =~ $1 ]] && testenv_is_ours "$pid" && echo "$pid $exe"
    done < <(find /proc/[0-9]*/exe -maxdepth 0 -printf '%p %l\n' 2>/dev/null)
    return 0
}

# One line per thing a runtime could leave behind: a watched process of this test, a mount below
# a watched directory or the test's own directory, an entry in a watched directory.
testenv_snapshot() {
    local dir
    testenv_our_processes "$TESTENV_WATCHED_EXE" | sed 's/^/process /'
    awk -v dirs="$TESTENV_WATCHED_DIRS ${TESTENV_DIR:-/nonexistent}" '
        BEGIN { n = split(dirs, d, " ") }
        { for (i = 1; i <= n; i++) if (index($5, d[i] "/") == 1 || $5 == d[i]) print "mount " $5 }
    ' /proc/self/mountinfo
    for dir in $TESTENV_WATCHED_DIRS; do
        [ -d "$dir" ] && find "$dir" -mindepth 1 -maxdepth 2 -printf 'file %p\n'
    done
    [ -n "${TESTENV_DIR:-}" ] && [ -e "$TESTENV_DIR" ] && echo "file $TESTENV_DIR"
    # A suite with more kinds of leftovers (CRI: netns, links, cgroups) names a function that
    # prints them, one "KIND WHAT" line each; it must be set before testenv_setup.
    [ -z "${TESTENV_SNAPSHOT_EXTRA:-}" ] || "$TESTENV_SNAPSHOT_EXTRA"
    return 0
}

# Prints what is in the current snapshot and was not in the baseline.
testenv_new_leftovers() {
    comm -13 <(printf '%s\n' "$TESTENV_BASELINE" | sort) <(testenv_snapshot | sort)
}

# Waits (QEMU and shims exit asynchronously) until nothing new is left; on failure lists the
# leftovers, kills the leftover processes (they descend from this test, so they are ours) and
# returns 1. Mounts and files are only reported: on a shared machine they could be another's.
testenv_check_leftovers() {
    local deadline=$((SECONDS + 15)) left pid
    while left=$(testenv_new_leftovers) && [ -n "$left" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "FAIL: left behind after the test:" >&2
            printf '  %s\n' "$left" >&2
            for pid in $(printf '%s\n' "$left" | awk '$1 == "process" { print $2 }'); do
                echo "  $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" >&2
                testenv_is_ours "$pid" && kill -KILL "$pid" 2>/dev/null
            done
            return 1
        fi
        sleep 0.5
    done
    return 0
}

# Finds the shim and the config it should use; skips or fails when the runtime cannot run here.
testenv_prepare_runtime() {
    [ "$SC_RUNTIME" = io.containerd.secure.v2 ] || return 0
    if [ -n "${SC_SHIM:-}" ]; then
        [ -x "$SC_SHIM" ] || testenv_fail "SC_SHIM='$SC_SHIM' is not an executable (not built?)"
    else
        SC_SHIM=$(command -v containerd-shim-secure-v2) \
            || testenv_fail "no containerd-shim-secure-v2: set SC_SHIM or install it"
    fi
    if [ -z "${SC_CONFIG:-}" ] && [ -f "${SC_BUILD_DIR:-/nonexistent}/tests/e2e/secure-container-test.conf" ]; then
        SC_CONFIG="$SC_BUILD_DIR/tests/e2e/secure-container-test.conf"
    fi
    command -v qemu-system-x86_64 >/dev/null || testenv_skip "qemu-system-x86_64 missing"
}

# A sanitizer build of the shim reports into files here (containerd passes its environment to
# the shims, and a shim's stderr is not the test's); any report fails the test. Leak stacks are
# unwound the slow way: GLib has no frame pointers, so the fast unwinder stops at g_malloc0 and
# neither the report nor tests/lib/lsan-suppressions.txt would see who allocated.
testenv_sanitizer_reports_to() {
    local opt
    for opt in ASAN_OPTIONS UBSAN_OPTIONS; do
        export "$opt=${!opt:+${!opt}:}log_path=$1/${opt%%_*}"
    done
    export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
    export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TESTENV_LIB/lsan-suppressions.txt:print_suppressions=0"
}

testenv_check_sanitizer_reports() {
    local report found=1
    for report in "$TESTENV_SAN_DIR"/*; do
        [ -f "$report" ] || continue
        # LeakSanitizer's own tracer crashing at exit (seen with libvirt's threads still winding
        # down, on a loaded machine) means the leak check could not run: no finding to judge.
        if grep -q 'LeakSanitizer has encountered a fatal error' "$report" &&
            grep -q 'Tracer caught signal' "$report" &&
            ! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$report"; then
            echo "# $(basename "$report"): LeakSanitizer's tracer crashed, so no leak check ran" >&2
            continue
        fi
        echo "FAIL: sanitizer report $(basename "$report"):" >&2
        head -n 40 "$report" >&2
        found=0
    done
    rm -rf "$TESTENV_SAN_DIR"
    [ "$found" = 1 ]
}

# On failure, from containerd's log (containerd runs at debug level, so the shims log their
# calls with durations too): the shims' last lines, then containerd's own warnings and errors.
testenv_show_log() {
    echo "--- shim log (debug), last lines:" >&2
    grep 'runtime=secure' "$1" | tail -n 80 >&2
    echo "--- containerd warnings and errors, last lines:" >&2
    grep -E 'level=(warning|error|fatal)' "$1" | grep -v 'runtime=secure' | tail -n 20 >&2
}

# On failure, while the pods still run: this test's processes and the end of each VM's console.
testenv_show_state() {
    local console
    echo "--- processes of this test:" >&2
    # One ps, the ancestry walked in awk: a walk per process took tens of seconds when busy.
    ps -e -o pid=,ppid=,pgid=,stat=,etime=,args= | awk -v root=$$ '
        { parent[$1] = $2; line[$1] = $0; order[NR] = $1 }
        END {
            for (i = 1; i <= NR; i++) {
                p = order[i]
                for (q = p; q > 1 && q != root; q = parent[q] + 0) {}
                if (q == root) print line[p]
            }
        }' >&2
    for console in $(find /run/secure-container -name console.log 2>/dev/null); do
        echo "--- $console, last lines:" >&2
        tail -n 30 "$console" >&2
    done
}

testenv_teardown() {
    local rc=$? log
    trap - EXIT
    [ "$rc" -eq 0 ] || testenv_show_state
    log=$(mktemp /tmp/sc-e2e-log.XXXXXX)
    private_containerd_stop "${TESTENV_DIR:-}" "$log"
    testenv_check_leftovers || rc=1
    testenv_check_sanitizer_reports || rc=1
    [ "$rc" -eq 0 ] || testenv_show_log "$log"
    rm -f "$log"
    exit "$rc"
}


# The config's VM template, built before containerd starts: a pod would otherwise start the build
# in the background, where it could outlive the test. Quick once built; a no-op with templates
# off. TESTENV_TEMPLATE_BUILD=0 leaves it to the pods (e2e-template).
testenv_build_template() {
    local builder
    builder=$(dirname "$(realpath "$SC_SHIM")")/secure-container-template
    [ -x "$builder" ] || testenv_fail "no $builder next to the shim (not built?)"
    "$builder" --wait ${SC_CONFIG:+--config "$SC_CONFIG"} >"$TESTENV_DIR/template.log" 2>&1 \
        || testenv_fail "the VM template did not build: $(cat "$TESTENV_DIR/template.log")"
}

# Sets everything up for one test; the EXIT trap tears it down and checks for leftovers.
testenv_setup() {
    [ "$(id -u)" -eq 0 ] || testenv_skip "needs root (containerd, mounts, VMs)"
    local tool
    for tool in containerd ctr script timeout readelf; do
        command -v "$tool" >/dev/null || testenv_skip "'$tool' missing (packaging/install-deps.sh)"
    done
    testenv_prepare_runtime
    testenv_isolate_run
    TESTENV_BASELINE=$(testenv_snapshot)
    TESTENV_DIR=$(mktemp -d /tmp/sc-e2e.XXXXXX) || exit 1
    TESTENV_SAN_DIR=$(mktemp -d /tmp/sc-e2e-sanitizer.XXXXXX) || exit 1
    trap testenv_teardown EXIT
    testenv_sanitizer_reports_to "$TESTENV_SAN_DIR"
    if [ "$SC_RUNTIME" = io.containerd.secure.v2 ]; then
        # The opt plugin puts DIR/opt/bin first on containerd's PATH: that is where it finds us.
        mkdir -p "$TESTENV_DIR/opt/bin"
        ln -s "$(realpath "$SC_SHIM")" "$TESTENV_DIR/opt/bin/containerd-shim-secure-v2"
        [ -n "${SC_CONFIG:-}" ] && export SECURE_CONTAINER_CONFIG="$SC_CONFIG"
        testenv_log "shim $SC_SHIM, config ${SC_CONFIG:-(shim default)}"
        [ "${TESTENV_TEMPLATE_BUILD:-1}" = 0 ] || testenv_build_template
    fi
    PRIVATE_CONTAINERD_LOG=${PRIVATE_CONTAINERD_LOG:-debug} \
        private_containerd_start "$TESTENV_DIR" || testenv_fail "private containerd did not start"
    IMAGE=$(busybox_image_import "$BUSYBOX_IMAGE_DEFAULT_NAME") || testenv_fail "busybox image import failed"
    testenv_log "runtime $SC_RUNTIME, containerd in $TESTENV_DIR"
}

# True when the runtime under test puts each pod in its own VM.
testenv_runtime_is_vm() {
    [ "$SC_RUNTIME" = io.containerd.secure.v2 ]
}

# Makes this test's shell a child subreaper, so that whatever it starts and whatever daemonizes
# below it (containerd, shims, QEMU, virtiofsd) stays its descendant: the leftover check then
# finds exactly this test's processes, also on a machine where other tests run. The attribute
# survives execve, so python sets it and execs the test script again (same pid). As root, the
# script also gets a mount namespace of its own (testenv_isolate_run).
testenv_become_subreaper() {
    [ "${TESTENV_SUBREAPER:-}" = "$$" ] && return 0
    [ -x /usr/bin/python3 ] || return 0
    export TESTENV_SUBREAPER=$$
    local unshare=()
    if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
        unshare=(unshare --mount --propagation private)
        export TESTENV_OWN_MOUNTS=$$
    fi
    exec "${unshare[@]}" /usr/bin/python3 -c '
import ctypes, os, sys
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(ctypes.get_errno()))
os.execv("/bin/bash", ["/bin/bash"] + sys.argv[1:])
' "$0" "$@"
}

# In the test's own mount namespace, fresh tmpfs over the directories where runtimes keep their
# sockets and state: what the test's runtime leaves there is then exactly what the leftover check
# sees (other tests on the machine write to the real ones), and it all goes away with the test.
testenv_isolate_run() {
    [ "${TESTENV_OWN_MOUNTS:-}" = "$$" ] || return 0
    local dir
    for dir in /run/containerd /run/secure-container; do
        if ! mkdir -p "$dir" || ! mount -t tmpfs -o mode=0711 sc-e2e "$dir"; then
            testenv_fail "cannot mount a tmpfs on '$dir' in the test's mount namespace"
        fi
    done
}

# Sourced by a test script: from here on that script runs as a subreaper.
if [ "${BASH_SOURCE[1]:-}" = "$0" ]; then
    testenv_become_subreaper "$@"
fi
