//! Probes against the running kernel. Needs root (CAP_SYS_ADMIN) for everything but `user`.

use rlxc_runtime::namespaces::{can_create, Namespace};

#[test]
fn the_basic_namespaces_can_be_created_here() {
    for kind in [
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Pid,
        Namespace::Mount,
    ] {
        if let Err(error) = can_create(kind) {
            panic!("{kind}: {error}");
        }
    }
}

#[test]
fn every_kind_gives_an_answer_without_panicking() {
    for kind in Namespace::ALL {
        match can_create(kind) {
            Ok(()) => {}
            Err(error) => assert!(error.errno().is_some(), "{kind}: {error}"),
        }
    }
}

#[test]
fn nesting_inside_a_user_namespace_works_where_user_namespaces_do() {
    if can_create(Namespace::User).is_err() {
        return;
    }
    for kind in [Namespace::Uts, Namespace::Net, Namespace::Mount] {
        if let Err(error) = rlxc_runtime::namespaces::can_create_in_user_namespace(kind) {
            panic!("{kind} inside a user namespace: {error}");
        }
    }
}
