//! dnsmasq on the bridge, started as lxc-net starts it: DHCPv4, router advertisements and
//! stateless DHCPv6 on the ULA prefix, DNS for the containers' names; hermetic (its own
//! `--conf-file`, `/dev/null` unless LXC_DHCP_CONFILE names one), bound to the bridge only.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::settings::Settings;
use crate::state::RunDir;
use crate::NetError;

/// The dnsmasq binary: `RLXC_DNSMASQ` when set, else PATH, then where Debian puts it (root's
/// PATH under some sudo setups lacks /usr/sbin).
pub fn find() -> Option<PathBuf> {
    if let Some(chosen) = std::env::var_os("RLXC_DNSMASQ") {
        let chosen = PathBuf::from(chosen);
        return chosen.is_file().then_some(chosen);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
}

/// The user dnsmasq drops to: LXC's choice of names, the first that exists.
fn user() -> &'static str {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    ["lxc-dnsmasq", "dnsmasq"]
        .into_iter()
        .find(|name| {
            passwd
                .lines()
                .any(|line| line.split(':').next() == Some(name))
        })
        .unwrap_or("nobody")
}

/// dnsmasq's command line for `settings`, writing its pid and leases into `run`.
pub fn arguments(settings: &Settings, run: &RunDir, user: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut arg = |text: String| args.push(text.into());
    let confile = settings
        .dhcp_confile
        .clone()
        .unwrap_or_else(|| PathBuf::from("/dev/null"));
    arg(format!("--conf-file={}", confile.display()));
    if let Some(domain) = &settings.domain {
        arg(format!("--domain={domain}"));
        arg(format!("--local=/{domain}/"));
    }
    if !settings.dhcp_ping {
        arg("--no-ping".into());
    }
    arg(format!("--user={user}"));
    arg("--strict-order".into());
    arg("--bind-interfaces".into());
    arg(format!("--pid-file={}", run.pid_file().display()));
    arg(format!("--listen-address={}", settings.address));
    let (first, last) = settings.dhcp_range;
    match &settings.dhcp_lease_time {
        Some(time) => arg(format!("--dhcp-range={first},{last},{time}")),
        None => arg(format!("--dhcp-range={first},{last}")),
    }
    arg(format!("--dhcp-lease-max={}", settings.dhcp_max));
    arg("--dhcp-no-override".into());
    arg("--except-interface=lo".into());
    arg(format!("--interface={}", settings.bridge));
    arg(format!("--dhcp-leasefile={}", run.leases().display()));
    arg(format!("--dhcp-hostsdir={}", run.hosts().display()));
    arg("--dhcp-authoritative".into());
    if let Some(ipv6) = &settings.ipv6 {
        // SLAAC on the prefix, names and DNS servers by stateless DHCPv6.
        arg(format!("--listen-address={}", ipv6.address));
        arg(format!(
            "--dhcp-range={},ra-stateless,ra-names",
            ipv6.network.address
        ));
        arg("--enable-ra".into());
    }
    args
}

/// Starts dnsmasq and returns its pid once it runs: dnsmasq forks, and its first process
/// exits 0 only after the daemon has bound its sockets and written the pid file, or with an
/// error and a message on stderr.
pub fn start(settings: &Settings, run: &RunDir) -> Result<i32, NetError> {
    let binary = find().ok_or(NetError::DnsmasqMissing)?;
    let output = Command::new(&binary)
        .args(arguments(settings, run, user()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(NetError::io("running", &binary))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let text = text.trim();
        let hint = if text.contains("Address already in use") {
            "; another DNS or DHCP server holds the port on this address (`rlxc net status` \
             names it)"
        } else {
            ""
        };
        return Err(NetError::DnsmasqFailed {
            status: describe(output.status),
            output: text.replace("\ndnsmasq: ", "; ").to_owned(),
            hint: hint.to_owned(),
        });
    }
    read_pid(&run.pid_file()).ok_or_else(|| NetError::DnsmasqFailed {
        status: "exited 0".into(),
        output: format!("it wrote no pid to {}", run.pid_file().display()),
        hint: String::new(),
    })
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".into(),
    }
}

pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// True when `pid` is a dnsmasq whose command line names this pid file, so a reused pid
/// never gets our signal.
pub fn is_ours(pid: i32, run: &RunDir) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let wanted = format!("--pid-file={}", run.pid_file().display());
    cmdline
        .split(|byte| *byte == 0)
        .any(|arg| arg == wanted.as_bytes())
}

/// Ends our dnsmasq: SIGTERM, then SIGKILL after 2 s; true once it is gone or was never ours
/// (a pid reused by another process is left alone), false while it is still there after 5 s.
pub fn stop(pid: i32, run: &RunDir) -> bool {
    if !is_ours(pid, run) {
        return true;
    }
    signal(pid, rustix::process::Signal::TERM);
    let started = Instant::now();
    let mut killed = false;
    // Bounded: a process stuck in the kernel even after SIGKILL must not hang `stop`.
    while is_running(pid, run) && started.elapsed() < Duration::from_secs(5) {
        if !killed && started.elapsed() > Duration::from_secs(2) {
            signal(pid, rustix::process::Signal::KILL);
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    !is_running(pid, run)
}

/// Has our dnsmasq re-read its hosts and leases (SIGHUP).
pub fn reload(pid: i32, run: &RunDir) {
    if is_ours(pid, run) {
        signal(pid, rustix::process::Signal::HUP);
    }
}

fn signal(pid: i32, signal: rustix::process::Signal) {
    // Gone already is what is wanted.
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Running, and not a zombie waiting for a slow reaper (this host's PID 1 reaps late).
pub fn is_running(pid: i32, run: &RunDir) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let zombie = stat
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('Z'));
    !zombie && is_ours(pid, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_lxc_nets_with_the_ula_side() {
        let settings =
            crate::settings::load(Path::new("/nonexistent/rlxc-net"), false).expect("defaults");
        let run = RunDir {
            dir: PathBuf::from("/run/rlxc-net/rlxcbr0"),
        };
        let args: Vec<String> = arguments(&settings, &run, "dnsmasq")
            .into_iter()
            .map(|arg| arg.into_string().expect("utf-8"))
            .collect();
        let ipv6 = settings.ipv6.as_ref().expect("ULA");
        for expected in [
            "--conf-file=/dev/null".to_owned(),
            "--user=dnsmasq".to_owned(),
            "--bind-interfaces".to_owned(),
            "--interface=rlxcbr0".to_owned(),
            "--listen-address=10.0.4.1".to_owned(),
            "--dhcp-range=10.0.4.2,10.0.4.254".to_owned(),
            "--dhcp-lease-max=253".to_owned(),
            "--pid-file=/run/rlxc-net/rlxcbr0/dnsmasq.pid".to_owned(),
            "--dhcp-leasefile=/run/rlxc-net/rlxcbr0/dnsmasq.leases".to_owned(),
            "--dhcp-hostsdir=/run/rlxc-net/rlxcbr0/hosts".to_owned(),
            format!("--listen-address={}", ipv6.address),
            format!(
                "--dhcp-range={},ra-stateless,ra-names",
                ipv6.network.address
            ),
            "--enable-ra".to_owned(),
        ] {
            assert!(args.contains(&expected), "{expected} not in {args:?}");
        }
        assert!(!args.iter().any(|arg| arg.starts_with("--domain")));
    }
}
