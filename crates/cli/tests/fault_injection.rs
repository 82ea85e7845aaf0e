//! Faults injected into a container's life: verbs racing on one container, `rlxc start` and
//! the monitor killed at many points, a monitor that stops answering. After each, once the
//! next verb has run, nothing of the container is left beyond what it had before (its
//! "leak surface": processes, cgroups in every hierarchy, links in the test's network
//! namespace, mounts, the run directory, the lxcpath), and no verb reported success for what
//! did not happen.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use support::{TestNetns, World};

/// Everything of one container that a crash could leave behind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Surface {
    processes: Vec<i32>,
    cgroups: Vec<PathBuf>,
    links: Vec<String>,
    mounts: Vec<String>,
    run_dir: Vec<String>,
    lxcpath: Vec<String>,
}

impl Surface {
    fn of(world: &World, netns: &TestNetns, name: &str) -> Surface {
        let cgroup_names = [
            format!("rlxc.payload.{name}"),
            format!("rlxc.monitor.{name}"),
        ];
        let mut cgroups = Vec::new();
        find_cgroups(Path::new("/sys/fs/cgroup"), &cgroup_names, 0, &mut cgroups);
        cgroups.sort();
        let processes = pids()
            .into_iter()
            // A zombie holds nothing: it waits for the host's init to reap it (slowly, on a
            // host whose init is not systemd).
            .filter(|pid| !is_zombie(*pid))
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|text| {
                    cgroup_names.iter().any(|c| {
                        text.contains(&format!("/{c}/"))
                            || text.contains(&format!("/{c}\n"))
                            || text.contains(&format!("/{c}."))
                    })
                }) || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmd| cmd.starts_with("[rlxc monitor]") && cmd.ends_with(name))
            })
            .collect();
        let world_dir = world.dir.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(&world_dir))
            .map(str::to_string)
            .collect();
        Surface {
            processes,
            cgroups,
            links: netns.links(),
            mounts,
            run_dir: entries(&world.run_root())
                .into_iter()
                .chain(
                    entries(&world.run_root().join(".locks"))
                        .into_iter()
                        .map(|e| format!(".locks/{e}")),
                )
                // The lock directory and the events journal (`rlxc monitor`'s) are shared by
                // every container of the run root, and stay.
                .filter(|e| e != ".locks" && e != ".events")
                .collect(),
            lxcpath: entries(&world.lxcpath()),
        }
    }

    /// The surface once it equals `baseline`, or after 5 s. The kernel removes a network
    /// namespace, and with it a veth pair whose host end no state file recorded yet (the
    /// monitor killed as it made it), some time after its last process ended.
    fn settled(world: &World, netns: &TestNetns, name: &str, baseline: &Surface) -> Surface {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let surface = Surface::of(world, netns, name);
            if surface == *baseline || Instant::now() >= deadline {
                return surface;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The container is not running and nothing of a run of it is left (its directory in
    /// the lxcpath may or may not be there).
    fn assert_at_rest(&self, what: &str) {
        assert!(
            self.processes.is_empty()
                && self.cgroups.is_empty()
                && self.mounts.is_empty()
                && self.run_dir.is_empty(),
            "{what}: left behind: {self:#?}"
        );
    }
}

fn is_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    matches!(state, None | Some("Z") | Some("X"))
}

fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn find_cgroups(dir: &Path, names: &[String], depth: usize, found: &mut Vec<PathBuf>) {
    if depth > 7 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if names.contains(&entry_name) {
            found.push(entry.path());
            continue;
        }
        find_cgroups(&entry.path(), names, depth + 1, found);
    }
}

/// A container on a veth in the test's namespace, so a leaked host link shows there.
fn networked_busybox(world: &World, netns: &TestNetns, base: &str) -> String {
    let name = world.busybox(base);
    let bridge = bridge_of(netns);
    world.append_config(
        &name,
        &format!("lxc.net.0.type = veth\nlxc.net.0.link = {bridge}\nlxc.net.0.flags = up\n"),
    );
    name
}

