//! Real distributions for the guest tests: Debian 12 root filesystems made by debootstrap once
//! per machine, cached outside the repo (`/var/cache/rlxc-test/guests/NAME`), and a
//! copy-on-write view of one per test (an overlay mount), so tests boot, change and throw
//! away their guest in parallel without touching the cache.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CACHE: &str = "/var/cache/rlxc-test/guests";
/// Where each test's overlay (its upper layer and mount point) goes.
const UPPER_PARENT: &str = "/run/rlxc-test-guests";
/// In a finished guest only: a debootstrap cut short leaves none, and is made again.
const COMPLETE: &str = ".rlxc-guest-complete";

/// The guests the tests boot, each as an admin would debootstrap it.
#[derive(Debug, Clone, Copy)]
pub enum Guest {
    /// Debian 12 booting systemd, as issue #19 measures LXC with.
    Systemd,
    /// Debian 12 booting sysvinit with OpenRC, as in the seed.
    OpenRc,
    /// The systemd guest with Debian's podman (4.3, running crun) to run containers of its
    /// own, and busybox-static to make their root filesystems from (the nesting tests).
    /// netavark is named because debootstrap does not resolve virtual packages: podman's
    /// containers-common needs a `container-network-stack`, which netavark provides.
    SystemdWithPodman,
}

impl Guest {
    fn name(self) -> &'static str {
        match self {
            Guest::Systemd => "bookworm-systemd",
            Guest::OpenRc => "bookworm-openrc",
            Guest::SystemdWithPodman => "bookworm-systemd-podman",
        }
    }

    fn packages(self) -> &'static str {
        match self {
            Guest::Systemd => "systemd-sysv,iproute2,procps,dbus,ifupdown",
            // OpenRC comes after (`then_install`): debootstrap resolves sysvinit-core's
            // `sysv-rc | file-rc | openrc` to sysv-rc, which conflicts with openrc, and its
            // install then fails.
            Guest::OpenRc => "sysvinit-core,iproute2,procps,ifupdown",
            Guest::SystemdWithPodman => {
                "systemd-sysv,iproute2,procps,dbus,ifupdown,podman,netavark,busybox-static"
            }
        }
    }

    /// Installed by apt in the new guest, where debootstrap cannot (it takes sysv-rc out).
    fn then_install(self) -> &'static [&'static str] {
        match self {
            Guest::Systemd | Guest::SystemdWithPodman => &[],
            Guest::OpenRc => &["openrc"],
        }
    }

    /// The cached root filesystem, made now if this machine has none yet. Concurrent tests
    /// wait for the one that makes it (a lock next to it); a failure to make it fails the
    /// test, with debootstrap's output.
    pub fn cached_rootfs(self) -> PathBuf {
        let rootfs = Path::new(CACHE).join(self.name());
        // Made already: nothing to lock (the cgroup-v2 lane shares the cache read-only).
        if rootfs.join(COMPLETE).exists() {
            return rootfs;
        }
        std::fs::create_dir_all(CACHE).expect("creating the guest cache");
        let lock = File::create(Path::new(CACHE).join(format!("{}.lock", self.name())))
            .expect("creating the guest cache's lock");
        lock.lock().expect("locking the guest cache");
        if !rootfs.join(COMPLETE).exists() {
            make_rootfs(self, &rootfs);
        }
        rootfs
    }

    /// A private, writable view of the guest for one test, unmounted and removed when dropped.
    pub fn overlay(self) -> Overlay {
        overlay_of(&self.cached_rootfs())
    }

    /// [`Self::overlay`] of the guest owned by host ids `base`.. (an unprivileged container
    /// mapping its ids 0..65536 there): a copy of the cached guest shifted by `rlxc
    /// shift-rootfs`, cached too.
    pub fn shifted_overlay(self, base: u32) -> Overlay {
        let cached = self.cached_rootfs();
        let shifted = Path::new(CACHE).join(format!("{}.shifted-{base}", self.name()));
        if !shifted.join(COMPLETE).exists() {
            let lock = File::create(sibling(&shifted, "lock")).expect("the shift's lock");
            lock.lock().expect("locking the shift");
            if !shifted.join(COMPLETE).exists() {
                shift_copy(&cached, &shifted, base);
            }
        }
        overlay_of(&shifted)
    }
}

