//! `rlxc top` on real containers: a busy one and an idle one, their figures checked against
//! their cgroup files as the host sees them. (Hybrid here; the UML lane runs these on pure
//! cgroup2.)

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use support::{cgroup_dir, read, TestNetns, World, RLXC};

/// A container whose init spins, with a pids and a memory limit.
fn busy(world: &World, base: &str) -> String {
    let name = world.busybox(base);
    world.append_config(
        &name,
        "lxc.init.cmd = /bin/sh -c 'while :; do :; done'\n\
         lxc.cgroup.pids.max = 32\n\
         lxc.cgroup.memory.limit_in_bytes = 256M\n",
    );
    start(world, &name);
    name
}

/// A busy container (see [`busy`]) and an idle one, both running.
fn busy_and_idle(world: &World, busy_base: &str, idle_base: &str) -> (String, String) {
    let busy = busy(world, busy_base);
    let idle = world.busybox(idle_base);
    start(world, &idle);
    (busy, idle)
}

fn start(world: &World, name: &str) {
    let out = world.output(&["start", "-n", name, "-d"]);
    assert!(out.status.success(), "start {name}: {out:?}");
}

/// The frames of `top -b` output (separated by blank lines), each as its rows of cells,
/// the header row first.
fn frames_of(stdout: &[u8]) -> Vec<Vec<Vec<String>>> {
    String::from_utf8_lossy(stdout)
        .split("\n\n")
        .map(|frame| {
            frame
                .lines()
                .map(|line| line.split_whitespace().map(String::from).collect())
                .collect()
        })
        .collect()
}

/// The cell of `column` (a header word) in the row of `name`.
fn cell<'a>(frame: &'a [Vec<String>], name: &str, column: &str) -> &'a str {
    let index = frame[0]
        .iter()
        .position(|header| header == column)
        .unwrap_or_else(|| panic!("no {column} column: {frame:?}"));
    let row = frame
        .iter()
        .find(|row| row[0] == name)
        .unwrap_or_else(|| panic!("no row of {name}: {frame:?}"));
    &row[index]
}

/// `top`'s short sizes back to bytes (`252K` is 252 KiB).
fn bytes(size: &str) -> f64 {
    let (number, unit) = size.split_at(size.len() - 1);
    let power = "BKMGTP"
        .find(unit)
        .unwrap_or_else(|| panic!("unit of {size}"));
    number.parse::<f64>().expect("number") * 1024f64.powi(power as i32)
}

