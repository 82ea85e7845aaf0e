//! `rlxc net start | stop | status`: the steps in order, and on a failed start every step
//! already done undone in reverse, so a refused start leaves nothing.

use std::path::Path;

use rlxc_net::Netlink;
use serde::Serialize;

use crate::bridge::{self, BridgeView, Removed};
use crate::doctor::{self, Finding, Subject};
use crate::leases::{self, Lease};
use crate::nft::{self, NatSpec};
use crate::settings::Settings;
use crate::state::{self, RunDir, State};
use crate::{dnsmasq, hosts, NetError};

/// The nftables table (family inet) of a bridge.
pub fn table_name(bridge: &str) -> String {
    format!("rlxc-{bridge}")
}

/// What `start` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    /// USE_LXC_BRIDGE is false.
    Disabled,
    AlreadyRunning,
    Started {
        dnsmasq_pid: i32,
    },
}

/// Brings the network up, with a static lease for each of `containers` (name and MAC of the
/// containers on this bridge). A second start of a healthy network changes nothing but the
/// leases; a network left half-made (dnsmasq died, the table was flushed) is taken down and
/// made again.
pub fn start(
    settings: &Settings,
    containers: &[(String, [u8; 6])],
) -> Result<(Started, Vec<Finding>), NetError> {
    if !settings.enabled {
        return Ok((Started::Disabled, Vec::new()));
    }
    let _lock = lock()?;
    let run = RunDir::of(&settings.bridge);
    let mut netlink = Netlink::open().map_err(NetError::link("opening rtnetlink"))?;
    if let Some(existing) = State::load(&run)? {
        if healthy(&mut netlink, &existing, &run)? {
            record_all(settings, containers)?;
            return Ok((Started::AlreadyRunning, findings(settings, &existing)));
        }
        stop_state(&mut netlink, &existing, &run)?;
    }
    dnsmasq::find().ok_or(NetError::DnsmasqMissing)?;
    let plan = bridge::check_free(&mut netlink, settings)?;

    let mut state = State {
        bridge: settings.bridge.clone(),
        table: table_name(&settings.bridge),
        ipv4: format!("{}/{}", settings.address, settings.network.prefix),
        ipv6: settings
            .ipv6
            .as_ref()
            .map(|ipv6| format!("{}/{}", ipv6.address, ipv6.network.prefix)),
        dnsmasq_pid: None,
        settings: settings.source.clone(),
        pool: Some(hosts::Pool::of(settings)),
    };
    state::make_dir(&run.dir)?;
    let made = (|| {
        // Saved before anything is made: a start killed half-way leaves a state that the
        // next start or stop cleans up.
        state.save(&run)?;
        record_all(settings, containers)?;
        bridge::create(&mut netlink, settings, plan)?;
        nft::install(&NatSpec {
            table: &state.table,
            bridge: &settings.bridge,
            ipv4: (settings.network.address, settings.network.prefix),
            ipv6: settings
                .ipv6
                .as_ref()
                .filter(|ipv6| ipv6.nat)
                .map(|ipv6| (ipv6.network.address, ipv6.network.prefix)),
        })?;
        let pid = dnsmasq::start(settings, &run)?;
        state.dnsmasq_pid = Some(pid);
        state.save(&run)?;
        Ok(pid)
    })();
    match made {
        Ok(pid) => Ok((
            Started::Started { dnsmasq_pid: pid },
            findings(settings, &state),
        )),
        Err(error) => {
            // The error that stopped the start is the one to report; the undo is best effort.
            let _ = stop_state(&mut netlink, &state, &run);
            Err(error)
        }
    }
}

/// One start or stop at a time (a service and an admin may race): an exclusive flock on the
/// run root, which stays (an empty directory on /run, as /run/rlxc does). Waiting for it
/// ends on a signal like any blocking call.
fn lock() -> Result<std::fs::File, NetError> {
    let root = state::run_root();
    state::make_dir(&root)?;
    let dir = std::fs::File::open(&root).map_err(NetError::io("opening", &root))?;
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|errno| NetError::io("locking", &root)(errno.into()))?;
    Ok(dir)
}

fn record_all(settings: &Settings, containers: &[(String, [u8; 6])]) -> Result<(), NetError> {
    let dir = hosts::dir(&settings.bridge);
    state::make_dir(&dir)?;
    let pool = hosts::Pool::of(settings);
    for (name, mac) in containers {
        hosts::record(&settings.bridge, &pool, name, *mac)?;
    }
    Ok(())
}

fn findings(settings: &Settings, state: &State) -> Vec<Finding> {
    doctor::examine(&Subject {
        bridge: &settings.bridge,
        table: &state.table,
        address: settings.address,
        dnsmasq_pid: state.dnsmasq_pid,
        running: true,
        ipv6_nat: settings.ipv6.as_ref().is_some_and(|ipv6| ipv6.nat),
    })
}

/// Everything the state names is in place: bridge up, dnsmasq ours and alive, NAT table.
fn healthy(netlink: &mut Netlink, state: &State, run: &RunDir) -> Result<bool, NetError> {
    let bridge_up = bridge::view(netlink, &state.bridge)?.is_some_and(|view| view.up);
    let dnsmasq_alive = state
        .dnsmasq_pid
        .is_some_and(|pid| dnsmasq::is_running(pid, run));
    let nat = !state.table.is_empty() && nft::inspect(&state.table)?.is_some();
    Ok(bridge_up && dnsmasq_alive && nat)
}