/// A copy of `cached` at `shifted` whose owners are moved up by `base`, made under a
/// temporary name and renamed, like the guest itself.
fn shift_copy(cached: &Path, shifted: &Path, base: u32) {
    let partial = sibling(shifted, "partial");
    for stale in [&partial, &shifted.to_path_buf()] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).expect("removing an unfinished shift");
        }
    }
    let copied = Command::new("cp")
        .arg("-a")
        .arg(cached)
        .arg(&partial)
        .status()
        .expect("cp");
    assert!(copied.success(), "copying the guest failed");
    let _ = std::fs::remove_file(partial.join(COMPLETE));
    let lxcpath = tempfile::tempdir().expect("tempdir");
    let dir = lxcpath.path().join("shift");
    std::fs::create_dir(&dir).expect("container directory");
    let map = format!("lxc.idmap = u 0 {base} 65536\nlxc.idmap = g 0 {base} 65536\n");
    let config = format!("lxc.rootfs.path = dir:{}\n{map}", partial.display());
    std::fs::write(dir.join("config"), config).expect("config");
    let output = Command::new(super::RLXC)
        .args(["shift-rootfs", "-n", "shift", "-P"])
        .arg(lxcpath.path())
        .output()
        .expect("rlxc shift-rootfs");
    super::assert_ok(&output, "shifting the guest");
    File::create(partial.join(COMPLETE)).expect("marking the shift complete");
    std::fs::rename(&partial, shifted).expect("moving the shifted guest into place");
}

/// `DIR.SUFFIX` next to `dir` (its name may have dots of its own).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}.{suffix}", dir.display()))
}

fn overlay_of(lower: &Path) -> Overlay {
    // On a tmpfs: overlayfs takes no upper directory on some filesystems (the cgroup-v2
    // lane's /tmp is hostfs), and a guest's changes are small.
    std::fs::create_dir_all(UPPER_PARENT).expect("the overlays' directory");
    let dir = tempfile::Builder::new()
        .prefix("rlxc-guest-")
        .tempdir_in(UPPER_PARENT)
        .expect("tempdir");
    for sub in ["upper", "work", "rootfs"] {
        std::fs::create_dir(dir.path().join(sub)).expect("overlay directories");
    }
    // The merged root takes the upper directory's owner: the guest's root directory's.
    let owner = std::fs::metadata(lower).expect("the guest's root");
    std::os::unix::fs::chown(
        dir.path().join("upper"),
        Some(std::os::unix::fs::MetadataExt::uid(&owner)),
        Some(std::os::unix::fs::MetadataExt::gid(&owner)),
    )
    .expect("chown of the upper directory");
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        dir.path().join("upper").display(),
        dir.path().join("work").display()
    );
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(dir.path().join("rootfs"))
        .status()
        .expect("running mount");
    assert!(status.success(), "mounting the guest's overlay failed");
    Overlay { dir }
}

/// debootstrap into a temporary name, then renamed: the cache never holds half a guest.
fn make_rootfs(guest: Guest, rootfs: &Path) {
    let partial = rootfs.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).expect("removing a debootstrap cut short");
    }
    if rootfs.exists() {
        std::fs::remove_dir_all(rootfs).expect("removing an unfinished guest");
    }
    eprintln!(
        "making the {} guest with debootstrap (once per machine, into {CACHE})",
        guest.name()
    );
    run(
        Command::new("debootstrap")
            .args([
                "--variant=minbase",
                &format!("--include={}", guest.packages()),
                "bookworm",
            ])
            .arg(&partial)
            .arg(debian_mirror()),
        &format!(
            "debootstrap of {} (scripts/lib.sh installs it)",
            guest.name()
        ),
    );
    if !guest.then_install().is_empty() {
        // The package lists debootstrap left are enough; no network set-up in the chroot.
        run(
            Command::new("chroot")
                .arg(&partial)
                .args(["apt-get", "install", "-y", "--no-install-recommends"])
                .args(guest.then_install())
                .env("DEBIAN_FRONTEND", "noninteractive"),
            &format!("installing {:?} in {}", guest.then_install(), guest.name()),
        );
        let _ = Command::new("chroot")
            .arg(&partial)
            .args(["apt-get", "clean"])
            .status();
    }
    File::create(partial.join(COMPLETE)).expect("marking the guest complete");
    std::fs::rename(&partial, rootfs).expect("moving the guest into place");
}

/// Runs `command`; the test fails with its output unless it succeeds.
fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `RLXC_DEBIAN_MIRROR`, else the Debian mirror this machine's apt uses, else Debian's CDN.
pub fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("RLXC_DEBIAN_MIRROR") {
        return mirror;
    }
    let mut sources = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        sources.extend(entries.flatten().map(|entry| entry.path()));
    }
    sources
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter(|word| {
                    word.starts_with("http") && word.trim_end_matches('/').ends_with("/debian")
                })
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// One test's view of a guest: `rootfs()` is what `lxc.rootfs.path` names.
pub struct Overlay {
    dir: tempfile::TempDir,
}