#[test]
fn batch_sorted_by_cpu_puts_the_busy_container_first_with_its_limits() {
    let world = World::new();
    let (busy, idle) = busy_and_idle(&world, "top-busy", "top-idle");

    let out = world.output(&["top", "-b", "-d", "1", "--iterations", "2", "-s", "c"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = frames_of(&out.stdout);
    assert_eq!(frames.len(), 2, "two refreshes: {frames:?}");
    for frame in &frames {
        assert_eq!(frame.len(), 3, "a header and two containers: {frame:?}");
        assert_eq!(frame[1][0], busy, "the busy one first by cpu: {frame:?}");
        let cpu = |name| -> f64 { cell(frame, name, "CPU%").parse().expect("a CPU %") };
        assert!(
            cpu(&busy) > 10.0 && cpu(&busy) > cpu(&idle),
            "busy {} idle {}",
            cpu(&busy),
            cpu(&idle)
        );
        assert_eq!(cell(frame, &busy, "STATE"), "RUNNING");
    }
    let last = &frames[1];

    // Memory: the cgroup's usage file, to its order of magnitude (it moves by itself), and
    // the configured limit.
    let memory = cgroup_dir(world.init_pid(&busy), "memory");
    let usage_file = ["memory.usage_in_bytes", "memory.current"]
        .into_iter()
        .find(|file| memory.join(file).exists())
        .expect("a memory usage file");
    let usage: f64 = read(&memory, usage_file).parse().expect("usage");
    let (shown, limit) = cell(last, &busy, "MEM/LIMIT")
        .split_once('/')
        .expect("use/limit");
    let ratio = bytes(shown) / usage;
    assert!(
        (0.1..10.0).contains(&ratio),
        "top shows {shown}, {usage_file} says {usage}"
    );
    assert_eq!(limit, "256M");
    assert!(cell(last, &idle, "MEM/LIMIT").ends_with("/max"));

    // Pids: the busy one's init alone, below its pids.max.
    let pids = cgroup_dir(world.init_pid(&busy), "pids");
    assert_eq!(
        cell(last, &busy, "PIDS/MAX"),
        format!("{}/32", read(&pids, "pids.current"))
    );

    // Reversed, the idle one comes first.
    let out = world.output(&[
        "top",
        "-b",
        "-d",
        "0.5",
        "--iterations",
        "1",
        "-s",
        "c",
        "-r",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(frames_of(&out.stdout)[0][1][0], idle);

    // -n shows one container (a regex matching whole names: several); a frozen one uses no
    // CPU and says so.
    world.rlxc(&["freeze", "-n", &busy]).assert().success();
    let once = ["top", "-b", "-d", "0.5", "--iterations", "1"];
    let out = world.output(&[&once[..], &["-n", &busy]].concat());
    let frame = &frames_of(&out.stdout)[0];
    assert_eq!(frame.len(), 2, "{frame:?}");
    assert_eq!(cell(frame, &busy, "STATE"), "FROZEN");
    let cpu: f64 = cell(frame, &busy, "CPU%").parse().expect("a CPU %");
    assert!(cpu < 1.0, "frozen, yet {cpu}% CPU");
    world.rlxc(&["unfreeze", "-n", &busy]).assert().success();
    let out = world.output(&[&once[..], &["-n", "top-(busy|idle)-.*"]].concat());
    assert_eq!(frames_of(&out.stdout)[0].len(), 3);
    let out = world.output(&[&once[..], &["-n", "top"]].concat());
    assert_eq!(frames_of(&out.stdout)[0].len(), 1, "whole names only");

    for name in [&busy, &idle] {
        world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
        world.assert_nothing_left(name);
    }
}

#[test]
fn json_has_the_raw_figures_of_each_container() {
    let world = World::new();
    let busy = busy(&world, "top-json");
    // `s` sorts by memory + swap, as lxc-top's.
    let out = world.output(&["top", "--json", "-d", "0.5", "-s", "s"]);
    assert!(out.status.success(), "{out:?}");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["name"], busy.as_str());
    assert_eq!(row["pid"], world.init_pid(&busy));
    assert_eq!(row["memory_limit_bytes"], 256u64 << 20);
    assert_eq!(row["pids_max"], 32);
    assert_eq!(row["pids"], 1);
    // Swap: v1 memsw less memory where the host accounts swap, cgroup2 memory.swap.current.
    let memory = cgroup_dir(world.init_pid(&busy), "memory");
    let swap_accounted = memory.join("memory.memsw.usage_in_bytes").exists()
        || memory.join("memory.swap.current").exists();
    assert_eq!(row["swap_bytes"].is_u64(), swap_accounted, "{row}");
    assert!(row["cpu_percent"].as_f64().expect("cpu %") > 10.0, "{row}");
    // Its CPU time, read before now's: v1 cpuacct.usage or cgroup2 cpu.stat's usage_usec.
    let cpu = cgroup_dir(world.init_pid(&busy), "cpuacct");
    let now_ns: u64 = if cpu.join("cpuacct.usage").exists() {
        read(&cpu, "cpuacct.usage").parse().expect("usage")
    } else {
        let stat = read(&cpu, "cpu.stat");
        let usec = stat
            .lines()
            .find_map(|line| line.strip_prefix("usage_usec "))
            .expect("usage_usec");
        usec.parse::<u64>().expect("usec") * 1000
    };
    let cpu_ns = row["cpu_ns"].as_u64().expect("cpu ns");
    assert!(cpu_ns > 0 && cpu_ns <= now_ns, "{cpu_ns} vs {now_ns}");
    world.rlxc(&["stop", "-n", &busy, "-k"]).assert().success();
    world.assert_nothing_left(&busy);
}

#[test]
fn a_container_that_stops_between_refreshes_disappears_without_an_error() {
    let world = World::new();
    let stays = world.busybox("top-stays");
    let goes = world.busybox("top-goes");
    start(&world, &stays);
    start(&world, &goes);

    let mut top = world
        .process(
            Path::new(RLXC),
            &["top", "-b", "-d", "1", "--iterations", "3"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn top");
    let mut stdout = BufReader::new(top.stdout.take().expect("stdout"));
    // The first refresh: a header and both containers.
    let mut first = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        first.push(line);
    }
    assert!(
        first[1].starts_with(&goes) && first[2].starts_with(&stays),
        "{first:?}"
    );
    world.rlxc(&["stop", "-n", &goes, "-k"]).assert().success();

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the rest");
    let out = top.wait_with_output().expect("top ends");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = frames_of(rest.trim_start().as_bytes());
    assert_eq!(frames.len(), 2, "{rest}");
    let last = &frames[1];
    assert_eq!(
        last.len(),
        2,
        "the header and the one still running: {rest}"
    );
    assert_eq!(last[1][0], stays);
    world.assert_nothing_left(&goes);
    world.rlxc(&["stop", "-n", &stays, "-k"]).assert().success();
    world.assert_nothing_left(&stays);
}

#[test]
fn lxc_top_is_top_and_refuses_bad_options() {
    let world = World::new();
    let links = tempfile::tempdir().expect("tempdir");
    let lxc_top = links.path().join("lxc-top");
    std::os::unix::fs::symlink(RLXC, &lxc_top).expect("link");
    // No container running: the header alone.
    let out = world
        .process(&lxc_top, &["-b", "-d", "0.2", "--iterations", "1"])
        .output()
        .expect("lxc-top");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NAME  STATE  CPU%  MEM/LIMIT  BLKIO(R/W)  PIDS/MAX  NET(RX/TX)\n"
    );
    for (args, complaint) in [
        (&["-s", "x"][..], "the sort key is one of n (name)"),
        (&["-d", "0"][..], "the delay must be above 0"),
        (&["-d", "soon"][..], "is not a number of seconds"),
        (&["--iterations", "0"][..], "--iterations"),
        (
            &["-b", "-n", "web("][..],
            "-n \"web(\" is neither a name nor a regex",
        ),
        // Without -b the live view needs a terminal, which a test has not.
        (&[][..], "the live view needs a terminal"),
    ] {
        let out = world
            .process(&lxc_top, args)
            .stdin(Stdio::null())
            .output()
            .expect("lxc-top");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(complaint), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The bytes received and sent by the interfaces (but `lo`) of `pid`'s network namespace,
/// from its /proc/PID/net/dev.
fn net_dev_bytes(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).expect("net/dev");
    text.lines()
        .skip(2)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim() != "lo")
        .map(|(_, counters)| {
            let numbers: Vec<u64> = counters
                .split_whitespace()
                .map(|n| n.parse().expect("a counter"))
                .collect();
            (numbers[0], numbers[8])
        })
        .fold((0, 0), |(rx, tx), (r, t)| (rx + r, tx + t))
}

#[test]
fn network_bytes_are_those_of_the_containers_interfaces() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.21.0.1/24");
    let world = World::in_netns(&netns);
    let name = world.busybox("top-net");
    world.append_config(
        &name,
        "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.flags = up\n\
         lxc.net.0.name = eth0\nlxc.net.0.ipv4.address = 10.21.0.2/24\n",
    );
    start(&world, &name);
    // Pinged from the bridge's side: the container's busybox need not have ping.
    let ping = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", netns.name))
        .args(["busybox", "ping", "-c3", "-W2", "10.21.0.2"])
        .output()
        .expect("run busybox ping");
    assert!(ping.status.success(), "{ping:?}");
    let pid = world.init_pid(&name);
    let before = net_dev_bytes(pid);

    let out = world.output(&["top", "--json", "-d", "0.2", "-s", "N"]);
    assert!(out.status.success(), "{out:?}");
    let after = net_dev_bytes(pid);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let row = &rows[0];
    let rx = row["net_rx_bytes"].as_u64().expect("rx bytes");
    let tx = row["net_tx_bytes"].as_u64().expect("tx bytes");
    // Three pings in and three replies out, at least; between the two readings of the
    // kernel's own counters.
    assert!(
        tx >= 3 * 84 && (before.1..=after.1).contains(&tx),
        "{tx} {before:?} {after:?}"
    );
    assert!(
        rx >= 3 * 84 && (before.0..=after.0).contains(&rx),
        "{rx} {before:?} {after:?}"
    );

    let out = world.output(&["top", "-b", "-d", "0.2", "--iterations", "1"]);
    let frame = &frames_of(&out.stdout)[0];
    let (shown_rx, shown_tx) = cell(frame, &name, "NET(RX/TX)")
        .split_once('/')
        .expect("rx/tx");
    assert!(bytes(shown_rx) > 0.0 && bytes(shown_tx) > 0.0, "{frame:?}");

    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
    assert_eq!(netns.links(), ["lo", "br0"]);
}

/// A child that a failing test must not leave behind (here: script(1), whose hang-up ends
/// the view in its terminal).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The live view's frames in what the terminal got: each starts at cursor-home, its lines
/// without the erase sequences.
fn live_frames(screen: &str) -> Vec<Vec<String>> {
    screen
        .split("\x1b[H")
        .skip(1)
        .map(|frame| {
            frame
                .split("\r\n")
                .map(|line| line.replace("\x1b[K", "").replace('\r', ""))
                .filter(|line| !line.starts_with("\x1b[J"))
                .collect()
        })
        .collect()
}

/// The terminal output of a live `rlxc top`, read as it comes (a thread feeds a channel).
struct LiveScreen {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    text: String,
}

impl LiveScreen {
    /// Reads until a frame satisfies `done`; fails the test (showing the screen) when the
    /// view ends or a minute passes first.
    fn wait_for(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !live_frames(&self.text).iter().any(|frame| done(frame)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("no frame with {what}: {:?}", self.text),
            }
        }
        // Later frames only from here on.
        self.text.clear();
    }
}

fn title(frame: &[String]) -> &str {
    frame.first().map_or("", String::as_str)
}

/// The first row of the table in a live frame (after the two title lines and a blank one,
/// and the table's header).
fn first_row(frame: &[String]) -> Vec<&str> {
    frame
        .get(4)
        .map(|line| line.split_whitespace().collect())
        .unwrap_or_default()
}

#[test]
fn the_live_view_sorts_on_keys_and_quits_on_q_leaving_the_terminal_as_it_was() {
    let world = World::new();
    let (busy, idle) = busy_and_idle(&world, "top-live", "top-calm");
    let (mut script, mut keys, mut screen, reader) = live_top(&world, "0.3");
    let press = |keys: &mut std::process::ChildStdin, key: &[u8]| {
        std::io::Write::write_all(keys, key).expect("a key");
    };

    // By name first, as lxc-top.
    screen.wait_for("both containers by name", |frame| {
        title(frame).contains("2 active - sorted by name (A to Z)")
            && first_row(frame).first() == Some(&idle.as_str())
    });
    press(&mut keys, b"c");
    screen.wait_for("the busy one first by cpu", |frame| {
        let row = first_row(frame);
        title(frame).contains("sorted by cpu (largest first)")
            && row.first() == Some(&busy.as_str())
            && row.get(2).is_some_and(|cpu| *cpu != "-")
    });
    // c again reverses.
    press(&mut keys, b"c");
    screen.wait_for("the idle one first, reversed", |frame| {
        title(frame).contains("sorted by cpu (reversed)")
            && first_row(frame).first() == Some(&idle.as_str())
    });
    press(&mut keys, b"q");
    drop(keys);
    assert_ended_cleanly(&mut script, reader);

    for name in [&busy, &idle] {
        world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
        world.assert_nothing_left(name);
    }
}

/// A live `rlxc top -d DELAY` of `world` in a terminal of script(1), 100x20; the terminal's
/// modes are printed before and after it. Returns script, its stdin (the keyboard), the
/// screen as it comes and the thread that collects all of it.
fn live_top(
    world: &World,
    delay: &str,
) -> (
    KillOnDrop,
    std::process::ChildStdin,
    LiveScreen,
    std::thread::JoinHandle<Vec<u8>>,
) {
    support::assert_script_exists();
    let command = format!("stty cols 100 rows 20; stty -g; {RLXC} top -d {delay}; echo; stty -g");
    let mut script = KillOnDrop(
        world
            .process(Path::new("script"), &["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("script"),
    );
    let keys = script.0.stdin.take().expect("stdin");
    let mut stdout = script.0.stdout.take().expect("stdout");
    let (sender, chunks) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        let mut everything = Vec::new();
        while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buffer) {
            everything.extend_from_slice(&buffer[..n]);
            let _ = sender.send(buffer[..n].to_vec());
        }
        everything
    });
    let screen = LiveScreen {
        chunks,
        text: String::new(),
    };
    (script, keys, screen, reader)
}

