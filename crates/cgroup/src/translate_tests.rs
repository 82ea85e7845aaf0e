use super::*;

fn seed() -> Vec<(String, String)> {
    [
        ("cpu.shares", "1024"),
        ("cpuset.cpus", "0"),
        ("memory.limit_in_bytes", "1024M"),
        ("memory.memsw.limit_in_bytes", "2048M"),
        ("blkio.weight", "500"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn write(key: &str, value: &str) -> Translation {
    Translation::Write(vec![(key.to_owned(), value.to_owned())])
}

fn up(key: &str, value: &str) -> Translation {
    v1_to_v2(key, value, &seed()).expect(key)
}

#[test]
fn the_seed_keys_translate_to_v2() {
    assert_eq!(
        up("memory.limit_in_bytes", "1024M"),
        write("memory.max", "1073741824")
    );
    assert_eq!(
        up("memory.memsw.limit_in_bytes", "2048M"),
        write("memory.swap.max", "1073741824")
    );
    // The kernel's mapping: 1024 shares (the default) is weight 39, not v2's default 100.
    assert_eq!(up("cpu.shares", "1024"), write("cpu.weight", "39"));
    assert_eq!(up("cpu.shares", "2"), write("cpu.weight", "1"));
    assert_eq!(up("cpu.shares", "262144"), write("cpu.weight", "10000"));
    assert_eq!(up("cpuset.cpus", "0"), write("cpuset.cpus", "0"));
    assert_eq!(
        up("blkio.weight", "500"),
        Translation::Weight(vec![
            ("io.bfq.weight".into(), "500".into()),
            ("io.weight".into(), "4950".into())
        ])
    );
    let Translation::Device(rule) = up("devices.allow", "c 136:* rwm") else {
        panic!("a device rule")
    };
    assert!(rule.allow);
}

#[test]
fn memsw_needs_the_memory_limit_and_may_not_be_below_it() {
    let alone = vec![("memory.memsw.limit_in_bytes".to_owned(), "2G".to_owned())];
    let error = v1_to_v2("memory.memsw.limit_in_bytes", "2G", &alone).expect_err("no memory limit");
    assert!(
        error
            .to_string()
            .contains("lxc.cgroup.memory.memsw.limit_in_bytes"),
        "{error}"
    );
    let mut below = seed();
    below.push(("memory.memsw.limit_in_bytes".into(), "512M".into()));
    assert!(v1_to_v2("memory.memsw.limit_in_bytes", "512M", &below).is_err());
    assert_eq!(
        up("memory.memsw.limit_in_bytes", "-1"),
        write("memory.swap.max", "max")
    );
}

#[test]
fn the_cfs_pair_becomes_one_cpu_max() {
    let pair = vec![
        ("cpu.cfs_quota_us".to_owned(), "50000".to_owned()),
        ("cpu.cfs_period_us".to_owned(), "200000".to_owned()),
    ];
    assert_eq!(
        v1_to_v2("cpu.cfs_quota_us", "50000", &pair).expect("quota"),
        write("cpu.max", "50000 200000")
    );
    assert_eq!(
        v1_to_v2("cpu.cfs_period_us", "200000", &pair).expect("period"),
        Translation::Folded
    );
    assert_eq!(
        v1_to_v2("cpu.cfs_quota_us", "-1", &[]).expect("no quota"),
        write("cpu.max", "max 100000")
    );
}

#[test]
fn keys_without_an_equivalent_are_named() {
    for key in [
        "memory.swappiness",
        "cpu.rt_runtime_us",
        "net_cls.classid",
        "memory.kmem.limit_in_bytes",
    ] {
        let error = v1_to_v2(key, "1", &[]).expect_err(key);
        assert!(
            error.to_string().contains(&format!("lxc.cgroup.{key}")),
            "{error}"
        );
    }
    let error = v2_to_v1("memory.high", "1G", &[]).expect_err("memory.high");
    assert!(
        error.to_string().contains("lxc.cgroup2.memory.high"),
        "{error}"
    );
}

#[test]
fn v2_keys_translate_to_v1() {
    let all = vec![("memory.max".to_owned(), "1G".to_owned())];
    let down = |key, value| v2_to_v1(key, value, &all).expect(key);
    assert_eq!(
        down("memory.max", "max"),
        write("memory.limit_in_bytes", "-1")
    );
    assert_eq!(
        down("memory.swap.max", "1G"),
        write("memory.memsw.limit_in_bytes", "2147483648")
    );
    assert_eq!(down("cpu.weight", "39"), write("cpu.shares", "998"));
    assert_eq!(down("cpu.weight", "100"), write("cpu.shares", "2597"));
    assert_eq!(
        down("cpu.max", "50000 100000"),
        Translation::Write(vec![
            ("cpu.cfs_period_us".into(), "100000".into()),
            ("cpu.cfs_quota_us".into(), "50000".into())
        ])
    );
    assert_eq!(
        down("io.weight", "default 100"),
        Translation::Weight(vec![
            ("blkio.bfq.weight".into(), "19".into()),
            ("blkio.weight".into(), "19".into())
        ])
    );
    assert_eq!(
        down("io.max", "8:0 rbps=1048576 wiops=max"),
        Translation::Write(vec![
            (
                "blkio.throttle.read_bps_device".into(),
                "8:0 1048576".into()
            ),
            ("blkio.throttle.write_iops_device".into(), "8:0 0".into())
        ])
    );
    assert_eq!(
        down("hugetlb.2MB.max", "max"),
        write("hugetlb.2MB.limit_in_bytes", "-1")
    );
    assert_eq!(down("pids.max", "64"), write("pids.max", "64"));
}

#[test]
fn sizes_parse_as_the_kernel_reads_them() {
    assert_eq!(parse_limit("k", "64M").expect("64M"), Some(64 << 20));
    assert_eq!(parse_limit("k", "65536").expect("bytes"), Some(65536));
    assert_eq!(parse_limit("k", "1g").expect("1g"), Some(1 << 30));
    assert_eq!(parse_limit("k", "max").expect("max"), None);
    assert!(parse_limit("k", "12Q").is_err());
    assert!(parse_limit("k", "M").is_err());
}
