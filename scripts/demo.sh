#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, build rlxc (release),
# check the kernel, and check the seed config. Later it will start a demo container.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SEED_CONFIG=crates/config/tests/fixtures/funtoo0.conf

ensure_prerequisites
say "building rlxc (release)"
cargo build --release --locked -p rlxc
rlxc="${CARGO_TARGET_DIR:-target}/release/rlxc"

failed=()
step() {
    say "$*"
    "$@" || failed+=("$*")
}
step "$rlxc" checkconfig
step "$rlxc" config check -f "$SEED_CONFIG"

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'demo: %d step(s) failed:\n' "${#failed[@]}"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
say "demo done: $rlxc works (link it as lxc-* with: $rlxc compat-links /usr/local/sbin)"
