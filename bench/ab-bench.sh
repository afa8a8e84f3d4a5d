#!/usr/bin/env bash
# Same-sitting before/after of the plugin's ADD/DEL: runs bench/cni-bench.sh from another working tree (the "before",
# e.g. `git worktree add /tmp/before <rev>` with its artifacts published as scripts/test.sh does) and from this one,
# alternately, so both meet the same machine load. Root.
#   bash bench/ab-bench.sh BEFORE_TREE [ROUNDS=2] [N=50]
set -euo pipefail
before="$(cd "${1:?usage: ab-bench.sh BEFORE_TREE [ROUNDS] [N]}" && pwd)"; rounds="${2:-2}"; n="${3:-50}"
after="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for round in $(seq 1 "$rounds"); do
  for side in before after; do
    tree=$before; [ "$side" = after ] && tree=$after
    echo "=== round $round: $side ($(git -C "$tree" rev-parse --short HEAD)), load $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$tree" && bash bench/cni-bench.sh -n "$n" | tail -n 12)
  done
done