/// What `stop` did with one network.
#[derive(Debug, PartialEq, Eq)]
pub struct Stopped {
    pub bridge: String,
    pub removed: Removed,
}

/// Takes down every network `rlxc net start` made (each bridge with a run directory):
/// dnsmasq, the NAT table, the bridge (unless containers are still on it), the run
/// directory with the leases. What the state files say was made is undone, whatever the
/// settings file says now (it may have been edited, or broken, since the start).
pub fn stop() -> Result<Vec<Stopped>, NetError> {
    let _lock = lock()?;
    let root = state::run_root();
    let mut bridges: Vec<String> = std::fs::read_dir(&root)
        .map_err(NetError::io("reading", &root))?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    bridges.sort();
    let mut netlink = Netlink::open().map_err(NetError::link("opening rtnetlink"))?;
    let mut stopped = Vec::new();
    for bridge in bridges {
        let run = RunDir::of(&bridge);
        let mut state = State::load(&run)?.unwrap_or_default();
        if state.bridge.is_empty() {
            // A start killed before its state was written, or a torn file: the directory
            // names the bridge (deleted only if it carries our mark).
            state.bridge = bridge.clone();
            state.table = table_name(&bridge);
        }
        let removed = stop_state(&mut netlink, &state, &run)?;
        stopped.push(Stopped { bridge, removed });
    }
    Ok(stopped)
}

fn stop_state(netlink: &mut Netlink, state: &State, run: &RunDir) -> Result<Removed, NetError> {
    let pid = state
        .dnsmasq_pid
        .or_else(|| dnsmasq::read_pid(&run.pid_file()));
    if let Some(pid) = pid {
        if !dnsmasq::stop(pid, run) {
            // Its run directory is kept, so that the next stop finds it again.
            return Err(NetError::DnsmasqStuck { pid });
        }
    }
    if !state.table.is_empty() {
        nft::remove(&state.table)?;
    }
    let removed = if state.bridge.is_empty() {
        Removed::Absent
    } else {
        bridge::remove(netlink, &state.bridge)?
    };
    state::remove_dir(&run.dir)?;
    Ok(removed)
}

/// `rlxc net status`, also as JSON.
#[derive(Debug, Serialize)]
pub struct Status {
    pub bridge: String,
    pub running: bool,
    pub settings: Option<String>,
    pub link: Option<BridgeView>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub dnsmasq_pid: Option<i32>,
    pub nat: Option<NatStatus>,
    pub leases: Vec<Lease>,
    pub problems: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct NatStatus {
    pub table: String,
    pub ipv4: bool,
    pub ipv6: bool,
    pub packets: u64,
}

pub fn status(settings: &Settings) -> Result<Status, NetError> {
    let run = RunDir::of(&settings.bridge);
    let state = State::load(&run)?;
    let mut netlink = Netlink::open().map_err(NetError::link("opening rtnetlink"))?;
    let link = bridge::view(&mut netlink, &settings.bridge)?;
    let table = state
        .as_ref()
        .map_or_else(|| table_name(&settings.bridge), |s| s.table.clone());
    let nat = nft::inspect(&table)?.map(|nat| NatStatus {
        table: table.clone(),
        ipv4: nat.masquerades_ipv4,
        ipv6: nat.masquerades_ipv6,
        packets: nat.packets,
    });
    let dnsmasq_pid = state
        .as_ref()
        .and_then(|s| s.dnsmasq_pid)
        .filter(|pid| dnsmasq::is_running(*pid, &run));
    let leases = read_leases(&run.leases());
    let running = state.is_some() && link.is_some() && dnsmasq_pid.is_some() && nat.is_some();
    let mut problems = doctor::examine(&Subject {
        bridge: &settings.bridge,
        table: &table,
        address: settings.address,
        dnsmasq_pid,
        running,
        ipv6_nat: settings.ipv6.as_ref().is_some_and(|ipv6| ipv6.nat),
    });
    if state.is_some() && !running {
        problems.insert(
            0,
            Finding {
                problem: format!(
                    "the network of {} is half up: bridge {}, dnsmasq {}, NAT {}",
                    settings.bridge,
                    if link.is_some() { "present" } else { "missing" },
                    if dnsmasq_pid.is_some() {
                        "running"
                    } else {
                        "not running"
                    },
                    if nat.is_some() { "in place" } else { "missing" },
                ),
                fix: "rlxc net start (it makes the missing parts again)".into(),
            },
        );
    }
    Ok(Status {
        bridge: settings.bridge.clone(),
        running,
        settings: settings.source.as_ref().map(|p| p.display().to_string()),
        link,
        ipv4: state.as_ref().map(|s| s.ipv4.clone()),
        ipv6: state.as_ref().and_then(|s| s.ipv6.clone()),
        dnsmasq_pid,
        nat,
        leases,
        problems,
    })
}

fn read_leases(path: &Path) -> Vec<Lease> {
    std::fs::read_to_string(path)
        .map(|text| leases::parse(&text))
        .unwrap_or_default()
}
