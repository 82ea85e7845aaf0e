use std::path::PathBuf;

use super::*;
use crate::{V1Hierarchy, V2Mount};

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn seed() -> Vec<(String, String)> {
    settings(&[
        ("devices.deny", "a"),
        ("devices.allow", "c 1:3 rwm"),
        ("cpu.shares", "1024"),
        ("cpuset.cpus", "0"),
        ("memory.memsw.limit_in_bytes", "2048M"),
        ("memory.limit_in_bytes", "1024M"),
        ("blkio.weight", "500"),
    ])
}

fn v1(controllers: &[&str]) -> Vec<V1Hierarchy> {
    controllers
        .iter()
        .map(|c| V1Hierarchy {
            mount_point: PathBuf::from(format!("/sys/fs/cgroup/{c}")),
            mount_root: PathBuf::from("/"),
            controllers: vec![(*c).to_owned()],
        })
        .collect()
}

fn v2(controllers: &[&str]) -> Option<V2Mount> {
    Some(V2Mount {
        mount_point: PathBuf::from("/sys/fs/cgroup"),
        mount_root: PathBuf::from("/"),
        controllers: controllers.iter().map(|c| (*c).to_owned()).collect(),
    })
}

fn keys(plan: &LimitPlan) -> Vec<String> {
    plan.writes
        .iter()
        .flat_map(|w| match &w.what {
            Translation::Write(files) | Translation::Weight(files) => files.clone(),
            _ => Vec::new(),
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

#[test]
fn on_a_pure_v2_host_the_seed_is_translated_with_one_notice_per_key() {
    let layout = CgroupLayout {
        v1: Vec::new(),
        v2: v2(&["cpuset", "cpu", "io", "memory", "pids"]),
    };
    let plan = LimitPlan::new(&layout, &seed(), &[]).expect("plan");
    assert_eq!(
        keys(&plan),
        [
            "cpu.weight=39",
            "cpuset.cpus=0",
            "memory.max=1073741824",
            "io.bfq.weight=500",
            "io.weight=4950",
            // The seed sets no pids.max: rlxc's default, where the controller is.
            "pids.max=4096",
            "memory.swap.max=1073741824",
        ]
    );
    assert_eq!(plan.v2_devices.len(), 2);
    assert_eq!(plan.notices.len(), seed().len(), "{:#?}", plan.notices);
    assert!(plan
        .notices
        .iter()
        .any(|n| n.starts_with("lxc.cgroup.cpu.shares:") && n.contains("cpu.weight = 39")));
    assert_eq!(
        plan.v2_controllers(&layout),
        ["cpu", "cpuset", "io", "memory", "pids"]
    );
}

#[test]
fn on_a_hybrid_host_each_key_goes_where_its_controller_is() {
    // This build machine: every controller on v1, cgroup2 with hugetlb only.
    let layout = CgroupLayout {
        v1: v1(&[
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        ]),
        v2: v2(&["hugetlb"]),
    };
    let v2_settings = settings(&[
        ("memory.max", "64M"),
        ("cpu.weight", "100"),
        ("devices.deny", "c 1:5 rwm"),
    ]);
    let plan = LimitPlan::new(&layout, &seed(), &v2_settings).expect("plan");
    let written = keys(&plan);
    assert_eq!(written[0], "cpu.shares=1024");
    assert!(
        written.contains(&"memory.limit_in_bytes=64M".to_owned()),
        "{written:?}"
    );
    // memsw after every memory limit, device rules last, in file order.
    let memsw = written
        .iter()
        .position(|k| k.starts_with("memory.memsw"))
        .expect("memsw");
    let limit = written
        .iter()
        .position(|k| k.starts_with("memory.limit_in_bytes=1024M"))
        .expect("limit");
    assert!(limit < memsw);
    assert_eq!(
        &written[written.len() - 2..],
        ["devices.deny=a", "devices.allow=c 1:3 rwm"]
    );
    // v1 keys are native: no notices for them; the v2 ones are translated (devices: eBPF).
    assert_eq!(plan.notices.len(), 2, "{:#?}", plan.notices);
    assert_eq!(plan.v2_devices.len(), 1);
    assert!(plan.v2_controllers(&layout).is_empty());
}

#[test]
fn on_a_pure_v1_host_v2_device_rules_become_v1_rules() {
    let layout = CgroupLayout {
        v1: v1(&["devices", "memory"]),
        v2: None,
    };
    let plan =
        LimitPlan::new(&layout, &[], &settings(&[("devices.allow", "/dev/null")])).expect("plan");
    assert!(plan.v2_devices.is_empty());
    assert_eq!(keys(&plan), ["devices.allow=c 1:3 rwm"]);
}

#[test]
fn a_key_without_an_equivalent_fails_the_plan_naming_it() {
    let layout = CgroupLayout {
        v1: Vec::new(),
        v2: v2(&["memory"]),
    };
    let error = LimitPlan::new(&layout, &settings(&[("memory.swappiness", "10")]), &[])
        .expect_err("no v2 swappiness");
    assert!(
        error.to_string().contains("lxc.cgroup.memory.swappiness"),
        "{error}"
    );
}

#[test]
fn the_hosts_console_is_denied_last_whenever_the_rules_would_open_it() {
    let layout = CgroupLayout {
        v1: v1(&["devices"]),
        v2: None,
    };
    let rules = |allow: &str| {
        let plan = LimitPlan::new(
            &layout,
            &settings(&[("devices.deny", "a"), ("devices.allow", allow)]),
            &[],
        )
        .expect("plan");
        keys(&plan)
    };
    for opens in ["c 5:1 rwm", "c 5:* r", "c *:* w", "a"] {
        assert_eq!(
            rules(opens).last().map(String::as_str),
            Some("devices.deny=c 5:1 rwm"),
            "{opens}"
        );
    }
    for leaves in ["c *:* m", "b 5:1 rwm", "c 5:2 rwm", "c 4:1 rwm"] {
        assert_eq!(rules(leaves).len(), 2, "{leaves}");
    }
    // No device rule at all: rlxc's default policy, which has no 5:1.
    let plan = LimitPlan::new(&layout, &settings(&[("cpu.shares", "512")]), &[]).expect("plan");
    let written = keys(&plan);
    assert_eq!(written[0], "cpu.shares=512");
    assert_eq!(written[1], "devices.deny=a");
    assert_eq!(
        written.len(),
        1 + crate::DEFAULT_DEVICE_RULES.len(),
        "{written:?}"
    );
    assert!(!written.iter().any(|w| w.contains("5:1")), "{written:?}");
    // On cgroup2 it is the program's last rule.
    let layout = CgroupLayout {
        v1: Vec::new(),
        v2: v2(&["memory"]),
    };
    let plan =
        LimitPlan::new(&layout, &[], &settings(&[("devices.allow", "c 5:1 rwm")])).expect("plan");
    let last = plan.v2_devices.last().expect("rules");
    assert!(!last.allow && last.major == Some(5) && last.minor == Some(1));
    let plan = LimitPlan::new(&layout, &[], &[]).expect("plan");
    assert_eq!(plan.v2_devices.len(), crate::DEFAULT_DEVICE_RULES.len());
}

#[test]
fn a_config_without_pids_max_gets_the_default_where_the_controller_is() {
    let hybrid = CgroupLayout {
        v1: v1(&["pids"]),
        v2: v2(&["memory"]),
    };
    let plan = LimitPlan::new(&hybrid, &[], &[]).expect("plan");
    assert_eq!(keys(&plan), ["pids.max=4096"]);
    // (the default device policy went to cgroup2's program: no v1 devices here)
    assert_eq!(plan.v2_devices.len(), crate::DEFAULT_DEVICE_RULES.len());
    assert!(plan.notices.is_empty(), "{:?}", plan.notices);
    // Set in either version, even to max: the config's, and no default.
    for (v1_settings, v2_settings) in [
        (settings(&[("pids.max", "max")]), Vec::new()),
        (Vec::new(), settings(&[("pids.max", "100")])),
    ] {
        let plan = LimitPlan::new(&hybrid, &v1_settings, &v2_settings).expect("plan");
        assert!(
            !keys(&plan).contains(&"pids.max=4096".to_string()),
            "{:?}",
            keys(&plan)
        );
    }
    // No pids controller anywhere: nothing to write.
    let none = CgroupLayout {
        v1: v1(&["memory"]),
        v2: None,
    };
    assert_eq!(
        keys(&LimitPlan::new(&none, &[], &[]).expect("plan")),
        Vec::<String>::new()
    );
}
