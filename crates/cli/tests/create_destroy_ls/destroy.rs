//! `rlxc destroy`: running containers, symlinks and mount points inside the rootfs, immutable
//! files, missing rootfs, `lxc.rootfs.managed = 0` and destroy hooks.

use rustix::fs::{ioctl_getflags, ioctl_setflags, IFlags};

use super::*;

fn busybox(place: &Place, name: &str) -> PathBuf {
    place
        .rlxc(&["create", "-n", name, "-t", "busybox"])
        .assert()
        .success();
    place.container(name).join("rootfs")
}

#[test]
fn destroying_an_unknown_container_says_it_is_not_defined() {
    let place = Place::new();
    place
        .rlxc(&["destroy", "-n", "ghost"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Container is not defined"));
}

#[test]
fn a_running_container_is_refused_and_force_kills_its_init() {
    let place = Place::new();
    busybox(&place, "web");
    let mut init = sleeper();
    place.pretend_running("web", init.id());
    place
        .rlxc(&["destroy", "-n", "web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("web is running"));
    assert!(place.container("web").join("config").exists());
    place
        .rlxc(&["destroy", "-n", "web", "-f"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "killed its init (pid {})",
            init.id()
        )));
    assert_eq!(init.wait().expect("reap").signal(), Some(libc::SIGKILL));
    assert!(!place.container("web").exists());
}

#[test]
fn a_symlink_to_the_host_is_removed_not_followed() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    let host = place.root.path().join("host-data");
    fs::create_dir_all(host.join("sub")).expect("host dir");
    fs::write(host.join("precious"), "keep me").expect("host file");
    symlink(&host, rootfs.join("escape")).expect("dir symlink");
    symlink(host.join("precious"), rootfs.join("etc/escape-file")).expect("file symlink");
    // The rootfs's own absolute symlink to the host's root.
    symlink("/", rootfs.join("root/slash")).expect("symlink to /");
    place.rlxc(&["destroy", "-n", "web"]).assert().success();
    assert!(!place.container("web").exists());
    assert_eq!(
        fs::read_to_string(host.join("precious")).expect("survives"),
        "keep me"
    );
    assert!(host.join("sub").is_dir());
}

/// Unmounts on drop, so a failing test leaves no mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mount_inside_the_rootfs_is_not_crossed_and_is_reported() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    let mnt = rootfs.join("mnt");
    fs::create_dir(&mnt).expect("mnt");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "rlxc-test", mnt.to_str().expect("utf-8")])
        .status()
        .expect("mount");
    assert!(mounted.success());
    let guard = Mounted(mnt.clone());
    fs::write(mnt.join("on-tmpfs"), "survives").expect("file on the tmpfs");

    place
        .rlxc(&["destroy", "-n", "web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{} is a mount point",
            mnt.display()
        )))
        .stderr(predicate::str::contains("not destroyed completely"));
    assert_eq!(
        fs::read_to_string(mnt.join("on-tmpfs")).expect("kept"),
        "survives"
    );
    assert!(!rootfs.join("bin").exists(), "the rest is gone");

    drop(guard);
    place.rlxc(&["destroy", "-n", "web"]).assert().success();
    assert!(!place.container("web").exists());
}

#[test]
fn a_bind_mount_of_the_same_filesystem_is_not_crossed_either() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    let host = place.root.path().join("bound");
    fs::create_dir(&host).expect("host dir");
    fs::write(host.join("precious"), "keep me").expect("host file");
    let target = rootfs.join("srv");
    fs::create_dir(&target).expect("srv");
    let bound = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&host)
        .arg(&target)
        .status()
        .expect("mount --bind");
    assert!(bound.success());
    let guard = Mounted(target.clone());
    place.rlxc(&["destroy", "-n", "web"]).assert().code(1);
    assert_eq!(
        fs::read_to_string(host.join("precious")).expect("kept"),
        "keep me"
    );
    drop(guard);
}

#[test]
fn immutable_and_append_only_files_are_removed() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    let locked = rootfs.join("etc/locked");
    fs::write(&locked, "x").expect("file");
    let append_dir = rootfs.join("var/log");
    fs::write(append_dir.join("messages"), "log").expect("file");
    for (path, flag) in [(&locked, IFlags::IMMUTABLE), (&append_dir, IFlags::APPEND)] {
        let file = File::open(path).expect("open");
        let flags = ioctl_getflags(&file).expect("getflags");
        ioctl_setflags(&file, flags | flag).expect("chattr");
    }
    assert!(fs::remove_file(&locked).is_err(), "the flag holds");
    place.rlxc(&["destroy", "-n", "web"]).assert().success();
    assert!(!place.container("web").exists());
}

#[test]
fn a_missing_rootfs_is_fine() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    fs::remove_dir_all(&rootfs).expect("remove the rootfs");
    place.rlxc(&["destroy", "-n", "web"]).assert().success();
    assert!(!place.container("web").exists());
}

#[test]
fn an_unmanaged_rootfs_inside_the_container_directory_is_kept() {
    let place = Place::new();
    let rootfs = busybox(&place, "web");
    let config = place.container("web").join("config");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .expect("config");
    writeln!(file, "lxc.rootfs.managed = 0").expect("append");
    place
        .rlxc(&["destroy", "-n", "web"])
        .assert()
        .success()
        .stderr(predicate::str::contains("left the rootfs"));
    assert!(!config.exists());
    assert!(rootfs.join("sbin/init").exists());
    assert_eq!(place.entries(), ["web"]);
}

#[test]
fn destroy_hooks_run_with_lxcs_environment_and_a_failing_one_stops_the_destroy() {
    let place = Place::new();
    busybox(&place, "web");
    let config = place.container("web").join("config");
    let record = place.root.path().join("hook.out");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .expect("config");
    writeln!(file, "lxc.hook.destroy = false").expect("append");
    drop(file);
    place
        .rlxc(&["destroy", "-n", "web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "lxc.hook.destroy = false: exited with exit status: 1; nothing was removed",
        ));
    assert!(config.exists(), "nothing removed");

    // Version 0 hooks (the default) get NAME, "lxc" and "destroy" as arguments.
    let hook = place.root.path().join("hook.sh");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$LXC_NAME $LXC_CONFIG_FILE $LXC_ROOTFS_PATH $*\" > {}\n",
            record.display()
        ),
    )
    .expect("hook");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    let text = fs::read_to_string(&config).expect("config").replace(
        "lxc.hook.destroy = false",
        &format!("lxc.hook.destroy = {}", hook.display()),
    );
    fs::write(&config, text).expect("config");
    place.rlxc(&["destroy", "-n", "web"]).assert().success();
    let rootfs = place.container("web").join("rootfs");
    assert_eq!(
        fs::read_to_string(&record).expect("the hook ran"),
        format!(
            "web {} {} web lxc destroy\n",
            config.display(),
            rootfs.display()
        )
    );
}
