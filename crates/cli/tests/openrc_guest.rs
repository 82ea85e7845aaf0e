//! A Debian 12 guest booting sysvinit with OpenRC, as in the seed, configured as LXC's download
//! template configures it (`debian.common.conf`): it boots its default runlevel, gives a login
//! on a tty, reboots and powers off from inside, reboots on `stop -r`, and `rlxc stop` runs
//! its shutdown runlevel. Its stock inittab maps SIGPWR, LXC's halt signal, to a powerfail
//! script that does not halt; `rlxc stop` asks sysvinit for runlevel 0 instead.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::guest::{Guest, Overlay};
use support::{assert_ok, World, RLXC};

/// A bound against a hang, not a timing claim: a boot takes a second or two here.
const DEADLINE: Duration = Duration::from_secs(60);

/// An OpenRC service of the test's own in the default runlevel: it appends `start` and `stop`
/// with sysvinit's runlevels then (`runlevel`: previous and current) to [`MARKER`], so the
/// host sees each boot (`N 2`) and which runlevel stopped it (`2 0` halts, `2 6` reboots).
const MARKER_SERVICE: &str = "#!/sbin/openrc-run\n\
    description=\"rlxc test: records its starts and stops\"\n\
    start() { echo \"start $(runlevel)\" >> /var/lib/rlxc-marker; }\n\
    stop() { echo \"stop $(runlevel)\" >> /var/lib/rlxc-marker; }\n";
const MARKER: &str = "var/lib/rlxc-marker";

/// One test's OpenRC container. Fields drop in order: the world stops the container before
/// the overlay under it goes.
struct OpenRc {
    world: World,
    overlay: Overlay,
    name: String,
    log: PathBuf,
}

impl OpenRc {
    fn new(base: &str) -> OpenRc {
        let world = World::new();
        let overlay = Guest::OpenRc.overlay();
        let name = overlay.container(&world, base, "");
        let rootfs = overlay.rootfs();
        let service = rootfs.join("etc/init.d/rlxc-marker");
        std::fs::write(&service, MARKER_SERVICE).expect("marker service");
        std::fs::set_permissions(&service, std::fs::Permissions::from_mode(0o755))
            .expect("marker service's mode");
        std::os::unix::fs::symlink(
            "/etc/init.d/rlxc-marker",
            rootfs.join("etc/runlevels/default/rlxc-marker"),
        )
        .expect("marker in the default runlevel");
        let log = world.dir.path().join("monitor.log");
        OpenRc {
            world,
            overlay,
            name,
            log,
        }
    }

    /// Starts it and waits until it has booted its default runlevel.
    fn boot(&self) {
        let log = self.log.to_str().expect("log path");
        self.world
            .rlxc(&["start", "-n", &self.name, "-l", "INFO", "-o", log])
            .assert()
            .success();
        self.wait_until_booted();
    }

    /// The default runlevel is done when sysvinit runs the gettys: inittab's `l2` entry
    /// (`/etc/init.d/rc 2`, OpenRC's default runlevel) is a `wait` entry before them.
    fn wait_until_booted(&self) {
        self.wait_until("the default runlevel to finish", || {
            self.world
                .sh(&self.name, "pgrep -x getty >/dev/null")
                .status
                .success()
        });
    }

    fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{}: waited in vain for {what}\nmonitor log:\n{}",
                self.name,
                self.monitor_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Init's pid while it runs; `None` between two inits of a reboot too.
    fn running_init(&self) -> Option<i32> {
        let out = self.world.output(&["info", "-n", &self.name, "-p", "-H"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// Waits for the init of a reboot, one that is not `before`, then for its boot.
    fn wait_until_rebooted(&self, before: i32) {
        self.wait_until("a new init", || {
            self.running_init().is_some_and(|pid| pid != before)
        });
        self.wait_until_booted();
    }

    fn marker(&self) -> String {
        std::fs::read_to_string(self.overlay.rootfs().join(MARKER)).unwrap_or_default()
    }

    fn monitor_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn sh(&self, script: &str) -> String {
        let output = self.world.sh(&self.name, script);
        assert_ok(&output, script);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// How init's runs ended, as the monitor logged them.
    fn init_ends(&self) -> Vec<String> {
        self.monitor_log()
            .lines()
            .filter_map(|line| {
                line.split_once("init was ended by ")
                    .map(|(_, how)| how.to_owned())
            })
            .collect()
    }
}

#[test]
fn it_boots_its_default_runlevel_and_rlxc_stop_runs_the_shutdown_runlevel() {
    let guest = OpenRc::new("orc-stop");
    guest.boot();
    let world = &guest.world;

    assert_eq!(guest.sh("runlevel").trim(), "N 2");
    assert_eq!(guest.sh("rc-status --runlevel").trim(), "default");
    // Every service of the boot's runlevels started: none stopped or crashed on the way.
    for runlevel in ["sysinit", "default"] {
        let status = guest.sh(&format!("rc-status --nocolor {runlevel}"));
        let services: Vec<&str> = status.lines().filter(|l| l.starts_with(' ')).collect();
        assert!(
            services.len() >= 3 && services.iter().all(|l| l.contains("[  started  ]")),
            "{status}"
        );
        if runlevel == "default" {
            for service in ["rlxc-marker", "rc.local", "bootlogs", "rmnologin"] {
                assert!(status.contains(service), "{service} is missing:\n{status}");
            }
        }
    }
    assert_eq!(guest.marker(), "start N 2\n");

    // Within the timeout; the old stop (SIGPWR only) sat it out and killed init. A generous
    // one: under user-mode-linux OpenRC's shutdown runs its scripts in some 25 s, more on a
    // busy machine.
    world
        .rlxc(&["stop", "-n", &guest.name, "-t", "120"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "asked for runlevel 0 through /run/initctl",
        ));
    assert_eq!(world.state(&guest.name), "STOPPED");
    // sysvinit's runlevel 0 ran OpenRC's shutdown, which stopped the service...
    assert_eq!(guest.marker(), "start N 2\nstop 2 0\n");
    // ...and the guest halted itself: reboot(2)'s halt in a pid namespace ends init by
    // SIGINT. No SIGKILL.
    assert_eq!(
        guest.init_ends(),
        ["signal 2 (SIGINT)"],
        "{}",
        guest.monitor_log()
    );
    // Its umountroot remounted / read-only: the rootfs's filesystem (the overlay, on the
    // host) stayed writable all the same.
    assert!(!support::superblock_read_only(&guest.overlay.rootfs()));
    world.assert_nothing_left(&guest.name);
}

#[test]
fn a_halt_signal_the_config_sets_is_sent_as_set() {
    let guest = OpenRc::new("orc-sig");
    // The user's choice, as in LXC: SIGPWR, which the stock inittab maps to its powerfail
    // script. It does not halt, so the stop ends in a kill once the (short) timeout is out.
    guest
        .world
        .append_config(&guest.name, "lxc.signal.halt = SIGPWR\n");
    guest.boot();
    guest
        .world
        .rlxc(&["stop", "-n", &guest.name, "-t", "2"])
        .assert()
        .success()
        .stderr(predicate::str::contains("initctl").not());
    assert_eq!(
        guest.init_ends(),
        ["signal 9 (SIGKILL)"],
        "{}",
        guest.monitor_log()
    );
    assert_eq!(guest.marker(), "start N 2\n");
    guest.world.assert_nothing_left(&guest.name);
}

#[test]
fn reboot_from_inside_and_stop_r_restart_it_and_poweroff_from_inside_stops_it() {
    let guest = OpenRc::new("orc-life");
    guest.boot();
    let world = &guest.world;
    let monitor = world.monitor_pid(&guest.name);

    // `reboot` inside: sysvinit's runlevel 6, then reboot(2), which ends init by SIGHUP.
    let first = world.init_pid(&guest.name);
    // The attached command may be killed on the way down: its status says nothing.
    let _ = world.sh(&guest.name, "reboot");
    guest.wait_until_rebooted(first);
    assert_eq!(guest.marker(), "start N 2\nstop 2 6\nstart N 2\n");

    // `stop -r` from the host: SIGINT, which the stock inittab's ctrlaltdel entry maps to
    // `shutdown -r now`, runlevel 6 again.
    let second = world.init_pid(&guest.name);
    world
        .rlxc(&["stop", "-n", &guest.name, "-r", "-t", "30"])
        .assert()
        .success();
    assert_eq!(world.state(&guest.name), "RUNNING");
    assert_ne!(
        world.init_pid(&guest.name),
        second,
        "init was not restarted"
    );
    guest.wait_until_booted();
    assert_eq!(
        guest.marker(),
        "start N 2\nstop 2 6\nstart N 2\nstop 2 6\nstart N 2\n"
    );
    // The same container: one monitor throughout.
    assert_eq!(world.monitor_pid(&guest.name), monitor);

    // `poweroff` inside: runlevel 0, and the container stops.
    let _ = world.sh(&guest.name, "poweroff");
    world
        .rlxc(&["wait", "-n", &guest.name, "-s", "STOPPED", "-t", "60"])
        .assert()
        .success();
    assert!(guest.marker().ends_with("stop 2 0\n"), "{}", guest.marker());
    assert_eq!(
        guest.init_ends(),
        [
            "signal 1 (SIGHUP)",
            "signal 1 (SIGHUP)",
            "signal 2 (SIGINT)"
        ],
        "{}",
        guest.monitor_log()
    );
    assert!(!support::superblock_read_only(&guest.overlay.rootfs()));
    world.assert_nothing_left(&guest.name);
}

/// Output of a console client, collected by a thread as it comes.
fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().expect("lock").extend_from_slice(&buffer[..n]);
        }
    });
    seen
}