fn bridge_of(netns: &TestNetns) -> String {
    let bridge = "rlxcfi0".to_string();
    if !netns.links().contains(&bridge) {
        netns.bridge(&bridge, "10.213.7.1/24");
    }
    bridge
}

/// A small deterministic generator for delays: the same seed gives the same run.
struct Delays(u64);

impl Delays {
    fn next(&mut self, below_micros: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_micros((self.0 >> 33) % below_micros.max(1))
    }
}

/// `rlxc ARGS` in the background, in the world's network namespace if it has one (through
/// nsenter, which execs rlxc: the pid is rlxc's).
fn spawn(world: &World, args: &[&str]) -> Child {
    let mut command = match &world.netns {
        Some(netns) => {
            let net = format!("--net=/run/netns/{netns}");
            let mut argv = vec![net.as_str(), support::RLXC];
            argv.extend_from_slice(args);
            world.process(Path::new("/usr/bin/nsenter"), &argv)
        }
        None => world.process(Path::new(support::RLXC), args),
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rlxc")
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("rlxc output")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every verb's outcome is one it may have: none crashed, none reported an error that a lock
/// would have prevented (half-deleted directories), none was killed by a signal.
fn assert_sane(verb: &str, output: &Output, allowed: &[i32]) {
    let said = text(output);
    assert!(
        output.status.code().is_some_and(|c| allowed.contains(&c)),
        "{verb}: {said}"
    );
    for bad in ["Directory not empty", "panicked", "No such file"] {
        assert!(!said.contains(bad), "{verb}: {said}");
    }
}

#[test]
fn verbs_racing_on_one_container_serialise_and_leave_nothing_half_done() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let mut name = networked_busybox(&world, &netns, "race");
    let baseline_links = netns.links();
    let mut delays = Delays(0x5eed);
    let rounds = 100;
    for round in 0..rounds {
        let verbs: Vec<(&str, Vec<&str>, &[i32])> = vec![
            ("start", vec!["start", "-n", &name], &[0, 1]),
            ("stop -k", vec!["stop", "-n", &name, "-k"], &[0, 2]),
            ("freeze", vec!["freeze", "-n", &name], &[0, 1]),
            ("start", vec!["start", "-n", &name], &[0, 1]),
            ("destroy -f", vec!["destroy", "-n", &name, "-f"], &[0, 1]),
            ("unfreeze", vec!["unfreeze", "-n", &name], &[0, 1]),
        ];
        // A different mix each round: which verbs, in which order, how far apart.
        let take = 2 + (delays.next(4_000).as_micros() as usize % 3);
        let offset = delays.next(6_000).as_micros() as usize % verbs.len();
        let chosen: Vec<_> = (0..take)
            .map(|i| verbs[(offset + i * 2 + round) % verbs.len()].clone())
            .collect();
        let mut running = Vec::new();
        for (verb, args, allowed) in &chosen {
            std::thread::sleep(delays.next(15_000));
            running.push((*verb, spawn(&world, args), *allowed));
        }
        let outputs: Vec<_> = running
            .into_iter()
            .map(|(verb, child, allowed)| (verb, finish(child), allowed))
            .collect();
        let all: String = outputs
            .iter()
            .map(|(verb, output, _)| format!("--- {verb}: {}\n", text(output)))
            .collect();
        let mut destroyed = false;
        for (verb, output, allowed) in &outputs {
            assert_sane(&format!("round {round}: {all}\n{verb}"), output, allowed);
            destroyed |= *verb == "destroy -f" && output.status.success();
        }
        let dir = world.lxcpath().join(&name);
        if destroyed {
            assert!(
                !dir.exists(),
                "round {round}: destroy said done, {} is there",
                dir.display()
            );
        }
        assert!(
            !dir.exists() || dir.join("config").is_file(),
            "round {round}: {} half removed",
            dir.display()
        );
        if !dir.exists() {
            // Destroyed: nothing of it may run on, unseen by `ls`.
            Surface::of(&world, &netns, &name).assert_at_rest(&format!("round {round}, destroyed"));
            name = networked_busybox(&world, &netns, "race");
            continue;
        }
        let stop = world.output(&["stop", "-n", &name, "-k"]);
        assert_sane("stop -k after the round", &stop, &[0, 2]);
        let surface = Surface::of(&world, &netns, &name);
        surface.assert_at_rest(&format!("round {round}"));
        assert_eq!(surface.links, baseline_links, "round {round}: links");
    }
}

#[test]
fn a_stop_or_destroy_issued_during_a_start_waits_for_it_and_then_does_its_work() {
    let world = World::new();
    let name = world.busybox("stopdur");
    world.append_config(&name, &slow_hook(&world, "pre-start", 0.4));
    for (verb, args) in [
        ("stop -k", ["stop", "-k"]),
        ("destroy -f", ["destroy", "-f"]),
    ] {
        let start = spawn(&world, &["start", "-n", &name]);
        wait_for_lock_holder(&world, &name);
        let other = spawn(&world, &[args[0], "-n", &name, args[1]]);
        let (start, other) = (finish(start), finish(other));
        assert!(start.status.success(), "start: {}", text(&start));
        // Serialised behind the start: it found the container running and ended it.
        assert!(other.status.success(), "{verb}: {}", text(&other));
        assert!(
            String::from_utf8_lossy(&other.stderr).contains("busy with `rlxc start`"),
            "{verb} says what it waits for: {}",
            text(&other)
        );
        world.assert_nothing_left(&name);
    }
    assert!(!world.lxcpath().join(&name).exists(), "destroyed");
}

/// Waits until a verb holds the container's operation lock (it has written its name into
/// the lock file, which it does once the lock is its).
fn wait_for_lock_holder(world: &World, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let locks = world.run_root().join(".locks");
        let held = entries(&locks).iter().any(|lock| {
            lock.starts_with(name)
                && std::fs::read_to_string(locks.join(lock)).is_ok_and(|t| t.contains("rlxc"))
        });
        if held {
            return;
        }
        assert!(Instant::now() < deadline, "no verb took {name}'s lock");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `lxc.hook.HOOK` that sleeps `seconds`: a start held at that step.
fn slow_hook(world: &World, hook: &str, seconds: f64) -> String {
    let script = world.dir.path().join(format!("slow-{hook}"));
    std::fs::write(&script, format!("#!/bin/sh\nsleep {seconds}\n")).expect("hook");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    format!("lxc.hook.{hook} = {}\n", script.display())
}

#[test]
fn rlxc_start_killed_at_any_point_leaves_nothing_once_the_next_verb_ran() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let name = networked_busybox(&world, &netns, "killstart");
    let baseline = Surface::of(&world, &netns, &name);
    // How long a whole start takes here, to spread the kills over it.
    let started = Instant::now();
    world.rlxc(&["start", "-n", &name]).assert().success();
    let span = started.elapsed().as_micros() as u64;
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let mut delays = Delays(0xdead);
    for round in 0..40 {
        // Evenly over the start's span, jittered, plus a few past it.
        let at = Duration::from_micros(span * round / 32) + delays.next(400);
        let start = spawn(&world, &["start", "-n", &name]);
        std::thread::sleep(at);
        let pid = Pid::from_raw(start.id() as i32).expect("pid");
        let _ = kill_process(pid, Signal::KILL);
        let _ = finish(start);
        // The next verb: a stop finds the container running (the start got that far) or
        // not, and in both cases leaves nothing.
        let stop = world.output(&["stop", "-n", &name, "-k"]);
        assert_sane("stop -k after a killed start", &stop, &[0, 2]);
        assert_eq!(
            Surface::of(&world, &netns, &name),
            baseline,
            "round {round}: start killed after {at:?}"
        );
    }
}

#[test]
fn the_monitor_killed_at_any_point_leaves_nothing_once_the_next_verb_ran() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let name = networked_busybox(&world, &netns, "killmon");
    let baseline = Surface::of(&world, &netns, &name);
    let mut delays = Delays(0xbeef);
    let next_verbs: [&[&str]; 4] = [&["stop", "-k"], &["destroy", "-f"], &["start"], &["info"]];
    for round in 0..24 {
        let start = spawn(&world, &["start", "-n", &name]);
        // The monitor is the start's child; killed at some point of the start or after.
        let monitor = child_of(start.id() as i32);
        std::thread::sleep(delays.next(30_000));
        if let Some(monitor) = monitor {
            let _ = kill_process(Pid::from_raw(monitor).expect("pid"), Signal::KILL);
        }
        let start = finish(start);
        assert_sane("start whose monitor was killed", &start, &[0, 1]);
        let verb = next_verbs[round % next_verbs.len()];
        let mut args = vec![verb[0], "-n", &name];
        args.extend_from_slice(&verb[1..]);
        let output = world.output(&args);
        assert_sane(verb[0], &output, &[0, 1, 2]);
        if verb[0] == "destroy" {
            assert!(output.status.success(), "destroy: {}", text(&output));
            assert!(!world.lxcpath().join(&name).exists());
            Surface::of(&world, &netns, &name).assert_at_rest(&format!("round {round}"));
            // Made again under the same name for the next round.
            world
                .rlxc(&["create", "-n", &name, "-t", "busybox"])
                .assert()
                .success();
            world.append_config(
                &name,
                &format!(
                    "lxc.net.0.type = veth\nlxc.net.0.link = {}\nlxc.net.0.flags = up\n",
                    bridge_of(&netns)
                ),
            );
            continue;
        }
        // `start` may have brought it up again and `info` looks only: one more stop.
        let stop = world.output(&["stop", "-n", &name, "-k"]);
        assert_sane("stop -k", &stop, &[0, 2]);
        assert_eq!(
            Surface::settled(&world, &netns, &name, &baseline),
            baseline,
            "round {round}: after `{}`",
            verb.join(" ")
        );
    }
}

