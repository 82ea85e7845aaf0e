//! The spawn protocol on the real kernel: namespaces, the staged sync, and failures that name
//! their step and leave no process behind. Runs single-threaded (harness = false): see
//! Cargo.toml.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::Path;

use rlxc_runtime::rootfs::RootfsError;
use rlxc_runtime::spawn::{
    spawn, CgroupEntry, ConfigLine, HostSteps, InitPlan, PtyMasters, SpawnError,
};

fn plan(config: &str, command: &[&str]) -> InitPlan {
    let spec = rlxc_config::load_str(config, Path::new("test.conf"))
        .expect("config")
        .spec;
    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    InitPlan::from_spec(&spec, &command).expect("plan")
}

fn host<'a>(
    setup: &'a mut dyn FnMut(i32) -> Result<(), String>,
    before_exec: &'a mut dyn FnMut(i32) -> Result<(), String>,
) -> HostSteps<'a> {
    HostSteps {
        setup,
        before_exec,
        procview: None,
    }
}

fn no_filesystem() -> Result<PtyMasters, RootfsError> {
    Ok(PtyMasters::default())
}

fn wait_exit_code(pidfd: &std::os::fd::OwnedFd) -> i32 {
    let status = rustix::process::waitid(
        rustix::process::WaitId::PidFd(pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED,
    )
    .expect("waitid")
    .expect("status");
    status.exit_status().expect("exited normally")
}

fn ns_inode(pid: i32, kind: &str) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).expect("ns link")
}

fn init_runs_in_new_namespaces_with_its_hostname() {
    let plan = plan(
        "lxc.uts.name = spawn-test\n",
        &["/bin/sh", "-c", "test \"$(cat /proc/sys/kernel/hostname)\" = spawn-test && read x < /dev/null; exec sleep 5"],
    );
    let mut seen = None;
    let spawned = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(
            &mut |pid| {
                seen = Some(pid);
                Ok(())
            },
            &mut |_| Ok(()),
        ),
    )
    .expect("spawn");
    assert_eq!(seen, Some(spawned.pid), "host setup saw the child's pid");
    let me = std::process::id() as i32;
    for kind in ["pid", "uts", "ipc", "net", "mnt", "cgroup"] {
        assert_ne!(
            ns_inode(spawned.pid, kind),
            ns_inode(me, kind),
            "{kind} namespace not new"
        );
    }
    rustix::process::pidfd_send_signal(&spawned.pidfd, rustix::process::Signal::KILL)
        .expect("kill");
    wait_exit_code_or_signal(&spawned.pidfd);
}

fn wait_exit_code_or_signal(pidfd: &std::os::fd::OwnedFd) {
    rustix::process::waitid(
        rustix::process::WaitId::PidFd(pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED,
    )
    .expect("waitid");
}

fn hostname_is_set_inside() {
    let plan = plan(
        "lxc.uts.name = spawn-test\n",
        &[
            "/bin/sh",
            "-c",
            "test \"$(cat /proc/sys/kernel/hostname)\" = spawn-test",
        ],
    );
    let spawned = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    )
    .expect("spawn");
    assert_eq!(
        wait_exit_code(&spawned.pidfd),
        0,
        "hostname inside was not spawn-test"
    );
}

fn environment_and_cwd_reach_init() {
    let plan = plan(
        "lxc.environment = GREETING=hi\nlxc.init.cwd = /tmp\n",
        &[
            "/bin/sh",
            "-c",
            "test \"$GREETING\" = hi && test \"$container\" = lxc && test \"$(pwd)\" = /tmp",
        ],
    );
    let spawned = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    )
    .expect("spawn");
    assert_eq!(wait_exit_code(&spawned.pidfd), 0);
}

fn dropped_capabilities_leave_the_bounding_set() {
    // sys_admin is capability 21: bit 21 of CapBnd must be clear.
    let plan = plan(
        "lxc.cap.drop = sys_admin\n",
        &["/bin/sh", "-c", "b=$(grep CapBnd /proc/self/status | cut -f2); test $(( 0x$b & (1 << 21) )) -eq 0 && test $(( 0x$b & 1 )) -eq 1"],
    );
    let spawned = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    )
    .expect("spawn");
    assert_eq!(wait_exit_code(&spawned.pidfd), 0);
}

fn a_missing_init_fails_at_exec() {
    let plan = plan("", &["/nonexistent/init"]);
    match spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    ) {
        Err(SpawnError::Child { step, message, .. }) => {
            assert_eq!(step, "exec");
            assert!(message.contains("/nonexistent/init"), "{message}");
        }
        other => panic!("expected an exec failure, got {other:?}"),
    }
}

fn a_failing_filesystem_step_names_it() {
    let plan = plan("", &["/bin/true"]);
    match spawn(
        &plan,
        CgroupEntry::default(),
        &mut || {
            Err(RootfsError::MountEntry {
                entry: "/no/such mnt none bind 0 0".into(),
                reason: "no such source".into(),
            })
        },
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    ) {
        // The config line the step was about crosses with it, for the CLI to point at.
        Err(SpawnError::Child {
            step,
            message,
            config,
        }) => {
            assert_eq!(step, "rootfs");
            assert_eq!(
                message,
                "lxc.mount.entry = /no/such mnt none bind 0 0: no such source"
            );
            assert_eq!(
                config,
                Some(ConfigLine {
                    key: "lxc.mount.entry".into(),
                    value: Some("/no/such mnt none bind 0 0".into()),
                })
            );
        }
        other => panic!("expected a rootfs failure, got {other:?}"),
    }
}

fn a_failing_host_step_kills_the_child() {
    let plan = plan("", &["/bin/true"]);
    let mut child = 0;
    let result = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(
            &mut |pid| {
                child = pid;
                Err("no cgroup".to_string())
            },
            &mut |_| Ok(()),
        ),
    );
    assert!(
        matches!(result, Err(SpawnError::HostSetup(_))),
        "{result:?}"
    );
    assert!(
        !Path::new(&format!("/proc/{child}")).exists(),
        "child {child} left behind"
    );
}

fn prlimits_apply_to_init() {
    let plan = plan(
        "lxc.prlimit.nofile = 123:456\n",
        &[
            "/bin/sh",
            "-c",
            "test $(ulimit -n) = 123 && test $(ulimit -Hn) = 456",
        ],
    );
    let spawned = spawn(
        &plan,
        CgroupEntry::default(),
        &mut no_filesystem,
        &mut host(&mut |_| Ok(()), &mut |_| Ok(())),
    )
    .expect("spawn");
    assert_eq!(wait_exit_code(&spawned.pidfd), 0);
}

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "init_runs_in_new_namespaces_with_its_hostname",
            init_runs_in_new_namespaces_with_its_hostname,
        ),
        ("hostname_is_set_inside", hostname_is_set_inside),
        (
            "environment_and_cwd_reach_init",
            environment_and_cwd_reach_init,
        ),
        (
            "dropped_capabilities_leave_the_bounding_set",
            dropped_capabilities_leave_the_bounding_set,
        ),
        ("a_missing_init_fails_at_exec", a_missing_init_fails_at_exec),
        (
            "a_failing_filesystem_step_names_it",
            a_failing_filesystem_step_names_it,
        ),
        (
            "a_failing_host_step_kills_the_child",
            a_failing_host_step_kills_the_child,
        ),
        ("prlimits_apply_to_init", prlimits_apply_to_init),
    ];
    let _ = CString::new("");
    for (name, test) in tests {
        print!("test {name} ... ");
        test();
        println!("ok");
    }
    println!(
        "\ntest result: ok. {} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
        tests.len()
    );
}
