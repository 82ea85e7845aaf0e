//! rlxc's nftables NAT table against the running kernel, with the `nft` tool as the oracle.
//! Needs root. Every test runs on a thread of its own that first moved into a fresh network
//! namespace, and so do the `nft`, `ip` and `busybox` commands it starts (a child begins in
//! the namespace of the thread that forked it): the host's ruleset is never read or changed,
//! and the kernel removes whatever a failing test leaves behind when the thread ends.

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};

use rlxc_hostnet::nft::{self, Family, ForeignChain, NatSpec, NatState, NftError, Step};
use rlxc_net::netns::run_in_throwaway_netns;

const TABLE: &str = "rlxc-test";

fn spec() -> NatSpec<'static> {
    NatSpec {
        table: TABLE,
        bridge: "rlxcbr0",
        ipv4: (Ipv4Addr::new(10, 0, 3, 0), 24),
        ipv6: None,
    }
}

fn netns_of_thread() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").expect("read the thread's netns")
}

/// Runs `test` in a fresh network namespace, after checking that both the thread and the
/// commands it starts are in it and not in the host's.
fn in_scratch_netns<T: Send>(test: impl FnOnce() -> T + Send) -> T {
    let host = netns_of_thread();
    run_in_throwaway_netns(|| {
        let here = netns_of_thread();
        assert_ne!(here, host, "refusing to run outside a scratch namespace");
        let child = run(Command::new("readlink").arg("/proc/self/ns/net"));
        assert_eq!(
            child.trim(),
            here.to_string_lossy(),
            "a command started here would run in another namespace"
        );
        test()
    })
    .expect("enter a throwaway network namespace (are we root?)")
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"))
}

