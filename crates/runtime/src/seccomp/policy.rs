//! rlxc's default seccomp policy: a short deny list of syscalls a container has no business
//! making, each with the reason. Everything else is allowed: this is a floor under whatever
//! the config keeps, not a sandbox of its own. Denied calls fail with EPERM, as if the
//! kernel lacked the permission, which software handles better than a kill; syslog answers 0.

/// One denied syscall: its name, its number on each ABI, the errno it fails with, and why a
/// container must not make it.
pub struct Denied {
    pub name: &'static str,
    pub nr: Numbers,
    pub errno: u16,
    pub why: &'static str,
}

/// A call's number on each ABI of [`super::abi`], `None` where the ABI lacks it. Written out
/// rather than taken from `libc::SYS_*`, which knows the build target's native ABI only: this
/// way every column is compiled, and checked against libseccomp by the tests, on any host,
/// and a new row cannot leave one out. Looking the numbers up in libseccomp at each start
/// would cost time and add a failure to the start path for numbers that never change.
pub struct Numbers {
    pub x86_64: Option<u32>,
    pub i386: Option<u32>,
    pub aarch64: Option<u32>,
    /// 32-bit arm (EABI), under an aarch64 kernel.
    pub arm: Option<u32>,
}

const EPERM: u16 = libc::EPERM as u16;

pub const DENIED: &[Denied] = &[
    Denied {
        name: "open_by_handle_at",
        nr: Numbers {
            x86_64: Some(304),
            i386: Some(342),
            aarch64: Some(265),
            arm: Some(371),
        },
        errno: EPERM,
        why: "opens any host file by handle (the \"shocker\" escape with CAP_DAC_READ_SEARCH)",
    },
    Denied {
        name: "kexec_load",
        nr: Numbers {
            x86_64: Some(246),
            i386: Some(283),
            aarch64: Some(104),
            arm: Some(347),
        },
        errno: EPERM,
        why: "replaces the running host kernel",
    },
    Denied {
        name: "kexec_file_load",
        nr: Numbers {
            x86_64: Some(320),
            i386: None,
            aarch64: Some(294),
            arm: Some(401),
        },
        errno: EPERM,
        why: "replaces the running host kernel",
    },
    Denied {
        name: "init_module",
        nr: Numbers {
            x86_64: Some(175),
            i386: Some(128),
            aarch64: Some(105),
            arm: Some(128),
        },
        errno: EPERM,
        why: "loads code into the host kernel",
    },
    Denied {
        name: "finit_module",
        nr: Numbers {
            x86_64: Some(313),
            i386: Some(350),
            aarch64: Some(273),
            arm: Some(379),
        },
        errno: EPERM,
        why: "loads code into the host kernel",
    },
    Denied {
        name: "delete_module",
        nr: Numbers {
            x86_64: Some(176),
            i386: Some(129),
            aarch64: Some(106),
            arm: Some(129),
        },
        errno: EPERM,
        why: "unloads host kernel modules",
    },
    Denied {
        name: "keyctl",
        nr: Numbers {
            x86_64: Some(250),
            i386: Some(288),
            aarch64: Some(219),
            arm: Some(311),
        },
        errno: EPERM,
        why: "kernel keyrings are not namespaced: reads and changes other users' keys",
    },
    Denied {
        name: "add_key",
        nr: Numbers {
            x86_64: Some(248),
            i386: Some(286),
            aarch64: Some(217),
            arm: Some(309),
        },
        errno: EPERM,
        why: "kernel keyrings are not namespaced",
    },
    Denied {
        name: "request_key",
        nr: Numbers {
            x86_64: Some(249),
            i386: Some(287),
            aarch64: Some(218),
            arm: Some(310),
        },
        errno: EPERM,
        why: "kernel keyrings are not namespaced; can run host upcalls",
    },
    Denied {
        name: "syslog",
        nr: Numbers {
            x86_64: Some(103),
            i386: Some(103),
            aarch64: Some(116),
            arm: Some(103),
        },
        // "Success, nothing read": dmesg prints an empty log and exits 0 instead of an error.
        errno: 0,
        why: "reads and clears the host's kernel log (dmesg); answered with 0, an empty log",
    },
    Denied {
        name: "bpf",
        nr: Numbers {
            x86_64: Some(321),
            i386: Some(357),
            aarch64: Some(280),
            arm: Some(386),
        },
        errno: EPERM,
        why: "loads programs into the host kernel; a large attack surface",
    },
    Denied {
        name: "perf_event_open",
        nr: Numbers {
            x86_64: Some(298),
            i386: Some(336),
            aarch64: Some(241),
            arm: Some(364),
        },
        errno: EPERM,
        why: "observes the host and other containers; a large attack surface",
    },
    Denied {
        name: "userfaultfd",
        nr: Numbers {
            x86_64: Some(323),
            i386: Some(374),
            aarch64: Some(282),
            arm: Some(388),
        },
        errno: EPERM,
        why: "stalls kernel code at will: the usual tool of kernel exploits",
    },
    Denied {
        name: "acct",
        nr: Numbers {
            x86_64: Some(163),
            i386: Some(51),
            aarch64: Some(89),
            arm: Some(51),
        },
        errno: EPERM,
        why: "switches process accounting for the whole host",
    },
    Denied {
        name: "swapon",
        nr: Numbers {
            x86_64: Some(167),
            i386: Some(87),
            aarch64: Some(224),
            arm: Some(87),
        },
        errno: EPERM,
        why: "changes the host's swap",
    },
    Denied {
        name: "swapoff",
        nr: Numbers {
            x86_64: Some(168),
            i386: Some(115),
            aarch64: Some(225),
            arm: Some(115),
        },
        errno: EPERM,
        why: "changes the host's swap",
    },
];

