//! Real link creation against the running kernel. Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN).
//! Every test runs inside a throwaway network namespace owned by one thread, so the host's
//! links, routes and firewall are never touched; the kernel removes whatever a failing test
//! leaves behind when the thread ends.

use rlxc_net::netns::run_in_throwaway_netns;
use rlxc_net::{bridge, link, macvlan, veth, vlan, Error, Netlink, Operation};

/// Runs `test` in a fresh network namespace, after checking it really is a different one.
fn in_scratch_netns(test: impl FnOnce(&mut Netlink) + Send) {
    let host_netns = std::fs::read_link("/proc/thread-self/ns/net").expect("read own netns");
    run_in_throwaway_netns(|| {
        let here = std::fs::read_link("/proc/thread-self/ns/net").expect("read scratch netns");
        assert_ne!(
            here, host_netns,
            "refusing to run outside a scratch namespace"
        );
        let mut netlink = Netlink::open().expect("open rtnetlink in the scratch namespace");
        test(&mut netlink);
    })
    .expect("enter a throwaway network namespace (are we root?)");
}

fn assert_gone(netlink: &mut Netlink, name: &str) {
    let error = link::index_by_name(netlink, name).expect_err("link should be gone");
    assert_eq!(error.errno(), Some(libc::ENODEV), "{error}");
}

#[test]
fn scratch_namespace_has_only_loopback() {
    in_scratch_netns(|netlink| {
        assert_eq!(link::index_by_name(netlink, "lo").expect("lo exists"), 1);
        assert_gone(netlink, "eth0");
    });
}

/// `open_netlink_in` steps into the namespace for the socket and back: the socket talks to
/// the other namespace, the thread is where it was (its later sockets are the host's).
#[test]
fn a_socket_opened_in_another_namespace_leaves_the_thread_at_home() {
    let home = std::fs::read_link("/proc/thread-self/ns/net").expect("read own netns");
    // The fd keeps the throwaway namespace alive after its thread is gone; a veth made
    // there marks it.
    let other = run_in_throwaway_netns(|| {
        let mut netlink = Netlink::open().expect("open");
        veth::create(&mut netlink, "rt-away0", "rt-away1").expect("veth");
        std::fs::File::open("/proc/thread-self/ns/net").expect("open the namespace")
    })
    .expect("throwaway namespace");
    let mut away = rlxc_net::netns::open_netlink_in(std::os::fd::AsFd::as_fd(&other))
        .expect("netlink in the other namespace");
    assert_eq!(
        std::fs::read_link("/proc/thread-self/ns/net").expect("read own netns"),
        home,
        "the thread stayed in the other namespace"
    );
    let names: Vec<String> = link::list(&mut away)
        .expect("list")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert!(names.iter().any(|n| n == "rt-away0"), "{names:?}");
    let mut here = Netlink::open().expect("open at home");
    assert_gone(&mut here, "rt-away0");
}

#[test]
fn veth_pair_is_created_brought_up_and_deleted_as_a_pair() {
    in_scratch_netns(|netlink| {
        veth::create(netlink, "rt-veth0", "rt-veth1").expect("create veth pair");
        let first = link::index_by_name(netlink, "rt-veth0").expect("first end");
        let second = link::index_by_name(netlink, "rt-veth1").expect("peer end");
        assert_ne!(first, second);
        link::set_up(netlink, "rt-veth0").expect("set up");
        link::delete(netlink, "rt-veth0").expect("delete");
        assert_gone(netlink, "rt-veth0");
        assert_gone(netlink, "rt-veth1");
    });
}

#[test]
fn bridge_is_created_and_deleted() {
    in_scratch_netns(|netlink| {
        bridge::create(netlink, "rt-br0").expect("create bridge");
        link::set_up(netlink, "rt-br0").expect("set up");
        link::delete(netlink, "rt-br0").expect("delete");
        assert_gone(netlink, "rt-br0");
    });
}

#[test]
fn existing_name_is_refused_with_eexist_naming_op_and_link() {
    in_scratch_netns(|netlink| {
        bridge::create(netlink, "rt-br0").expect("create bridge");
        let error = bridge::create(netlink, "rt-br0").expect_err("second create must fail");
        assert_eq!(error.errno(), Some(libc::EEXIST));
        assert!(matches!(
            &error,
            Error::Kernel { op: Operation::CreateBridge, link, .. } if link == "rt-br0"
        ));
        assert!(
            error.to_string().contains("creating bridge `rt-br0`"),
            "{error}"
        );
    });
}

#[test]
fn macvlan_is_created_on_a_veth_parent_and_deleted() {
    in_scratch_netns(|netlink| {
        veth::create(netlink, "rt-veth0", "rt-veth1").expect("create parent");
        let parent = link::index_by_name(netlink, "rt-veth0").expect("parent index");
        macvlan::create(netlink, "rt-mv0", parent, macvlan::Mode::Bridge).expect("macvlan");
        assert!(link::index_by_name(netlink, "rt-mv0").expect("macvlan index") > parent);
        link::delete(netlink, "rt-mv0").expect("delete macvlan");
        assert_gone(netlink, "rt-mv0");
    });
}

#[test]
fn macvlan_on_loopback_is_refused() {
    in_scratch_netns(|netlink| {
        let error = macvlan::create(netlink, "rt-mv0", 1, macvlan::Mode::Private)
            .expect_err("macvlan needs an ethernet parent");
        assert!(error.errno().is_some(), "{error}");
    });
}

/// Kernels without 8021q (built out, or a module that cannot be loaded) answer EOPNOTSUPP;
/// anything else is a bug in our request.
#[test]
fn vlan_is_created_or_refused_as_unsupported() {
    in_scratch_netns(|netlink| {
        veth::create(netlink, "rt-veth0", "rt-veth1").expect("create parent");
        let parent = link::index_by_name(netlink, "rt-veth0").expect("parent index");
        match vlan::create(netlink, "rt-veth0.10", parent, 10) {
            Ok(()) => {
                link::index_by_name(netlink, "rt-veth0.10").expect("vlan index");
                link::delete(netlink, "rt-veth0.10").expect("delete vlan");
                assert_gone(netlink, "rt-veth0.10");
            }
            Err(error) => {
                assert_eq!(error.errno(), Some(libc::EOPNOTSUPP), "{error}");
                assert!(matches!(
                    error,
                    Error::Kernel {
                        op: Operation::CreateVlan,
                        ..
                    }
                ));
            }
        }
    });
}

#[test]
fn deleting_a_missing_link_names_it() {
    in_scratch_netns(|netlink| {
        let error = link::delete(netlink, "rt-nothing").expect_err("nothing to delete");
        assert_eq!(error.errno(), Some(libc::ENODEV));
        assert!(error.to_string().contains("rt-nothing"), "{error}");
    });
}
