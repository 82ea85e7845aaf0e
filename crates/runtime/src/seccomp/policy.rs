//! rlxc's default seccomp policy: a short deny list of syscalls a container has no business
//! making, each with the reason. Everything else is allowed: this is a floor under whatever
//! the config keeps, not a sandbox of its own. Denied calls fail with EPERM, as if the
//! kernel lacked the permission, which software handles better than a kill; syslog answers 0.

/// One denied syscall: its name, its numbers on x86_64 and i386 (`None` where the ABI has
/// none), the errno it fails with, and why a container must not make it.
pub struct Denied {
    pub name: &'static str,
    pub x86_64: i64,
    pub i386: Option<i64>,
    pub errno: u16,
    pub why: &'static str,
}

const EPERM: u16 = libc::EPERM as u16;

pub const DENIED: &[Denied] = &[
    Denied {
        name: "open_by_handle_at",
        x86_64: 304,
        i386: Some(342),
        errno: EPERM,
        why: "opens any host file by handle (the \"shocker\" escape with CAP_DAC_READ_SEARCH)",
    },
    Denied {
        name: "kexec_load",
        x86_64: 246,
        i386: Some(283),
        errno: EPERM,
        why: "replaces the running host kernel",
    },
    Denied {
        name: "kexec_file_load",
        x86_64: 320,
        i386: None,
        errno: EPERM,
        why: "replaces the running host kernel",
    },
    Denied {
        name: "init_module",
        x86_64: 175,
        i386: Some(128),
        errno: EPERM,
        why: "loads code into the host kernel",
    },
    Denied {
        name: "finit_module",
        x86_64: 313,
        i386: Some(350),
        errno: EPERM,
        why: "loads code into the host kernel",
    },
    Denied {
        name: "delete_module",
        x86_64: 176,
        i386: Some(129),
        errno: EPERM,
        why: "unloads host kernel modules",
    },
    Denied {
        name: "keyctl",
        x86_64: 250,
        i386: Some(288),
        errno: EPERM,
        why: "kernel keyrings are not namespaced: reads and changes other users' keys",
    },
    Denied {
        name: "add_key",
        x86_64: 248,
        i386: Some(286),
        errno: EPERM,
        why: "kernel keyrings are not namespaced",
    },
    Denied {
        name: "request_key",
        x86_64: 249,
        i386: Some(287),
        errno: EPERM,
        why: "kernel keyrings are not namespaced; can run host upcalls",
    },
    Denied {
        name: "syslog",
        x86_64: 103,
        i386: Some(103),
        // "Success, nothing read": dmesg prints an empty log and exits 0 instead of an error.
        errno: 0,
        why: "reads and clears the host's kernel log (dmesg); answered with 0, an empty log",
    },
    Denied {
        name: "bpf",
        x86_64: 321,
        i386: Some(357),
        errno: EPERM,
        why: "loads programs into the host kernel; a large attack surface",
    },
    Denied {
        name: "perf_event_open",
        x86_64: 298,
        i386: Some(336),
        errno: EPERM,
        why: "observes the host and other containers; a large attack surface",
    },
    Denied {
        name: "userfaultfd",
        x86_64: 323,
        i386: Some(374),
        errno: EPERM,
        why: "stalls kernel code at will: the usual tool of kernel exploits",
    },
    Denied {
        name: "acct",
        x86_64: 163,
        i386: Some(51),
        errno: EPERM,
        why: "switches process accounting for the whole host",
    },
    Denied {
        name: "swapon",
        x86_64: 167,
        i386: Some(87),
        errno: EPERM,
        why: "changes the host's swap",
    },
    Denied {
        name: "swapoff",
        x86_64: 168,
        i386: Some(115),
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
         if the permission were missing; 0 for syslog, so `dmesg` prints an empty log); x32 \
         calls and unknown architectures are refused.\n\n\
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
         second, one-rule filter that hands x86_64 `sysinfo` to the view's server (seccomp \
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
         filter along with the policy; i386 callers keep the kernel's answer.\n",
    );
    out.push_str(
        "\n## Profile files, no_new_privs, LSM labels\n\n\
         `lxc.seccomp.profile = FILE` takes LXC's version 1 and 2 profiles (allow and deny \
         lists, `[arch]` sections, `errno N` / `kill` / `trap` / `allow`, argument \
         comparisons), compiled with libseccomp for x86_64, i386 and x32; LXC's `kill` kills \
         the whole process. `notify` rules and `lxc.seccomp.notify.*` are refused: rlxc has no \
         notification proxy. Attached commands get the filter init was started with (kept in \
         the run directory; the sysinfo one as above) and init's no_new_privs (`lxc.no_new_privs = 1`).\n\n\
         `lxc.apparmor.profile` and `lxc.selinux.context` label init's exec where the host runs \
         that LSM; asking for a label on a host without it fails the start, naming the key. \
         rlxc neither generates nor loads AppArmor profiles (`generated` is refused).\n",
    );
    out.push_str(
        "\n## Masked paths\n\nMasked in every container, whatever its config mounts: files get \
         /dev/null bound over them, directories an empty read-only tmpfs. Known gap: in an \
         unprivileged container (`lxc.idmap`) whose root keeps CAP_SYS_ADMIN, the masks can be \
         unmounted (the mount namespace belongs to the container's user namespace, so they are \
         not locked) and a fresh proc or sysfs mounted; what shows then is still checked \
         against the container's ids (host-root-only files such as `/proc/timer_list` stay \
         refused, `/proc/keys` lists only its own keys), but world-readable ones, such as \
         `/sys/firmware`'s entries, show. Drop `sys_admin` (`lxc.cap.drop`) where that matters.\n\n\
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
