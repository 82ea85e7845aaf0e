//! A tempdir that behaves enough like cgroupfs for unit tests: a new directory comes with
//! its parent's file names (empty) and `cgroup.controllers` = the parent's
//! `cgroup.subtree_control`; rmdir refuses a cgroup with processes or children; enabling a
//! controller in a non-root cgroup with processes is EBUSY. Every write is logged, so tests
//! can check that nothing outside the created cgroups was written.

use std::cell::RefCell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::cgroupfs::CgroupFs;
use crate::files::read_procs;
use crate::layout::{CgroupLayout, V1Hierarchy, V2Mount};
use crate::Error;

pub(crate) struct FakeCgroupFs {
    /// Mount points: root cgroups may hold processes and enable controllers.
    pub roots: Vec<PathBuf>,
    pub writes: RefCell<Vec<(PathBuf, String, String)>>,
    /// `mkdir` of this path fails with EACCES.
    pub fail_mkdir: Option<PathBuf>,
}

fn errno(code: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(code.raw_os_error())
}

impl CgroupFs for FakeCgroupFs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        if self.fail_mkdir.as_deref() == Some(path) {
            return Err(errno(rustix::io::Errno::ACCESS));
        }
        fs::create_dir(path)?;
        let parent = path.parent().expect("a parent");
        for entry in fs::read_dir(parent)?.flatten() {
            if entry.file_type()?.is_file() {
                fs::write(path.join(entry.file_name()), "")?;
            }
        }
        if parent.join("cgroup.controllers").exists() {
            let delegated = fs::read_to_string(parent.join("cgroup.subtree_control"))?;
            fs::write(path.join("cgroup.controllers"), delegated)?;
            fs::write(path.join("cgroup.events"), "populated 0\nfrozen 0\n")?;
        }
        Ok(())
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        for entry in fs::read_dir(path)?.flatten() {
            if entry.file_type()?.is_dir() {
                return Err(errno(rustix::io::Errno::BUSY));
            }
        }
        if !read_procs(path).unwrap_or_default().is_empty() {
            return Err(errno(rustix::io::Errno::BUSY));
        }
        fs::remove_dir_all(path)
    }

    fn write(&self, dir: &Path, key: &str, value: &str) -> Result<(), Error> {
        self.writes
            .borrow_mut()
            .push((dir.to_owned(), key.to_owned(), value.to_owned()));
        let fail = |code| Error::Write {
            path: dir.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            cause: errno(code),
        };
        let file = dir.join(key);
        if !file.exists() {
            return Err(fail(rustix::io::Errno::NOENT));
        }
        if key != "cgroup.subtree_control" {
            fs::write(file, value).expect("write fixture");
            return Ok(());
        }
        let controller = value.trim_start_matches('+');
        let available = fs::read_to_string(dir.join("cgroup.controllers")).expect("read");
        if !available.split_whitespace().any(|c| c == controller) {
            return Err(fail(rustix::io::Errno::NOENT));
        }
        let is_root = self.roots.iter().any(|root| root == dir);
        if !is_root && !read_procs(dir).expect("procs").is_empty() {
            return Err(fail(rustix::io::Errno::BUSY));
        }
        let enabled = fs::read_to_string(&file).expect("read");
        let enabled = format!("{enabled} {controller}").trim().to_owned();
        fs::write(file, &enabled).expect("write fixture");
        // As in the kernel, existing children can use the controller at once.
        for entry in fs::read_dir(dir).expect("list").flatten() {
            if entry.file_type().expect("type").is_dir() {
                fs::write(entry.path().join("cgroup.controllers"), &enabled).expect("write");
            }
        }
        Ok(())
    }
}

/// A hybrid host in a tempdir: v1 cpuset, memory, systemd's named hierarchy and another
/// named one, and cgroup2. The caller runs in `/user/session` everywhere (holding pid 4242
/// there); its cgroup2 cgroup has `v2_available` in `cgroup.controllers` and `v2_enabled` in
/// `cgroup.subtree_control`.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub layout: CgroupLayout,
    pub fs: FakeCgroupFs,
}

pub(crate) const OWN_CGROUP_TEXT: &str = "\
5:name=other:/user/session
4:name=systemd:/user/session
3:memory:/user/session
2:cpuset:/user/session
0::/user/session
";

impl Fixture {
    pub(crate) fn hybrid(v2_available: &str, v2_enabled: &str) -> Self {
        let v2_controllers = v2_available;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let v1 = |name: &str, controllers: &[&str], files: &[(&str, &str)]| {
            let mount_point = root.join(name);
            fs::create_dir(&mount_point).expect("mkdir");
            for (key, value) in files.iter().chain(&[("cgroup.procs", "1\n")]) {
                fs::write(mount_point.join(key), value).expect("write");
            }
            V1Hierarchy {
                mount_point,
                mount_root: PathBuf::from("/"),
                controllers: controllers.iter().map(|c| (*c).to_owned()).collect(),
            }
        };
        let cpuset_files = [
            ("cpuset.cpus", "0-3\n"),
            ("cpuset.mems", "0\n"),
            ("cgroup.clone_children", "0\n"),
        ];
        let layout = CgroupLayout {
            v1: vec![
                v1("cpuset", &["cpuset"], &cpuset_files),
                v1("memory", &["memory"], &[("memory.limit_in_bytes", "max\n")]),
                v1("systemd", &["name=systemd"], &[]),
                v1("other", &["name=other"], &[]),
            ],
            v2: Some(V2Mount {
                mount_point: root.join("unified"),
                mount_root: PathBuf::from("/"),
                controllers: v2_controllers
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            }),
        };
        let unified = root.join("unified");
        fs::create_dir(&unified).expect("mkdir");
        fs::write(unified.join("cgroup.controllers"), v2_controllers).expect("write");
        fs::write(unified.join("cgroup.subtree_control"), v2_controllers).expect("write");
        fs::write(unified.join("cgroup.procs"), "1\n").expect("write");
        fs::write(unified.join("memory.pressure"), "").expect("write");
        let fs = FakeCgroupFs {
            roots: layout
                .v1
                .iter()
                .map(|h| h.mount_point.clone())
                .chain([unified])
                .collect(),
            writes: RefCell::default(),
            fail_mkdir: None,
        };
        // The caller's cgroup: made as the kernel would, then holding the caller.
        for top in fs.roots.clone() {
            for level in ["user", "user/session"] {
                fs.mkdir(&top.join(level)).expect("mkdir own");
            }
            fs::write(top.join("user/session/cgroup.procs"), "4242\n").expect("write");
        }
        let unified_own = root.join("unified/user/session");
        fs::write(unified_own.join("cgroup.controllers"), v2_available).expect("write");
        fs::write(unified_own.join("cgroup.subtree_control"), v2_enabled).expect("write");
        for level in ["cpuset/user", "cpuset/user/session"] {
            fs::write(root.join(level).join("cpuset.cpus"), "0-3\n").expect("write");
            fs::write(root.join(level).join("cpuset.mems"), "0\n").expect("write");
        }
        fs.writes.borrow_mut().clear();
        Self { dir, layout, fs }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}
