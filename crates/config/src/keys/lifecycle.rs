//! Hooks, signals, autostart, the monitor, and logging.

use super::macros::{scalar, KeyValue};
use super::{KeyDef, Section, Support};
use crate::spec::{ContainerSpec, HookPoint};
use crate::values::{Signal, ValueError};

/// A hook key: each line adds one command to run at that point.
macro_rules! hook {
    ($name:literal, $point:ident, $doc:literal) => {
        KeyDef {
            name: $name,
            prefix: false,
            list: true,
            section: Section::Hooks,
            legacy: &[],
            doc: $doc,
            example: concat!($name, " = /usr/local/lib/rlxc/hook.sh"),
            support: Support::Supported,
            set: |spec, _, value| {
                commands(spec, HookPoint::$point).push(value.to_string());
                Ok(())
            },
            clear: |spec, _| {
                spec.hooks.commands.remove(&HookPoint::$point);
                Ok(())
            },
            render: |spec, out| {
                for command in spec
                    .hooks
                    .commands
                    .get(&HookPoint::$point)
                    .into_iter()
                    .flatten()
                {
                    out.push(($name.to_string(), command.clone()));
                }
            },
        }
    };
}

fn commands(spec: &mut ContainerSpec, point: HookPoint) -> &mut Vec<String> {
    spec.hooks.commands.entry(point).or_default()
}

pub(super) static HOOK_KEYS: &[KeyDef] = &[
    hook!(
        "lxc.hook.pre-start",
        PreStart,
        "Run on the host before anything is set up."
    ),
    hook!(
        "lxc.hook.pre-mount",
        PreMount,
        "Run in the container's mount namespace before the rootfs is mounted."
    ),
    hook!(
        "lxc.hook.mount",
        Mount,
        "Run in the container's mount namespace after the mounts, before pivot_root."
    ),
    hook!(
        "lxc.hook.autodev",
        Autodev,
        "Run after the mount hooks to add nodes to the container's `/dev`."
    ),
    hook!(
        "lxc.hook.start-host",
        StartHost,
        "Run on the host once the container is set up, just before init starts."
    ),
    hook!(
        "lxc.hook.start",
        Start,
        "Run inside the container just before init (the program must exist in it)."
    ),
    hook!(
        "lxc.hook.stop",
        Stop,
        "Run on the host after the container stopped, with its namespaces still reachable."
    ),
    hook!(
        "lxc.hook.post-stop",
        PostStop,
        "Run on the host after the container stopped and was cleaned up."
    ),
    hook!(
        "lxc.hook.clone",
        Clone,
        "Run by `rlxc copy` (lxc-copy) on the new container, with `LXC_SRC_NAME` and the arguments after `--`."
    ),
    hook!(
        "lxc.hook.destroy",
        Destroy,
        "Run when the container is destroyed."
    ),
    scalar!(
        Hooks,
        "lxc.hook.version",
        "lxc.hook.version = 1",
        "0: hooks get name, section and type as arguments; 1: as environment variables.",
        hooks.version
    ),
    KeyDef {
        name: "lxc.hook",
        prefix: false,
        list: true,
        section: Section::Hooks,
        legacy: &[],
        doc: "Only empty: `lxc.hook =` clears every hook set so far.",
        example: "lxc.hook =",
        support: Support::Supported,
        set: |_, _, _| {
            Err(ValueError(
                "lxc.hook can only be used empty (to clear all hooks)".into(),
            ))
        },
        clear: |spec, _| {
            spec.hooks.commands.clear();
            Ok(())
        },
        render: |_, _| {},
    },
];