/// A killed monitor's debris is reported once by the verb that removes it, which then says
/// the truth: `stop` that it was not running, `destroy` that it is gone.
#[test]
fn debris_of_a_killed_monitor_is_removed_and_said_once() {
    let world = World::new();
    let name = world.busybox("debris");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let init = world.init_pid(&name);
    world.kill_monitor(&name);
    wait_gone(init);
    let first = world.output(&["stop", "-n", &name, "-k"]);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    let said = String::from_utf8_lossy(&first.stderr);
    assert!(
        said.contains("removed what a crashed run of it left"),
        "{said}"
    );
    world.assert_nothing_left(&name);
    let second = world.output(&["stop", "-n", &name, "-k"]);
    assert_eq!(second.status.code(), Some(2));
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("crashed"),
        "said once: {}",
        text(&second)
    );
    // The same through destroy -f: it removes the debris, says so, and is then done.
    world.rlxc(&["start", "-n", &name]).assert().success();
    let init = world.init_pid(&name);
    world.kill_monitor(&name);
    wait_gone(init);
    let destroy = world.output(&["destroy", "-n", &name, "-f"]);
    assert!(destroy.status.success(), "{}", text(&destroy));
    assert!(
        String::from_utf8_lossy(&destroy.stderr).contains("removed what a crashed run"),
        "{}",
        text(&destroy)
    );
    assert!(!world.lxcpath().join(&name).exists());
    world.assert_nothing_left(&name);
}

