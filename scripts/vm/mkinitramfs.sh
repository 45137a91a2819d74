#!/bin/bash
# Usage: mkinitramfs.sh OUT KVER
#
# Build a tiny gzip'd cpio initramfs for the test guest: a static busybox plus the
# virtio / 9p / overlay modules of kernel KVER. Its /init mounts the host root
# (9p tag "hostroot", read-only) under a tmpfs overlay, switch_roots into it and
# runs the script named on the kernel command line:
#   kcxx.script=/abs/path   script to run (absolute path on the shared root)
#   kcxx.argc=N             number of arguments
#   kcxx.args=a,b,...       arguments, each percent-encoded (%HH), comma-separated
#   kcxx.kver=VER           expected kernel version (exported as KCXX_KVER)
# The script's exit status is printed on the console as a line "KCXX-EXIT: <n>",
# then the guest powers off (poweroff -f). No marker line means the run failed.
#
# OUT is rebuilt only when it is missing or older than this script.
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }

(($# == 2)) || die "usage: $0 OUT KVER"
OUT=$1
KVER=$2
SELF=$(readlink -f "${BASH_SOURCE[0]}")
MODDIR=/lib/modules/$KVER

if [[ -s $OUT && $OUT -nt $SELF ]]; then
	exit 0
fi

[[ -d $MODDIR ]] || die "no $MODDIR"
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [[ -x $b ]] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
		BUSYBOX=$b
		break
	fi
done
# `file` may be missing; fall back to trusting busybox-static's path.
[[ -n $BUSYBOX ]] || { [[ -x /bin/busybox ]] && BUSYBOX=/bin/busybox; } ||
	die "static busybox not found (install busybox-static)"
command -v cpio >/dev/null || die "cpio not found"

# Load order matters: virtio itself is a module in Debian's config.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p overlay)

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/kcxx-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,dev,proc,sys,lower,ovl,newroot,mods}
cp "$BUSYBOX" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"

# Module paths come from modules.dep; Debian 6.1 ships plain .ko, but accept
# .ko.xz / .ko.zst / .ko.gz and store them decompressed (busybox insmod).
: >"$STAGE/mods/order"
for m in "${MODULES[@]}"; do
	rel=$(grep -E "(^|/)${m}\.ko(\.(xz|zst|gz))?:" "$MODDIR/modules.dep" | head -n1 | cut -d: -f1 || true)
	if [[ -z $rel ]]; then
		# Built into this kernel? Then there is nothing to load.
		if grep -qE "(^|/)${m}\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; then
			continue
		fi
		die "module $m not found in $MODDIR"
	fi
	src=$MODDIR/$rel
	dst=$STAGE/mods/$m.ko
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	esac
	echo "$m" >>"$STAGE/mods/order"
done

cat >"$STAGE/init" <<'INIT'
#!/bin/sh
# kcxx test-guest init (busybox). Stage 1: mount the host root, switch_root.
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "kcxx-init: FATAL: $*"
	echo "kcxx-init: no KCXX-EXIT marker will follow; powering off"
	sleep 1
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 5
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /mods/order); do
	insmod /mods/$m.ko || fail "insmod $m failed"
done

# Read our parameters before /proc moves away.
KCXX_SCRIPT= KCXX_ARGS= KCXX_ARGC=0 KCXX_KVER=
for w in $(cat /proc/cmdline); do
	case $w in
	kcxx.script=*) KCXX_SCRIPT=${w#kcxx.script=} ;;
	kcxx.args=*) KCXX_ARGS=${w#kcxx.args=} ;;
	kcxx.argc=*) KCXX_ARGC=${w#kcxx.argc=} ;;
	kcxx.kver=*) KCXX_KVER=${w#kcxx.kver=} ;;
	esac
done
[ -n "$KCXX_SCRIPT" ] || fail "no kcxx.script= on the kernel command line"

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /lower ||
	fail "cannot mount the 9p host root"
mount -t tmpfs -o mode=0755 tmpfs /ovl || fail "cannot mount tmpfs"
mkdir -p /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/upper,workdir=/ovl/work /newroot ||
	fail "cannot mount the overlay"

cp /stage2 /newroot/kcxx-stage2.sh || fail "cannot write stage 2"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev

export KCXX_SCRIPT KCXX_ARGS KCXX_ARGC KCXX_KVER
exec switch_root /newroot /bin/bash /kcxx-stage2.sh
fail "switch_root failed"
INIT

cat >"$STAGE/stage2" <<'STAGE2'
#!/bin/bash
# kcxx test-guest init, stage 2 (bash on the overlaid host root): run the script.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb KCXX_GUEST=1

halt_now() {
	sync
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

# devtmpfs without udev: give bash and test tools what they expect.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
hostname kcxx-guest 2>/dev/null

args=()
if [[ -n ${KCXX_ARGC:-} && $KCXX_ARGC != 0 ]]; then
	IFS=, read -r -a enc <<<"${KCXX_ARGS:-}"
	for ((i = 0; i < KCXX_ARGC; i++)); do
		e=${enc[i]-}
		printf -v a '%b' "${e//%/\\x}"
		args+=("$a")
	done
fi
unset KCXX_ARGC KCXX_ARGS

read -r up _ </proc/uptime
echo "kcxx-guest: up ${up}s, kernel $(uname -r), running $KCXX_SCRIPT ${args[*]}"
if [[ ! -f $KCXX_SCRIPT ]]; then
	echo "kcxx-guest: script not found: $KCXX_SCRIPT"
	rc=127
elif [[ -x $KCXX_SCRIPT ]]; then
	"$KCXX_SCRIPT" "${args[@]}" </dev/null
	rc=$?
else
	bash "$KCXX_SCRIPT" "${args[@]}" </dev/null
	rc=$?
fi
printf '\nKCXX-EXIT: %d\n' "$rc"
halt_now
STAGE2
chmod 0755 "$STAGE/init" "$STAGE/stage2"

mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp "$OUT.XXXXXX")
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -9 >"$tmp"
mv -f "$tmp" "$OUT"
echo "mkinitramfs: built $OUT for $KVER ($(du -h "$OUT" | cut -f1))"