/// The view ended with status 0, left the alternate screen, showed the cursor again, and
/// the terminal's modes (stty -g) are the same after it as before.
fn assert_ended_cleanly(script: &mut KillOnDrop, reader: std::thread::JoinHandle<Vec<u8>>) {
    let status = script.0.wait().expect("script ends");
    let everything = String::from_utf8_lossy(&reader.join().expect("reader")).into_owned();
    assert!(status.success(), "{everything:?}");
    assert!(
        everything.contains("\x1b[?25h\x1b[?1049l"),
        "{everything:?}"
    );
    let modes: Vec<&str> = everything
        .lines()
        .map(str::trim)
        .filter(|line| line.split(':').count() > 10)
        .collect();
    assert_eq!(modes.len(), 2, "{everything:?}");
    assert_eq!(modes[0], modes[1]);
}

/// The `rlxc top` process of `world` (found by its RLXC_PATH).
fn top_process_of(world: &World) -> i32 {
    let wanted = format!("RLXC_PATH={}", world.lxcpath().display());
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            comm.trim() == "rlxc"
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == wanted.as_bytes())
        })
        .expect("the rlxc top process")
}

#[test]
fn the_live_view_redraws_on_a_resize_and_sigterm_leaves_the_terminal_as_it_was() {
    let world = World::new();
    let name = world.busybox("top-resize");
    start(&world, &name);
    // A delay no test waits for: any redraw seen comes from the resize.
    let (mut script, keys, mut screen, reader) = live_top(&world, "600");
    screen.wait_for("the container", |frame| {
        first_row(frame).first() == Some(&name.as_str())
    });
    let top = top_process_of(&world);
    let terminal = std::fs::read_link(format!("/proc/{top}/fd/0")).expect("its terminal");
    let resize = std::process::Command::new("stty")
        .arg("-F")
        .arg(&terminal)
        .args(["cols", "40"])
        .output()
        .expect("stty");
    assert!(resize.status.success(), "{resize:?}");
    screen.wait_for("a frame 40 columns wide", |frame| {
        first_row(frame)
            .first()
            .is_some_and(|n| name.starts_with(n.trim_end_matches('~')))
            && frame.iter().all(|line| line.chars().count() <= 40)
    });
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(top).expect("pid"),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    assert_ended_cleanly(&mut script, reader);
    drop(keys);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
