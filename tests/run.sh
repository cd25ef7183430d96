#!/bin/bash
# The one test command: build with warnings as errors and run every test suite, then build
# again with AddressSanitizer + UndefinedBehaviorSanitizer and run the suites again.
# Every suite runs in both passes, the VM and end-to-end ones included: only there do the
# sanitized shim and agent meet a real containerd and a real guest (about 4 min per pass).
# Exits non-zero on any build error or failed test. Run as root: most suites need it
# (containerd, mounts, VMs) and skip without it (they never skip when CI=true).
#
#   sudo ./tests/run.sh                  build-test/ and build-test-asan/ in the source tree
#   SC_TEST_BUILD_DIR=... SC_TEST_ASAN_BUILD_DIR=...   other build dirs
#   SC_TEST_ASAN=0                       skip the sanitizer pass (a quicker local check)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${SC_TEST_BUILD_DIR:-build-test}
asan_build=${SC_TEST_ASAN_BUILD_DIR:-build-test-asan}

step() { printf '\n=== %s\n' "$*"; }

# meson setup, or reconfigure with the same options when the dir exists (keeps ninja's cache).
configure() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

# Builds and tests one build dir; the test log of every failure is printed.
build_and_test() {
    local dir=$1
    shift
    step "build $dir"
    configure "$dir" -Dwerror=true "$@"
    meson compile -C "$dir"
    step "test $dir"
    local before
    before=$(host_agent_cgroups)
    if ! meson test -C "$dir" --print-errorlogs --num-processes "$(nproc)"; then
        echo "tests failed in $dir; full log: $dir/meson-logs/testlog.txt" >&2
        return 1
    fi
    check_no_new_cgroups "$before"
}

# The cgroups host-mode agents make (their processes would live on in a leftover one). Each test
# checks its own leftovers; this catches a test that does not.
host_agent_cgroups() {
    find /sys/fs/cgroup /sys/fs/cgroup/unified -maxdepth 1 -type d \
        \( -name 'secure-agent-*' -o -name 'secure-container-*' \) 2>/dev/null | sort
}

check_no_new_cgroups() {
    local left
    left=$(comm -13 <(printf '%s\n' "$1") <(host_agent_cgroups) | grep . || true)
    [ -z "$left" ] && return 0
    echo "cgroups left behind by the tests (and the processes in them):" >&2
    local cg
    for cg in $left; do
        echo "  $cg: $(find "$cg" -name cgroup.procs -exec cat {} + | tr '\n' ' ')" >&2
    done
    return 1
}

if [ "$(id -u)" -eq 0 ]; then
    step "dependencies"
    ./packaging/install-deps.sh
else
    echo "tests/run.sh: not root: the suites that need root will be skipped" >&2
fi

status=0
build_and_test "$build" || status=1
if [ "${SC_TEST_ASAN:-1}" != 0 ]; then
    build_and_test "$asan_build" -Db_sanitize=address,undefined -Db_lundef=false || status=1
fi

step "summary"
if [ "$status" -eq 0 ]; then
    echo "all builds and tests passed"
else
    echo "FAILED (see the logs above)"
fi
exit "$status"
