//! `rlxc net start | stop | status` (LXC's lxc-net): inside network namespaces the tests
//! make. The "host" namespace runs the bridge, dnsmasq and the NAT; a second namespace plays
//! the world beyond the host, joined to it by a veth pair, with no route back to the
//! containers' network, so only a masqueraded packet can get an answer from it.

#[path = "host_network/host.rs"]
mod host;
mod support;

use std::time::{Duration, Instant};

use host::{Host, OUTSIDE};
use support::assert_ok;

const SETTINGS: &str = "USE_LXC_BRIDGE=\"true\"\nLXC_BRIDGE=\"tbr0\"\nLXC_ADDR=\"10.0.4.1\"\n";

#[test]
fn a_busybox_container_gets_a_lease_reaches_the_host_and_the_outside_through_nat() {
    let host = Host::new(SETTINGS);
    let started = host.net(&["start"]);
    assert_ok(&started, "net start");
    let said = String::from_utf8_lossy(&started.stdout);
    assert!(said.starts_with("tbr0 is up: 10.0.4.1/24 and fd"), "{said}");

    let name = host.busybox_on("lease", "tbr0", "00:16:3e:12:34:56");
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "start");
    let address = host.lease_of(&name);
    assert!(address.starts_with("10.0.4."), "{address}");

    // status shows the lease (name, MAC, address) and the NAT in place.
    let status = host.status();
    assert_eq!(status["running"], true, "{status}");
    let lease = status["leases"]
        .as_array()
        .and_then(|leases| leases.iter().find(|l| l["mac"] == "00:16:3e:12:34:56"))
        .unwrap_or_else(|| panic!("no lease for the MAC: {status}"));
    assert_eq!(lease["address"], address.as_str(), "{status}");
    assert_eq!(lease["name"], name.as_str(), "{status}");
    assert_eq!(status["nat"]["ipv4"], true, "{status}");
    let human = String::from_utf8_lossy(&host.net(&["status"]).stdout).into_owned();
    assert!(human.contains(&address) && human.contains(&name), "{human}");

    // `ls -f` and `info -i` show it.
    let listed = host.world.output(&["ls", "-f"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&address));
    let info = host.world.output(&["info", "-n", &name, "-i"]);
    assert!(String::from_utf8_lossy(&info.stdout).contains(&address));

    // The bridge, then the outside: it has no route back to 10.0.4.0/24, so its answer
    // arrives only because the host masqueraded the request.
    assert_ok(&host.ping_from(&name, "10.0.4.1"), "ping the bridge");
    assert_ok(&host.ping_from(&name, OUTSIDE), "ping beyond the host");
    let packets = host.status()["nat"]["packets"].as_u64().unwrap_or(0);
    assert!(packets > 0, "the masquerade rule counted no packet");

    // The name resolves through dnsmasq, the DNS server the lease named (resolv.conf).
    let resolv = host.world.sh(&name, "cat /etc/resolv.conf");
    assert!(
        String::from_utf8_lossy(&resolv.stdout).contains("nameserver 10.0.4.1"),
        "{}",
        String::from_utf8_lossy(&resolv.stdout)
    );
    let lookup = host.world.sh(&name, &format!("nslookup {name}"));
    assert!(
        String::from_utf8_lossy(&lookup.stdout).contains(&address),
        "{}",
        String::from_utf8_lossy(&lookup.stdout)
    );

    // IPv6: the router advertisements of the bridge's ULA prefix give eth0 an address in it.
    let ipv6 = status["ipv6"]
        .as_str()
        .expect("the bridge's IPv6 address")
        .to_owned();
    let prefix = format!("{}:0:", ipv6.split("::").next().unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = host.world.sh(&name, "ip -6 -o addr show dev eth0");
        let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
        if shown.contains(&prefix) {
            break;
        }
        assert!(Instant::now() < deadline, "no address in {prefix}: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A restart keeps the address (same MAC, same lease).
    assert_ok(&host.world.output(&["stop", "-n", &name]), "stop");
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "restart");
    assert_eq!(host.lease_of(&name), address);
}

