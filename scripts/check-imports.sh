#!/usr/bin/env bash
# Fails when the top-level modules of src/ import each other in a cycle.
# An edge A -> B is a `crate::B` path anywhere in A's files (src/A.rs,
# src/A/**). `tsort` finds the cycles. Prints the module graph's edges.
set -euo pipefail
cd "$(dirname "$0")/../src"
edges=$(
    for path in *.rs */; do
        module=${path%/}
        module=${module%.rs}
        [[ $module == main || $module == lib || $module == bin ]] && continue
        { grep -rhoE 'crate::[a-z_]+' "$path" 2>/dev/null || true; } | sed 's/crate:://' | sort -u |
            while read -r used; do
                [[ $used != "$module" ]] && echo "$module $used"
            done
    done | sort -u
)
echo "$edges" | awk '{ printf "  %s -> %s\n", $1, $2 }'
if ! cycles=$(echo "$edges" | tsort 2>&1 >/dev/null) || [[ -n $cycles ]]; then
    echo "import cycle between top-level modules:" >&2
    echo "$cycles" | sed 's/^tsort: //' >&2
    exit 1
fi
echo "no import cycle between the top-level modules of src/"
