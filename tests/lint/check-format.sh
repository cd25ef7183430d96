#!/bin/bash
# Fails when a C file of the tree differs from what .clang-format makes of it, and shows the
# difference. The format is the law: fix a failure with `clang-format -i FILE`.
set -euo pipefail

source_dir=${1:?usage: check-format.sh SOURCE_DIR}
cd "$source_dir"
command -v clang-format >/dev/null || {
    echo "clang-format is missing (apt-get install clang-format)" >&2
    exit 1
}

mapfile -t files < <(find common ttrpc vmm-libvirt guest-agent shim tool tests \
    -name '*.[ch]' -not -path '*/fuzz-corpus/*' 2>/dev/null | sort)
[ "${#files[@]}" -gt 0 ] || {
    echo "no C files found under $source_dir" >&2
    exit 1
}

bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
        bad=$((bad + 1))
        diff -u "$f" <(clang-format "$f") | head -20 || true
    fi
done
echo "checked ${#files[@]} files against .clang-format: $bad not formatted"
[ "$bad" -eq 0 ]