pub(super) static KEYS: &[KeyDef] = &[
    scalar!(Lifecycle, "lxc.signal.halt", ["lxc.haltsignal"], "lxc.signal.halt = SIGPWR",
        "Signal that asks init to shut down cleanly (default SIGPWR; unset, a sysvinit init is asked for runlevel 0 through its /run/initctl instead).", signals.halt),
    scalar!(Lifecycle, "lxc.signal.reboot", ["lxc.rebootsignal"], "lxc.signal.reboot = SIGINT",
        "Signal that asks init to reboot (default SIGINT).", signals.reboot),
    scalar!(Lifecycle, "lxc.signal.stop", ["lxc.stopsignal"], "lxc.signal.stop = SIGKILL",
        "Signal of a hard stop (default SIGKILL).", signals.stop),
    scalar!(Lifecycle, "lxc.start.auto", "lxc.start.auto = 1",
        "1: `rlxc autostart` (and so the boot service) starts this container.", autostart.auto),
    scalar!(Lifecycle, "lxc.start.delay", "lxc.start.delay = 5",
        "Seconds to wait after starting this container before the next one.", autostart.delay),
    scalar!(Lifecycle, "lxc.start.order", "lxc.start.order = 10",
        "Autostart order: lower starts earlier (and stops later).", autostart.order),
    KeyDef {
        name: "lxc.group",
        prefix: false,
        list: true,
        section: Section::Lifecycle,
        legacy: &[],
        doc: "Groups of the container for `rlxc autostart -g` (space-separated; `onboot` is started at boot).",
        example: "lxc.group = onboot web",
        support: Support::Supported,
        set: |spec, _, value| {
            // Repeats are dropped in [`settle_groups`], once for the whole config.
            spec.autostart.groups.extend(value.split_whitespace().map(str::to_string));
            Ok(())
        },
        clear: |spec, _| {
            spec.autostart.groups.clear();
            Ok(())
        },
        render: |spec, out| {
            if !spec.autostart.groups.is_empty() {
                out.push(("lxc.group".into(), spec.autostart.groups.join(" ")));
            }
        },
    },
    scalar!(Lifecycle, "lxc.monitor.unshare", "lxc.monitor.unshare = 1",
        "1: the monitor takes a private mount namespace before the pre-start hooks.", monitor.unshare),
    scalar!(Lifecycle, "lxc.monitor.signal.pdeath", "lxc.monitor.signal.pdeath = SIGKILL",
        "Signal init gets if the monitor dies (default SIGKILL; 0 keeps the container running).", monitor.pdeath_signal),
    scalar!(Lifecycle, "lxc.ephemeral", "lxc.ephemeral = 1",
        "1: destroy the container when it stops.", ephemeral),
    scalar!(Lifecycle, "lxc.log.level", ["lxc.loglevel"], "lxc.log.level = INFO",
        "Level of the monitor's log: TRACE DEBUG INFO NOTICE WARN ERROR CRIT ALERT FATAL, or 0-8 (default ERROR; `start -l` wins). INFO adds the start, the stop and how init ended, DEBUG every hook run.", log.level),
    scalar!(Lifecycle, "lxc.log.file", ["lxc.logfile"], "lxc.log.file = /var/log/rlxc/web.log",
        "The monitor's log, appended to, with UTC timestamps (`start -o` wins; default `LXCPATH/NAME/NAME.log`). Opened before the start: a file that cannot be opened or has no room (a full filesystem) fails it; one that cannot be written later shows in `rlxc info`.", log.file),
    scalar!(Lifecycle, "lxc.log.syslog", ["lxc.syslog"], "lxc.log.syslog = daemon",
        "Also send the monitor's log to syslog (`/dev/log`) with this facility: daemon, local0-local7.", log.syslog),
];

/// `lxc.monitor.signal.pdeath = 0` means "send nothing".
impl KeyValue for Option<Signal> {
    fn parse_value(text: &str) -> Result<Self, ValueError> {
        if text == "0" {
            return Ok(None);
        }
        Ok(Some(text.parse()?))
    }

    fn render_value(&self) -> String {
        match self {
            None => "0".into(),
            Some(signal) => signal.to_string(),
        }
    }
}

/// Each autostart group once, where it was first named.
pub(crate) fn settle_groups(spec: &mut ContainerSpec) {
    let mut seen = std::collections::HashSet::new();
    spec.autostart
        .groups
        .retain(|group| seen.insert(group.clone()));
}
