#!/usr/bin/env bash
# Picks the user-mode-linux kernel of the cgroup-v2 lane (tests/uml/run.sh) and prints two lines:
# the kernel binary and its modules directory (…/modules/<uname -r>). Messages go to stderr.
#
# Debian 12's own UML (6.1, /usr/bin/linux.uml) when it boots here. It does not boot on a CPU
# with AVX-512 (or AMX): UML before 6.13 hands the host a fixed 832-byte XSTATE buffer, the
# host's PTRACE_SETREGSET wants the task's whole xstate, and the guest's first process dies
# ("ptrace set fp regs failed, errno = 14"; trixie's 6.12 is no better). There, the newer UML of
# the suites in RLXC_UML_SUITES (default: forky, then sid) is fetched once per machine into
# /var/cache/rlxc-test/uml/<version>/ with the libc6 of the same suite (it needs a newer glibc
# than Debian 12's): its ELF interpreter and rpath are rewritten to that libc with patchelf
# (`ld.so --library-path linux.uml` is no way round: UML lays out its memory from where it is
# loaded). Checked as apt would (InRelease signed by debian-archive-keyring, Packages.xz by the
# SHA256 in it, each .deb by the SHA256 in Packages), unpacked into a temporary directory and
# renamed into place only when complete, so a half-made cache is never used. Every candidate
# must pass a probe boot (a trivial init that prints a marker and halts) before it is picked;
# when none does, this fails with each one's reason.
set -euo pipefail
CACHE=${RLXC_UML_CACHE:-/var/cache/rlxc-test/uml}
MIRROR=${RLXC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITES=${RLXC_UML_SUITES:-forky sid}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MARKER=rlxc-uml-probe-ok
reasons=()
note() { printf 'tests/uml/kernel.sh: %s\n' "$*" >&2; }

# probe KERNEL MODULES_DIR: boots KERNEL with a busybox root on hostfs; true when its init ran
# and reported the release that MODULES_DIR is for. Sets $why otherwise.
probe() {
    local kernel=$1 modules=$2 root out rc=0
    [ -x "$kernel" ] || { why="no $kernel"; return 1; }
    [ -d "$modules" ] || { why="no modules directory $modules"; return 1; }
    [ -x /bin/busybox ] || { why="no /bin/busybox (apt-get install busybox-static)"; return 1; }
    root=$(mktemp -d /tmp/rlxc-uml-probe.XXXXXX)
    cp /bin/busybox "$root/busybox"
    mkdir "$root"/{proc,sys,dev,tmp}
    printf '#!/busybox sh\n/busybox echo %s "$(/busybox uname -r)"\n/busybox halt -f\n' "$MARKER" >"$root/init"
    chmod 755 "$root" "$root/init"
    # The guest panics or halts within seconds; the timeout is for a kernel that hangs.
    out=$(timeout -k 5 60 "$kernel" mem=128M root=/dev/root rootfstype=hostfs rootflags="$root" rw \
        init=/init con0=fd:0,fd:1 con=null </dev/null 2>&1 | tr -d '\r') || rc=$?
    rm -rf --one-file-system "$root"
    if printf '%s\n' "$out" | grep -qx "$MARKER ${modules##*/}"; then
        return 0
    fi
    # The lines that say why (a panic and what led to it), else the last ones.
    why=$(printf '%s\n' "$out" | grep -iE 'panic|fail|error|too few|not found|cannot' |
        grep -vE '^mmapper_init|ubd device' | head -3)
    [ -n "$why" ] || why=$(printf '%s\n' "$out" | grep -v '^ *$' | tail -3)
    why="probe boot failed (exit $rc): $(printf '%s' "$why" | tr '\n' '|')"
    return 1
}

try() {
    local what=$1 kernel=$2 modules=$3
    note "probing $what ($kernel)"
    if probe "$kernel" "$modules"; then
        printf '%s\n%s\n' "$kernel" "$modules"
        exit 0
    fi
    note "$what: $why"
    reasons+=("$what: $why")
}

# The one modules directory of an unpacked UML (/usr/lib/uml/modules/<release>).
modules_of() {
    local d
    for d in "$1"/usr/lib/uml/modules/*/; do [ -d "$d" ] && { echo "${d%/}"; return 0; }; done
    echo "$1/usr/lib/uml/modules/none"
}

fail() {
    note "no user-mode-linux kernel boots on this machine:"
    printf '  %s\n' "${reasons[@]}" "$@" >&2
    [ -z "${cached:-}" ] || note "(the cached one is not fetched again: remove $CACHE/$cached to retry)"
    exit 1
}

# The stanza field FIELD of package PACKAGE in the Packages file on stdin.
package_field() {
    awk -v p="$1" -v f="$2" -v RS= -F '\n' '
        { found = 0; for (i = 1; i <= NF; i++) if ($i == "Package: " p) found = 1 }
        found { for (i = 1; i <= NF; i++) if (index($i, f ": ") == 1) { print substr($i, length(f) + 3); exit } }'
}

fetch() { curl -fsSL --retry 3 -o "$2" "$1"; }

# fetch_suite SUITE DIR: unpacks SUITE's user-mode-linux and libc6 into DIR, checked.
fetch_suite() {
    local suite=$1 dir=$2 sha size by_hash path pkg filename
    fetch "$MIRROR/dists/$suite/InRelease" "$dir/InRelease" || { why="cannot download $suite's InRelease"; return 1; }
    # Only the signed part is read; apt's rule: a good signature from the keyring and no bad one.
    gpgv --status-fd 3 --keyring "$KEYRING" --output "$dir/Release" "$dir/InRelease" 3>"$dir/gpg-status" 2>/dev/null || true
    grep -q '^\[GNUPG:\] VALIDSIG ' "$dir/gpg-status" && ! grep -q '^\[GNUPG:\] BADSIG ' "$dir/gpg-status" \
        || { why="$suite's InRelease is not signed by a key of $KEYRING"; return 1; }
    grep -qE "^(Codename|Suite): $suite\$" "$dir/Release" || { why="InRelease of $suite names another suite"; return 1; }
    read -r sha size < <(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
        s && $3 == "main/binary-amd64/Packages.xz" { print $1, $2 }' "$dir/Release") \
        || { why="$suite's Release lists no main/binary-amd64/Packages.xz"; return 1; }
    # By hash where the archive offers it (as apt does): no race with a mirror update.
    path=main/binary-amd64/Packages.xz
    grep -q '^Acquire-By-Hash: yes' "$dir/Release" && by_hash=main/binary-amd64/by-hash/SHA256/$sha || by_hash=$path
    fetch "$MIRROR/dists/$suite/$by_hash" "$dir/Packages.xz" || { why="cannot download $suite's $path"; return 1; }
    echo "$sha  $dir/Packages.xz" | sha256sum -c --quiet >/dev/null 2>&1 && [ "$(stat -c %s "$dir/Packages.xz")" = "$size" ] \
        || { why="$suite's $path does not match the SHA256 in its InRelease"; return 1; }
    xz -dc "$dir/Packages.xz" >"$dir/Packages" || { why="$suite's $path does not unpack"; return 1; }
    for pkg in user-mode-linux libc6; do
        filename=$(package_field "$pkg" Filename <"$dir/Packages")
        sha=$(package_field "$pkg" SHA256 <"$dir/Packages")
        [ -n "$filename" ] && [ -n "$sha" ] || { why="$suite has no $pkg for amd64"; return 1; }
        note "downloading $MIRROR/$filename"
        fetch "$MIRROR/$filename" "$dir/$pkg.deb" || { why="cannot download $filename"; return 1; }
        echo "$sha  $dir/$pkg.deb" | sha256sum -c --quiet >/dev/null 2>&1 \
            || { why="$filename does not match the SHA256 in $suite's Packages"; return 1; }
        dpkg-deb -x "$dir/$pkg.deb" "$dir/root" || { why="$filename does not unpack"; return 1; }
        printf '%s %s %s %s\n' "$pkg" "$(package_field "$pkg" Version <"$dir/Packages")" "$filename" "$sha" >>"$dir/root/SOURCE"
    done
}

# 1. Debian 12's own.
try "Debian 12's user-mode-linux" /usr/bin/linux.uml "$(modules_of /)"

# 2. The newest complete one in the cache (a directory there is only ever made by a rename).
cached=
if [ -d "$CACHE" ]; then
    cached=$(find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort -V | tail -1)
fi
if [ -n "$cached" ]; then
    try "the cached user-mode-linux $cached" "$CACHE/$cached/usr/bin/linux.uml" "$(modules_of "$CACHE/$cached")"
fi

# 3. A newer one, fetched into the cache.
for tool in curl gpgv xz patchelf dpkg-deb; do
    command -v "$tool" >/dev/null || fail "cannot fetch a newer one: no $tool (scripts/lib.sh installs it)"
done
[ -r "$KEYRING" ] || fail "cannot fetch a newer one: no $KEYRING (apt-get install debian-archive-keyring)"
mkdir -p "$CACHE"
# What runs killed before their rename left behind.
find "$CACHE" -mindepth 1 -maxdepth 1 -name '.new.*' -mmin +120 -exec rm -rf --one-file-system {} +
tmp=
trap '[ -z "$tmp" ] || rm -rf --one-file-system "$tmp"' EXIT
for suite in $SUITES; do
    tmp=$(mktemp -d "$CACHE/.new.XXXXXX")
    note "fetching user-mode-linux from Debian $suite ($MIRROR)"
    if ! fetch_suite "$suite" "$tmp"; then
        reasons+=("Debian $suite: $why"); note "$suite: $why"
        rm -rf --one-file-system "$tmp"; continue
    fi
    version=$(awk '$1 == "user-mode-linux" { print $2 }' "$tmp/root/SOURCE")
    final=$CACHE/$version
    if [ -e "$final" ]; then # already in the cache: the one above, which did not boot, or an older one
        rm -rf --one-file-system "$tmp"
        [ "$version" = "$cached" ] || try "the cached user-mode-linux $version" "$final/usr/bin/linux.uml" "$(modules_of "$final")"
        continue
    fi
    lib=$final/usr/lib/x86_64-linux-gnu
    [ -e "$tmp/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] \
        || { reasons+=("Debian $suite: its libc6 has no ld-linux-x86-64.so.2"); rm -rf --one-file-system "$tmp"; continue; }
    # The paths it will have once renamed into place.
    patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$tmp/root/usr/bin/linux.uml" \
        || { reasons+=("Debian $suite: patchelf failed"); rm -rf --one-file-system "$tmp"; continue; }
    chmod 755 "$tmp/root"
    # Another run may have made it meanwhile: then its copy is used and this one dropped.
    mv -T "$tmp/root" "$final" 2>/dev/null || [ -d "$final" ] || fail "cannot move the new kernel to $final"
    rm -rf --one-file-system "$tmp"
    try "user-mode-linux $version from Debian $suite" "$final/usr/bin/linux.uml" "$(modules_of "$final")"
done
fail
