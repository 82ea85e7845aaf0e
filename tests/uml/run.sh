#!/usr/bin/env bash
# The cgroup-v2 lane: runs rlxc's real-kernel cgroup tests on a pure cgroup2 host, a
# user-mode-linux guest (a kernel run as an ordinary process; no KVM; boots in about 2 s).
# This build machine is hybrid, so this is where translation of v1 keys, cgroup2 limits and
# the eBPF device program meet a real v2 kernel. The kernel is what tests/uml/kernel.sh picks:
# Debian 12's `user-mode-linux` (6.1) where it boots, else (a CPU with AVX-512, where 6.1's
# UML dies at once) a newer one from Debian testing, fetched once into /var/cache/rlxc-test/.
#
#   tests/uml/run.sh             # builds the test binaries, boots the guest, runs them
#
# The guest's root is a throw-away directory shared through hostfs: the host's /usr
# (read-only; merged /bin and /sbin, so dynamically linked test binaries run), a static
# busybox, the UML module tree under /lib/modules, and the repository and the cargo target
# directory at their own paths. Its init (guest-init.sh) mounts cgroup2 alone, runs the
# tests, and halts with `halt -f`. Needs root (bind mounts) and the packages that
# scripts/lib.sh installs (user-mode-linux, busybox-static, and what kernel.sh fetches with).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
TARGET=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
MEM=${RLXC_UML_MEM:-768M}
[ "$(id -u)" -eq 0 ] || { echo "tests/uml/run.sh: run as root" >&2; exit 1; }
# The kernel and its modules directory (…/modules/<release>); kernel.sh says why when none boots.
{ read -r UML; read -r UML_MODULES; } < <(tests/uml/kernel.sh) && [ -x "$UML" ] ||
  { echo "tests/uml/run.sh: no user-mode-linux kernel to run the lane on (see above)" >&2; exit 1; }

# The test binaries that need a real kernel and make sense on pure cgroup2 (layout_here
# checks that the build machine is hybrid; seed_boot's cpuset.cpus needs cpuset, which neither
# UML kernel has (both are built without SMP): both stay on the host).
# rlxc:procview: the /proc view from cgroup2 files (memory.max, cpu.max, cpu.stat; no cpuset
# here). 7.2 has time namespaces, 6.1 has none: there /proc/uptime comes from the view too, and
# the time-namespace test checks that a start asking for one is refused.
# rlxc:sysinfo: sysinfo(2) answered from memory.max/memory.current (uptime = the lifetime).
# rlxc:top checks that top's figures come from cgroup2 files there (lxc-top reads v1 only).
# rlxc:network runs for its vlan/ipvlan test: UML has 8021q and ipvlan (the host's
# does not); guest-init.sh filters that binary to it.
# rlxc:lifecycle runs for the monitor's own cgroup2 cgroup (born in it, removed after it).
# rlxc:seccomp_lsm runs for its AppArmor test: the guest boots with lsm=apparmor (this
# host's kernel has no LSM) and guest-init.sh loads tests/uml/rlxc-test.apparmor.
# guest-init.sh checks that each test it names ran: a renamed one fails the lane.
# rlxc:ends_on_sigterm: attach and execute against a container frozen by the cgroup2 freezer
# (cgroup.freeze; its wait for the thaw watches cgroup.events), not the v1 freezer of the host.
# rlxc:systemd_guest: a Debian systemd guest boots on pure cgroup2, privileged and unprivileged,
# owning a cgroup2 tree below its limits, and configures its own network; its root filesystems
# are the ones the host's run of that test debootstrapped and shifted (/var/cache/rlxc-test/
# guests, shared read-only: hostfs shows the shifted owners as they are on the host).
# rlxc:openrc_guest: the seed's kind of guest (sysvinit and OpenRC) on pure cgroup2, halted
# through its /run/initctl.
# rlxc:nesting: that guest, with LXC's nesting.conf, runs rlxc inside (its cgroup2 tree below
# the guest's, the guest's pids limit holding); AppArmor runs here, so nesting.conf's profile,
# which the lane does not load, must fail the start first.
# rlxc:copy and rlxc:snapshot: a copy or snapshot killed while it holds the source frozen
# leaves it thawed, here through cgroup.freeze (the host's is the v1 freezer).
TESTS=(rlxc-cgroup:container_here rlxc-cgroup:clone_into_cgroup rlxc-cgroup:v2_delegation_here
       rlxc-cgroup:limits_here rlxc:cgroup_limits rlxc:network rlxc:procview rlxc:top
       rlxc:sysinfo rlxc:userns rlxc:seccomp_lsm rlxc:lifecycle rlxc:ends_on_sigterm
       rlxc:systemd_guest rlxc:openrc_guest rlxc:nesting rlxc:copy rlxc:snapshot)
