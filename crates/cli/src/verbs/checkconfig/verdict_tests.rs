use super::*;
use crate::verbs::checkconfig::features::{self, LinkKind, Section};
use crate::verbs::checkconfig::probes::LinkOutcomes;
use std::io;

fn feature(label: &str) -> Feature {
    features::all()
        .into_iter()
        .find(|feature| feature.label == label)
        .unwrap_or_else(|| panic!("no feature {label:?}"))
}

fn config(text: &str) -> KernelConfig {
    KernelConfig::parse(text)
}

fn config_text(label: &str, text: &str) -> Option<String> {
    config_cell(&feature(label), Some(&config(text))).map(|cell| cell.text)
}

#[test]
fn plain_options_read_enabled_module_and_missing() {
    assert_eq!(
        config_text("Veth pair device", "CONFIG_VETH=y").as_deref(),
        Some("enabled")
    );
    assert_eq!(
        config_text("Veth pair device", "CONFIG_VETH=m").as_deref(),
        Some("module")
    );
    assert_eq!(
        config_text("Veth pair device", "# CONFIG_VETH is not set").as_deref(),
        Some("missing")
    );
    assert_eq!(
        config_text("Veth pair device", "").as_deref(),
        Some("missing")
    );
}

#[test]
fn required_and_missing_is_red_and_says_so() {
    let cell = config_cell(&feature("Pid namespace"), Some(&config(""))).expect("row");
    assert_eq!(cell.text, "missing (required)");
    assert_eq!(cell.tone, Tone::Bad);
    let optional = config_cell(&feature("Macvlan"), Some(&config(""))).expect("row");
    assert_eq!(optional.tone, Tone::Warn);
}

#[test]
fn memory_controller_accepts_the_pre_3_6_name() {
    let label = "Cgroup memory controller";
    assert_eq!(
        config_text(label, "CONFIG_MEMCG=y").as_deref(),
        Some("enabled")
    );
    assert_eq!(
        config_text(label, "CONFIG_CGROUP_MEM_RES_CTLR=y").as_deref(),
        Some("enabled (as CGROUP_MEM_RES_CTLR)")
    );
    assert_eq!(config_text(label, "").as_deref(), Some("missing"));
}

#[test]
fn memcg_swap_is_built_in_from_6_1_when_memcg_and_swap_are_on() {
    let label = "Cgroup memory swap accounting";
    let new = "# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_MEMCG=y\nCONFIG_SWAP=y\n";
    assert_eq!(
        config_text(label, new).as_deref(),
        Some("built in since 6.1")
    );
    let no_swap = "# Linux/x86 6.6.0 Kernel Configuration\nCONFIG_MEMCG=y\n";
    assert_eq!(config_text(label, no_swap).as_deref(), Some("missing SWAP"));
    let old = "# Linux/x86 5.15.0 Kernel Configuration\nCONFIG_MEMCG=y\nCONFIG_SWAP=y\n";
    assert_eq!(config_text(label, old).as_deref(), Some("missing"));
    let old_on = format!("{old}CONFIG_MEMCG_SWAP=y\n");
    assert_eq!(config_text(label, &old_on).as_deref(), Some("enabled"));
}

#[test]
fn devpts_instances_are_always_on_from_4_7() {
    let label = "Multiple /dev/pts instances";
    let new = "# Linux/x86 4.7.0 Kernel Configuration\n";
    assert_eq!(
        config_text(label, new).as_deref(),
        Some("always on since 4.7")
    );
    let old = "# Linux/x86 4.4.0 Kernel Configuration\n";
    assert_eq!(
        config_text(label, old).as_deref(),
        Some("missing (required)")
    );
}

#[test]
fn nat_ipv4_rows_only_exist_for_3_7_to_5_0() {
    let label = "CONFIG_NF_NAT_IPV4";
    let in_range = "# Linux/x86 4.19.0 Kernel Configuration\nCONFIG_NF_NAT_IPV4=m\n";
    assert_eq!(config_text(label, in_range).as_deref(), Some("module"));
    assert_eq!(
        config_text(label, "# Linux/x86 5.10.0 Kernel Configuration\n"),
        None
    );
    assert_eq!(
        config_text(label, "# Linux/x86 3.2.0 Kernel Configuration\n"),
        None
    );
}

#[test]
fn bpf_device_controller_needs_both_options() {
    let label = "Cgroup BPF device (v2)";
    assert_eq!(
        config_text(label, "CONFIG_CGROUP_BPF=y\nCONFIG_BPF_SYSCALL=y").as_deref(),
        Some("enabled")
    );
    assert_eq!(
        config_text(label, "CONFIG_CGROUP_BPF=y").as_deref(),
        Some("missing BPF_SYSCALL")
    );
}

#[test]
fn no_config_means_unknown() {
    let cell = config_cell(&feature("Namespaces"), None).expect("row");
    assert_eq!(cell.text, "unknown");
}

#[test]
fn every_section_has_rows_and_labels_are_unique() {
    let all = features::all();
    for section in Section::ALL {
        assert!(
            all.iter().any(|feature| feature.section == section),
            "{section:?}"
        );
    }
    let mut labels: Vec<_> = all.iter().map(|feature| feature.label).collect();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), all.len());
}

fn unsupported(op: rlxc_net::Operation, link: &str) -> rlxc_net::Error {
    rlxc_net::Error::Kernel {
        op,
        link: link.to_owned(),
        cause: io::Error::from_raw_os_error(libc::EOPNOTSUPP),
    }
}

fn facts_with_vlan_failing(has_module_tree: bool) -> LiveFacts {
    LiveFacts {
        release: "6.1.0".to_owned(),
        is_root: true,
        namespaces: Vec::new(),
        cgroups: Ok(rlxc_cgroup::CgroupLayout::default()),
        links: Ok(LinkOutcomes {
            veth: LinkOutcome::Created,
            bridge: LinkOutcome::Created,
            macvlan: LinkOutcome::Created,
            vlan: LinkOutcome::Failed(unsupported(rlxc_net::Operation::CreateVlan, "v")),
        }),
        has_module_tree,
        seccomp: true,
        seccomp_actions: None,
        fuse_device: false,
        fuse_filesystem: false,
        swap_accounting: None,
        idmap_helper_problem: None,
    }
}

#[test]
fn a_module_that_cannot_load_is_named_as_such() {
    let vlan = feature("Vlan (802.1Q)");
    assert!(matches!(vlan.probe, Probe::Link(LinkKind::Vlan)));
    let no_tree = facts_with_vlan_failing(false);
    let cell = live_cell(&vlan, Some(OptionState::Module), &no_tree);
    assert_eq!(cell.text, "module, not loadable: EOPNOTSUPP");
    let tree = facts_with_vlan_failing(true);
    let cell = live_cell(&vlan, Some(OptionState::Module), &tree);
    assert_eq!(cell.text, "module, not loaded: EOPNOTSUPP");
    let cell = live_cell(&vlan, Some(OptionState::NotSet), &tree);
    assert_eq!(cell.text, "not in kernel: EOPNOTSUPP");
    let cell = live_cell(
        &feature("Veth pair device"),
        Some(OptionState::BuiltIn),
        &tree,
    );
    assert_eq!(cell.text, "can create");
}

#[test]
fn controllers_not_mounted_anywhere_are_flagged() {
    let facts = facts_with_vlan_failing(false);
    let memory = feature("Cgroup memory controller");
    let cell = live_cell(&memory, Some(OptionState::BuiltIn), &facts);
    assert_eq!(cell.text, "enabled, but not mounted");
    assert_eq!(cell.tone, Tone::Warn);
}