/// A monitor stopped with SIGSTOP does not answer: `console` says so within its limit
/// instead of waiting for ever.
#[test]
fn a_monitor_that_does_not_answer_is_reported_as_such() {
    let world = World::new();
    let name = world.busybox("mute");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let monitor = Pid::from_raw(world.monitor_pid(&name)).expect("pid");
    kill_process(monitor, Signal::STOP).expect("SIGSTOP");
    let asked = Instant::now();
    let console = world.output(&["console", "-n", &name]);
    let took = asked.elapsed();
    kill_process(monitor, Signal::CONT).expect("SIGCONT");
    assert!(!console.status.success(), "{}", text(&console));
    assert!(
        String::from_utf8_lossy(&console.stderr).contains("did not answer"),
        "{}",
        text(&console)
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// The process whose parent is `parent` (the monitor of a start), looked for while the
/// start runs; `None` if the start ended first.
fn child_of(parent: i32) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let found = pids().into_iter().find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(parent)
            })
        });
        if found.is_some() {
            return found;
        }
        if !Path::new(&format!("/proc/{parent}")).exists() {
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    None
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if matches!(state, None | Some("Z") | Some("X")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("pid {pid} did not end");
}

/// A verb waiting for another's lock ends on SIGTERM and SIGINT, and the holder's work goes
/// on undisturbed.
#[test]
fn a_verb_waiting_for_the_lock_ends_on_sigterm_and_sigint() {
    let world = World::new();
    let name = world.busybox("lockwait");
    world.append_config(&name, &slow_hook(&world, "pre-start", 1.5));
    let start = spawn(&world, &["start", "-n", &name]);
    wait_for_lock_holder(&world, &name);
    for signal in [Signal::TERM, Signal::INT] {
        // Through `env --default-signal`: a test run in the background inherits SIGINT
        // ignored, and an ignored signal stays ignored across exec.
        let mut waiter = world
            .process(
                Path::new("/usr/bin/env"),
                &["--default-signal=INT", support::RLXC, "stop", "-n", &name],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stop");
        support::wait_until_sleeping(&mut waiter);
        let sent = Instant::now();
        kill_process(Pid::from_raw(waiter.id() as i32).expect("pid"), signal).expect("signal");
        let output = finish(waiter);
        assert!(sent.elapsed() < Duration::from_secs(1), "ended at once");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&output.status),
            Some(signal.as_raw()),
            "{}",
            text(&output)
        );
    }
    let start = finish(start);
    assert!(start.status.success(), "start: {}", text(&start));
    assert_eq!(world.state(&name), "RUNNING");
}

