#!/bin/sh
# Prints the modules.dep paths of the named modules and everything they depend on, one per line,
# each after all of its dependencies (the order to load them in).
# usage: module-order.sh MODULES_DEP NAME...   (NAME as modprobe spells it: "9pnet_virtio")
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 MODULES_DEP NAME..." >&2
    exit 2
fi
dep=$1
shift

awk -v names="$*" '
    function base(path,    b) {
        b = path
        sub(/.*\//, "", b)
        sub(/\.ko(\.[a-z]+)?$/, "", b)
        return b
    }
    function visit(path,    n, i, list) {
        if (state[path] == 2)
            return
        if (state[path] == 1) {
            print "module-order: dependency cycle at " path > "/dev/stderr"
            exit 1
        }
        state[path] = 1
        n = split(deps[path], list, " ")
        for (i = 1; i <= n; i++)
            visit(list[i])
        state[path] = 2
        print path
    }
    {
        path = $1
        sub(/:$/, "", path)
        deps[path] = ""
        for (i = 2; i <= NF; i++)
            deps[path] = deps[path] " " $i
        byname[base(path)] = path
    }
    END {
        n = split(names, want, " ")
        for (i = 1; i <= n; i++) {
            if (!(want[i] in byname)) {
                print "module-order: module \"" want[i] "\" not in modules.dep" > "/dev/stderr"
                exit 1
            }
            visit(byname[want[i]])
        }
    }' "$dep"