impl Overlay {
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Configures eth0 with systemd-networkd from `network` (a .network file's `[Network]`
    /// lines) and enables networkd, as an admin sets a guest up.
    pub fn use_networkd(&self, network: &str) {
        let etc = self.rootfs().join("etc");
        std::fs::write(
            etc.join("systemd/network/eth0.network"),
            format!("[Match]\nName=eth0\n\n[Network]\n{network}"),
        )
        .expect("eth0.network");
        let wants = etc.join("systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).expect("wants");
        std::os::unix::fs::symlink(
            "/lib/systemd/system/systemd-networkd.service",
            wants.join("systemd-networkd.service"),
        )
        .expect("enable systemd-networkd");
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        // Detached: a container still starting or stopping keeps it busy a moment longer.
        let _ = rustix::mount::unmount(self.rootfs(), rustix::mount::UnmountFlags::DETACH);
    }
}

impl Overlay {
    /// A container of `world` booting this guest, configured as LXC's download template
    /// configures a Debian container (the distro's common config, the rootfs, the hostname),
    /// then `extra`; its console goes to [`console_log`], for a failure to show. Stopped with
    /// the world.
    pub fn container(&self, world: &super::World, base: &str, extra: &str) -> String {
        let name = world.name(base);
        let dir = world.lxcpath().join(&name);
        std::fs::create_dir_all(&dir).expect("container directory");
        std::fs::write(
            dir.join("config"),
            format!(
                "lxc.include = /usr/share/lxc/config/debian.common.conf\n\
                 lxc.rootfs.path = dir:{}\n\
                 lxc.uts.name = {name}\n\
                 lxc.console.logfile = {}\n{extra}",
                self.rootfs().display(),
                console_log(world, &name).display()
            ),
        )
        .expect("container config");
        world.names.borrow_mut().push(name.clone());
        name
    }
}

/// What the guest container `name` wrote on its console.
pub fn console_log(world: &super::World, name: &str) -> PathBuf {
    world.dir.path().join(format!("{name}.console"))
}

/// A generous bound against a hang (boot takes well under a second here), not a timing check.
pub const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// [`Overlay::container`] of a fresh view of `guest`: its name and the view it boots.
pub fn guest_container(
    world: &super::World,
    base: &str,
    guest: Guest,
    extra: &str,
) -> (String, Overlay) {
    let overlay = guest.overlay();
    let name = overlay.container(world, base, extra);
    (name, overlay)
}

/// `sh -c COMMAND` attached to `name`.
pub fn attach(world: &super::World, name: &str, command: &str) -> std::process::Output {
    world.output(&["attach", "-n", name, "--", "/bin/sh", "-c", command])
}

/// [`attach`], which must succeed; its stdout.
pub fn attach_ok(world: &super::World, name: &str, command: &str) -> String {
    let output = attach(world, name, command);
    super::assert_ok(&output, command);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts a created guest with its console logged (shown if the boot stalls) and waits until
/// its systemd has booted: `running`, or `degraded` with a failed unit.
pub fn start_until_booted(world: &super::World, name: &str) -> String {
    world.append_config(
        name,
        &format!(
            "lxc.console.logfile = {}\n",
            console_log(world, name).display()
        ),
    );
    super::assert_ok(&world.output(&["start", "-n", name, "-d"]), "start");
    wait_until_booted(world, name)
}

/// Waits until systemd says the system has booted, and returns what it says then
/// (`running`, or `degraded` with a failed unit).
pub fn wait_until_booted(world: &super::World, name: &str) -> String {
    let deadline = Instant::now() + BOOT_LIMIT;
    loop {
        let output = attach(world, name, "systemctl is-system-running");
        let status = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if matches!(status.as_str(), "running" | "degraded") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not finish booting: systemctl is-system-running says {status:?} ({}); \
             its console:\n{}",
            String::from_utf8_lossy(&output.stderr).trim(),
            std::fs::read_to_string(console_log(world, name)).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `rlxc wait` for `state`, which must come within a minute.
pub fn wait_for_state(world: &super::World, name: &str, state: &str) {
    let output = world.output(&["wait", "-n", name, "-s", state, "-t", "60"]);
    super::assert_ok(&output, &format!("waiting for {name} to be {state}"));
}

/// The cgroup `pid` is in, in the v1 hierarchy `controller` (or cgroup2's on a host without
/// one: the cgroup-v2 lane), as the host sees it.
pub fn cgroup_of(pid: i32, controller: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let in_hierarchy = |wanted: &dyn Fn(&str) -> bool| {
        text.lines().find_map(|line| {
            let (_, rest) = line.split_once(':')?;
            let (controllers, path) = rest.split_once(':')?;
            wanted(controllers).then(|| path.to_owned())
        })
    };
    if let Some(path) = in_hierarchy(&|list| list.split(',').any(|c| c == controller)) {
        return path;
    }
    in_hierarchy(&|list| list.is_empty())
        .unwrap_or_else(|| panic!("{pid} has no {controller} cgroup: {text}"))
}

/// This host has cgroup2 alone (the cgroup-v2 lane).
pub fn pure_cgroup2() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .all(|line| !line.contains(" - cgroup "))
}
