//! `rlxc create` / `lxc-create`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-create`, with its backing-store options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Template to run: a short name (lxc-NAME in the template dir), a path, or 'none'
    #[arg(short = 't', long, value_name = "TEMPLATE")]
    pub template: Option<String>,

    /// Initial configuration file (else the default config)
    #[arg(short = 'f', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,

    /// Backing store: dir, lvm, loop, btrfs, zfs, rbd or best
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

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("create")
}
