#!/usr/bin/env bash
# The whole test suite: formatting, clippy with warnings as errors, every test in the workspace,
# a short run of each fuzz target (scripts/fuzz.sh), and the cgroup tests once more on a pure
# cgroup2 kernel (tests/uml/).
# As root, because the integration tests start real containers. Runs every step even when an
# earlier one fails, then prints a summary; exit status 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/lib.sh

[ "$(id -u)" -eq 0 ] || die "run the test suite as root (sudo $0): its integration tests start real containers"
ensure_prerequisites

results=()
failures=0
run_step() {
    local name=$1
    shift
    say "$name"
    if "$@"; then
        results+=("ok      $name")
    else
        results+=("FAILED  $name")
        failures=$((failures + 1))
    fi
}

test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
# --no-fail-fast: every failing test binary shows in one run, not only the first.
cargo_test() { cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$test_log"; }

run_step fmt cargo fmt --all --check
run_step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
run_step test cargo_test
# The fuzz targets (fuzz/), built on stable and run a few seconds each (~30 s in all).
run_step "fuzz (${RLXC_FUZZ_SECONDS:-5} s per target)" scripts/fuzz.sh
# The cgroup-v2 lane: the real-kernel cgroup tests again on a pure cgroup2 host (a
# user-mode-linux guest, ~30 s); it prints which tests ran there.
run_step "cgroup-v2 lane (user-mode-linux)" tests/uml/run.sh

# Add up every test binary's "test result:" line.
read -r passed failed ignored < <(awk '
    /^test result:/ { for (i = 1; i <= NF; i++) {
        if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i; if ($(i + 1) ~ /^ignored/) g += $i } }
    END { print p + 0, f + 0, g + 0 }' "$test_log")

printf '\n== rlxc test summary\n'
printf '  %s\n' "${results[@]}"
printf 'tests: %s passed, %s failed, %s skipped\n' "$passed" "$failed" "$ignored"
[ "$failures" -eq 0 ] || { printf '%d step(s) failed\n' "$failures"; exit 1; }
printf 'all steps passed\n'
