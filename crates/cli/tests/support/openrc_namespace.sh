# Runs contrib/openrc/rlxc under Debian's real openrc-run, inside a private mount namespace
# (the caller runs this under `unshare --mount --propagation private`), so nothing of OpenRC
# reaches the host: its files are overlaid on /usr and /etc, /etc/init.d, /etc/runlevels and
# /run are private tmpfs. `rc` is never run and no host runlevel changes.
#
# OpenRC's rc-cgroup.sh is emptied in the private copy: it would move the service's process
# to the root cgroup of every v1 hierarchy, out of the cgroup the tests run in.
#
# Args: OPENRC_ROOT STAGE SCRIPT RLXC LXCPATH RUN_ROOT NAME AUTO_NAME
set -u
R=$1 S=$2 SCRIPT=$3 RLXC=$4 LXCPATH=$5 RUN_ROOT=$6 NAME=$7 AUTO=$8

cannot() { echo "CANNOT-RUN: $*"; exit 0; }

rm -rf "$S" && mkdir -p "$S/usr/lib" "$S/usr/sbin" "$S/etc/conf.d" "$S/etc/runlevels" \
    || cannot "staging in $S"
cp -a "$R/lib/rc" "$R/lib/x86_64-linux-gnu" "$S/usr/lib/" || cannot "no lib/rc in $R"
cp -a "$R/sbin/openrc-run" "$R/sbin/rc-update" "$S/usr/sbin/" || cannot "no openrc-run in $R"
: > "$S/usr/lib/rc/sh/rc-cgroup.sh"
# Debian's openrc reads insserv's virtual facilities.
: > "$S/etc/insserv.conf"
cat > "$S/etc/conf.d/rlxc" <<CONF
RLXC=$RLXC
RLXC_PATH=$LXCPATH
RLXC_RUN_DIR=$RUN_ROOT
RLXC_STOP_TIMEOUT=10
CONF

mount -t overlay overlay -o "lowerdir=$S/usr:/usr" /usr || cannot "overlay on /usr"
mount -t overlay overlay -o "lowerdir=$S/etc:/etc" /etc || cannot "overlay on /etc"
for dir in /etc/init.d /etc/runlevels /run; do
    mount -t tmpfs tmpfs "$dir" || cannot "tmpfs on $dir"
done
mkdir -p /etc/runlevels/default /etc/runlevels/boot /etc/runlevels/sysinit /etc/runlevels/shutdown \
    /etc/runlevels/nonetwork /etc/runlevels/off /etc/runlevels/recovery
for d in daemons exclusive failed hotplugged inactive options scheduled started starting \
         stopping tmp wasinactive; do
    mkdir -p "/run/openrc/$d"
done
# openrc-run refuses to run on a system OpenRC did not boot unless this exists.
touch /run/openrc/softlevel

# `need net`: a stub net service that says when it was started.
cat > /etc/init.d/net <<'NET'
#!/sbin/openrc-run
start() { echo "net (stub) started"; }
NET
chmod 755 /etc/init.d/net
cp "$SCRIPT" /etc/init.d/rlxc && chmod 755 /etc/init.d/rlxc

state() { echo "$1 state $(env RLXC_PATH="$LXCPATH" RLXC_RUN_DIR="$RUN_ROOT" "$RLXC" info -n "$1" -s -H)"; }

# The seed's recipe, word for word.
ln -s /etc/init.d/rlxc "/etc/init.d/rlxc.$NAME"
rc-update add "rlxc.$NAME" default
[ -L "/etc/runlevels/default/rlxc.$NAME" ] && echo "rc-update added rlxc.$NAME"

"/etc/init.d/rlxc.$NAME" start; echo "$NAME start rc=$?"
state "$NAME"
"/etc/init.d/rlxc.$NAME" status; echo "$NAME status rc=$?"
"/etc/init.d/rlxc.$NAME" stop; echo "$NAME stop rc=$?"
state "$NAME"
"/etc/init.d/rlxc.$NAME" status; echo "$NAME status rc=$?"

# The plain service: autostart at boot, everything down at shutdown.
/etc/init.d/rlxc start; echo "rlxc start rc=$?"
state "$AUTO"
/etc/init.d/rlxc stop; echo "rlxc stop rc=$?"
state "$AUTO"
