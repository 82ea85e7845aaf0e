//! The test host of `rlxc net`: a "host" network namespace running the bridge, dnsmasq and
//! the NAT, joined by a veth pair to an "outside" namespace with no route back to the
//! containers' network.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{assert_ok, TestNetns, World};

/// The "outside" address, beyond the host's uplink.
pub const OUTSIDE: &str = "10.99.0.2";

/// A host namespace with an uplink to an outside namespace, the settings file of `rlxc net`
/// and its run directory in the world's; `net stop` (and a kill of dnsmasq) when dropped, so
/// no dnsmasq outlives the test and keeps its namespace alive.
pub struct Host {
    pub world: World,
    pub netns: TestNetns,
    _outside: TestNetns,
    pub settings: PathBuf,
    pub run_dir: PathBuf,
}

impl Host {
    pub fn new(settings: &str) -> Host {
        let netns = TestNetns::new();
        let outside = TestNetns::new();
        let world = World::in_netns(&netns);
        netns.ip(&["link", "add", "up0", "type", "veth", "peer", "name", "out0"]);
        netns.ip(&[
            "link",
            "set",
            "out0",
            "netns",
            &format!("/run/netns/{}", outside.name),
        ]);
        netns.ip(&["addr", "add", "10.99.0.1/24", "dev", "up0"]);
        netns.ip(&["link", "set", "up0", "up"]);
        outside.ip(&["addr", "add", &format!("{OUTSIDE}/24"), "dev", "out0"]);
        outside.ip(&["link", "set", "out0", "up"]);
        let settings_path = world.dir.path().join("rlxc-net");
        std::fs::write(&settings_path, settings).expect("settings");
        let run_dir = world.dir.path().join("net-run");
        Host {
            world,
            netns,
            _outside: outside,
            settings: settings_path,
            run_dir,
        }
    }

    /// `rlxc net ARGS --settings FILE` in the host namespace.
    pub fn net(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["net"];
        all.extend_from_slice(args);
        self.world
            .rlxc(&all)
            .arg("--settings")
            .arg(&self.settings)
            .env("RLXC_NET_RUN_DIR", &self.run_dir)
            .output()
            .expect("rlxc net")
    }

    pub fn status(&self) -> serde_json::Value {
        let output = self.net(&["status", "--json"]);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "status --json: {error}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    /// `nft ARGS` in the host namespace (the oracle: rlxc itself speaks netlink).
    pub fn nft(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns.name))
            .arg("nft")
            .args(args)
            .output()
            .expect("nft");
        assert_ok(&output, &format!("nft {args:?}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A busybox container on `bridge` with a fixed MAC, made from a default config as
    /// `create` copies it (lxc.default_config of a system config).
    pub fn busybox_on(&self, base: &str, bridge: &str, mac: &str) -> String {
        let name = self.world.name(base);
        self.busybox_named(&name, bridge, mac);
        name
    }

    /// [`Self::busybox_on`] with the name given (made by `World::name`).
    pub fn busybox_named(&self, name: &str, bridge: &str, mac: &str) {
        let default_conf = self.world.dir.path().join("default.conf");
        std::fs::write(
            &default_conf,
            format!(
                "lxc.net.0.type = veth\nlxc.net.0.link = {bridge}\nlxc.net.0.flags = up\n\
                 lxc.net.0.hwaddr = {mac}\n"
            ),
        )
        .expect("default.conf");
        let system_conf = self.world.dir.path().join("rlxc.conf");
        std::fs::write(
            &system_conf,
            format!("lxc.default_config = {}\n", default_conf.display()),
        )
        .expect("rlxc.conf");
        let output = self
            .world
            .rlxc(&["create", "-n", name, "-t", "busybox"])
            .env("RLXC_CONF", &system_conf)
            .env("RLXC_NET_RUN_DIR", &self.run_dir)
            .output()
            .expect("create");
        assert_ok(&output, "create");
    }

    /// Waits until the container's eth0 has an IPv4 address (its DHCP lease); returns it.
    pub fn lease_of(&self, name: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let output = self.world.sh(name, "ip -4 -o addr show dev eth0");
            let text = String::from_utf8_lossy(&output.stdout);
            if let Some(address) = text
                .split_whitespace()
                .skip_while(|word| *word != "inet")
                .nth(1)
            {
                return address.split('/').next().unwrap_or(address).to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{name} got no lease: {text}; net status: {}",
                String::from_utf8_lossy(&self.net(&["status"]).stdout)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn ping_from(&self, name: &str, address: &str) -> std::process::Output {
        self.world.sh(name, &format!("ping -c 1 -W 3 {address}"))
    }
}

impl Host {
    /// What a refused start must not leave: the bridge (unless it was there before), the
    /// table, the run directory, dnsmasq.
    pub fn assert_nothing_made(&self, bridge_was_there: bool) {
        assert_eq!(
            self.netns.links().contains(&"tbr0".to_owned()),
            bridge_was_there
        );
        assert!(!self.nft(&["list", "ruleset"]).contains("rlxc-"));
        assert!(!self.run_dir.join("tbr0").exists(), "run directory left");
        assert_eq!(self.dnsmasq_pids(), Vec::<i32>::new(), "dnsmasq left");
    }

    /// The dnsmasq processes whose pid file is in this test's run directory.
    pub fn dnsmasq_pids(&self) -> Vec<i32> {
        let ours = format!("--pid-file={}/", self.run_dir.display());
        std::fs::read_dir("/proc")
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|pid| {
                        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                            cmdline
                                .split(|byte| *byte == 0)
                                .any(|arg| arg.starts_with(ours.as_bytes()))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        for name in self.world.names.borrow().iter() {
            let _ = self.world.rlxc(&["stop", "-n", name, "-k"]).output();
        }
        let _ = self.net(&["stop"]);
        // Any dnsmasq of this test's run directory a failed stop left would keep the
        // namespace alive: found by its command line, killed.
        for pid in self.dnsmasq_pids() {
            // SAFETY: kill(2) of a dnsmasq whose pid file is in this test's directory.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}
