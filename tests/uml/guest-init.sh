#!/busybox/sh
# Init of the UML guest of tests/uml/run.sh: a pure cgroup2 host (cgroup2 mounted alone,
# its controllers enabled for the tests' cgroups), then every test binary listed in /tests,
# a line per test that ran into /ran, the exit status into /rc, and `halt -f`.
export PATH=/usr/sbin:/usr/bin:/busybox
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
# No tmpfs on /tmp: the repository may live below it (CI clones into /tmp), and the guest's
# /tmp is already a throw-away directory of the run's own.
mount -t tmpfs run /run; mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm; mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs shm /dev/shm
[ -x /usr/sbin/modprobe ] || echo /busybox/modprobe >/proc/sys/kernel/modprobe
# The /proc view's tests need /dev/fuse, which devtmpfs shows once the module is in.
modprobe fuse 2>/dev/null
# The tests run in the root cgroup, which (alone) may hold processes and enable
# controllers for its children at once.
echo "+cpu +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
ip link set lo up 2>/dev/null
cd "$(cat /repo)"
# AppArmor (the kernel is booted with lsm=apparmor): the profile the LSM test names, loaded
# with the host's apparmor_parser (-K: no cache in the throw-away /etc).
mount -t securityfs securityfs /sys/kernel/security
apparmor_parser -r -K tests/uml/rlxc-test.apparmor 2>&1 | grep -v "parser.conf' not found"
echo "kernel $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)," \
  "time namespaces: $([ -e /proc/self/ns/time ] && echo yes || echo no)"
# This kernel has what the build host's lacks, and the tests below must find it: vlan and
# ipvlan (the network test).
export RLXC_EXPECT_VLAN=1
rc=0
# exact OPTIONS... -- TESTS...: runs the tests named (full paths, --exact) of $binary into
# $out. Each one must have run and passed: a filter that matches nothing (a renamed test)
# runs nothing, and libtest calls that a success.
exact() {
  opts=
  while [ "$1" != -- ]; do opts="$opts $1"; shift; done
  shift
  # shellcheck disable=SC2086 # the options are words
  "$binary" $opts --exact "$@" >"$out" 2>&1 || rc=1
  for name in "$@"; do
    grep -qxF "test $name ... ok" "$out" || { echo "  $(basename "$binary"): $name did not run (or failed)"; rc=1; }
  done
}
for binary in $(cat /tests); do
  out=/tmp/$(basename "$binary").out
  # --include-ignored: the tests that need a pure cgroup2 host are #[ignore]d on the build
  # host and run here; cpuset and the v1 freezer are skipped here (neither UML kernel has
  # them: no SMP, pure cgroup2) and tested on the host.
  case $(basename "$binary") in
    network-*) # only what the host cannot test: vlan and ipvlan, which must work here
      exact --test-threads=1 -- vlan_and_ipvlan_work_or_fail_cleanly_where_the_kernel_lacks_them ;;
    lifecycle-*) # the monitor born in its cgroup2 cgroup and removed by its last child: on a
      # pure cgroup2 host that cgroup is the monitor's only one
      exact --test-threads=2 -- the_monitor_is_born_in_its_own_cgroups_and_they_go_with_it \
        start_in_the_foreground_returns_once_the_container_is_gone \
        twenty_start_stop_cycles_leave_nothing wait_returns_when_the_state_is_reached_or_times_out ;;
    openrc_guest-*) # its boot and halt on pure cgroup2; reboots, logins and signals are the
      # host's to test (a sysvinit boot takes long under UML)
      exact --test-threads=1 -- it_boots_its_default_runlevel_and_rlxc_stop_runs_the_shutdown_runlevel ;;
    seccomp_lsm-*) # only what needs AppArmor; the rest runs on the host
      exact --test-threads=1 --include-ignored -- \
        an_apparmor_profile_confines_init_where_apparmor_runs \
        a_profile_apparmor_has_not_loaded_fails_the_start_and_the_check ;;
    copy-*) # the freezer's thaw on cgroup2 after a kill; the copies themselves are the host's
      exact --test-threads=2 -- a_copy_killed_while_the_source_is_frozen_leaves_it_thawed_and_no_newname \
        a_source_left_frozen_by_a_copy_killed_with_its_watchdog_is_thawed_by_the_next_look ;;
    snapshot-*)
      exact --test-threads=1 -- a_snapshot_killed_while_the_container_is_frozen_leaves_it_thawed_and_no_snapshot ;;
    userns-*) # the guest's /tmp is hostfs, which keeps no file ownership: only the tests of
      # unprivileged containers that check none (the cgroup2 delegation is the point here)
      exact --test-threads=2 -- console_info_limits_and_cgroup_ownership_work_unprivileged \
        veth_networking_and_sysfs_work_unprivileged bad_id_maps_are_refused_before_anything_is_made \
        the_proc_view_works_unprivileged ;;
    *)
      "$binary" --test-threads=2 --include-ignored --skip cpuset_pins_the_container \
        --skip nproc_cpuinfo_and_online_show_the_cpuset \
        --skip the_v1_freezer_freezes_where_the_host_has_it >"$out" 2>&1 || rc=1
      # A binary whose tests all went (renamed away, or skipped) would pass with none run.
      grep -qE '^test result: ok\. [1-9][0-9]* passed' "$out" || { echo "  $(basename "$binary"): no test ran"; rc=1; } ;;
  esac
  grep -E '^test .* \.\.\. ' "$out" | sed "s|^|  $(basename "$binary" | sed 's/-[0-9a-f]*$//'): |" >>/ran
  grep -E '^test result:' "$out" | sed "s|^|  $(basename "$binary" | sed 's/-[0-9a-f]*$//'): |"
  [ "$rc" -eq 0 ] || { grep -vE '^test .* ok$' "$out" | tail -60; }
done
echo $rc >/rc
sync; /busybox/halt -f