/// Runs `command`, which must succeed, and returns its standard output.
fn run(command: &mut Command) -> String {
    let out = output(command);
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn nft(args: &[&str]) -> String {
    run(Command::new("nft").args(args))
}

/// Loads `script` with `nft -f -`.
fn nft_script(script: &str) {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nft -f -");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    let out = child.wait_with_output().expect("wait for nft");
    assert!(
        out.status.success(),
        "nft -f failed on {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn list_our_table() -> String {
    nft(&["list", "table", "inet", TABLE])
}

/// The table as `nft` prints it, for the default spec (with the IPv6 rule if given).
fn expected_listing(ipv6_rule: Option<&str>) -> String {
    let v6 = ipv6_rule
        .map(|rule| format!("\t\t{rule}\n"))
        .unwrap_or_default();
    format!(
        "table inet {TABLE} {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\tip saddr 10.0.3.0/24 ip daddr != 10.0.3.0/24 counter packets 0 bytes 0 masquerade\n\
         {v6}\
         \t}}\n\
         \n\
         \tchain input {{\n\
         \t\ttype filter hook input priority filter; policy accept;\n\
         \t\tiifname \"rlxcbr0\" udp dport 53 accept\n\
         \t\tiifname \"rlxcbr0\" udp dport 67 accept\n\
         \t\tiifname \"rlxcbr0\" udp dport 547 accept\n\
         \t\tiifname \"rlxcbr0\" tcp dport 53 accept\n\
         \t}}\n\
         \n\
         \tchain forward {{\n\
         \t\ttype filter hook forward priority filter; policy accept;\n\
         \t\tiifname \"rlxcbr0\" accept\n\
         \t\toifname \"rlxcbr0\" accept\n\
         \t}}\n\
         }}\n"
    )
}

#[test]
fn install_makes_the_nat_table_nft_reads_and_inspect_agrees() {
    in_scratch_netns(|| {
        assert_eq!(nft::inspect(TABLE).expect("inspect before"), None);
        nft::install(&spec()).expect("install");
        assert_eq!(list_our_table(), expected_listing(None));
        // The hooks, types and priorities as numbers, from nft's JSON.
        let json: serde_json::Value =
            serde_json::from_str(&nft(&["-j", "list", "table", "inet", TABLE])).expect("json");
        let chains: Vec<(String, String, String, i64, String)> = json["nftables"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|item| item.get("chain"))
            .map(|c| {
                let text = |key: &str| c[key].as_str().expect(key).to_owned();
                let prio = c["prio"].as_i64().expect("prio");
                (
                    text("name"),
                    text("type"),
                    text("hook"),
                    prio,
                    text("policy"),
                )
            })
            .collect();
        let chain = |n: &str, t: &str, h: &str, p, pol: &str| {
            (n.to_owned(), t.to_owned(), h.to_owned(), p, pol.to_owned())
        };
        assert_eq!(
            chains,
            vec![
                chain("postrouting", "nat", "postrouting", 100, "accept"),
                chain("input", "filter", "input", 0, "accept"),
                chain("forward", "filter", "forward", 0, "accept"),
            ]
        );
        assert_eq!(
            nft::inspect(TABLE).expect("inspect"),
            Some(NatState {
                masquerades_ipv4: true,
                masquerades_ipv6: false,
                packets: 0,
                ipv4_network: Some((Ipv4Addr::new(10, 0, 3, 0), 24)),
                ipv6_network: None,
            })
        );
    });
}

#[test]
fn with_ipv6_the_ula_network_is_masqueraded_too() {
    in_scratch_netns(|| {
        let v6: Ipv6Addr = "fd42:3:0:1::".parse().expect("address");
        let spec = NatSpec {
            ipv6: Some((v6, 64)),
            ..spec()
        };
        nft::install(&spec).expect("install");
        assert_eq!(
            list_our_table(),
            expected_listing(Some(
                "ip6 saddr fd42:3:0:1::/64 ip6 daddr != fd42:3:0:1::/64 \
                 counter packets 0 bytes 0 masquerade"
            ))
        );
        let state = nft::inspect(TABLE)
            .expect("inspect")
            .expect("table present");
        assert!(
            state.masquerades_ipv4 && state.masquerades_ipv6,
            "{state:?}"
        );
        assert_eq!(state.ipv6_network, Some((v6, 64)));
    });
}

#[test]
fn a_prefix_that_is_not_whole_bytes_is_masked() {
    in_scratch_netns(|| {
        let spec = NatSpec {
            ipv4: (Ipv4Addr::new(172, 20, 17, 9), 20),
            ..spec()
        };
        nft::install(&spec).expect("install");
        assert!(
            list_our_table().contains("ip saddr 172.20.16.0/20 ip daddr != 172.20.16.0/20 counter"),
            "{}",
            list_our_table()
        );
        let state = nft::inspect(TABLE).expect("inspect").expect("present");
        assert_eq!(
            state.ipv4_network,
            Some((Ipv4Addr::new(172, 20, 16, 0), 20))
        );
    });
}

#[test]
fn installing_twice_leaves_one_copy_of_every_rule_and_can_change_the_network() {
    in_scratch_netns(|| {
        nft::install(&spec()).expect("first install");
        nft::install(&spec()).expect("second install");
        assert_eq!(list_our_table(), expected_listing(None));
        // A start with another network replaces the rules rather than adding to them.
        let moved = NatSpec {
            ipv4: (Ipv4Addr::new(10, 0, 4, 0), 24),
            ..spec()
        };
        nft::install(&moved).expect("third install");
        let listing = list_our_table();
        assert!(listing.contains("ip saddr 10.0.4.0/24"), "{listing}");
        assert!(!listing.contains("10.0.3.0"), "{listing}");
        assert_eq!(listing.matches("masquerade").count(), 1, "{listing}");
    });
}

#[test]
fn remove_deletes_the_table_and_says_when_there_was_none() {
    in_scratch_netns(|| {
        assert!(!nft::remove(TABLE).expect("remove with nothing there"));
        nft::install(&spec()).expect("install");
        assert!(nft::remove(TABLE).expect("remove"));
        assert_eq!(nft(&["list", "ruleset"]), "");
        assert_eq!(nft::inspect(TABLE).expect("inspect"), None);
        assert!(!nft::remove(TABLE).expect("remove again"));
    });
}

#[test]
fn other_tables_are_left_as_they_were() {
    in_scratch_netns(|| {
        nft_script(
            "table ip keepme {\n\
               chain c { type filter hook input priority 0; policy accept; }\n\
             }\n\
             add rule ip keepme c tcp dport 22 counter accept\n\
             table inet rlxc-other {\n\
               chain postrouting { type nat hook postrouting priority 100; }\n\
             }\n\
             add rule inet rlxc-other postrouting ip saddr 10.9.0.0/16 masquerade\n",
        );
        let others = || {
            (
                nft(&["list", "table", "ip", "keepme"]),
                nft(&["list", "table", "inet", "rlxc-other"]),
            )
        };
        let before = others();
        assert!(before.0.contains("tcp dport 22 counter"), "{}", before.0);
        nft::install(&spec()).expect("install");
        assert_eq!(others(), before);
        nft::install(&spec()).expect("install again");
        assert_eq!(others(), before);
        // The other inet table's masquerade is not reported as ours.
        let state = nft::inspect(TABLE).expect("inspect").expect("present");
        assert_eq!(state.ipv4_network, Some((Ipv4Addr::new(10, 0, 3, 0), 24)));
        assert!(nft::remove(TABLE).expect("remove"));
        assert_eq!(others(), before);
    });
}

#[test]
fn forward_blockers_are_other_tables_forward_chains_with_a_drop_policy() {
    in_scratch_netns(|| {
        assert_eq!(
            nft::forward_blockers(TABLE, "rlxcbr0").expect("empty ruleset"),
            vec![]
        );
        nft::install(&spec()).expect("install");
        nft_script(
            "add table ip filter\n\
             add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }\n\
             add table ip6 filter\n\
             add chain ip6 filter FORWARD { type filter hook forward priority 0; policy drop; }\n\
             add table bridge br\n\
             add chain bridge br forward { type filter hook forward priority 0; policy drop; }\n\
             add table inet open\n\
             add chain inet open forward { type filter hook forward priority 0; policy accept; }\n\
             add table inet strict\n\
             add chain inet strict input { type filter hook input priority 0; policy drop; }\n\
             add chain inet strict regular\n\
             add rule inet strict regular drop\n\
             add table ip rlxc-test\n\
             add chain ip rlxc-test via { type filter hook forward priority 10; policy drop; }\n\
             add chain inet rlxc-test forward2 { type filter hook forward priority 5; policy drop; }\n",
        );
        let mut found = nft::forward_blockers(TABLE, "rlxcbr0").expect("forward_blockers");
        found.sort_by_key(|c| (c.family.to_string(), c.table.clone(), c.chain.clone()));
        let chain = |family, table: &str, chain: &str| ForeignChain {
            family,
            table: table.to_owned(),
            chain: chain.to_owned(),
        };
        // Our own inet table is skipped even with a dropping chain in it; a table of the same
        // name in another family is someone else's.
        assert_eq!(
            found,
            vec![
                chain(Family::Bridge, "br", "forward"),
                chain(Family::Ip, "filter", "FORWARD"),
                chain(Family::Ip, "rlxc-test", "via"),
                chain(Family::Ip6, "filter", "FORWARD"),
            ]
        );
        assert_eq!(found[1].to_string(), "table ip filter chain FORWARD");

        // The fix the doctor names: accepting the bridge's traffic in and out (nft's way),
        // or in plus the answers by connection tracking, takes a chain off the list; a rule
        // for another interface does not.
        nft_script(
            "insert rule ip filter FORWARD iifname \"rlxcbr0\" accept\n\
             insert rule ip filter FORWARD oifname \"rlxcbr0\" accept\n\
             insert rule ip6 filter FORWARD iifname \"rlxcbr0\" accept\n\
             insert rule ip6 filter FORWARD ct state established,related accept\n\
             insert rule bridge br forward iifname \"other0\" accept\n\
             insert rule bridge br forward oifname \"other0\" accept\n",
        );
        let mut found = nft::forward_blockers(TABLE, "rlxcbr0").expect("forward_blockers");
        found.sort_by_key(|c| (c.family.to_string(), c.table.clone(), c.chain.clone()));
        assert_eq!(
            found,
            vec![
                chain(Family::Bridge, "br", "forward"),
                chain(Family::Ip, "rlxc-test", "via"),
            ]
        );
    });
}

/// iptables (Debian's is iptables-nft) as Docker and ufw use it: `-P FORWARD DROP` blocks,
/// the two ACCEPT rules the doctor suggests unblock.
#[test]
fn an_iptables_forward_drop_policy_and_its_fix_are_seen() {
    in_scratch_netns(|| {
        run(Command::new("iptables").args(["-P", "FORWARD", "DROP"]));
        let found = nft::forward_blockers(TABLE, "rlxcbr0").expect("forward_blockers");
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["table ip filter chain FORWARD"]
        );
        run(Command::new("iptables").args(["-I", "FORWARD", "-i", "rlxcbr0", "-j", "ACCEPT"]));
        run(Command::new("iptables").args(["-I", "FORWARD", "-o", "rlxcbr0", "-j", "ACCEPT"]));
        assert_eq!(
            nft::forward_blockers(TABLE, "rlxcbr0").expect("forward_blockers"),
            vec![]
        );
    });
}

#[test]
fn bad_input_is_refused_before_anything_is_made() {
    in_scratch_netns(|| {
        let long = "t".repeat(256);
        let cases: Vec<(NatSpec<'_>, &str)> = vec![
            (
                NatSpec {
                    table: &long,
                    ..spec()
                },
                "longer than 255",
            ),
            (
                NatSpec {
                    table: "rlxc\0x",
                    ..spec()
                },
                "NUL",
            ),
            (
                NatSpec {
                    bridge: "a-bridge-name-too-long",
                    ..spec()
                },
                "longer than 15",
            ),
            (
                NatSpec {
                    ipv4: (Ipv4Addr::new(10, 0, 3, 0), 33),
                    ..spec()
                },
                "prefix is longer",
            ),
            (
                NatSpec {
                    ipv6: Some((Ipv6Addr::LOCALHOST, 0)),
                    ..spec()
                },
                "/0",
            ),
        ];
        for (bad, reason) in cases {
            let error = nft::install(&bad).expect_err("bad input accepted");
            assert!(
                matches!(
                    error,
                    NftError::InvalidName { .. } | NftError::InvalidNetwork { .. }
                ),
                "{error:?}"
            );
            assert!(error.to_string().contains(reason), "{error} lacks {reason}");
        }
        assert!(nft::remove("rlxc\0x").is_err());
        assert!(nft::inspect(&long).is_err());
        assert_eq!(nft(&["list", "ruleset"]), "", "something was made");
    });
}

/// capget/capset's header and data (linux/capability.h, version 3: two 32-bit words).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Runs `work` with CAP_NET_ADMIN out of this thread's effective set, then puts it back.
/// The raw syscalls change this thread only (pid 0), which is the scratch thread.
fn without_net_admin<T>(work: impl FnOnce() -> T) -> T {
    const CAP_NET_ADMIN: u32 = 12;
    let mut header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut saved = [CapData::default(); 2];
    // SAFETY: capget writes two CapData (version 3) into `saved`, which has room for them.
    let got = unsafe { libc::syscall(libc::SYS_capget, &mut header, saved.as_mut_ptr()) };
    assert_eq!(got, 0, "capget: {}", std::io::Error::last_os_error());
    let set = |data: &[CapData; 2]| {
        let mut header = CapHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        // SAFETY: capset reads the header and two CapData, all valid for the call.
        let done = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
        assert_eq!(done, 0, "capset: {}", std::io::Error::last_os_error());
    };
    let mut reduced = saved;
    reduced[0].effective &= !(1 << CAP_NET_ADMIN);
    set(&reduced);
    let result = work();
    set(&saved);
    result
}

/// A refusal comes back from the kernel's answer as an error naming the step and carrying
/// the errno (here EPERM: the socket was opened without CAP_NET_ADMIN), not as a hang.
#[test]
fn a_refusal_from_the_kernel_names_the_step_and_its_errno() {
    in_scratch_netns(|| {
        let refused = |error: NftError, step: Step| {
            assert_eq!(error.errno(), Some(libc::EPERM), "{error}");
            assert_eq!(error.step(), Some(&step), "{error}");
            assert!(matches!(error, NftError::Kernel { .. }), "{error:?}");
        };
        let table = || TABLE.to_owned();
        let error = without_net_admin(|| nft::install(&spec())).expect_err("install");
        assert_eq!(
            error.to_string(),
            "nftables: commit the changes to table inet rlxc-test: the kernel refused it: \
             Operation not permitted (os error 1)"
        );
        refused(error, Step::CommitBatch { table: table() });
        let error = without_net_admin(|| nft::remove(TABLE)).expect_err("remove");
        refused(error, Step::CommitBatch { table: table() });
        let error = without_net_admin(|| nft::inspect(TABLE)).expect_err("inspect");
        refused(error, Step::GetTable { table: table() });
        let error =
            without_net_admin(|| nft::forward_blockers(TABLE, "rlxcbr0")).expect_err("doctor");
        refused(error, Step::DumpChains);
        assert_eq!(nft(&["list", "ruleset"]), "", "something was made");
        // With the capability back, the same calls work.
        nft::install(&spec()).expect("install");
    });
}

/// A namespace of its own, kept alive by the open file, for the far ends of the links.
struct Netns(File);

impl Netns {
    fn new() -> Self {
        Self(
            run_in_throwaway_netns(|| File::open("/proc/thread-self/ns/net").expect("open"))
                .expect("throwaway namespace"),
        )
    }

    /// A path to it that `ip` and `nsenter` can open.
    fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.0.as_raw_fd())
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net={}", self.path()))
            .arg(program)
            .args(args);
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        run(&mut self.command(program, args))
    }

    fn pings(&self, target: &str) -> bool {
        output(&mut self.command("busybox", &["ping", "-c", "1", "-W", "1", target]))
            .status
            .success()
    }
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// The real thing: a "container" namespace behind this one (the host), an "outside"
/// namespace that has no route back to the containers' network. A ping from the container
/// can only be answered when the host masquerades it, and the outside sees the host's
/// address as the source.
#[test]
fn a_container_reaches_the_outside_through_the_masquerade() {
    in_scratch_netns(|| {
        let container = Netns::new();
        let outside = Netns::new();
        ip(&["link", "set", "lo", "up"]);
        // The host end of the container link stands in for the bridge.
        ip(&[
            "link", "add", "hostc0", "type", "veth", "peer", "name", "c0",
        ]);
        ip(&["link", "set", "c0", "netns", &container.path()]);
        ip(&[
            "link", "add", "hosto0", "type", "veth", "peer", "name", "o0",
        ]);
        ip(&["link", "set", "o0", "netns", &outside.path()]);
        ip(&["addr", "add", "10.0.3.1/24", "dev", "hostc0"]);
        ip(&["addr", "add", "192.0.2.1/24", "dev", "hosto0"]);
        ip(&["link", "set", "hostc0", "up"]);
        ip(&["link", "set", "hosto0", "up"]);
        // Forwarding per link: these files exist only in this namespace, so a mistake here
        // cannot switch on forwarding for the host.
        for link in ["hostc0", "hosto0"] {
            std::fs::write(format!("/proc/sys/net/ipv4/conf/{link}/forwarding"), "1")
                .expect("enable forwarding");
        }
        container.run("ip", &["addr", "add", "10.0.3.2/24", "dev", "c0"]);
        container.run("ip", &["link", "set", "c0", "up"]);
        container.run("ip", &["route", "add", "default", "via", "10.0.3.1"]);
        outside.run("ip", &["addr", "add", "192.0.2.2/24", "dev", "o0"]);
        outside.run("ip", &["link", "set", "o0", "up"]);
        // The outside counts echo requests by source address.
        outside.run(
            "nft",
            &["add table ip watch; \
                 add chain ip watch in { type filter hook input priority 0; }; \
                 add rule ip watch in ip saddr 192.0.2.1 icmp type echo-request counter; \
                 add rule ip watch in ip saddr 10.0.3.2 icmp type echo-request counter"],
        );
        let seen_from = |source: &str| -> u64 {
            let listing = outside.run("nft", &["list", "table", "ip", "watch"]);
            let line = listing
                .lines()
                .find(|l| l.contains(&format!("ip saddr {source} ")))
                .unwrap_or_else(|| panic!("no rule for {source} in {listing}"));
            let packets = line
                .split_whitespace()
                .skip_while(|w| *w != "packets")
                .nth(1)
                .expect("a packet count");
            packets.parse().expect("a number")
        };

        assert!(
            !container.pings("192.0.2.2"),
            "answered without NAT: the outside must have no route back"
        );
        assert_eq!((seen_from("10.0.3.2"), seen_from("192.0.2.1")), (1, 0));

        nft::install(&NatSpec {
            bridge: "hostc0",
            ..spec()
        })
        .expect("install");
        assert!(
            container.pings("192.0.2.2"),
            "no answer through the masquerade"
        );
        assert_eq!((seen_from("10.0.3.2"), seen_from("192.0.2.1")), (1, 1));
        let state = nft::inspect(TABLE).expect("inspect").expect("present");
        assert_eq!(state.packets, 1, "{state:?}");

        assert!(nft::remove(TABLE).expect("remove"));
        assert!(!container.pings("192.0.2.2"), "still answered after remove");
        assert_eq!((seen_from("10.0.3.2"), seen_from("192.0.2.1")), (2, 1));
    });
}

/// Docker's layout: FORWARD (policy drop) jumps to DOCKER-USER, where the doctor's suggested
/// accepts go; a conntrack accept bound to another interface lets no answers to the bridge.
#[test]
fn accepts_in_a_jumped_to_chain_count_and_another_interfaces_conntrack_does_not() {
    in_scratch_netns(|| {
        nft_script(
            "add table ip filter\n\
             add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }\n\
             add chain ip filter DOCKER-USER\n\
             add rule ip filter FORWARD jump DOCKER-USER\n\
             add rule ip filter FORWARD oifname \"docker0\" ct state established,related accept\n\
             add rule ip filter DOCKER-USER iifname \"rlxcbr0\" accept\n",
        );
        let blockers = || {
            nft::forward_blockers(TABLE, "rlxcbr0")
                .expect("forward_blockers")
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(blockers(), ["table ip filter chain FORWARD"]);
        nft_script("add rule ip filter DOCKER-USER oifname \"rlxcbr0\" accept\n");
        assert_eq!(blockers(), Vec::<String>::new());
    });
}
