//! `rlxc create` / `lxc-create`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use rlxc_config::values::{check_id_maps, IdKind, IdMap};
use rlxc_runtime::create::{
    self, BackingStore, CreateRequest, Template, Unpacking, BUSYBOX_LOCATIONS,
};
use rlxc_runtime::userns::subid_range;
use rlxc_storage::backend::{image, Unavailable};

use crate::common::CommonOpts;

/// Options of `lxc-create`, with its backing-store options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Template: busybox (built in, from the host's static busybox), tarball (with --from),
    /// none (with --rootfs), oci (with -- --url oci:DIR[:TAG] | docker-archive:FILE |
    /// docker://REGISTRY/REPO[:TAG]), download
    /// (LXC's image server: -- -d DIST -r RELEASE -a ARCH) or debian (debootstrap: -- -r RELEASE
    /// [--packages a,b] [--mirror URL])
    #[arg(short = 't', long, value_name = "TEMPLATE")]
    pub template: Option<String>,

    /// The rootfs tarball of -t tarball: .tar, .tar.gz, .tar.xz or .tar.zst (rlxc only)
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// The existing rootfs directory of -t none, used in place (rlxc only)
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,

    /// An unprivileged container: `auto` (root's ranges in /etc/subuid and /etc/subgid) or
    /// ranges as `u:0:100000:65536,g:0:100000:65536`; written as lxc.idmap, and the new
    /// rootfs is shifted into the map (rlxc only)
    #[arg(long, value_name = "auto|RANGES")]
    pub idmap: Option<String>,

    /// Initial configuration file (else the default config: lxc.default_config of the system
    /// config, /etc/rlxc/default.conf, when it exists)
    #[arg(short = 'f', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,

    /// Backing store: dir, btrfs (a subvolume), loop (an image file, --fssize, --fstype) or
    /// best (btrfs where the lxcpath is on btrfs, else dir); LXC's lvm, zfs and rbd are refused
    #[arg(short = 'B', long = "bdev", value_name = "BDEV")]
    pub bdev: Option<String>,

    /// Put the rootfs directory at DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// LVM logical volume name (default: the container name)
    #[arg(long, value_name = "LVNAME")]
    pub lvname: Option<String>,

    /// LVM volume group (default: lxc)
    #[arg(long, value_name = "VG")]
    pub vgname: Option<String>,

    /// LVM thin pool (default: lxc)
    #[arg(long, value_name = "TP")]
    pub thinpool: Option<String>,

    /// Filesystem type for lvm or loop (default: ext4)
    #[arg(long, value_name = "TYPE")]
    pub fstype: Option<String>,

    /// Filesystem size for lvm or loop, e.g. 2G (default: 1G)
    #[arg(long, value_name = "SIZE")]
    pub fssize: Option<String>,

    /// ZFS root for the container's dataset (default: tank/lxc)
    #[arg(long, value_name = "PATH")]
    pub zfsroot: Option<String>,

    /// Ceph RBD image name (default: the container name)
    #[arg(long, value_name = "RBDNAME")]
    pub rbdname: Option<String>,

    /// Ceph RBD pool (default: lxc)
    #[arg(long, value_name = "POOL")]
    pub rbdpool: Option<String>,

    /// Arguments passed on to the template
    #[arg(last = true, value_name = "TEMPLATE-OPTIONS")]
    pub template_args: Vec<String>,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    refuse_unsupported(args)?;
    let store = backing_store(args)?;
    let idmaps = match &args.idmap {
        Some(text) => idmaps(text)?,
        None => Vec::new(),
    };
    let (initial_config, initial_is_default) = match &args.config {
        Some(path) => (Some(path.clone()), false),
        None => (default_config()?, true),
    };
    // `-- --list` needs no container name, so it comes before the name's checks.
    let mut image_lock = None;
    let mut tree_lock = None;
    let template = match args.template.as_deref() {
        Some("download") => {
            let unprivileged = !idmaps.is_empty() || seed_maps_ids(initial_config.as_deref());
            match super::create_download::prepare(&args.template_args, unprivileged)? {
                Some((template, lock)) => {
                    image_lock = Some(lock);
                    template
                }
                None => return Ok(ExitCode::SUCCESS),
            }
        }
        Some("debian") => {
            let (template, lock) = super::create_debian::prepare(&args.template_args)?;
            tree_lock = Some(lock);
            template
        }
        _ => template(args)?,
    };
    let paths = common.container_paths()?;
    let operation = common.operation_lock(&paths, "rlxc create")?;
    let request = CreateRequest {
        paths: &paths,
        template,
        seed_config: initial_config.as_deref(),
        seed_is_default: initial_is_default,
        busybox_locations: BUSYBOX_LOCATIONS,
        idmaps,
        store,
    };
    let label = match &request.template {
        Template::Oci {
            source: source @ create::oci::ImageSource::Registry(_),
        } => Some(format!("Pulling and unpacking {source}")),
        Template::Oci { source } => Some(format!("Unpacking {source}")),
        Template::Download { image, .. } => Some(format!("Unpacking {}", image.id)),
        _ => args
            .from
            .as_ref()
            .map(|path| format!("Unpacking {}", path.display())),
    };
    let mut progress = ProgressLine::new(label);
    let result = create::create(&request, &mut |now| progress.show(now), &operation);
    progress.finish();
    drop(image_lock);
    drop(tree_lock);
    let created = result?;
    super::net::record_new_container(&paths.name, &paths.config());
    if let Some(message) = created.message {
        // LXC prints the image's message after a separator.
        println!("\n---\n{}", message.trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

/// `--idmap auto` or `--idmap u:0:100000:65536,g:0:100000:65536` (LXC's own spelling with
/// spaces, `u 0 100000 65536`, is taken too), checked as a whole as the config loader will.
/// Whether the initial config (`-f`) maps ids, as LXC's download template asks to pick the
/// image's user files. A config that does not load counts as none: the create reports why.
/// The system's default config (`lxc.default_config`), when it exists: LXC copies it into
/// every container created without `-f`; without one the template's keys are all there is.
fn default_config() -> anyhow::Result<Option<PathBuf>> {
    let path = crate::common::system_config()?.default_config();
    Ok(path.is_file().then_some(path))
}

fn seed_maps_ids(seed: Option<&std::path::Path>) -> bool {
    seed.and_then(|path| rlxc_config::load_file(path, &[]).ok())
        .is_some_and(|loaded| !loaded.spec.idmaps.is_empty())
}

fn idmaps(text: &str) -> anyhow::Result<Vec<IdMap>> {
    let maps = if text.trim() == "auto" {
        auto_idmaps()?
    } else {
        text.split(',')
            .map(|range| {
                range
                    .replace(':', " ")
                    .parse::<IdMap>()
                    .map_err(|e| anyhow::anyhow!("--idmap {range:?}: {}", e.0))
            })
            .collect::<anyhow::Result<Vec<IdMap>>>()?
    };
    check_id_maps(&maps).map_err(|reason| anyhow::anyhow!("--idmap {text}: {reason}"))?;
    Ok(maps)
}

/// Root's first ranges in /etc/subuid and /etc/subgid, mapped from id 0.
fn auto_idmaps() -> anyhow::Result<Vec<IdMap>> {
    let mut maps = Vec::new();
    for (path, kind) in [("/etc/subuid", IdKind::Uid), ("/etc/subgid", IdKind::Gid)] {
        let range = subid_range(std::path::Path::new(path), "root", 0)?;
        maps.push(IdMap {
            kind,
            container_first: 0,
            host_first: range.first,
            count: range.count,
        });
    }
    Ok(maps)
}

fn template(args: &Args) -> anyhow::Result<Template> {
    let Some(name) = args.template.as_deref() else {
        bail!(
            "A template must be specified: -t busybox, -t tarball --from FILE, \
             or -t none --rootfs DIR"
        );
    };
    let template = match name {
        "busybox" => Template::Busybox,
        "tarball" => match &args.from {
            Some(archive) => Template::Tarball {
                archive: archive.clone(),
            },
            None => bail!("-t tarball needs --from FILE (a .tar, .tar.gz, .tar.xz or .tar.zst)"),
        },
        "none" => Template::None {
            rootfs: args.rootfs.clone(),
        },
        "oci" => Template::Oci {
            source: create::oci::ImageSource::from_template_args(&args.template_args)?,
        },
        other => bail!(
            "unknown template {other:?}: rlxc has the built-in templates busybox, tarball \
             (--from FILE), none (--rootfs DIR), oci (-- --url IMAGE), download (-- -d DIST \
             -r RELEASE -a ARCH) and debian (-- -r RELEASE, through debootstrap); LXC's template \
             scripts are not run"
        ),
    };
    if args.from.is_some() && !matches!(template, Template::Tarball { .. }) {
        bail!("--from goes with -t tarball");
    }
    if args.rootfs.is_some() && !matches!(template, Template::None { .. }) {
        bail!("--rootfs goes with -t none");
    }
    Ok(template)
}

/// `-B` with `--fssize` and `--fstype` (loop only), as `lxc-create` takes them.
fn backing_store(args: &Args) -> anyhow::Result<BackingStore> {
    let bdev = args.bdev.as_deref().unwrap_or("dir");
    if bdev != "loop" {
        if let Some(option) = [
            ("--fssize", args.fssize.is_some()),
            ("--fstype", args.fstype.is_some()),
        ]
        .iter()
        .find_map(|(option, given)| given.then_some(option))
        {
            bail!("{option} goes with -B loop (rlxc has no lvm)");
        }
    }
    Ok(match bdev {
        "dir" => BackingStore::Dir,
        "btrfs" => BackingStore::Btrfs,
        "best" => BackingStore::Best,
        "loop" => BackingStore::Loop {
            size: match &args.fssize {
                Some(size) => image::parse_size(size)?,
                None => image::DEFAULT_SIZE,
            },
            fstype: args
                .fstype
                .clone()
                .unwrap_or_else(|| image::DEFAULT_FSTYPE.to_string()),
        },
        "lvm" => bail!("-B lvm: {}", Unavailable::Lvm.reason()),
        "zfs" => bail!("-B zfs: {}", Unavailable::Zfs.reason()),
        "rbd" => bail!("-B rbd: {}", Unavailable::Rbd.reason()),
        other => bail!("unknown backing store {other:?}: rlxc has dir, btrfs, loop and best"),
    })
}

/// LXC's options for the stores rlxc does not have (lvm, zfs, rbd), and template arguments,
/// are refused rather than ignored.
fn refuse_unsupported(args: &Args) -> anyhow::Result<()> {
    let storage_options = [
        ("--dir", args.dir.is_some()),
        ("--lvname", args.lvname.is_some()),
        ("--vgname", args.vgname.is_some()),
        ("--thinpool", args.thinpool.is_some()),
        ("--zfsroot", args.zfsroot.is_some()),
        ("--rbdname", args.rbdname.is_some()),
        ("--rbdpool", args.rbdpool.is_some()),
    ];
    if let Some((option, _)) = storage_options.iter().find(|(_, given)| *given) {
        bail!(
            "{option} is not supported yet: the rootfs is always $lxcpath/NAME/rootfs (or rootdev)"
        );
    }
    let takes_arguments = matches!(
        args.template.as_deref(),
        Some("download" | "debian" | "oci")
    );
    if !args.template_args.is_empty() && !takes_arguments {
        bail!(
            "rlxc's built-in templates take no arguments after --: got {}",
            args.template_args.join(" ")
        );
    }
    Ok(())
}

/// `Unpacking FILE: 42%, 3512 files` on stderr, rewritten in place at most ten times a
/// second (and once more at the end); only when stderr is a terminal.
struct ProgressLine {
    label: Option<String>,
    drawn: Option<Instant>,
    last: Option<Unpacking>,
}

impl ProgressLine {
    fn new(label: Option<String>) -> Self {
        let label = label.filter(|_| std::io::stderr().is_terminal());
        ProgressLine {
            label,
            drawn: None,
            last: None,
        }
    }

    fn show(&mut self, now: Unpacking) {
        if self.label.is_none() {
            return;
        }
        self.last = Some(now);
        if self
            .drawn
            .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        self.draw(now);
    }

    fn draw(&self, now: Unpacking) {
        let Some(label) = &self.label else { return };
        let percent = (now.done.saturating_mul(100))
            .checked_div(now.total)
            .unwrap_or(100)
            .min(100);
        let files = match now.files {
            0 => String::new(),
            1 => ", 1 file".into(),
            n => format!(", {n} files"),
        };
        // A progress line that cannot be written is no reason to stop unpacking.
        let _ = write!(std::io::stderr(), "\r{label}: {percent:3}%{files}\x1b[K");
    }

    fn finish(&mut self) {
        if let Some(last) = self.last {
            self.draw(last);
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idmap_ranges_in_either_spelling() {
        let maps = idmaps("u:0:200000:65536,g 0 300000 65536").expect("maps");
        assert_eq!(maps[0].to_string(), "u 0 200000 65536");
        assert_eq!(maps[1].to_string(), "g 0 300000 65536");
        let error = idmaps("u:0:200000:65536").expect_err("no g").to_string();
        assert!(error.contains("no g range"), "{error}");
        let error = idmaps("u:0:x:1,g:0:1:1").expect_err("bad").to_string();
        assert!(error.contains("--idmap \"u:0:x:1\""), "{error}");
    }
}