/// `docs/security.md`: the default seccomp policy and the masked paths, from their tables.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# rlxc's safe defaults\n\nGenerated from `crates/runtime/src/seccomp/policy.rs` and \
         `crates/runtime/src/rootfs/mask.rs`; do not edit by hand.\n\n\
         ## Default seccomp policy\n\nApplied to every container's init and to `rlxc attach`, \
         unless the config sets `lxc.seccomp.profile =` (empty) on purpose or names a profile \
         file, which then replaces it (as in LXC; `rlxc config check` lists the calls below \
         that such a profile lets through). Denied calls fail with the errno given (EPERM, as \
         if the permission were missing; 0 for syslog, so `dmesg` prints an empty log).\n\n\
         The filter knows each call's number on every ABI a container's process can use: on \
         an x86_64 host x86_64 and i386 (`lxc.arch = i686` containers), x32 calls being \
         refused; on an aarch64 host aarch64 and 32-bit arm (`armhf`, where the CPU runs it). \
         Calls of any other architecture are refused. rlxc builds for these two only: for any \
         other target the build stops with a `compile_error!` rather than make a filter that \
         refuses every call (the numbers and AUDIT_ARCH values are checked against \
         libseccomp's for all four ABIs on any build host).\n\n\
         | syscall | answer | why it is denied |\n|---|---|---|\n",
    );
    for denied in DENIED {
        let answer = match denied.errno {
            0 => "0 (nothing done)".to_string(),
            1 => "EPERM".to_string(),
            n => format!("errno {n}"),
        };
        out.push_str(&format!(
            "| `{}` | {answer} | {} |\n",
            denied.name, denied.why
        ));
    }
    out.push_str(
        "\n## sysinfo(2) from the container's cgroups\n\n\
         With the /proc view on (`lxc.procview`) and this default policy, init runs under a \
         second, one-rule filter that hands the native ABI's `sysinfo` (x86_64's or aarch64's) to the view's server (seccomp \
         user notification). It answers with the container's numbers: uptime from its time \
         namespace, the load average of its `/proc/loadavg`, totalram = the memory limit (or \
         the host's total), freeram = limit − usage, sharedram = its shmem, bufferram 0, \
         totalswap/freeswap from the swap limit, procs = the tasks of its cgroup, mem_unit 1; \
         a buffer it cannot write gets EFAULT, as from the kernel. Whatever fails on rlxc's \
         side is left to the kernel (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): the host's numbers, \
         never a hang. If the monitor dies (and the server with it), sysinfo fails with ENOSYS \
         until init, killed by its parent-death signal, ends. Attached commands (`rlxc \
         attach`) get the same filter with a listener of their own, handed to the server \
         through the monitor; only once the monitor has it is the command started, otherwise \
         it runs without the filter and the kernel answers. A profile file replaces this \
         filter along with the policy; i386 and arm callers keep the kernel's answer (another \
         layout of the struct).\n",
    );
    out.push_str(
        "\n## Profile files, no_new_privs, LSM labels\n\n\
         `lxc.seccomp.profile = FILE` takes LXC's version 1 and 2 profiles (allow and deny \
         lists, `[arch]` sections, `errno N` / `kill` / `trap` / `allow`, argument \
         comparisons), compiled with libseccomp for the host's ABIs as LXC does (x86_64, i386 \
         and x32 on x86_64; aarch64 and arm on aarch64); LXC's `kill` kills \
         the whole process. `notify` rules and `lxc.seccomp.notify.*` are refused: rlxc has no \
         notification proxy. Attached commands get the filter init was started with (kept in \
         the run directory; the sysinfo one as above) and init's no_new_privs (`lxc.no_new_privs = 1`).\n\n\
         `lxc.apparmor.profile` and `lxc.selinux.context` label init's exec where the host runs \
         that LSM. Where AppArmor runs, a profile it has not loaded fails the start (and \
         `config check`) at its line, before anything is made. On a kernel without AppArmor a \
         profile line (LXC's `nesting.conf` and distro configs name one) starts the container \
         unconfined, as LXC does there, with a warning at the line from `start` and `config \
         check` alike: no LSM on such a host could confine it as asked. An SELinux context on \
         a host without SELinux fails the start, naming the key. rlxc neither generates nor \
         loads AppArmor profiles (`generated` is refused where AppArmor runs).\n",
    );
    out.push_str(
        "\n## Masked paths\n\nMasked in every container, whatever its config mounts: files get \
         /dev/null bound over them, directories an empty read-only tmpfs. Root in the \
         container can neither unmount them nor mount a fresh proc or sysfs to look past them. \
         A privileged container has no CAP_SYS_ADMIN for that once `sys_admin` is dropped (the \
         seed's config does). An unprivileged one (`lxc.idmap`) keeps it in its user namespace, \
         so its mounts are locked (MNT_LOCKED; a proc or sysfs with locked overmounts is not \
         \"fully visible\", so none is mounted afresh): once they are made, a helper of the \
         host's user namespace copies the container's mount namespace through one of the \
         host's back into the container's user namespace, a copy in which the kernel locks \
         every mount (`spawn/lock.rs`), and init enters it. New mounts on top still work, and \
         so does remounting `/` read-only and back; what was read-only when locked (the masks, \
         /proc/sys) stays so.\n\n\
         | path | what it would give away |\n|---|---|\n",
    );
    for (path, why) in crate::rootfs::MASKED_PATHS {
        out.push_str(&format!("| `/{path}` | {why} |\n"));
    }
    out.push_str(
        "\n## Read-only paths\n\nRead-only in every container whose /proc is a procfs, however \
         it was mounted (the seed's own `proc proc proc` entry included); only \
         `lxc.mount.auto = proc:rw`, asked for by name, leaves them writable. `/proc/sys/net` \
         of a container with its own network namespace stays writable, as with LXC's \
         proc:mixed (it is the host's with `lxc.net.0.type = none`: read-only then).\n\n\
         | path | what writing it would do |\n|---|---|\n",
    );
    for (path, why) in crate::rootfs::READ_ONLY_PATHS {
        out.push_str(&format!("| `/{path}` | {why} |\n"));
    }
    out.push_str(&format!(
        "\n## Cgroup defaults\n\n\
         - `pids.max = {}` when the config sets no `pids.max` (LXC sets none, and a fork bomb \
         then takes every pid of the host); `lxc.cgroup.pids.max = max` lifts it.\n\
         - The host's console, char 5:1, is denied last whenever the device rules would open it \
         (the seed's `c 5:1 rwm`): a container's /dev/console is a pty of its own, so 5:1 is \
         only ever the host's.\n\
         - A config without device rules gets LXC's `common.conf` list (without it, a \
         privileged root could mknod and read the host's disks):\n\n\
         | rule | for |\n|---|---|\n",
        rlxc_cgroup::DEFAULT_PIDS_MAX
    ));
    for (key, rule, what) in rlxc_cgroup::DEFAULT_DEVICE_RULES {
        let verb = key.trim_start_matches("devices.");
        out.push_str(&format!("| `{verb} {rule}` | {what} |\n"));
    }
    out
}
