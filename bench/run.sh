#!/bin/bash
# The benchmark in one command, as root, from a checkout:
#     bench/run.sh [rlxc-bench options]      (e.g. --rounds 15 --idle 200)
# Installs what is missing (LXC, crun, runc, busybox-static: apt), builds rlxc and the harness
# in release mode, runs it, and writes docs/benchmarks/results.md and chart.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
[ "$(id -u)" -eq 0 ] || die "run as root: containers, cgroups and namespaces need it"

# The tools compared with (crun and runc are for the benchmark only, not for the tests).
RLXC_APT_PACKAGES+=(crun runc)
ensure_prerequisites

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
say "building rlxc and rlxc-bench (release)"
cargo build --release --quiet -p rlxc
cargo build --release --quiet --manifest-path bench/Cargo.toml
say "measuring (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
out=$(cargo_out_dir release)
exec "$out/rlxc-bench" --rlxc "$out/rlxc" --out docs/benchmarks "$@"