#[test]
fn start_is_idempotent_and_stop_removes_everything_but_other_tables() {
    let host = Host::new(SETTINGS);
    host.nft(&["add", "table", "ip", "keepme"]);
    host.nft(&[
        "add",
        "chain",
        "ip",
        "keepme",
        "post",
        "{ type nat hook postrouting priority 50 ; }",
    ]);
    host.nft(&[
        "add",
        "rule",
        "ip",
        "keepme",
        "post",
        "ip",
        "saddr",
        "10.5.0.0/16",
        "counter",
    ]);
    let keepme = host.nft(&["list", "table", "ip", "keepme"]);

    assert_ok(&host.net(&["start"]), "net start");
    let first = host.status();
    let pid = first["dnsmasq_pid"].as_i64().expect("dnsmasq pid");
    let again = host.net(&["start"]);
    assert_ok(&again, "second start");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "tbr0 is up already\n"
    );
    assert_eq!(host.status()["dnsmasq_pid"].as_i64(), Some(pid));
    let ruleset = host.nft(&["list", "ruleset"]);
    assert_eq!(
        ruleset.matches("table inet rlxc-tbr0").count(),
        1,
        "{ruleset}"
    );
    assert_eq!(ruleset.matches("masquerade").count(), 1, "{ruleset}");

    let stopped = host.net(&["stop"]);
    assert_ok(&stopped, "net stop");
    assert_eq!(String::from_utf8_lossy(&stopped.stdout), "tbr0 is down\n");
    assert!(!host.netns.links().contains(&"tbr0".to_owned()));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat.contains(") Z")),
        "dnsmasq {pid} still runs"
    );
    let ruleset = host.nft(&["list", "ruleset"]);
    assert!(!ruleset.contains("rlxc-tbr0"), "{ruleset}");
    assert_eq!(host.nft(&["list", "table", "ip", "keepme"]), keepme);
    assert!(
        !host.run_dir.join("tbr0").exists(),
        "run directory (leases) left"
    );
    let status = host.net(&["status"]);
    assert_eq!(status.status.code(), Some(3), "status of a stopped network");
    assert_eq!(
        String::from_utf8_lossy(&host.net(&["stop"]).stdout),
        "no network of rlxc net is up\n"
    );
}

/// `stop` undoes what the start recorded: a settings file edited to another bridge, or
/// broken, since the start does not keep the network up.
#[test]
fn stop_undoes_what_start_made_whatever_the_settings_say_now() {
    let host = Host::new(SETTINGS);
    assert_ok(&host.net(&["start"]), "net start");
    std::fs::write(&host.settings, "LXC_BRIDGE=tbr9\nLXC_BRDIGE=typo\n").expect("settings");
    let stopped = host.net(&["stop"]);
    assert_ok(&stopped, "net stop with broken settings");
    assert_eq!(String::from_utf8_lossy(&stopped.stdout), "tbr0 is down\n");
    assert!(!host.netns.links().contains(&"tbr0".to_owned()));
    assert_eq!(host.dnsmasq_pids(), Vec::<i32>::new());
    assert!(!host.nft(&["list", "ruleset"]).contains("rlxc-tbr0"));
}

#[test]
fn a_bridge_kept_for_its_containers_is_taken_up_again_by_the_next_start() {
    let host = Host::new(SETTINGS);
    assert_ok(&host.net(&["start"]), "net start");
    let name = host.busybox_on("kept", "tbr0", "00:16:3e:12:34:57");
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "start");
    let address = host.lease_of(&name);
    let stopped = host.net(&["stop"]);
    assert_ok(&stopped, "net stop");
    let warning = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        warning.contains("warning: tbr0 stays, for the links still on it"),
        "{warning}"
    );
    assert_ok(&host.net(&["start"]), "start with the kept bridge");
    assert_ok(&host.ping_from(&name, "10.0.4.1"), "ping the bridge");
    assert_eq!(host.lease_of(&name), address);
}

