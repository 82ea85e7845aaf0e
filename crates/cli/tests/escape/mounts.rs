//! Undoing the masks or mounting a fresh proc/sysfs, which would show what the masks hide.

use crate::{Container, Setup};

escape_tests!(unmask_attempts, fresh_proc_and_sysfs);

fn unmask_attempts(setup: Setup) {
    let c = Container::start(setup, "esc-unmask", &[]);
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
    c.stop();
}

fn fresh_proc_and_sysfs(setup: Setup) {
    let c = Container::start(setup, "esc-newproc", &[]);
    let out = c.sh_ok(
        "mkdir -p /tmp/p /tmp/s; \
         mount -t proc proc /tmp/p 2>/dev/null && echo proc-mounted; \
         mount -t sysfs sysfs /tmp/s 2>/dev/null && echo sysfs-mounted; \
         mount --bind /proc /tmp/p 2>/dev/null && echo proc-bound; echo tried",
    );
    assert_eq!(out, "tried\n");
    c.stop();
}
