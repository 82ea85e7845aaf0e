#!/bin/sh
# The Debian guest (GUEST, a rootfs directory) as an image server's rootfs.tar.xz at OUT, with
# /etc/hostname holding LXC_NAME as in LXC's images; made under a temporary name and renamed,
# so OUT is complete when it exists. Used by the download tests and by bench/.
# Usage: sh guest_image.sh GUEST OUT
set -eu
guest=$1 out=$2
extra=$(mktemp -d)
trap 'rm -rf "$extra" "$out.partial"' EXIT
mkdir "$extra/etc"
echo LXC_NAME > "$extra/etc/hostname"
tar --numeric-owner --xattrs --anchored --exclude=./etc/hostname --exclude=./.rlxc-guest-complete \
    -cf - -C "$guest" . -C "$extra" etc/hostname | xz -1 -T2 > "$out.partial"
mv "$out.partial" "$out"