#[test]
fn bad_input_is_refused_with_the_fix_and_nothing_made() {
    // A bridge of someone else's with that name.
    let host = Host::new(SETTINGS);
    host.netns.ip(&["link", "add", "tbr0", "type", "bridge"]);
    let refused = host.net(&["start"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("a link named tbr0 exists and rlxc net did not make it")
            && message.contains("set LXC_BRIDGE in"),
        "{message}"
    );
    host.assert_nothing_made(true);

    // A subnet that overlaps the uplink's.
    let host = Host::new("LXC_BRIDGE=tbr0\nLXC_ADDR=10.99.0.200\n");
    let refused = host.net(&["start"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("10.99.0.0/24 overlaps 10.99.0.1/24 on up0: pick another LXC_ADDR"),
        "{message}"
    );
    host.assert_nothing_made(false);

    // No dnsmasq.
    let host = Host::new(SETTINGS);
    let refused = host
        .world
        .rlxc(&["net", "start", "--settings"])
        .arg(&host.settings)
        .env("RLXC_NET_RUN_DIR", &host.run_dir)
        .env("RLXC_DNSMASQ", "/nonexistent/dnsmasq")
        .output()
        .expect("net start");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("install dnsmasq-base"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    host.assert_nothing_made(false);

    // A settings file with a typo: its line and the key it meant.
    let host = Host::new("USE_LXC_BRIDGE=true\nLXC_BRDIGE=tbr0\n");
    let refused = host.net(&["start"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains(&format!(
            "{}:2: unknown key `LXC_BRDIGE` (did you mean LXC_BRIDGE?)",
            host.settings.display()
        )),
        "{message}"
    );
}

#[test]
fn a_dhcp_port_held_by_another_server_is_named_by_start_and_status() {
    let host = Host::new(SETTINGS);
    // A DHCP server's socket without SO_REUSEADDR on every address, as a foreign DHCP
    // server holds it.
    let mut holder = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", host.netns.name))
        .args([
            "python3",
            "-c",
            "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
             s.bind(('0.0.0.0', 67)); print('bound', flush=True); time.sleep(120)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("read");
    assert_eq!(line, "bound\n");
    let refused = host.net(&["start"]);
    let message = String::from_utf8_lossy(&refused.stderr).into_owned();
    let status = String::from_utf8_lossy(&host.net(&["status"]).stdout).into_owned();
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!refused.status.success(), "{message}");
    assert!(
        message.contains("dnsmasq did not start") && message.contains("Address already in use"),
        "{message}"
    );
    host.assert_nothing_made(false);
    assert!(
        status.contains(&format!(
            "python3 (pid {}) holds UDP port 67 on 0.0.0.0",
            holder.id()
        )),
        "{status}"
    );
}

#[test]
fn the_openrc_service_starts_reports_and_stops_the_network() {
    let host = Host::new(SETTINGS);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contrib/openrc/rlxc-net");
    // OpenRC's helpers as stubs that print what they get; the script runs under sh, in the
    // host namespace, with rlxc for real.
    let service = |function: &str| {
        let body = format!(
            "ebegin() {{ echo \"ebegin $*\"; }}\neend() {{ echo \"eend $1\"; return \"$1\"; }}\n\
             need() {{ echo \"need $*\"; }}\nafter() {{ echo \"after $*\"; }}\n\
             before() {{ echo \"before $*\"; }}\nRLXC={}\n. {script}\n{function}",
            support::RLXC
        );
        let output = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", host.netns.name))
            .args(["sh", "-c", &body])
            .env("RLXC_NET_SETTINGS", &host.settings)
            .env("RLXC_NET_RUN_DIR", &host.run_dir)
            .output()
            .expect("sh");
        (
            output.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let (code, text) = service("depend");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("need net") && text.contains("before rlxc"),
        "{text}"
    );
    let (code, text) = service("start");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("tbr0 is up") && text.contains("eend 0"),
        "{text}"
    );
    let (code, text) = service("status");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("state:    up"), "{text}");
    let (code, text) = service("stop");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("tbr0 is down"), "{text}");
    let (code, text) = service("status");
    assert_eq!(code, Some(3), "{text}");
    assert!(!host.netns.links().contains(&"tbr0".to_owned()));
}

/// A Debian 12 guest (systemd-networkd asking for DHCP on eth0, as an admin sets it up) on the
/// bridge gets a lease, learns the bridge as its DNS server, and resolves a busybox container
/// by name; the busybox container resolves the guest's name (networkd sends it).
#[test]
fn a_debian_guest_gets_a_lease_and_resolves_another_container_by_name() {
    use support::guest::{attach_ok, wait_until_booted, Guest};

    let host = Host::new(SETTINGS);
    assert_ok(&host.net(&["start"]), "net start");
    let busybox = host.busybox_on("dns-bb", "tbr0", "00:16:3e:12:34:58");
    assert_ok(
        &host.world.output(&["start", "-n", &busybox, "-d"]),
        "start busybox",
    );

    let guest = Guest::Systemd.overlay();
    let etc = guest.rootfs().join("etc");
    guest.use_networkd("DHCP=ipv4\n");
    let debian = guest.container(
        &host.world,
        "dns-deb",
        "lxc.net.0.type = veth\nlxc.net.0.link = tbr0\nlxc.net.0.flags = up\n\
         lxc.net.0.name = eth0\nlxc.net.0.hwaddr = 00:16:3e:12:34:59\n",
    );
    // As LXC's templates do: systemd sets the hostname from this file (the cached guest
    // holds the build machine's).
    std::fs::write(etc.join("hostname"), format!("{debian}\n")).expect("hostname");
    assert_ok(
        &host.world.output(&["start", "-n", &debian, "-d"]),
        "start guest",
    );
    wait_until_booted(&host.world, &debian);
    let debian_address = host.lease_of(&debian);
    let busybox_address = host.lease_of(&busybox);

    // networkd learned the bridge as DNS server from the lease; the guest's resolver is
    // pointed there (without systemd-resolved, networkd does not write resolv.conf).
    let link = attach_ok(&host.world, &debian, "networkctl status eth0 --no-pager");
    assert!(link.contains("10.0.4.1"), "{link}");
    attach_ok(
        &host.world,
        &debian,
        "echo nameserver 10.0.4.1 > /etc/resolv.conf",
    );
    let resolved = attach_ok(&host.world, &debian, &format!("getent ahostsv4 {busybox}"));
    assert!(resolved.starts_with(&busybox_address), "{resolved}");
    let lookup = host
        .world
        .sh(&busybox, &format!("nslookup {debian} 10.0.4.1"));
    assert!(
        String::from_utf8_lossy(&lookup.stdout).contains(&debian_address),
        "{}\n{}",
        String::from_utf8_lossy(&lookup.stdout),
        String::from_utf8_lossy(&host.net(&["status"]).stdout)
    );
    assert_ok(
        &host.ping_from(&busybox, &debian_address),
        "busybox to guest",
    );
    assert_ok(
        &host.world.output(&["stop", "-n", &debian, "-t", "30"]),
        "graceful stop of the guest",
    );
}

/// The first-day failure "the container has no network": a FORWARD chain with a drop policy
/// (what Docker or ufw leave) and forwarding turned off. `start` warns, `status` lists both
/// with the fix, the fix it names works, and the warning goes with it.
#[test]
fn the_doctor_names_a_forward_drop_policy_and_forwarding_turned_off() {
    let host = Host::new(SETTINGS);
    host.nft(&["add", "table", "ip", "filter"]);
    host.nft(&[
        "add",
        "chain",
        "ip",
        "filter",
        "FORWARD",
        "{ type filter hook forward priority 0 ; policy drop ; }",
    ]);
    let started = host.net(&["start"]);
    assert_ok(&started, "net start");
    let warning = String::from_utf8_lossy(&started.stderr);
    assert!(
        warning.contains("warning: table ip filter chain FORWARD drops forwarded packets")
            && warning.contains("fix: accept the bridge's traffic in that chain"),
        "{warning}"
    );
    let name = host.busybox_on("doctor", "tbr0", "00:16:3e:12:34:5a");
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "start");
    host.lease_of(&name);
    assert!(
        !host.ping_from(&name, OUTSIDE).status.success(),
        "the drop policy let the ping through"
    );

    // The fix the doctor names.
    for direction in ["iifname", "oifname"] {
        host.nft(&[
            "insert", "rule", "ip", "filter", "FORWARD", direction, "tbr0", "accept",
        ]);
    }
    assert_ok(&host.ping_from(&name, OUTSIDE), "ping after the fix");
    let status = host.status();
    assert_eq!(status["problems"], serde_json::json!([]), "{status}");

    // Forwarding turned off behind rlxc's back.
    let off = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", host.netns.name))
        .args(["sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward"])
        .status()
        .expect("sh");
    assert!(off.success());
    let text = String::from_utf8_lossy(&host.net(&["status"]).stdout).into_owned();
    assert!(
        text.contains("IPv4 forwarding is off") && text.contains("sysctl -w net.ipv4.ip_forward=1"),
        "{text}"
    );
    assert!(!host.ping_from(&name, OUTSIDE).status.success());
}

/// Starts racing each other (a service and an admin): one makes the network, the others find
/// it up; one dnsmasq, one table.
#[test]
fn concurrent_starts_make_one_network() {
    let host = Host::new(SETTINGS);
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new("nsenter")
                .arg(format!("--net=/run/netns/{}", host.netns.name))
                .arg(support::RLXC)
                .args(["net", "start", "--settings"])
                .arg(&host.settings)
                .env("RLXC_NET_RUN_DIR", &host.run_dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("net start")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert_ok(&output, "one of the concurrent starts");
    }
    let ours = host.dnsmasq_pids().len();
    assert_eq!(ours, 1, "dnsmasq processes of this network");
    let ruleset = host.nft(&["list", "ruleset"]);
    assert_eq!(
        ruleset.matches("table inet rlxc-tbr0").count(),
        1,
        "{ruleset}"
    );
}

/// LXC_IPV6_NAT: the ip6 masquerade is in the table, and the doctor says that IPv6
/// forwarding (off in a new namespace, and not turned on by rlxc) must be on.
#[test]
fn ipv6_nat_is_masqueraded_and_needs_ipv6_forwarding() {
    let host = Host::new(&format!("{SETTINGS}LXC_IPV6_NAT=true\n"));
    let started = host.net(&["start"]);
    assert_ok(&started, "net start");
    let warning = String::from_utf8_lossy(&started.stderr);
    assert!(
        warning.contains("LXC_IPV6_NAT is true but IPv6 forwarding is off")
            && warning.contains("sysctl -w net.ipv6.conf.all.forwarding=1"),
        "{warning}"
    );
    let status = host.status();
    assert_eq!(status["nat"]["ipv6"], true, "{status}");
    let table = host.nft(&["list", "table", "inet", "rlxc-tbr0"]);
    assert!(
        table.contains("ip6 saddr fd") && table.contains("masquerade"),
        "{table}"
    );
}

/// Two networks side by side (as rlxc's next to lxc-net's or libvirt's dnsmasq): the first's
/// DHCP socket is no conflict for the second, both run, and one stop takes both down.
#[test]
fn a_second_network_beside_a_first_is_no_conflict() {
    let host = Host::new(SETTINGS);
    assert_ok(&host.net(&["start"]), "first network");
    let second = host.world.dir.path().join("rlxc-net-2");
    std::fs::write(&second, "LXC_BRIDGE=tbr1\nLXC_ADDR=10.0.5.1\n").expect("settings");
    let with_second = |args: &[&str]| {
        host.world
            .rlxc(&[&["net"], args].concat())
            .arg("--settings")
            .arg(&second)
            .env("RLXC_NET_RUN_DIR", &host.run_dir)
            .output()
            .expect("rlxc net")
    };
    let status = String::from_utf8_lossy(&with_second(&["status"]).stdout).into_owned();
    assert!(status.contains("problems: none found"), "{status}");
    assert_ok(&with_second(&["start"]), "second network");
    assert_eq!(host.dnsmasq_pids().len(), 2);
    let stopped = host.net(&["stop"]);
    assert_eq!(
        String::from_utf8_lossy(&stopped.stdout),
        "tbr0 is down\ntbr1 is down\n"
    );
    assert_eq!(host.dnsmasq_pids(), Vec::<i32>::new());
}

/// A namespace without IPv6: the default settings give an IPv4-only network (LXC's default);
/// IPv6 settings written out fail once the bridge exists, and that start leaves nothing.
#[test]
fn without_ipv6_the_default_is_ipv4_only_and_a_failed_start_leaves_nothing() {
    let host = Host::new(SETTINGS);
    let disabled = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", host.netns.name))
        .args([
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && \
             echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ])
        .status()
        .expect("sh");
    assert!(disabled.success());
    assert_ok(&host.net(&["start"]), "IPv4-only start");
    assert_eq!(host.status()["ipv6"], serde_json::Value::Null);
    assert_ok(&host.net(&["stop"]), "stop");

    std::fs::write(
        &host.settings,
        format!(
            "{SETTINGS}LXC_IPV6_ADDR=fd00:4::1\nLXC_IPV6_MASK=64\nLXC_IPV6_NETWORK=fd00:4::/64\n"
        ),
    )
    .expect("settings");
    let refused = host.net(&["start"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("fd00:4::1"), "{message}");
    assert!(
        !host.netns.links().contains(&"tbr0".to_owned()),
        "bridge left"
    );
    assert!(!host.run_dir.join("tbr0").exists(), "run directory left");
    assert_eq!(host.dnsmasq_pids(), Vec::<i32>::new());
}
