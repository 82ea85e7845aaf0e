#!/usr/bin/env bash
# The fuzz targets of fuzz/, built and run for a fixed budget each (RLXC_FUZZ_SECONDS, 5 s by
# default): scripts/test.sh runs this, so the targets build and their properties hold on
# every CI run, not only when someone fuzzes by hand (fuzz/README.md).
#
# On the stable toolchain, without cargo-fuzz: cargo-fuzz's own build is libfuzzer-sys (which
# compiles libFuzzer with the C++ compiler of build-essential) plus rustc's SanitizerCoverage
# flags, all of them stable `-C` options; only its AddressSanitizer needs nightly (or
# RUSTC_BOOTSTRAP), and Rust code needs none to catch the panics these targets assert.
# Debug assertions and overflow checks stay on, as cargo-fuzz leaves them. The target is
# named, so the flags reach neither build scripts nor proc-macros.
#
# The seed corpus: the config fixtures of the tests and, where lxc-templates is installed
# (scripts/lib.sh installs it), LXC's distro configs; a scratch copy, so the run leaves
# nothing in the tree. A crash is kept in fuzz/artifacts/ (ignored by git) and printed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${RLXC_FUZZ_SECONDS:-5}
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}/fuzz
# scripts/lib.sh's static build is for rlxc's binaries, not for these.
unset CARGO_BUILD_TARGET "CARGO_TARGET_$(echo "$HOST" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"

RUSTFLAGS="--cfg fuzzing -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4"
RUSTFLAGS+=" -C llvm-args=-sanitizer-coverage-inline-8bit-counters"
RUSTFLAGS+=" -C llvm-args=-sanitizer-coverage-pc-table"
RUSTFLAGS+=" -C llvm-args=-sanitizer-coverage-trace-compares"
RUSTFLAGS+=" -C debug-assertions -C overflow-checks"
export RUSTFLAGS
cargo build --locked --release --manifest-path fuzz/Cargo.toml --target "$HOST" \
    --target-dir "$TARGET_DIR" --bins

mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -vx rlxc-fuzz)
[ "${#targets[@]}" -gt 0 ] || { echo "scripts/fuzz.sh: no fuzz targets in fuzz/Cargo.toml" >&2; exit 1; }
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p fuzz/artifacts
status=0
for target in "${targets[@]}"; do
    rm -rf "${corpus:?}/$target"
    mkdir "$corpus/$target"
    find crates/config/tests/fixtures /usr/share/lxc/config -type f -exec cp -t "$corpus/$target" {} + \
        2>/dev/null || true
    echo "==> fuzz $target for ${SECONDS_EACH}s ($(ls "$corpus/$target" | wc -l) seeds)"
    # -timeout: one input that hangs for 10 s is a failure too.
    if ! "$TARGET_DIR/$HOST/release/$target" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target-" "$corpus/$target" \
        >"$corpus/$target.log" 2>&1; then
        tail -40 "$corpus/$target.log"
        for crash in fuzz/artifacts/"$target"-*; do
            [ -f "$crash" ] || continue
            echo "--- $crash (reproduce: $TARGET_DIR/$HOST/release/$target $crash), as characters:"
            od -An -c "$crash" | head -20
        done
        status=1
        continue
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$corpus/$target.log" |
        sed "s/^/  $target: /"
    # A run of no inputs would be a pass over nothing.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$corpus/$target.log")
    [ "${runs:-0}" -gt 0 ] || { echo "  $target ran no inputs" >&2; status=1; }
done
exit "$status"
