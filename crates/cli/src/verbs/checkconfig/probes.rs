//! Live checks of the running system, independent of any kernel config file: which
//! namespaces can be created, what cgroups are mounted, which link kinds the kernel accepts.
//! Everything is a syscall, a netlink request or a file read; nothing sleeps.

use std::fs;
use std::path::Path;

use rlxc_cgroup::CgroupLayout;
use rlxc_net::netns::run_in_throwaway_netns;
use rlxc_net::{bridge, link, macvlan, veth, vlan, Netlink};
use rlxc_runtime::namespaces::{self, Namespace};

use super::features::LinkKind;

/// Everything the live column is made from.
pub struct LiveFacts {
    pub release: String,
    /// Effective uid 0. Without it, `EPERM` from the probes may only mean "not root".
    pub is_root: bool,
    pub namespaces: Vec<(Namespace, NamespaceProbe)>,
    pub cgroups: Result<CgroupLayout, rlxc_cgroup::Error>,
    /// `Err` when no throwaway network namespace could be made, so nothing was tried.
    pub links: Result<LinkOutcomes, rlxc_net::Error>,
    /// `/lib/modules/$(uname -r)` exists, so a `=m` option could at least in principle load.
    pub has_module_tree: bool,
    /// `/proc/self/status` has a `Seccomp:` line (the kernel has CONFIG_SECCOMP).
    pub seccomp: bool,
    /// `/proc/sys/kernel/seccomp/actions_avail`, present with CONFIG_SECCOMP_FILTER.
    pub seccomp_actions: Option<String>,
    pub fuse_device: bool,
    pub fuse_filesystem: bool,
    /// v1 memory hierarchy has `memory.memsw.*`; `None` when there is no v1 memory mount to
    /// look at.
    pub swap_accounting: Option<bool>,
    /// Why unprivileged containers could not map ids (LXC warns about the same), if they
    /// could not.
    pub idmap_helper_problem: Option<String>,
}

pub struct NamespaceProbe {
    pub direct: Result<(), rlxc_runtime::Error>,
    /// Tried only when `direct` failed with `EPERM`: the unprivileged-container way.
    pub in_user_namespace: Option<Result<(), rlxc_runtime::Error>>,
}

pub enum LinkOutcome {
    Created,
    Failed(rlxc_net::Error),
    /// Made, but deleting it failed (the namespace's end removes it anyway).
    NotDeleted(rlxc_net::Error),
    /// macvlan and vlan need an ethernet parent; neither veth nor bridge could be made.
    NoParent,
}

pub struct LinkOutcomes {
    pub veth: LinkOutcome,
    pub bridge: LinkOutcome,
    pub macvlan: LinkOutcome,
    pub vlan: LinkOutcome,
}

impl LinkOutcomes {
    pub fn get(&self, kind: LinkKind) -> &LinkOutcome {
        match kind {
            LinkKind::Veth => &self.veth,
            LinkKind::Bridge => &self.bridge,
            LinkKind::Macvlan => &self.macvlan,
            LinkKind::Vlan => &self.vlan,
        }
    }
}

impl LiveFacts {
    pub fn gather(release: String) -> Self {
        // Forking probes first, while the process is still single-threaded.
        let namespaces = Namespace::ALL
            .into_iter()
            .map(|kind| (kind, probe_namespace(kind)))
            .collect();
        let links = run_in_throwaway_netns(probe_links).and_then(|outcome| outcome);
        let cgroups = CgroupLayout::detect();
        let swap_accounting = cgroups.as_ref().ok().and_then(|layout| {
            let memory = layout.v1_hierarchy_of("memory")?;
            Some(
                memory
                    .mount_point
                    .join("memory.memsw.limit_in_bytes")
                    .exists(),
            )
        });
        let seccomp_actions = fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail")
            .ok()
            .map(|text| text.trim().to_owned());
        Self {
            has_module_tree: Path::new("/lib/modules").join(&release).is_dir(),
            release,
            is_root: effective_uid_is_root(),
            namespaces,
            cgroups,
            swap_accounting,
            idmap_helper_problem: idmap_helper_problem(),
            links,
            seccomp: fs::read_to_string("/proc/self/status")
                .is_ok_and(|status| status.lines().any(|line| line.starts_with("Seccomp:"))),
            seccomp_actions,
            fuse_device: Path::new("/dev/fuse").exists(),
            fuse_filesystem: fs::read_to_string("/proc/filesystems").is_ok_and(|list| {
                list.lines()
                    .any(|line| line.split_whitespace().last() == Some("fuse"))
            }),
        }
    }

