//! The systemd guest of issue 19: a Debian 12 minbase rootfs whose init is systemd, made once
//! per machine by debootstrap into the cache the integration tests use
//! (crates/cli/tests/support/guest.rs: same path, lock and completeness marker, so either
//! makes it for the other), and booted from a fresh copy-on-write overlay of it per boot, so
//! rlxc and LXC boot the same bits and neither sees what the other's boot wrote.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

const CACHE: &str = "/var/cache/rlxc-test/guests";
const NAME: &str = "bookworm-systemd";
/// In a finished guest only: a debootstrap cut short leaves none, and is made again.
const COMPLETE: &str = ".rlxc-guest-complete";
/// What issue 19 measured LXC with (and the tests boot).
const PACKAGES: &str = "systemd-sysv,iproute2,procps,dbus,ifupdown";

/// The cached guest, debootstrapped now if this machine has none yet (minutes, once). A
/// concurrent test run making it is waited for (the lock the tests take).
pub fn cached_rootfs() -> Result<PathBuf, String> {
    let rootfs = Path::new(CACHE).join(NAME);
    if rootfs.join(COMPLETE).exists() {
        return Ok(rootfs);
    }
    fs::create_dir_all(CACHE).map_err(|e| format!("{CACHE}: {e}"))?;
    let lock_path = Path::new(CACHE).join(format!("{NAME}.lock"));
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if !rootfs.join(COMPLETE).exists() {
        debootstrap(&rootfs)?;
    }
    Ok(rootfs)
}

/// debootstrap into a temporary name, then renamed: the cache never holds half a guest.
fn debootstrap(rootfs: &Path) -> Result<(), String> {
    let partial = rootfs.with_extension("partial");
    for stale in [&partial, &rootfs.to_path_buf()] {
        if stale.exists() {
            fs::remove_dir_all(stale).map_err(|e| format!("{}: {e}", stale.display()))?;
        }
    }
    let mirror = debian_mirror();
    eprintln!("rlxc-bench: making the {NAME} guest with debootstrap from {mirror} (once per machine, into {CACHE})");
    let output = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            "bookworm",
        ])
        .arg(&partial)
        .arg(&mirror)
        .output()
        .map_err(|e| format!("debootstrap (bench/run.sh installs it): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "debootstrap of {NAME} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    File::create(partial.join(COMPLETE)).map_err(|e| format!("marking the guest complete: {e}"))?;
    fs::rename(&partial, rootfs).map_err(|e| format!("moving the guest into place: {e}"))
}

/// `RLXC_DEBIAN_MIRROR`, else the Debian mirror this machine's apt uses, else Debian's CDN.
fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("RLXC_DEBIAN_MIRROR") {
        return mirror;
    }
    let mut sources = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        sources.extend(entries.flatten().map(|entry| entry.path()));
    }
    sources
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .find_map(|text| {
            text.split_whitespace()
                .find(|word| {
                    word.starts_with("http") && word.trim_end_matches('/').ends_with("/debian")
                })
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// One boot's writable view of the guest: an overlay mount at `dir/rootfs` (upper and work
/// directories next to it), unmounted and removed when dropped.
pub struct Overlay {
    dir: PathBuf,
    mounted: bool,
}

impl Overlay {
    pub fn new(lower: &Path, dir: PathBuf) -> Result<Overlay, String> {
        for sub in ["upper", "work", "rootfs"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let mut overlay = Overlay {
            dir,
            mounted: false,
        };
        // The merged root takes the upper directory's owner and mode: the guest's root's.
        let meta = fs::metadata(lower).map_err(|e| format!("{}: {e}", lower.display()))?;
        let upper = overlay.dir.join("upper");
        std::os::unix::fs::chown(
            &upper,
            Some(std::os::unix::fs::MetadataExt::uid(&meta)),
            Some(std::os::unix::fs::MetadataExt::gid(&meta)),
        )
        .map_err(|e| format!("chown {}: {e}", upper.display()))?;
        fs::set_permissions(&upper, meta.permissions())
            .map_err(|e| format!("chmod {}: {e}", upper.display()))?;
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            upper.display(),
            overlay.dir.join("work").display()
        );
        let status = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &options])
            .arg(overlay.rootfs())
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !status.success() {
            return Err(format!("mounting the guest's overlay failed ({status})"));
        }
        overlay.mounted = true;
        Ok(overlay)
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Unmount and remove. A container that left something behind in the rootfs (a process,
    /// a mount propagated back) keeps the mount busy: that is an error to report, and the
    /// overlay is then detached lazily so the run goes on.
    pub fn remove(mut self) -> Result<(), String> {
        self.unmount(false)
    }

    fn unmount(&mut self, lazy: bool) -> Result<(), String> {
        if self.mounted {
            let flags = if lazy { libc::MNT_DETACH } else { 0 };
            if let Err(e) = crate::sys::umount(&self.rootfs(), flags) {
                if !lazy {
                    let _ = self.unmount(true);
                }
                return Err(format!(
                    "unmounting the guest's overlay: {e} (something of the container is left)"
                ));
            }
            self.mounted = false;
        }
        fs::remove_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        if self.mounted || self.dir.exists() {
            let _ = self.unmount(true);
        }
    }
}
