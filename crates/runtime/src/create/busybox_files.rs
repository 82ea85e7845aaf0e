//! The text files of the busybox rootfs: init's table and scripts, and the account files that
//! getty and login read.
//!
//! How a busybox container stops (checked by `tests/create_busybox_boot.rs`): `rlxc stop`
//! sends SIGPWR, which busybox init treats as "halt". It runs the `::shutdown:` actions, and
//! would then send SIGTERM to everyone, sleep 1 s, send SIGKILL, sleep 1 s more and call
//! reboot(2): about 2 s. `/etc/init.d/rcK` does the SIGTERM part itself, waits only as long as
//! processes are left (at most 1 s), syncs and ends with `poweroff -f`, which inside a pid
//! namespace ends init at once (its parent sees it killed by SIGINT, the kernel's "halted").
//!
//! busybox init runs the same `::shutdown:` actions for halt and reboot and cannot tell rcK
//! which one it is, so `/sbin/reboot` is a small wrapper that leaves a mark for rcK before it
//! asks init to reboot; `rlxc stop -r` sends SIGINT, which init turns into `::ctrlaltdel:`,
//! which runs that wrapper. rcK then ends with `reboot -f` (init killed by SIGHUP: "reboot").

/// One file to write below the rootfs.
pub(crate) struct RootfsFile {
    /// Relative to the rootfs.
    pub path: &'static str,
    pub content: String,
    pub mode: u32,
}

/// Where `/sbin/reboot` marks that the coming shutdown is a reboot.
const REBOOT_MARK: &str = "/run/rlxc-reboot-requested";

const INITTAB: &str = "\
# /etc/inittab: busybox init in an rlxc container (rlxc create -t busybox).
# SIGPWR (rlxc stop) halts through ::shutdown:, SIGINT (rlxc stop -r) reboots through
# ::ctrlaltdel:; see /etc/init.d/rcK.
::sysinit:/etc/init.d/rcS
# Login prompts: the console (rlxc console -t 0) and tty1 (rlxc console).
console::respawn:/sbin/getty -L 115200 console vt100
tty1::respawn:/sbin/getty -L 38400 tty1 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
";

const RCS: &str = "\
#!/bin/sh
# Boot script of an rlxc busybox container. The runtime has already mounted /proc, /sys and
# /dev (lxc.mount.auto, lxc.autodev): nothing is mounted here. The hostname is the file's
# whole line (`hostname -F` takes its first word only, and a name may hold spaces).
rm -f REBOOT_MARK
[ -s /etc/hostname ] && hostname \"$(cat /etc/hostname)\"
command -v ip >/dev/null 2>&1 && ip link set lo up 2>/dev/null
# DHCP on eth0 unless the config gave it an address (lxc.net.0.ipv4.address), as on a host
# bridge with dnsmasq (`rlxc net start`). In the background: boot does not wait for a lease.
# The hostname goes with the request, so dnsmasq answers DNS queries for it.
if [ -e /sys/class/net/eth0 ] && ! ip -4 addr show dev eth0 2>/dev/null | grep -q inet; then
    udhcpc -f -S -i eth0 -x \"hostname:$(hostname)\" -s /usr/share/udhcpc/default.script \
        >/dev/null 2>&1 &
fi
exit 0
";

const UDHCPC_SCRIPT: &str = "\
#!/bin/sh
# udhcpc's hook in an rlxc busybox container: puts a lease on the interface, the router in
# the default route and the DNS servers in /etc/resolv.conf.
case \"$1\" in
deconfig)
    ip -4 addr flush dev \"$interface\"
    ip link set \"$interface\" up
    ;;
bound|renew)
    [ \"$1\" = bound ] && ip -4 addr flush dev \"$interface\"
    ip addr replace \"$ip/${mask:-24}\" dev \"$interface\"
    for router in $router; do
        ip route replace default via \"$router\" dev \"$interface\"
        break
    done
    if [ -n \"$dns\" ]; then
        {
            [ -n \"$domain\" ] && echo \"search $domain\"
            for server in $dns; do echo \"nameserver $server\"; done
        } > /etc/resolv.conf
    fi
    ;;
esac
exit 0
";

const RCK: &str = "\
#!/bin/sh
# Shutdown script of an rlxc busybox container, run by init for halt, poweroff and reboot.
# It stops everything in well under busybox init's own 2 s, then ends init at once with
# poweroff -f, or reboot -f when /sbin/reboot asked for a reboot.
echo 'rcK: stopping all processes'
kill -TERM -1 2>/dev/null

# True while a process other than init, this script and its children is left.
others_left() {
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ \"$pid\" = 1 ] || [ \"$pid\" = $$ ] && continue
        read -r stat < \"$dir/stat\" 2>/dev/null || continue
        stat=${stat##*) }
        set -- $stat
        [ \"$1\" = Z ] || [ \"$2\" = $$ ] || return 0
    done
    return 1
}
tries=0
while others_left && [ $tries -lt 10 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
kill -KILL -1 2>/dev/null
sync
if [ -e REBOOT_MARK ]; then
    reboot -f
else
    poweroff -f
fi
";

const REBOOT: &str = "\
#!/bin/sh
# rlxc: busybox init runs the same ::shutdown: actions for halt and reboot; this mark tells
# /etc/init.d/rcK to end with a reboot. Then busybox's own reboot does the rest.
touch REBOOT_MARK 2>/dev/null
exec /bin/busybox reboot \"$@\"
";

const GROUP: &str = "\
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
";

const PROFILE: &str = "\
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# A static busybox cannot look up user names (no NSS): login's $USER names the user.
export PS1='$USER@\\h:\\w\\$ '
";

/// Every file of the busybox rootfs for a container named `name`.
pub(crate) fn files(name: &str) -> Vec<RootfsFile> {
    let script = |text: &str| text.replace("REBOOT_MARK", REBOOT_MARK);
    vec![
        file("etc/inittab", INITTAB.to_string(), 0o644),
        file("etc/init.d/rcS", script(RCS), 0o755),
        file("etc/init.d/rcK", script(RCK), 0o755),
        file(
            "usr/share/udhcpc/default.script",
            UDHCPC_SCRIPT.to_string(),
            0o755,
        ),
        file("sbin/reboot", script(REBOOT), 0o755),
        // Root logs in without a password: the container is reached through `rlxc console`
        // and `rlxc attach`, which already need root on the host.
        file(
            "etc/passwd",
            "root::0:0:root:/root:/bin/sh\n\
             daemon:*:1:1:daemon:/usr/sbin:/bin/false\n\
             nobody:*:65534:65534:nobody:/nonexistent:/bin/false\n"
                .to_string(),
            0o644,
        ),
        file("etc/group", GROUP.to_string(), 0o644),
        file("etc/hostname", format!("{name}\n"), 0o644),
        file(
            "etc/hosts",
            format!("127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
            0o644,
        ),
        file("etc/profile", PROFILE.to_string(), 0o644),
        file("etc/shells", "/bin/sh\n/bin/ash\n".to_string(), 0o644),
    ]
}

fn file(path: &'static str, content: String, mode: u32) -> RootfsFile {
    RootfsFile {
        path,
        content,
        mode,
    }
}
