//! `lxc.apparmor.profile` and `lxc.selinux.context`: the LSM label init is exec'd into.
//!
//! Both LSMs take the label for the *next* execve through `/proc/self/attr/...`; the child
//! opens those files while the host's /proc is still in sight (the container may mount none)
//! and writes them as its last step before exec, after the start hooks, whose own exec
//! would otherwise take the label. rlxc neither generates nor loads AppArmor profiles (that
//! means running apparmor_parser): it applies profiles the host has loaded.
//!
//! An AppArmor profile on a kernel that runs no AppArmor is not applied, with a warning
//! ([`Unenforced`]) that says so at the line: LXC runs such configs there (its distro configs
//! name profiles, nesting.conf among them), and nothing on such a host could confine the
//! container as asked anyway. Where AppArmor runs, a profile it has not loaded is an error,
//! found before anything is made. An SELinux context on a host without SELinux stays an
//! error naming the key: no shipped config names one.

use std::path::Path;

use rlxc_config::ContainerSpec;

use crate::unenforced::Unenforced;

/// Which LSMs the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostLsms {
    pub apparmor: bool,
    /// AppArmor mediates mounts (without it, path-based rules can be walked around).
    pub apparmor_mounts: bool,
    pub selinux: bool,
}

/// What `lxc.apparmor.profile = generated` confines with: the profiles LXC's generated ones
/// are made from (Debian's lxc package loads them from /etc/apparmor.d/lxc-containers).
const GENERATED_BASE: &str = "lxc-container-default-cgns";
const GENERATED_BASE_NESTING: &str = "lxc-container-default-with-nesting";

/// The AppArmor profiles loaded (`SYS/kernel/security/apparmor/profiles`, "NAME (MODE)"
/// lines), or None when that cannot be read (securityfs not mounted): then the kernel's
/// answer to init's label write is the check.
pub fn loaded_apparmor_profiles(sys: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(sys.join("kernel/security/apparmor/profiles")).ok()?;
    Some(
        text.lines()
            .map(|line| line.rsplit_once(" (").map_or(line, |(name, _)| name))
            .map(str::to_string)
            .collect(),
    )
}

impl HostLsms {
    /// Reads `SYS/module/apparmor/parameters/enabled`, AppArmor's feature list in securityfs
    /// and `SYS/fs/selinux/enforce` (`sys` is `/sys` outside tests).
    pub fn probe(sys: &Path) -> HostLsms {
        let apparmor = std::fs::read_to_string(sys.join("module/apparmor/parameters/enabled"))
            .is_ok_and(|v| v.trim() == "Y");
        HostLsms {
            apparmor,
            apparmor_mounts: sys.join("kernel/security/apparmor/features/mount").exists(),
            selinux: sys.join("fs/selinux/enforce").exists(),
        }
    }
}

/// One write into init's `/proc/self/attr` before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelWrite {
    /// Tried in order: the first that exists is written (AppArmor's own directory first, as
    /// on kernels with LSM stacking the shared file may belong to another LSM).
    pub files: &'static [&'static str],
    pub value: String,
}

const APPARMOR_EXEC: &[&str] = &["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"];
const SELINUX_EXEC: &[&str] = &["/proc/self/attr/exec"];
const SELINUX_KEYCREATE: &[&str] = &["/proc/self/attr/keycreate"];

/// What init's LSM labels will be: writes before exec, and before the session keyring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LsmPlan {
    pub exec: Vec<LabelWrite>,
    pub keycreate: Option<LabelWrite>,
    /// A label the config names that this host cannot apply, for the start to warn about.
    pub unenforced: Option<Unenforced>,
}

