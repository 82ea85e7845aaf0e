//! `rlxc install-service [--openrc|--systemd] [--dry-run]`: put the boot integration of
//! `contrib/` where the host's init system looks for it, with the path of this very binary in
//! place of the `/usr/local/sbin/rlxc` the shipped files name, and the system config
//! (`/etc/rlxc/rlxc.conf`, `/etc/rlxc/default.conf`) where there is none.
//!
//! Like `compat-links`, it checks every file before writing any: one that exists with other
//! content stops the run (without `--force`), so a refused run changes nothing. It never runs
//! `rc-update` or `systemctl`: enabling a service is the admin's choice, and the next steps
//! are printed.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::common::CommonOpts;

/// Options of `rlxc install-service` (rlxc only).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Install the OpenRC script (/etc/init.d/rlxc, /etc/conf.d/rlxc); either way also
    /// /etc/rlxc/rlxc.conf and /etc/rlxc/default.conf (kept where they exist)
    #[arg(long, conflicts_with = "systemd")]
    pub openrc: bool,

    /// Install the systemd units (rlxc.service, rlxc@.service in /etc/systemd/system)
    #[arg(long)]
    pub systemd: bool,

    /// Print where the files would go, and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Replace files that exist with other content
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Install below DIR instead of / (for images and packages being built)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// The path the shipped files give for the binary; replaced by the running binary's path.
const SHIPPED_BINARY: &str = "/usr/local/sbin/rlxc";

/// One file to install: where (below the root), its text, its mode, and whether the admin's
/// edits win over ours (a settings file that exists is left alone).
struct ServiceFile {
    path: &'static str,
    text: &'static str,
    mode: u32,
    admin_owned: bool,
}

const OPENRC: &[ServiceFile] = &[
    ServiceFile {
        path: "etc/init.d/rlxc",
        text: include_str!("../../../../contrib/openrc/rlxc"),
        mode: 0o755,
        admin_owned: false,
    },
    ServiceFile {
        path: "etc/conf.d/rlxc",
        text: include_str!("../../../../contrib/openrc/rlxc.confd"),
        mode: 0o644,
        admin_owned: true,
    },
    ServiceFile {
        path: "etc/init.d/rlxc-net",
        text: include_str!("../../../../contrib/openrc/rlxc-net"),
        mode: 0o755,
        admin_owned: false,
    },
];

const SYSTEMD: &[ServiceFile] = &[
    ServiceFile {
        path: "etc/systemd/system/rlxc.service",
        text: include_str!("../../../../contrib/systemd/rlxc.service"),
        mode: 0o644,
        admin_owned: false,
    },
    ServiceFile {
        path: "etc/systemd/system/rlxc@.service",
        text: include_str!("../../../../contrib/systemd/rlxc@.service"),
        mode: 0o644,
        admin_owned: false,
    },
    ServiceFile {
        path: "etc/systemd/system/rlxc-net.service",
        text: include_str!("../../../../contrib/systemd/rlxc-net.service"),
        mode: 0o644,
        admin_owned: false,
    },
];