    pub fn namespace(&self, kind: Namespace) -> Option<&NamespaceProbe> {
        self.namespaces
            .iter()
            .find(|(probed, _)| *probed == kind)
            .map(|(_, result)| result)
    }
}

fn probe_namespace(kind: Namespace) -> NamespaceProbe {
    let direct = namespaces::can_create(kind);
    let in_user_namespace = match &direct {
        Err(error) if error.errno() == Some(libc::EPERM) && kind != Namespace::User => {
            Some(namespaces::can_create_in_user_namespace(kind))
        }
        _ => None,
    };
    NamespaceProbe {
        direct,
        in_user_namespace,
    }
}

/// From the `Uid:` line of `/proc/self/status` (real, effective, saved, fs).
fn effective_uid_is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// `newuidmap` and `newgidmap` must exist and be setuid root for unprivileged containers.
fn idmap_helper_problem() -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let problems: Vec<String> = ["newuidmap", "newgidmap"]
        .into_iter()
        .filter_map(|helper| {
            let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .find_map(|dir| fs::metadata(Path::new(dir).join(helper)).ok());
            match found {
                None => Some(format!("no {helper}")),
                Some(metadata) if metadata.permissions().mode() & 0o4000 == 0 => {
                    Some(format!("{helper} not setuid"))
                }
                Some(_) => None,
            }
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join(", "))
}

const VETH: &str = "rlxc-probe0";
const VETH_PEER: &str = "rlxc-probe1";
const BRIDGE: &str = "rlxc-probe-br";
const MACVLAN: &str = "rlxc-probe-mv";
const VLAN: &str = "rlxc-probe-vl";

/// Runs inside the throwaway namespace: try each kind, delete what was made. The parent for
/// macvlan and vlan is kept until both are tried.
fn probe_links() -> Result<LinkOutcomes, rlxc_net::Error> {
    let mut netlink = Netlink::open()?;
    let veth_made = veth::create(&mut netlink, VETH, VETH_PEER);
    let bridge_made = bridge::create(&mut netlink, BRIDGE);
    let parent = if veth_made.is_ok() {
        Some(VETH)
    } else if bridge_made.is_ok() {
        Some(BRIDGE)
    } else {
        None
    };
    let parent_index = parent.map(|name| link::index_by_name(&mut netlink, name));
    let (macvlan, vlan) = match parent_index {
        Some(Ok(index)) => {
            let macvlan_made = macvlan::create(&mut netlink, MACVLAN, index, macvlan::Mode::Bridge);
            let vlan_made = vlan::create(&mut netlink, VLAN, index, 10);
            (
                settle(&mut netlink, MACVLAN, macvlan_made),
                settle(&mut netlink, VLAN, vlan_made),
            )
        }
        Some(Err(error)) => return Err(error),
        None => (LinkOutcome::NoParent, LinkOutcome::NoParent),
    };
    Ok(LinkOutcomes {
        veth: settle(&mut netlink, VETH, veth_made),
        bridge: settle(&mut netlink, BRIDGE, bridge_made),
        macvlan,
        vlan,
    })
}

/// Turns a creation result into an outcome, deleting the link if it was made.
fn settle(netlink: &mut Netlink, name: &str, created: Result<(), rlxc_net::Error>) -> LinkOutcome {
    match created {
        Err(error) => LinkOutcome::Failed(error),
        Ok(()) => match link::delete(netlink, name) {
            Ok(()) => LinkOutcome::Created,
            Err(error) => LinkOutcome::NotDeleted(error),
        },
    }
}
