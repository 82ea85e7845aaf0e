//! Identity, includes, console, ttys and ptys.

use super::macros::{scalar, KeyValue};
use super::{KeyDef, Support};
use crate::spec::ConsoleSize;
use crate::values::{ByteSize, ValueError};

pub(super) static KEYS: &[KeyDef] = &[
    scalar!(Identity, "lxc.uts.name", ["lxc.utsname"], "lxc.uts.name = web",
        "Hostname of the container (its own UTS namespace).", uts_name),
    scalar!(Identity, "lxc.arch", "lxc.arch = x86_64",
        "Architecture the payload sees (`x86`/`i686` run it under linux32, as do attached \
         commands); one this host cannot run is refused.", arch),
    KeyDef {
        name: "lxc.include",
        prefix: false,
        list: true,
        section: super::Section::Identity,
        legacy: &[],
        doc: "Read another config file here, or every `*.conf` of a directory; relative to this file.",
        example: "lxc.include = /usr/share/lxc/config/common.conf",
        support: Support::Supported,
        // Includes are expanded while the file is read (see `source`), never applied as a value.
        set: |_, _, _| Err(ValueError("lxc.include works only inside a config file".into())),
        clear: |_, _| Ok(()),
        render: |_, _| {},
    },
];

pub(super) static CONSOLE_KEYS: &[KeyDef] = &[
    scalar!(
        Console,
        "lxc.tty.max",
        ["lxc.tty"],
        "lxc.tty.max = 4",
        "Number of `/dev/ttyN` consoles the container gets (`rlxc console -t N`).",
        tty.max
    ),
    scalar!(
        Console,
        "lxc.tty.dir",
        ["lxc.devttydir"],
        "lxc.tty.dir = lxc",
        "Make the console and ttys in `/dev/DIR/`: `/dev/ttyN` become symlinks to `DIR/ttyN`, \
         `/dev/console` the same pty as `DIR/console`.",
        tty.dir
    ),
    scalar!(
        Console,
        "lxc.pty.max",
        ["lxc.pts"],
        "lxc.pty.max = 1024",
        "Size limit of the container's private `/dev/pts` instance.",
        tty.pty_max
    ),
    scalar!(
        Console,
        "lxc.console.path",
        "lxc.console.path = none",
        "Host terminal the container's console is relayed to (as `start -c`), or `none` for no console.",
        console.path
    )
    .partly("`none` or a host terminal; a path that is no terminal is refused at start"),
    scalar!(
        Console,
        "lxc.console.logfile",
        ["lxc.console"],
        "lxc.console.logfile = /var/log/rlxc/web.console",
        "Append all console output to this file (the seed's `lxc.console = FILE`). A file that cannot be opened or has no room fails the start; one that cannot be written later shows in `rlxc info` (the console goes on).",
        console.logfile
    ),
    scalar!(
        Console,
        "lxc.console.size",
        "lxc.console.size = 1M",
        "Cap the console log file at this size (`auto` = 128K).",
        console.size
    ),
    scalar!(
        Console,
        "lxc.console.rotate",
        "lxc.console.rotate = 1",
        "1: rotate the console log to `FILE.1` when it is full.",
        console.rotate
    ),
    scalar!(
        Console,
        "lxc.console.buffer.size",
        "lxc.console.buffer.size = auto",
        "In-memory ring buffer of recent console output (`auto` = 128K).",
        console.buffer_size
    )
    .ignored(
        "rlxc keeps no in-memory console buffer (LXC's is read through its API only); \
         lxc.console.logfile keeps the console's output",
    ),
];

impl KeyValue for ConsoleSize {
    fn parse_value(text: &str) -> Result<Self, ValueError> {
        if text == "auto" {
            return Ok(ConsoleSize::Auto);
        }
        Ok(ConsoleSize::Bytes(text.parse::<ByteSize>()?))
    }

    fn render_value(&self) -> String {
        match self {
            ConsoleSize::Auto => "auto".into(),
            ConsoleSize::Bytes(size) => size.to_string(),
        }
    }
}