/// Why a profile line is not applied on a kernel without AppArmor.
const NO_APPARMOR: &str = "this kernel has no AppArmor, so the container runs UNCONFINED by \
     AppArmor (as LXC runs it here); set `lxc.apparmor.profile = unconfined` to say so and \
     silence this";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LsmError {
    #[error("{key} = {value}: {lsm} is not active on this host, so the container cannot be confined as asked (use `{off}` to run it without)")]
    Missing {
        key: &'static str,
        value: String,
        lsm: &'static str,
        off: &'static str,
    },
    #[error("lxc.apparmor.profile = {profile}: this kernel's AppArmor does not mediate mounts, so the profile can be walked around; set lxc.apparmor.allow_incomplete = 1 to start anyway")]
    Incomplete { profile: String },
    #[error("lxc.apparmor.profile = generated: rlxc does not generate AppArmor profiles, and the host has not loaded {base}, LXC's base profile that rlxc uses instead (Debian's lxc package loads it); name a profile the host has loaded, or `unconfined`")]
    Generated { base: &'static str },
    #[error("lxc.apparmor.profile = {profile}: AppArmor runs on this host but has no profile {profile} loaded (load it with apparmor_parser, or name a loaded one)")]
    NotLoaded { profile: String },
}

/// The labels `spec` asks for on a host running `host`, whose loaded AppArmor profiles are
/// `loaded` (see [`loaded_apparmor_profiles`], read only when a profile is named).
pub fn plan(
    spec: &ContainerSpec,
    host: HostLsms,
    loaded: impl FnOnce() -> Option<Vec<String>>,
) -> Result<LsmPlan, LsmError> {
    let security = &spec.security;
    let mut plan = LsmPlan::default();
    // Read at most once, and only when a profile is named.
    let mut loaded = Some(loaded);
    let mut loaded_list: Option<Option<Vec<String>>> = None;
    let mut is_loaded = |profile: &str| -> Option<bool> {
        let list = loaded_list.get_or_insert_with(|| loaded.take().and_then(|read| read()));
        list.as_ref()
            .map(|names| names.iter().any(|name| name == profile))
    };
    let mut requested = security.apparmor_profile.as_deref();
    if requested == Some("generated") && host.apparmor {
        // LXC writes a profile per container from its base one; rlxc confines with that base
        // profile itself, where the host has it (as Debian's /etc/lxc/default.conf asks).
        let base = if security.apparmor_allow_nesting == Some(true) {
            GENERATED_BASE_NESTING
        } else {
            GENERATED_BASE
        };
        if is_loaded(base) != Some(true) {
            return Err(LsmError::Generated { base });
        }
        requested = Some(base);
    }
    match requested {
        // `unchanged`: keep rlxc's own profile (nesting); empty or unset: LXC's default,
        // which is a generated profile only where AppArmor runs — rlxc applies none.
        None | Some("" | "unchanged") => {}
        // Nothing to leave on a host without AppArmor; with it, leave rlxc's own profile.
        Some("unconfined") if !host.apparmor => {}
        Some(profile) if host.apparmor => {
            let confining = profile != "unconfined";
            if confining
                && !host.apparmor_mounts
                && security.apparmor_allow_incomplete != Some(true)
            {
                return Err(LsmError::Incomplete {
                    profile: profile.to_string(),
                });
            }
            // A plain name only: a stack (`a//&b`), a child (`a//b`) or a namespaced
            // profile (`:ns:a`) is the kernel's to resolve, at the label write.
            let plain = !profile.contains("//") && !profile.starts_with(':');
            if confining && plain && is_loaded(profile) == Some(false) {
                return Err(LsmError::NotLoaded {
                    profile: profile.to_string(),
                });
            }
            plan.exec.push(LabelWrite {
                files: APPARMOR_EXEC,
                value: format!("exec {profile}"),
            })
        }
        // No AppArmor in this kernel: nothing to apply, as under LXC, and a warning.
        Some(profile) => {
            plan.unenforced = Some(Unenforced {
                key: "lxc.apparmor.profile",
                value: profile.to_string(),
                why: NO_APPARMOR,
            })
        }
    }
    let selinux = |key: &'static str, value: &str| -> Result<Option<String>, LsmError> {
        match value {
            "" | "unconfined_t" => Ok(None),
            _ if host.selinux => Ok(Some(value.to_string())),
            _ => Err(LsmError::Missing {
                key,
                value: value.to_string(),
                lsm: "SELinux",
                off: "lxc.selinux.context = unconfined_t",
            }),
        }
    };
    if let Some(context) = &security.selinux_context {
        if let Some(value) = selinux("lxc.selinux.context", context)? {
            plan.exec.push(LabelWrite {
                files: SELINUX_EXEC,
                value,
            });
        }
    }
    if let Some(context) = &security.selinux_context_keyring {
        plan.keycreate = selinux("lxc.selinux.context.keyring", context)?.map(|value| LabelWrite {
            files: SELINUX_KEYCREATE,
            value,
        });
    }
    Ok(plan)
}

/// The exec label that gives an attached command init's confinement: init's AppArmor
/// profile (`/proc/PID/attr/apparmor/current`, "NAME (MODE)") or SELinux context, read from
/// the host (`read_proc` reads a file of init's `/proc/PID`). None when init is unconfined
/// or no LSM runs (the files then do not read).
pub(crate) fn exec_label_of(
    read_proc: impl Fn(&str) -> Option<String>,
    host: HostLsms,
) -> Option<LabelWrite> {
    let read =
        |file: &str| read_proc(file).map(|label| label.trim_end_matches(['\n', '\0']).to_string());
    if host.apparmor {
        let current = read("attr/apparmor/current").or_else(|| read("attr/current"))?;
        let profile = current.split(" (").next().unwrap_or_default();
        return (!profile.is_empty() && profile != "unconfined").then(|| LabelWrite {
            files: APPARMOR_EXEC,
            value: format!("exec {profile}"),
        });
    }
    if host.selinux {
        let context = read("attr/current")?;
        return (!context.is_empty()).then_some(LabelWrite {
            files: SELINUX_EXEC,
            value: context,
        });
    }
    None
}