/// `rlxc stop`, or the monitor, SIGKILLed at points spread over a graceful stop: the next
/// verb finds the container running (and stops it) or gone, and nothing is left after it.
#[test]
fn a_stop_or_its_monitor_killed_at_any_point_leaves_nothing_once_the_next_verb_ran() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let name = networked_busybox(&world, &netns, "killstop");
    let baseline = Surface::of(&world, &netns, &name);
    // How long a whole graceful stop takes here, to spread the kills over it.
    world.rlxc(&["start", "-n", &name]).assert().success();
    let stopped = Instant::now();
    world.rlxc(&["stop", "-n", &name]).assert().success();
    let span = stopped.elapsed().as_micros() as u64;
    let mut delays = Delays(0x5709);
    for round in 0..16u64 {
        world.rlxc(&["start", "-n", &name]).assert().success();
        let monitor = world.monitor_pid(&name);
        let stop = spawn(&world, &["stop", "-n", &name]);
        std::thread::sleep(Duration::from_micros(span * round / 14) + delays.next(300));
        let victim = if round % 2 == 0 {
            stop.id() as i32
        } else {
            monitor
        };
        let _ = kill_process(Pid::from_raw(victim).expect("pid"), Signal::KILL);
        let _ = finish(stop);
        let next = world.output(&["stop", "-n", &name, "-k"]);
        assert_sane("stop -k after a killed stop", &next, &[0, 2]);
        assert_eq!(
            Surface::settled(&world, &netns, &name, &baseline),
            baseline,
            "round {round}: {} killed",
            if round % 2 == 0 {
                "rlxc stop"
            } else {
                "the monitor"
            }
        );
    }
}
