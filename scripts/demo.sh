#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, build rlxc (release),
# check the kernel, check the seed config as a start on this host would, and run a demo
# container (create, start, info, attach, ls, stop).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SEED_CONFIG=crates/config/tests/fixtures/funtoo0.conf

ensure_prerequisites
say "building rlxc (release)"
cargo build --release --locked -p rlxc
rlxc="$(cargo_out_dir release)/rlxc"

failed=()
step() {
    say "$*"
    "$@" || failed+=("$*")
}
step "$rlxc" checkconfig

# A demo container from the built-in busybox template, in a scratch lxcpath so nothing of
# the host's /var/lib/rlxc is touched, removed again at the end.
demo_path=$(mktemp -d /tmp/rlxc-demo.XXXXXX)
# The verb first, then -n/-P, then its own arguments (a command after -- takes the rest).
demo() { local verb=$1; shift; "$rlxc" "$verb" -n demo -P "$demo_path" "$@"; }
cleanup() { demo stop -k >/dev/null 2>&1 || true; demo destroy >/dev/null 2>&1 || true; rm -rf "$demo_path"; }
trap cleanup EXIT
step demo create -t busybox
# The seed's config, checked as `start` would run it on this host (the checks start makes,
# with this host's facts). Its rootfs (/lxc/funtoo0/rootfs) and bridge (br0) are the wiki
# author's: the demo container's rootfs and no network stand in for them, as `start -s`
# would set them.
step "$rlxc" config check -f "$SEED_CONFIG" -s "lxc.rootfs.path=$demo_path/demo/rootfs" \
    -s lxc.net.0.type=empty
step demo start -d
step demo info
step demo attach -- /bin/sh -c 'echo "hello from $(hostname), pid $$ in its own pid namespace"; uname -a'
step "$rlxc" ls -f -P "$demo_path"
step demo stop -t 10
step demo info -s

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'demo: %d step(s) failed:\n' "${#failed[@]}"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
say "demo done: $rlxc works (link it as lxc-* with: $rlxc compat-links /usr/local/sbin)"