/// The system config and the default config: installed with either init system, kept when
/// the admin has them already.
const SYSTEM_CONFIG: &[ServiceFile] = &[
    ServiceFile {
        path: "etc/rlxc/rlxc.conf",
        text: include_str!("../../../../contrib/etc/rlxc.conf"),
        mode: 0o644,
        admin_owned: true,
    },
    ServiceFile {
        path: "etc/rlxc/default.conf",
        text: include_str!("../../../../contrib/etc/default.conf"),
        mode: 0o644,
        admin_owned: true,
    },
    ServiceFile {
        path: "etc/default/rlxc-net",
        text: include_str!("../../../../contrib/etc/rlxc-net"),
        mode: 0o644,
        admin_owned: true,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitSystem {
    OpenRc,
    Systemd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Unchanged,
    /// Other content is there: replaced only with `--force`.
    Replace,
    /// An admin-owned settings file exists: kept as it is.
    KeepAdmins,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let init = match (args.openrc, args.systemd) {
        (true, _) => InitSystem::OpenRc,
        (_, true) => InitSystem::Systemd,
        _ => detect(Path::new("/"))?,
    };
    let binary = fs::canonicalize("/proc/self/exe")
        .context("cannot find the running binary through /proc/self/exe")?;
    let binary = binary
        .to_str()
        .context("the path of the rlxc binary is not UTF-8")?;
    let files = match init {
        InitSystem::OpenRc => OPENRC,
        InitSystem::Systemd => SYSTEMD,
    };

    let plan = files
        .iter()
        .chain(SYSTEM_CONFIG)
        .map(|file| {
            let target = args.root.join(file.path);
            let text = file.text.replace(SHIPPED_BINARY, binary);
            let action = action_for(&target, &text, file.admin_owned)?;
            Ok((file, target, text, action))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let foreign: Vec<String> = plan
        .iter()
        .filter(|(_, _, _, action)| *action == Action::Replace)
        .map(|(_, target, _, _)| target.display().to_string())
        .collect();
    if !foreign.is_empty() && !args.force && !args.dry_run {
        bail!(
            "{} exist with other content; nothing was written (--force replaces them)",
            foreign.join(", ")
        );
    }

    for (file, target, text, action) in &plan {
        let verb = match (action, args.dry_run) {
            (Action::Create, true) => "would install",
            (Action::Create, false) => "installed",
            (Action::Replace, true) => "would replace",
            (Action::Replace, false) => "replaced",
            (Action::Unchanged, _) => "unchanged",
            (Action::KeepAdmins, _) => "kept (your settings)",
        };
        if !args.dry_run && matches!(action, Action::Create | Action::Replace) {
            write(target, text, file.mode)?;
        }
        println!("{verb}: {}", target.display());
    }
    next_steps(init, args.dry_run);
    Ok(ExitCode::SUCCESS)
}

/// Which init system runs this host: systemd's own test (`sd_booted()` looks for this
/// directory), else OpenRC's run directory.
fn detect(root: &Path) -> anyhow::Result<InitSystem> {
    if root.join("run/systemd/system").is_dir() {
        return Ok(InitSystem::Systemd);
    }
    if root.join("run/openrc").is_dir() {
        return Ok(InitSystem::OpenRc);
    }
    bail!(
        "cannot tell the init system of this host (no /run/systemd/system, no /run/openrc): \
         give --openrc or --systemd"
    )
}

fn action_for(target: &Path, text: &str, admin_owned: bool) -> anyhow::Result<Action> {
    match fs::read(target) {
        Ok(existing) if existing == text.as_bytes() => Ok(Action::Unchanged),
        Ok(_) if admin_owned => Ok(Action::KeepAdmins),
        Ok(_) => Ok(Action::Replace),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Action::Create),
        Err(e) => Err(e).with_context(|| format!("reading {}", target.display())),
    }
}

/// Writes a temporary file next to the target and renames it over: an init system never
/// reads half a script.
fn write(target: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let dir = target
        .parent()
        .with_context(|| format!("{} has no directory", target.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temp = dir.join(format!(
        ".{}.rlxc-new",
        target
            .file_name()
            .map_or_else(|| "service".into(), |n| n.to_string_lossy().into_owned())
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        // The umask may have taken bits off the mode given at creation.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.with_context(|| format!("writing {}", target.display()))
}

fn next_steps(init: InitSystem, dry_run: bool) {
    let then = if dry_run { "After installing" } else { "Next" };
    println!(
        "New containers get the lines of /etc/rlxc/default.conf: a veth on the bridge rlxcbr0, \
         which must exist for them to start (the rlxc-net service makes it, with DHCP, DNS and \
         NAT, set in /etc/default/rlxc-net); edit or remove that file for another network or \
         none."
    );
    match init {
        InitSystem::OpenRc => println!(
            "{then}: `rc-update add rlxc-net default; rc-service rlxc-net start` brings up \
             rlxcbr0; `rc-update add rlxc default` starts the autostart containers at boot; for \
             one container: `ln -s /etc/init.d/rlxc /etc/init.d/rlxc.NAME; rc-update add \
             rlxc.NAME default`"
        ),
        InitSystem::Systemd => println!(
            "{then}: `systemctl daemon-reload; systemctl enable --now rlxc-net.service` brings \
             up rlxcbr0; `systemctl enable rlxc.service` starts the \
             autostart containers at boot; for one container: `systemctl enable --now \
             rlxc@NAME.service`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_run_directories() {
        let root = tempfile::tempdir().expect("tempdir");
        assert!(detect(root.path()).is_err());
        fs::create_dir_all(root.path().join("run/openrc")).expect("mkdir");
        assert_eq!(detect(root.path()).ok(), Some(InitSystem::OpenRc));
        fs::create_dir_all(root.path().join("run/systemd/system")).expect("mkdir");
        assert_eq!(detect(root.path()).ok(), Some(InitSystem::Systemd));
    }

    #[test]
    fn the_shipped_system_configs_load() {
        let system = rlxc_config::system::SystemConfig::parse(
            SYSTEM_CONFIG[0].text,
            Path::new(SYSTEM_CONFIG[0].path),
            rlxc_config::system::Flavor::Rlxc,
        )
        .expect("rlxc.conf loads");
        assert_eq!(system.lxcpath(), Path::new(crate::common::DEFAULT_LXCPATH));
        assert_eq!(
            Path::new("/").join(SYSTEM_CONFIG[1].path),
            system.default_config()
        );
        let default = rlxc_config::load_str(SYSTEM_CONFIG[1].text, Path::new("default.conf"))
            .expect("default.conf loads");
        let net = &default.spec.networks[&0];
        assert_eq!(net.link.as_deref(), Some("rlxcbr0"));
        assert!(net.hwaddr.is_some_and(|hwaddr| hwaddr.is_template()));
        // The shipped network settings are the defaults, and their bridge is default.conf's.
        let settings_file = &SYSTEM_CONFIG[2];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rlxc-net");
        fs::write(&path, settings_file.text).expect("write");
        let shipped = rlxc_hostnet::settings::load(&path, true).expect("rlxc-net loads");
        let defaults =
            rlxc_hostnet::settings::load(&dir.path().join("none"), false).expect("defaults");
        assert_eq!(shipped.bridge, "rlxcbr0");
        assert_eq!(Some(path), shipped.source.clone());
        assert_eq!(
            rlxc_hostnet::settings::Settings {
                source: None,
                ..shipped
            },
            defaults
        );
    }

    #[test]
    fn every_shipped_file_names_the_binary_it_gets_rewritten_to() {
        for file in OPENRC.iter().chain(SYSTEMD).filter(|f| !f.admin_owned) {
            assert!(file.text.contains(SHIPPED_BINARY), "{}", file.path);
        }
    }
}
