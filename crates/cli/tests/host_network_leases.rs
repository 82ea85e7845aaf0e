//! Static leases of `rlxc net` (split from host_network.rs): one per container, stable across
//! restarts of the network, given up to the admin's own dnsmasq file.

// Shared with host_network.rs, which uses the rest of it.
#[allow(dead_code)]
#[path = "host_network/host.rs"]
mod host;
mod support;

use host::Host;
use support::assert_ok;

const SETTINGS: &str = "USE_LXC_BRIDGE=\"true\"\nLXC_BRIDGE=\"tbr0\"\nLXC_ADDR=\"10.0.4.1\"\n";

/// A name starting with `base` whose static lease would be `address` on `host`'s network.
fn colliding_name(host: &Host, base: &str, address: &str) -> String {
    let settings = rlxc_hostnet::settings::load(&host.settings, true).expect("settings");
    let wanted: std::net::Ipv4Addr = address.parse().expect("address");
    (0..100_000)
        .map(|i| format!("{base}-{i}"))
        .find(|name| {
            rlxc_hostnet::hosts::address_for(name, settings.dhcp_range, &[]) == Some(wanted)
        })
        .inspect(|name| host.world.names.borrow_mut().push(name.clone()))
        .expect("a colliding name")
}

/// A static lease per container: `create` on a running network writes `MAC,ADDRESS,NAME` for
/// dnsmasq, the container gets that address, and keeps it across a restart of the network;
/// one created while the network is down gets its entry at the next start; `destroy` takes
/// it away.
#[test]
fn each_container_has_a_static_lease_that_survives_a_network_restart() {
    let host = Host::new(SETTINGS);
    // Under a umask that would make the run directory root's alone: dnsmasq, dropped to its
    // own user, must still read the static leases.
    let started = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", host.netns.name))
        .args([
            "sh",
            "-c",
            "umask 077; exec \"$0\" net start --settings \"$1\"",
        ])
        .arg(support::RLXC)
        .arg(&host.settings)
        .env("RLXC_NET_RUN_DIR", &host.run_dir)
        .output()
        .expect("net start");
    assert_ok(&started, "net start under umask 077");
    let name = host.busybox_on("static", "tbr0", "00:16:3e:12:34:5b");
    let entry_path = host.run_dir.join("tbr0/hosts").join(&name);
    let entry = std::fs::read_to_string(&entry_path).expect("static lease written by create");
    let fields: Vec<&str> = entry.trim().split(',').collect();
    assert_eq!(fields.len(), 3, "{entry}");
    assert_eq!((fields[0], fields[2]), ("00:16:3e:12:34:5b", name.as_str()));
    let address = fields[1].to_owned();
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "start");
    assert_eq!(host.lease_of(&name), address);

    assert_ok(&host.world.output(&["stop", "-n", &name]), "stop");
    assert_ok(&host.net(&["stop"]), "net stop");
    // Made while the network is down, under a name sorting first whose hash lands on the
    // first one's address: the restart must still leave that address to the older container.
    let later = colliding_name(&host, &format!("a{}", host.world.name("later")), &address);
    host.busybox_named(&later, "tbr0", "00:16:3e:12:34:5c");
    assert_ok(&host.net(&["start"]), "net start again");
    assert_eq!(
        std::fs::read_to_string(&entry_path).expect("entry made again by net start"),
        entry
    );
    assert!(host.run_dir.join("tbr0/hosts").join(&later).is_file());
    assert_ok(
        &host.world.output(&["start", "-n", &name, "-d"]),
        "start again",
    );
    assert_eq!(
        host.lease_of(&name),
        address,
        "another address after the restart"
    );

    // A copy made while the network runs gets its own static lease (its new MAC, its name).
    let copy_name = host.world.name("static-copy");
    let copied = host
        .world
        .rlxc(&["copy", "-n", &name, "-N", &copy_name])
        .env("RLXC_NET_RUN_DIR", &host.run_dir)
        .output()
        .expect("copy");
    assert_ok(&copied, "copy");
    let copy_entry = std::fs::read_to_string(host.run_dir.join("tbr0/hosts").join(&copy_name))
        .expect("static lease written by copy");
    assert!(
        copy_entry.trim().ends_with(&format!(",{copy_name}")),
        "{copy_entry}"
    );
    assert!(
        !copy_entry.starts_with("00:16:3e:12:34:5b"),
        "the copy kept the MAC: {copy_entry}"
    );
    // So does a container restored from a snapshot under a new name (-r -N).
    let restored = host.world.name("static-restored");
    for args in [
        vec!["snapshot", "-n", name.as_str()],
        vec![
            "snapshot",
            "-n",
            name.as_str(),
            "-r",
            "snap0",
            "-N",
            restored.as_str(),
        ],
    ] {
        let output = host
            .world
            .rlxc(&args)
            .env("RLXC_NET_RUN_DIR", &host.run_dir)
            .output()
            .expect("snapshot");
        assert_ok(&output, &args.join(" "));
    }
    let restored_entry = std::fs::read_to_string(host.run_dir.join("tbr0/hosts").join(&restored))
        .expect("static lease written by snapshot -r -N");
    assert!(
        restored_entry.trim().ends_with(&format!(",{restored}")),
        "{restored_entry}"
    );

    assert_ok(&host.world.output(&["stop", "-n", &name]), "stop");
    let destroyed = host
        .world
        .rlxc(&["destroy", "-n", &name, "-s"])
        .env("RLXC_NET_RUN_DIR", &host.run_dir)
        .output()
        .expect("destroy");
    assert_ok(&destroyed, "destroy");
    assert!(!entry_path.exists(), "destroy left the static lease");
}

/// LXC_DHCP_CONFILE: the admin's own dnsmasq lines, as with lxc-net; a `dhcp-host` there for a
/// container wins over rlxc's static lease (rlxc writes none for it).
#[test]
fn the_admins_dnsmasq_file_is_read_and_its_fixed_addresses_win() {
    let host = Host::new(SETTINGS);
    let name = host.world.name("fixed");
    let confile = host.world.dir.path().join("dnsmasq.conf");
    std::fs::write(&confile, format!("dhcp-host={name},10.0.4.77\n")).expect("confile");
    std::fs::write(
        &host.settings,
        format!("{SETTINGS}LXC_DHCP_CONFILE={}\n", confile.display()),
    )
    .expect("settings");
    assert_ok(&host.net(&["start"]), "net start");
    host.busybox_named(&name, "tbr0", "00:16:3e:12:34:5d");
    assert!(
        !host.run_dir.join("tbr0/hosts").join(&name).exists(),
        "a static lease of rlxc's would override the admin's dhcp-host"
    );
    assert_ok(&host.world.output(&["start", "-n", &name, "-d"]), "start");
    assert_eq!(host.lease_of(&name), "10.0.4.77");
}
