#!/usr/bin/env bash
# Runs this crate's real-kernel tests on a pure cgroup2 host: builds the test binaries here,
# then runs them as root in the user-mode-linux guest of shared/tools/uml-run (boots in ~2 s).
#   crates/cgroup/uml-tests.sh [PATH/TO/uml-run]
# layout_here is left out: it checks that the build machine is hybrid.
set -euo pipefail
cd "$(dirname "$0")"
UML_RUN=${1:-/work/shared/tools/uml-run}
mapfile -t binaries < <(cargo test -p rlxc-cgroup --tests --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep -v '/layout_here-')
dir=$(dirname "${binaries[0]}")
script="set -e; uname -r; cat /sys/fs/cgroup/cgroup.subtree_control"
for binary in "${binaries[@]}"; do script+="; ./$(basename "$binary") --test-threads=2"; done
"$UML_RUN" -C "$dir" -- bash -c "$script"