/// An opened label file and what goes into it.
pub(crate) struct OpenLabel {
    file: std::fs::File,
    value: String,
}

/// Opens the files of `writes` (the host's /proc must still be mounted at /proc).
pub(crate) fn open(writes: &[LabelWrite]) -> std::io::Result<Vec<OpenLabel>> {
    writes.iter().map(open_one).collect()
}

fn open_one(write: &LabelWrite) -> std::io::Result<OpenLabel> {
    let mut last = std::io::Error::from(std::io::ErrorKind::NotFound);
    for path in write.files {
        match std::fs::OpenOptions::new().write(true).open(path) {
            Ok(file) => {
                return Ok(OpenLabel {
                    file,
                    value: write.value.clone(),
                })
            }
            Err(e) => last = std::io::Error::new(e.kind(), format!("{path}: {e}")),
        }
    }
    Err(last)
}

/// The labels' open files, which must survive closing the monitor's fds until `apply`.
pub(crate) fn raw_fds(labels: &[OpenLabel]) -> impl Iterator<Item = std::os::fd::RawFd> + '_ {
    labels
        .iter()
        .map(|label| std::os::fd::AsRawFd::as_raw_fd(&label.file))
}

/// Writes the labels; they take effect at the next execve (keycreate: at the next keyring).
pub(crate) fn apply(labels: &[OpenLabel]) -> std::io::Result<()> {
    use std::io::Write;
    for label in labels {
        (&label.file).write_all(label.value.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ContainerSpec {
        rlxc_config::load_str(text, Path::new("t.conf"))
            .expect("config")
            .spec
    }

    const NONE: HostLsms = HostLsms {
        apparmor: false,
        apparmor_mounts: false,
        selinux: false,
    };
    const APPARMOR: HostLsms = HostLsms {
        apparmor: true,
        apparmor_mounts: true,
        selinux: false,
    };
    const SELINUX: HostLsms = HostLsms {
        apparmor: false,
        apparmor_mounts: false,
        selinux: true,
    };

    /// No profile list to read (securityfs not mounted): the kernel decides at the write.
    fn unknown() -> Option<Vec<String>> {
        None
    }

    #[test]
    fn no_label_or_an_unconfined_one_needs_no_lsm() {
        for text in [
            "lxc.uts.name = a\n",
            "lxc.apparmor.profile = unconfined\n",
            "lxc.apparmor.profile = unchanged\n",
            "lxc.selinux.context = unconfined_t\n",
        ] {
            assert_eq!(
                plan(&spec(text), NONE, unknown),
                Ok(LsmPlan::default()),
                "{text}"
            );
        }
    }

    #[test]
    fn an_apparmor_profile_on_a_kernel_without_apparmor_is_a_warning_not_a_label() {
        for profile in ["lxc-container-default-with-nesting", "generated"] {
            let text = format!("lxc.apparmor.profile = {profile}\n");
            let found = plan(&spec(&text), NONE, || panic!("no list to read")).expect(&text);
            assert!(found.exec.is_empty(), "{text}");
            let unenforced = found.unenforced.expect("a warning");
            assert_eq!(unenforced.key, "lxc.apparmor.profile");
            assert_eq!(unenforced.value, profile);
            let warning = unenforced.to_string();
            assert!(warning.contains("this kernel has no AppArmor"), "{warning}");
            assert!(warning.contains("UNCONFINED"), "{warning}");
        }
    }

    #[test]
    fn an_selinux_context_without_selinux_is_an_error_naming_the_key() {
        for (text, key) in [
            (
                "lxc.selinux.context = system_u:system_r:lxc_t:s0\n",
                "lxc.selinux.context",
            ),
            (
                "lxc.selinux.context.keyring = system_u:system_r:lxc_t:s0\n",
                "lxc.selinux.context.keyring",
            ),
        ] {
            let error = plan(&spec(text), NONE, unknown)
                .expect_err(text)
                .to_string();
            assert!(error.starts_with(key), "{error}");
            assert!(error.contains("SELinux is not active"), "{error}");
        }
    }

    #[test]
    fn where_the_lsm_runs_the_label_is_written_for_the_exec() {
        let found = plan(
            &spec("lxc.apparmor.profile = lxc-default\n"),
            APPARMOR,
            unknown,
        )
        .expect("plan");
        assert_eq!(found.exec[0].value, "exec lxc-default");
        assert_eq!(found.exec[0].files, APPARMOR_EXEC);
        assert_eq!(found.unenforced, None);
        let found = plan(
            &spec("lxc.selinux.context = system_u:system_r:lxc_t:s0\nlxc.selinux.context.keyring = k\n"),
            SELINUX,
            unknown,
        )
        .expect("plan");
        assert_eq!(found.exec[0].value, "system_u:system_r:lxc_t:s0");
        assert_eq!(found.keycreate.map(|k| k.value), Some("k".to_string()));
    }

    #[test]
    fn generated_confines_with_lxcs_base_profile_where_the_host_has_it() {
        let with_lxc = || {
            Some(vec![
                "lxc-container-default-cgns".to_string(),
                "lxc-container-default-with-nesting".to_string(),
            ])
        };
        let found = plan(
            &spec("lxc.apparmor.profile = generated\n"),
            APPARMOR,
            with_lxc,
        )
        .expect("plan");
        assert_eq!(found.exec[0].value, "exec lxc-container-default-cgns");
        let found = plan(
            &spec("lxc.apparmor.profile = generated\nlxc.apparmor.allow_nesting = 1\n"),
            APPARMOR,
            with_lxc,
        )
        .expect("plan");
        assert_eq!(
            found.exec[0].value,
            "exec lxc-container-default-with-nesting"
        );
        for listed in [Some(vec!["other".to_string()]), None] {
            let error = plan(
                &spec("lxc.apparmor.profile = generated\n"),
                APPARMOR,
                || listed,
            )
            .expect_err("no base profile");
            assert_eq!(
                error,
                LsmError::Generated {
                    base: "lxc-container-default-cgns"
                }
            );
        }
    }

    #[test]
    fn where_apparmor_runs_a_profile_it_has_not_loaded_is_an_error() {
        let loaded = || Some(vec!["lxc-default".to_string(), "rlxc-test".to_string()]);
        let found = plan(
            &spec("lxc.apparmor.profile = rlxc-test\n"),
            APPARMOR,
            loaded,
        );
        assert_eq!(found.expect("loaded").exec[0].value, "exec rlxc-test");
        let text = "lxc.apparmor.profile = lxc-container-default-with-nesting\n";
        let error = plan(&spec(text), APPARMOR, loaded).expect_err("not loaded");
        assert_eq!(
            error,
            LsmError::NotLoaded {
                profile: "lxc-container-default-with-nesting".into()
            }
        );
        assert!(error.to_string().contains("no profile"), "{error}");
        // A stack is the kernel's to resolve.
        let stacked = plan(&spec("lxc.apparmor.profile = a//&b\n"), APPARMOR, loaded);
        assert_eq!(stacked.expect("stack").exec[0].value, "exec a//&b");
    }

    #[test]
    fn the_loaded_profiles_are_read_from_securityfs() {
        let sys = tempfile::tempdir().expect("tempdir");
        assert_eq!(loaded_apparmor_profiles(sys.path()), None);
        let dir = sys.path().join("kernel/security/apparmor");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("profiles"),
            "rlxc-test (enforce)\n/usr/bin/man (complain)\n",
        )
        .expect("w");
        assert_eq!(
            loaded_apparmor_profiles(sys.path()),
            Some(vec!["rlxc-test".to_string(), "/usr/bin/man".to_string()])
        );
    }

    #[test]
    fn without_mount_mediation_a_profile_needs_allow_incomplete() {
        let partial = HostLsms {
            apparmor_mounts: false,
            ..APPARMOR
        };
        let error = plan(
            &spec("lxc.apparmor.profile = lxc-default\n"),
            partial,
            unknown,
        )
        .expect_err("incomplete")
        .to_string();
        assert!(
            error.contains("lxc.apparmor.allow_incomplete = 1"),
            "{error}"
        );
        let found = plan(
            &spec("lxc.apparmor.profile = lxc-default\nlxc.apparmor.allow_incomplete = 1\n"),
            partial,
            unknown,
        )
        .expect("allowed");
        assert_eq!(found.exec[0].value, "exec lxc-default");
        // Leaving confinement needs no mediation.
        assert!(plan(
            &spec("lxc.apparmor.profile = unconfined\n"),
            partial,
            unknown
        )
        .is_ok());
    }

    #[test]
    fn the_probe_reads_sysfs() {
        let sys = tempfile::tempdir().expect("tempdir");
        assert_eq!(HostLsms::probe(sys.path()), NONE);
        std::fs::create_dir_all(sys.path().join("module/apparmor/parameters")).expect("mkdir");
        std::fs::write(sys.path().join("module/apparmor/parameters/enabled"), "Y\n").expect("w");
        std::fs::create_dir_all(sys.path().join("fs/selinux")).expect("mkdir");
        std::fs::write(sys.path().join("fs/selinux/enforce"), "1").expect("w");
        assert_eq!(
            HostLsms::probe(sys.path()),
            HostLsms {
                apparmor: true,
                apparmor_mounts: false,
                selinux: true
            }
        );
    }
}