/// `rlxc console -n NAME`, LXC's default tty (`-t -1`), its output piped.
fn console_client(guest: &OpenRc) -> std::process::Child {
    Command::new(RLXC)
        .args(["console", "-n", &guest.name])
        .env("RLXC_PATH", guest.world.lxcpath())
        .env("RLXC_RUN_DIR", guest.world.run_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlxc console")
}

/// Debian's inittab runs its gettys on tty1-6 (four of them here, `lxc.tty.max = 4` of LXC's
/// common.conf), none on the console: `rlxc console` picks the first free tty, as LXC does.
#[test]
fn a_getty_gives_a_login_on_the_first_free_tty_that_rlxc_console_picks() {
    let guest = OpenRc::new("orc-login");
    guest.boot();
    guest.sh("echo root:rlxc-test | chpasswd");
    let mut console = console_client(&guest);
    let screen = collect(console.stdout.take().expect("stdout"));
    let mut keyboard = console.stdin.take().expect("stdin");
    // Types `keys`, then waits for `text` after what was seen so far; with `again`, types them
    // again each second until it comes (getty's prompt went out before we attached, and an
    // empty line brings it back).
    let mut seen_up_to = 0;
    let mut expect = |keys: &[u8], text: &str, again: bool| {
        let deadline = Instant::now() + DEADLINE;
        let mut typed_at = Instant::now();
        keyboard.write_all(keys).expect("type");
        loop {
            let shown =
                String::from_utf8_lossy(&screen.lock().expect("lock")[seen_up_to..]).into_owned();
            if let Some(at) = shown.find(text) {
                seen_up_to += at + text.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on tty 1; it shows:\n{shown}"
            );
            if again && typed_at.elapsed() > Duration::from_secs(1) {
                typed_at = Instant::now();
                keyboard.write_all(keys).expect("type");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    expect(b"\n", "login: ", true);
    expect(b"root\n", "Password: ", false);
    expect(b"rlxc-test\n", "# ", false);
    expect(
        b"echo marker-$((6*7)) on $(tty)\n",
        "marker-42 on /dev/tty1",
        false,
    );
    // tty1 is taken now: the next client gets tty2.
    let mut second = console_client(&guest);
    let mut banner = String::new();
    let mut stderr = std::io::BufReader::new(second.stderr.take().expect("stderr"));
    while !banner.contains("Type <") {
        let n = std::io::BufRead::read_line(&mut stderr, &mut banner).expect("banner");
        assert!(n > 0, "the second console client ended: {banner:?}");
    }
    assert!(banner.contains("Connected to tty 2"), "{banner}");
    for mut client in [console, second] {
        let _ = client.kill();
        let _ = client.wait();
    }
    drop(keyboard);

    guest
        .world
        .rlxc(&["stop", "-n", &guest.name, "-t", "30"])
        .assert()
        .success();
    guest.world.assert_nothing_left(&guest.name);
}
