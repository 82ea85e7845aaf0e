#!/usr/bin/env bash
# Builds the Debian package target/debian/rlxc_VERSION_ARCH.deb with dpkg-deb (no debhelper):
# the release binary (static where scripts/lib.sh can link it so) at /usr/bin/rlxc, the lxc-*
# links in /usr/lib/rlxc/bin (not /usr/bin, where Debian's lxc package has its tools), the
# completions, the man pages, the systemd units, the OpenRC scripts and the default configs of
# contrib/ (the files `rlxc install-service` installs, naming /usr/bin/rlxc).
#
# RLXC_BINARY=FILE packages that binary instead of building one (the package test uses the
# binary under test); RLXC_DEB_DIR=DIR writes the package there instead of target/debian;
# RLXC_DEB_COMPRESSION=gzip compresses faster than the default xz.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ -z "${RLXC_BINARY:-}" ]; then
    ensure_prerequisites
    say "building rlxc (release)"
    cargo build --release --locked -p rlxc
    RLXC_BINARY="$(cargo_out_dir release)/rlxc"
fi
[ -x "$RLXC_BINARY" ] || die "no rlxc binary at $RLXC_BINARY"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian's dpkg)"
out_dir=${RLXC_DEB_DIR:-target/debian}
version=$("$RLXC_BINARY" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
[ -n "$version" ] || die "cannot read the version of $RLXC_BINARY"

stage=$(mktemp -d "${TMPDIR:-/tmp}/rlxc-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root/DEBIAN"

# The binary and the LXC names. /usr/lib/rlxc/bin first in PATH makes lxc-start run rlxc
# (as /usr/lib/ccache does for compilers); Debian's lxc keeps /usr/bin/lxc-*.
install -D -m 0755 "$RLXC_BINARY" "$root/usr/bin/rlxc"
# Without symbols, as dh_strip would ship it (a tenth of a debug build's size).
strip --strip-unneeded "$root/usr/bin/rlxc"
mkdir -p "$root/usr/lib/rlxc/bin"
"$RLXC_BINARY" compat-links -q "$root/usr/lib/rlxc/bin"
for link in "$root"/usr/lib/rlxc/bin/lxc-*; do
    ln -sfn ../../../bin/rlxc "$link"
done

# Completions, each in the directory its shell loads them from by command name.
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
"$RLXC_BINARY" completion bash >"$root/usr/share/bash-completion/completions/rlxc"
"$RLXC_BINARY" completion zsh >"$root/usr/share/zsh/vendor-completions/_rlxc"
"$RLXC_BINARY" completion fish >"$root/usr/share/fish/vendor_completions.d/rlxc.fish"
# fish loads lxc-start.fish for lxc-start: the one script completes every name.
for link in "$root"/usr/lib/rlxc/bin/lxc-*; do
    ln -s rlxc.fish "$root/usr/share/fish/vendor_completions.d/${link##*/}.fish"
done

# Man pages, compressed as Debian's policy asks.
"$RLXC_BINARY" man -q --out "$root/usr/share/man"
gzip -9n "$root"/usr/share/man/man*/*

# What install-service installs, with the packaged binary's path. The units go where packages
# put them (/lib/systemd/system; /etc/systemd/system is the admin's), the rest as install-service
# places it, the /etc files as conffiles.
shipped() { sed 's|/usr/local/sbin/rlxc|/usr/bin/rlxc|g' "contrib/$1" >"$root/$2"; chmod "$3" "$root/$2"; }
install -d "$root/lib/systemd/system" "$root/etc/init.d" "$root/etc/conf.d" "$root/etc/rlxc" \
    "$root/etc/default"
shipped systemd/rlxc.service lib/systemd/system/rlxc.service 0644
shipped systemd/rlxc@.service lib/systemd/system/rlxc@.service 0644
shipped systemd/rlxc-net.service lib/systemd/system/rlxc-net.service 0644
shipped openrc/rlxc etc/init.d/rlxc 0755
shipped openrc/rlxc-net etc/init.d/rlxc-net 0755
shipped openrc/rlxc.confd etc/conf.d/rlxc 0644
shipped etc/rlxc.conf etc/rlxc/rlxc.conf 0644
shipped etc/default.conf etc/rlxc/default.conf 0644
shipped etc/rlxc-net etc/default/rlxc-net 0644

install -d "$root/usr/share/doc/rlxc"
cat >"$root/usr/share/doc/rlxc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rlxc

Files: *
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT

(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

# No Depends: the binary is static (or needs only libc6, there on every Debian system).
# busybox-static makes `create -t busybox` work, dnsmasq-base `rlxc net`.
cat >"$root/DEBIAN/control" <<CONTROL
Package: rlxc
Version: $version
Architecture: $arch
Maintainer: rlxc developers <rlxc@example.invalid>
Installed-Size: $installed_size
Section: admin
Priority: optional
Recommends: busybox-static
Suggests: dnsmasq-base, debootstrap, lxc-templates
Homepage: https://example.invalid/rlxc
Description: Linux containers with LXC's configs and tools, in Rust
 rlxc reads LXC's container configs and answers to LXC's tool names: one
 binary, /usr/bin/rlxc, with a verb per tool (rlxc start, rlxc ls, ...).
 The lxc-* names are links in /usr/lib/rlxc/bin, apart from LXC's own
 tools: put that directory first in PATH to have lxc-start run rlxc.
CONTROL

# systemd reads the new units; nothing is enabled or started (the admin's choice, as with
# `rlxc install-service`).
cat >"$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
SCRIPT
cat >"$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

mkdir -p "$out_dir"
deb="$out_dir/rlxc_${version}_${arch}.deb"
dpkg-deb --root-owner-group "-Z${RLXC_DEB_COMPRESSION:-xz}" --build "$root" "$deb" >/dev/null
say "built $deb"
