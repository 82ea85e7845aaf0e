# Shared by scripts/demo.sh and scripts/test.sh: sourced, not run.
# Installs what building and testing rlxc needs on Debian, quietly, and only what is missing,
# so a second run costs a few dpkg look-ups.

# Debian packages: a C toolchain for crates that build C, pkg-config for -sys crates,
# libseccomp-dev (seccomp profile files are compiled to BPF through libseccomp),
# a static busybox for demo and test rootfs, LXC itself (to compare rlxc with the real tools)
# and lxc-templates, which holds LXC's distro configs in /usr/share/lxc/config (a Recommends of
# lxc, so --no-install-recommends leaves it out; the distro-config tests read every one),
# systemd for `systemd-analyze verify` of the units (installed, never run), and
# user-mode-linux: the kernel of the cgroup-v2 test lane (tests/uml/run.sh), a pure cgroup2
# host run as an ordinary process. The OpenRC test unpacks
# Debian's openrc with `apt-get download`: installing it would add every sysv service to
# OpenRC's runlevels. apparmor: its apparmor_parser loads the test profile in the UML guest,
# whose kernel is booted with AppArmor (its service does nothing on a host without it).
# lxcfs: its LXC hooks (common.conf.d/00-lxcfs.conf, which every distro config includes) must
# run and succeed under rlxc, with and without a running lxcfs (crates/cli/tests/hooks.rs).
# Where Debian 12's UML does not boot (a CPU with AVX-512), tests/uml/kernel.sh fetches a newer
# one: curl downloads it, gpgv and debian-archive-keyring check the InRelease signature, xz-utils
# unpacks Packages.xz, patchelf points the kernel at the newer libc6 fetched with it.
# iproute2: the network tests make their own network namespaces and links with `ip`.
# debootstrap: the guest tests boot real Debian 12 systems (systemd, OpenRC) made with it once
# per machine (crates/cli/tests/support/guest.rs); arch-test is its Recommends, with which it checks
# that this machine runs the guest's architecture (installed here with it, so CI has it too).
# podman: the OCI template's test builds images with a real producer (podman build from a
# scratch Containerfile, podman save/push to local files; no registry).
# openssl and python3: the download-template tests (crates/cli/tests/create_download.rs) make a
# test CA and run an HTTPS image server (python3's http.server behind TLS) on 127.0.0.1; wget is
# what LXC's own download template fetches with when the test points it at the same server.
# docker-registry: the CNCF distribution server the registry pull tests (create_oci_registry)
# push to and pull from; they run their own instances on 127.0.0.1 (the package's own service,
# on :5000, is not used).
# nftables: tests: nft as oracle for the NAT table (crates/hostnet/tests/nft.rs lists what rlxc
# wrote through nfnetlink; rlxc itself never runs nft).
# dnsmasq-base: `rlxc net` runs it on the host bridge (DHCP, DNS, router advertisements), as
# LXC's lxc-net does; iptables (Debian's is iptables-nft): the doctor's test makes a Docker-style
# `-P FORWARD DROP` with it (crates/hostnet/tests/nft.rs).
# attr and acl: the copy tests (crates/cli/tests/copy.rs) set xattrs and ACLs with setfattr and
# setfacl and compare trees with getfattr and getfacl (rlxc copies them with syscalls);
# rsync: LXC's lxc-copy copies a dir rootfs with it (without it the real lxc-copy fails).
# zsh and fish: the completion tests parse rlxc's scripts with them and complete through them
# (bash is there already); man-db: the man page test renders every page with `man --warnings`
# (groff-base comes with it); dpkg-deb, which scripts/package.sh builds the .deb with, is dpkg's.
RLXC_APT_PACKAGES=(build-essential pkg-config libseccomp-dev busybox-static lxc lxc-templates systemd
                   user-mode-linux apparmor lxcfs curl gpgv debian-archive-keyring xz-utils patchelf
                   iproute2 debootstrap arch-test podman openssl python3 wget
                   docker-registry nftables dnsmasq-base iptables attr acl rsync zsh fish man-db
                   # uidmap: newuidmap and newgidmap, which `rlxc usernsexec` run by an
                   # ordinary user writes its maps with (as LXC's lxc-usernsexec); its test
                   # runs both as nobody (crates/cli/tests/usernsexec.rs).
                   uidmap
                   # mkfs.btrfs and `btrfs subvolume show`: the storage tests make btrfs
                   # filesystems on image files and check subvolumes with it (rlxc itself
                   # uses the kernel's ioctls); mkfs.ext4 comes with e2fsprogs.
                   btrfs-progs)

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, through sudo when we are not root.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run this script as root, or install sudo)"
    fi
}

ensure_apt_packages() {
    local missing=() package
    for package in "${RLXC_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install them by hand"
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# cargo with rustfmt and clippy. rustup's usual home first: CI and sudo often run with a PATH
# that lacks it. Only a machine with no Rust at all gets rustup installed.
ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        say "no cargo found: installing Rust with rustup (minimal profile, rustfmt, clippy)"
        command -v curl >/dev/null 2>&1 || as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq curl ca-certificates >/dev/null
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
            | sh -s -- -y -q --profile minimal --component rustfmt,clippy </dev/null \
            || die "rustup install failed: install Rust (1.80 or newer) by hand"
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || die "cargo fmt or cargo clippy is missing and there is no rustup to add them"
        say "adding rustfmt and clippy"
        rustup component add rustfmt clippy >/dev/null || die "rustup component add failed"
    fi
}

ensure_prerequisites() {
    ensure_apt_packages
    ensure_cargo
    use_static_build
}

# rlxc is linked statically (static-pie: glibc's libc.a and libseccomp.a) where the host has
# those archives: an exec then loads no shared libraries and resolves no symbols, which was a
# quarter of a short verb's run time (`rlxc cgroup` 1.50 -> 1.2 ms; docs/benchmarks). It stays
# position-independent for ASLR (non-PIE would save another 0.2 ms). Target flags need an
# explicit target, or cargo would apply them to proc-macros too, which cannot be static; so
# the host's own triple is named, and binaries go to target/TRIPLE/PROFILE (`cargo_out_dir`).
# A plain `cargo build` still works and links dynamically.
use_static_build() {
    local host libseccomp
    host=$(rustc -vV | sed -n 's/^host: //p')
    case "$host" in *-linux-gnu) ;; *) return 0 ;; esac
    libseccomp=$(cc -print-file-name=libseccomp.a)
    [ -f "$libseccomp" ] && [ -f "$(cc -print-file-name=libc.a)" ] || return 0
    export CARGO_BUILD_TARGET="$host"
    export "CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=+crt-static"
    export LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="${libseccomp%/*}"
}

# Where cargo puts the binaries of a profile (release, debug) under the settings above.
cargo_out_dir() {
    echo "${CARGO_TARGET_DIR:-$PWD/target}${CARGO_BUILD_TARGET:+/$CARGO_BUILD_TARGET}/$1"
}
