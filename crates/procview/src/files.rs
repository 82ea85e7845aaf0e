//! The files of the view: their names in the FUSE directory and where each is bound.

/// How a file's content is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Meminfo,
    Cpuinfo,
    Stat,
    Loadavg,
    Diskstats,
    Swaps,
    CpuOnline,
    Uptime,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ViewFile {
    pub name: &'static str,
    /// Where the container sees it (bound over the kernel's file).
    pub target: &'static str,
    pub content: Content,
}

pub const FILES: &[ViewFile] = &[
    ViewFile {
        name: "meminfo",
        target: "/proc/meminfo",
        content: Content::Meminfo,
    },
    ViewFile {
        name: "cpuinfo",
        target: "/proc/cpuinfo",
        content: Content::Cpuinfo,
    },
    ViewFile {
        name: "stat",
        target: "/proc/stat",
        content: Content::Stat,
    },
    ViewFile {
        name: "loadavg",
        target: "/proc/loadavg",
        content: Content::Loadavg,
    },
    ViewFile {
        name: "diskstats",
        target: "/proc/diskstats",
        content: Content::Diskstats,
    },
    ViewFile {
        name: "swaps",
        target: "/proc/swaps",
        content: Content::Swaps,
    },
    ViewFile {
        name: "cpu-online",
        target: "/sys/devices/system/cpu/online",
        content: Content::CpuOnline,
    },
    // Only bound where the container has no time namespace of its own (see `mount`).
    ViewFile {
        name: "uptime",
        target: "/proc/uptime",
        content: Content::Uptime,
    },
];
