//! The tools under test and the one command each uses for each case. Every command line the
//! harness times is written here, next to the others for the same case, so they can be read
//! side by side.

use std::fmt;

/// A runtime (or the floor) under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Rlxc,
    Lxc,
    Crun,
    Runc,
    /// `unshare ... chroot ROOTFS /bin/true`: what new namespaces and an exec cost, no runtime.
    Floor,
}

impl Tool {
    pub const ALL: [Tool; 5] = [Tool::Rlxc, Tool::Lxc, Tool::Crun, Tool::Runc, Tool::Floor];

    pub fn label(self) -> &'static str {
        match self {
            Tool::Rlxc => "rlxc",
            Tool::Lxc => "LXC",
            Tool::Crun => "crun",
            Tool::Runc => "runc",
            Tool::Floor => "unshare floor",
        }
    }

    /// The tools that run containers (the floor only has the one-shot case).
    /// rlxc and LXC: the tools that read lxc.conf and have a create verb.
    pub fn reads_lxc_conf(self) -> bool {
        matches!(self, Tool::Rlxc | Tool::Lxc)
    }

    /// Those of `tools` that [`Tool::reads_lxc_conf`].
    pub fn lxc_conf_tools(tools: &[Tool]) -> Vec<Tool> {
        tools
            .iter()
            .copied()
            .filter(|t| t.reads_lxc_conf())
            .collect()
    }

    pub fn is_runtime(self) -> bool {
        self != Tool::Floor
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What is measured. Times are in milliseconds, memory in KiB (per container) or MiB (total).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Case {
    /// Start a container whose init is `/bin/true` in the foreground, wait, clean up.
    OneShot,
    /// The same through the `execute` verb (a tiny init runs the command).
    Execute,
    /// Start one long-running container in the background, until the command returns.
    Start,
    /// Run `/bin/true` inside the running container.
    Attach,
    /// Set `pids.max` of the running container.
    CgroupSet,
    Freeze,
    Unfreeze,
    /// The state of the running container.
    Info,
    /// SIGKILL-style stop, until the command returns and the container is gone.
    HardStop,
    /// Halt signal to init (busybox init halts), wait, clean up.
    GracefulStop,
    /// How long the graceful stop command takes to return after init has exited.
    StopTail,
    /// The systemd guest (Debian 12): from `start -d` until its systemd says `running`.
    GuestBoot,
    /// The booted systemd guest: graceful stop, until the command returns with init gone.
    GuestStop,
    /// `create -t download` of a Debian image the tool has cached (the index fetched from a
    /// local server), until the command returns.
    ImageCreate,
    /// Full copy of a stopped container holding the Debian guest (`copy` / `lxc-copy`),
    /// until the command returns.
    Copy,
    /// Copy-on-write clone of a stopped container holding 1 GiB (`copy -s` / `lxc-copy -s`:
    /// an overlay over the source's `dir` rootfs), until the command returns.
    Clone,
    /// Private memory (USS) of the helper processes left per running container, the monitor
    /// and its other children (rlxc's /proc view server), as a group: pages no other process
    /// maps.
    HelperUss,
    /// Proportional memory (PSS) of that helper.
    HelperPss,
    /// Start N containers one after another (background), total.
    SeqStarts,
    /// Start the idle set (N containers), total.
    IdleStart,
    /// Host memory used by the idle set (MemAvailable before and after), total.
    IdleMem,
    /// Hard-stop the idle set, total.
    IdleStop,
    /// PSS of every helper and init of the idle set, summed (robust against other load).
    IdlePssTotal,
    /// USS of one helper while the idle set runs (median over the helpers).
    IdleUss,
    /// PSS of one helper while the idle set runs.
    IdlePss,
    /// `config check` of a 100,000-line config (issue 6: linear, well under a second).
    ParseConfig,
}

impl Case {
    pub const ALL: [Case; 26] = [
        Case::OneShot,
        Case::Execute,
        Case::Start,
        Case::Attach,
        Case::CgroupSet,
        Case::Freeze,
        Case::Unfreeze,
        Case::Info,
        Case::HardStop,
        Case::GracefulStop,
        Case::StopTail,
        Case::GuestBoot,
        Case::GuestStop,
        Case::ImageCreate,
        Case::Clone,
        Case::Copy,
        Case::HelperUss,
        Case::HelperPss,
        Case::SeqStarts,
        Case::IdleStart,
        Case::IdleMem,
        Case::IdleStop,
        Case::IdlePssTotal,
        Case::IdleUss,
        Case::IdlePss,
        Case::ParseConfig,
    ];

    pub fn unit(self) -> &'static str {
        match self {
            Case::HelperUss | Case::HelperPss | Case::IdleUss | Case::IdlePss => "KiB",
            Case::IdleMem | Case::IdlePssTotal => "MiB",
            Case::SeqStarts | Case::IdleStart | Case::IdleStop => "s",
            _ => "ms",
        }
    }

    pub fn label(self, seq: usize, idle: usize) -> String {
        match self {
            Case::OneShot => "one-shot /bin/true (start -F, cleanup)".into(),
            Case::Execute => "one-shot /bin/true (execute)".into(),
            Case::Start => "start one long-running container".into(),
            Case::Attach => "attach/exec /bin/true".into(),
            Case::CgroupSet => "cgroup set pids.max".into(),
            Case::Freeze => "freeze".into(),
            Case::Unfreeze => "unfreeze".into(),
            Case::Info => "info / state".into(),
            Case::HardStop => "hard stop".into(),
            Case::GracefulStop => "graceful stop (SIGPWR, busybox init)".into(),
            Case::StopTail => "graceful stop returns after init exit".into(),
            Case::GuestBoot => "systemd guest: start until `running`".into(),
            Case::GuestStop => "systemd guest: graceful stop".into(),
            Case::ImageCreate => "create from a cached Debian image (-t download)".into(),
            Case::Copy => "full copy of a Debian container (copy / lxc-copy)".into(),
            Case::Clone => "overlay clone of a 1 GiB container (copy -s / lxc-copy -s)".into(),
            Case::HelperUss => "helpers' USS, 1 container running".into(),
            Case::HelperPss => "helpers' PSS, 1 container running".into(),
            Case::SeqStarts => format!("{seq} sequential starts"),
            Case::IdleStart => format!("{idle} idle containers: start all"),
            Case::IdleMem => {
                format!("{idle} idle containers: host memory used (MemAvailable, noisy)")
            }
            Case::IdlePssTotal => format!("{idle} idle containers: PSS of helpers + inits"),
            Case::IdleStop => format!("{idle} idle containers: hard-stop all"),
            Case::IdleUss => format!("helpers' USS per container, {idle} running"),
            Case::IdlePss => format!("helpers' PSS per container, {idle} running"),
            Case::ParseConfig => format!("config check, {} lines", crate::env::BIG_CONFIG_LINES),
        }
    }

    /// The target for rlxc in this case, as a ratio to one tool (or an absolute).
    pub fn target(self) -> Option<Target> {
        Some(match self {
            Case::OneShot => Target::Ratios(&[(Tool::Crun, 0.7), (Tool::Floor, 2.0)]),
            Case::Start => Target::Ratios(&[(Tool::Lxc, 0.6)]),
            Case::Attach => Target::Ratios(&[(Tool::Lxc, 0.7)]),
            Case::CgroupSet | Case::Freeze | Case::Info => Target::Ratios(&[(Tool::Lxc, 0.5)]),
            // Per container with many running: one container alone has the binary's text
            // private too.
            Case::IdleUss => Target::AtMost(120.0),
            Case::StopTail => Target::AtMost(10.0),
            // Issue 19: a systemd guest boots and stops at least as fast as under LXC.
            Case::GuestBoot | Case::GuestStop => Target::Ratios(&[(Tool::Lxc, 1.0)]),
            // Issue 20: decompression and unpacking at half LXC's time.
            Case::ImageCreate => Target::Ratios(&[(Tool::Lxc, 0.5)]),
            // Issue 22: a full copy in at most 0.7 of LXC's time.
            Case::Copy => Target::Ratios(&[(Tool::Lxc, 0.7)]),
            // Issue 22: a copy-on-write clone in at most 50 ms, and no slower than LXC's.
            Case::Clone => Target::Both(50.0, &[(Tool::Lxc, 1.0)]),
            _ => return None,
        })
    }
}

/// A target of the issue.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// rlxc's median at most this ratio of the tool's median.
    Ratios(&'static [(Tool, f64)]),
    /// rlxc's median at most this many units.
    AtMost(f64),
    /// Both: at most this many units, and at most these ratios.
    Both(f64, &'static [(Tool, f64)]),
}
