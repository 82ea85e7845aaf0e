//! Undoing the masks or mounting a fresh proc/sysfs, which would show what the masks hide.
//!
//! In (b) the container's root keeps CAP_SYS_ADMIN in its user namespace, which owns its
//! mount namespace: the masks hold there only because rlxc hands init a copy of its mounts
//! made through the host's user namespace, where the kernel locked them all (MNT_LOCKED:
//! no unmounting them, and a proc or sysfs with locked overmounts is "not fully visible",
//! so no fresh one either). Mounting on top of them, as a container's own boot does, still
//! works: `unprivileged_mounts_on_top_of_locked_ones`. With `sys_admin` dropped, as docs/security.md advises, the
//! attacks fail for that reason alone: the two tests at the end.

use crate::{Container, Setup};

escape_tests!(unmask_attempts, fresh_proc_and_sysfs);

fn unmask_attempts(setup: Setup) {
    unmask_attempts_with(setup, &[]);
}

fn unmask_attempts_with(setup: Setup, defines: &[&str]) {
    let c = Container::start(setup, "esc-unmask", defines);
    assert_masks_hold(&c);
    c.stop();
}

/// Every attempt at taking a mask off fails, and what they hide stays hidden.
fn assert_masks_hold(c: &Container) {
    let out = c.sh(
        "umount /proc/keys || umount -l /proc/keys || umount /proc/timer_list || \
         umount /sys/firmware || mount -o remount,rw /proc/sys || exit 0; echo unmasked",
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("unmasked"),
        "a mask came off"
    );
    assert_eq!(c.sh_ok("wc -c < /proc/keys").trim(), "0");
    assert_eq!(c.sh_ok("ls -A /sys/firmware | wc -l").trim(), "0");
}

/// `stop -r` starts init again under the same monitor: its new mounts are locked too.
#[test]
fn unprivileged_masks_stay_locked_after_a_reboot() {
    let c = Container::start(Setup::Unprivileged, "esc-reboot", &[]);
    let before = c.init_pid();
    c.world
        .rlxc(&["stop", "-n", &c.name, "-r", "-t", "20"])
        .assert()
        .success();
    assert_eq!(c.world.state(&c.name), "RUNNING");
    assert_ne!(c.init_pid(), before, "init was not restarted");
    assert_masks_hold(&c);
    c.stop();
}

fn fresh_proc_and_sysfs(setup: Setup) {
    fresh_proc_and_sysfs_with(setup, &[]);
}

fn fresh_proc_and_sysfs_with(setup: Setup, defines: &[&str]) {
    let c = Container::start(setup, "esc-newproc", defines);
    let out = c.sh_ok(
        "mkdir -p /tmp/p /tmp/s; \
         mount -t proc proc /tmp/p 2>/dev/null && echo proc-mounted; \
         mount -t sysfs sysfs /tmp/s 2>/dev/null && echo sysfs-mounted; \
         mount --bind /proc /tmp/p 2>/dev/null && echo proc-bound; echo tried",
    );
    assert_eq!(out, "tried\n");
    c.stop();
}

/// (b) only: the seed's config drops `sys_admin`, so (a) mounts nothing at all.
/// The locked mounts still take new ones on top (a tmpfs; a mask's directory over again),
/// and `/` can still be made read-only and back, as a distribution's boot does: the lock
/// forbids only ro→rw on what was read-only when locked. (`bind`: only the mount's flags
/// change; a remount of the superblock would reach the host's filesystem in (a).)
#[test]
fn unprivileged_mounts_on_top_of_locked_ones() {
    let c = Container::start(Setup::Unprivileged, "esc-ontop", &[]);
    let out = c.sh_ok(
        "mkdir -p /tmp/m && mount -t tmpfs -o size=1m ontop /tmp/m && echo data > /tmp/m/f && \
         cat /tmp/m/f && umount /tmp/m && echo tmpfs-done; \
         mount -t tmpfs over /sys/firmware && umount /sys/firmware && ls -A /sys/firmware | wc -l; \
         mount -o remount,bind,ro / && ! touch /ro-probe 2>/dev/null && echo ro; \
         mount -o remount,bind,rw / && echo rw",
    );
    assert_eq!(out, "data\ntmpfs-done\n0\nro\nrw\n");
    c.stop();
}

#[test]
fn unprivileged_without_sys_admin_keeps_its_masks() {
    unmask_attempts_with(Setup::Unprivileged, &["lxc.cap.drop=sys_admin"]);
}

#[test]
fn unprivileged_without_sys_admin_mounts_no_fresh_proc_or_sysfs() {
    fresh_proc_and_sysfs_with(Setup::Unprivileged, &["lxc.cap.drop=sys_admin"]);
}