args=()
for t in "${TESTS[@]}"; do args+=(-p "${t%%:*}" --test "${t#*:}"); done
mapfile -t binaries < <(cargo test --locked "${args[@]}" --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep '/deps/' | sort -u)
[ "${#binaries[@]}" -eq "${#TESTS[@]}" ] || { echo "tests/uml/run.sh: expected ${#TESTS[@]} test binaries, built ${#binaries[@]}" >&2; exit 1; }
cargo build --locked -p rlxc >/dev/null 2>&1

KVER=${UML_MODULES##*/}
G=$(mktemp -d /tmp/rlxc-uml-root.XXXXXX)
GUESTS=/var/cache/rlxc-test/guests
for guest in bookworm-systemd:systemd_guest bookworm-openrc:openrc_guest \
             bookworm-systemd-podman:nesting; do
  [ -e "$GUESTS/${guest%%:*}/.rlxc-guest-complete" ] || {
    echo "tests/uml/run.sh: no cached ${guest%%:*} guest in $GUESTS: run the host's tests first" \
      "(cargo test -p rlxc --test ${guest#*:} makes it)" >&2; exit 1; }
done
cleanup() {
  umount -l "$G$GUESTS" "$G$TARGET" "$G$REPO" "$G/usr" 2>/dev/null || true
  rm -rf --one-file-system "$G"
}
trap cleanup EXIT
mkdir -p "$G"/{busybox,proc,sys,dev,tmp,run,etc,root,lib/modules,usr} "$G$REPO" "$G$TARGET"
# The guest's / is this directory: searchable by everyone, as a real / is (mktemp made it 0700),
# or the root of an unprivileged container (an ordinary uid there) cannot reach /proc.
chmod 755 "$G"
ln -s usr/bin "$G/bin"; ln -s usr/sbin "$G/sbin"; ln -s usr/lib64 "$G/lib64"
ln -s ../usr/lib/x86_64-linux-gnu "$G/lib/x86_64-linux-gnu"
cp /bin/busybox "$G/busybox/busybox"
for a in $("$G/busybox/busybox" --list); do [ -e "$G/busybox/$a" ] || ln -s busybox "$G/busybox/$a"; done
cp -a "$UML_MODULES" "$G/lib/modules/"
mount --bind /usr "$G/usr"; mount -o remount,bind,ro "$G/usr"
mount --bind "$REPO" "$G$REPO"
mount --bind "$TARGET" "$G$TARGET"
mkdir -p "$G$GUESTS"; mount --bind "$GUESTS" "$G$GUESTS"; mount -o remount,bind,ro "$G$GUESTS"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$G/etc/passwd"; printf 'root:x:0:\n' >"$G/etc/group"
cp tests/uml/guest-init.sh "$G/init"; chmod +x "$G/init"
printf '%s\n' "$REPO" >"$G/repo"; printf '%s\n' "${binaries[@]}" >"$G/tests"

echo "==> booting user-mode-linux $KVER (pure cgroup2) to run ${#binaries[@]} test binaries"
"$UML" mem="$MEM" root=/dev/root rootfstype=hostfs rootflags="$G" rw init=/init lsm=apparmor \
  con0=fd:0,fd:1 con=null quiet </dev/null 2>&1 |
  sed -e '/^Checking /d' -e '/^Linux version/d' -e '/reboot: System halted/d' -e '/^SELinux: /d' \
      -e '/^mmapper_init/d' -e '/ubd device/d'
echo "==> tests that ran in the UML guest:"
cat "$G/ran" 2>/dev/null || echo "  (none: the guest did not get to run them)"
rc=$(cat "$G/rc" 2>/dev/null || echo 125)
exit "$rc"
