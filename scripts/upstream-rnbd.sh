#!/bin/bash
# Build the UPSTREAM rtrs/rnbd modules (Linux 6.1, RTRS/RNBD protocol 2.0) out
# of tree, as the interop peer and benchmark rival of the guest test bed.
#
# Debian's kernel config leaves CONFIG_INFINIBAND_RTRS* and CONFIG_BLK_DEV_RNBD*
# unset, so the modules are built here from Debian's linux-source-6.1 package
# against the installed Debian headers (scripts/kver.sh). Nothing upstream is
# committed to the project: the sources are extracted at build time from
# /usr/src/linux-source-6.1.tar.xz into build/upstream/src (git-ignored) and
# built there with a generated Kbuild.
#
# Usage: scripts/upstream-rnbd.sh [--force]
#   Idempotent: does nothing but print the .ko paths when all five modules exist
#   and were built for the current kernel from the current source package.
#   --force      re-extract and rebuild.
# Output: one line per module "upstream-rnbd: <abs path>.ko".
# Env: KVER (see scripts/kver.sh), LINUX_SOURCE_TARBALL (default below).
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
PKG=linux-source-6.1
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
TOP=linux-source-6.1                          # top directory inside the tarball
OUT=$ROOT/build/upstream
SRC=$OUT/src
STAMP=$SRC/.upstream-stamp
MODS=(rtrs-core rtrs-client rtrs-server rnbd-client rnbd-server)
DIRS=(drivers/infiniband/ulp/rtrs drivers/block/rnbd)

die() {
	echo "upstream-rnbd: ERROR: $*" >&2
	exit 1
}

force=0
case ${1:-} in
--force) force=1 ;;
"") ;;
*) die "usage: $0 [--force]" ;;
esac

# One build at a time (make check and a developer may run this together).
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock -w 600 9 || die "another scripts/upstream-rnbd.sh holds $OUT/.lock"

KVER=$("$ROOT/scripts/kver.sh") || die "no usable kernel headers (scripts/kver.sh failed)"
KDIR=/lib/modules/$KVER/build

# 1. The source package (root needed only if it is missing).
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
if [[ -z ${LINUX_SOURCE_TARBALL:-} ]] && ! pkg_installed "$PKG"; then
	echo "upstream-rnbd: $PKG is not installed; installing it"
	SUDO=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "$PKG missing and not root: run 'apt-get install $PKG' as root"
		SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
	fi
	APT_OPTS=(-o DPkg::Lock::Timeout=600)
	DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -q ||
		die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y -q "$PKG" ||
		die "apt-get install $PKG failed"
fi
[[ -f $TARBALL ]] || die "$TARBALL not found (package $PKG installed?)"

src_ver=$(pkg_version "$PKG")
img_pkg=linux-image-$KVER
img_ver=$(pkg_version "$img_pkg")
[[ -n $img_ver ]] || img_ver=$(pkg_version "$img_pkg-unsigned")
if [[ -n $src_ver && -n $img_ver && $src_ver != "$img_ver" ]]; then
	# Same 6.1 series, so the in-kernel API matches; say so rather than fail.
	echo "upstream-rnbd: note: $PKG $src_ver differs from the guest kernel $img_pkg $img_ver" >&2
fi

# What the current build must have been made from: kernel, source tarball, this script.
want_stamp="kver=$KVER
tarball=$TARBALL $(stat -c '%s %Y' "$TARBALL")
source=$PKG ${src_ver:-unknown}
script=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

up_to_date() {
	local m
	[[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]] || return 1
	for m in "${MODS[@]}"; do
		[[ -f $SRC/$m.ko ]] || return 1
	done
}

print_kos() {
	local m
	for m in "${MODS[@]}"; do
		echo "upstream-rnbd: $SRC/$m.ko"
	done
}

if ((!force)) && up_to_date; then
	echo "upstream-rnbd: up to date (kernel $KVER, $PKG ${src_ver:-?})"
	print_kos
	exit 0
fi

start=$SECONDS

# 2. Extract only the two driver directories, flat into build/upstream/src.
# Every header they include is either local to them (rtrs*.h, rnbd*.h, the
# *-trace.h tracepoint headers) or a public kernel header that the Debian
# headers package ships (include/linux, include/rdma, include/trace).
rm -rf "$SRC" "$OUT/extract"
mkdir -p "$SRC" "$OUT/extract"
members=()
for d in "${DIRS[@]}"; do members+=("$TOP/$d"); done
echo "upstream-rnbd: extracting ${DIRS[*]} from $TARBALL"
tar -xJf "$TARBALL" -C "$OUT/extract" "${members[@]}" ||
	die "cannot extract ${DIRS[*]} from $TARBALL"
for d in "${DIRS[@]}"; do
	[[ -d $OUT/extract/$TOP/$d ]] || die "$d not found in $TARBALL"
	cp -p "$OUT/extract/$TOP/$d"/*.[ch] "$SRC/"
done
rm -rf "$OUT/extract"

# 3. Our own Kbuild (upstream's two Makefiles are not used): one flat
# directory, so modpost resolves rtrs-core/rtrs-client/rtrs-server symbols for
# rnbd-client/rnbd-server within the same M= build. -I$(src) serves both the
# <rtrs.h> include of the rnbd sources and the tracepoint headers: they say
# TRACE_INCLUDE_PATH . and <trace/define_trace.h> then includes
# <./<name>-trace.h> through the include path. The sources test no
# CONFIG_INFINIBAND_RTRS* / CONFIG_BLK_DEV_RNBD* symbol, so none is defined.
cat >"$SRC/Kbuild" <<'EOF'
# Generated by scripts/upstream-rnbd.sh: upstream rtrs/rnbd (Linux 6.1) out of tree.
ccflags-y := -I$(src)

obj-m := rtrs-core.o rtrs-client.o rtrs-server.o rnbd-client.o rnbd-server.o

rtrs-core-y   := rtrs.o
rtrs-client-y := rtrs-clt.o rtrs-clt-stats.o rtrs-clt-sysfs.o rtrs-clt-trace.o
rtrs-server-y := rtrs-srv.o rtrs-srv-stats.o rtrs-srv-sysfs.o rtrs-srv-trace.o
rnbd-client-y := rnbd-clt.o rnbd-clt-sysfs.o rnbd-common.o
rnbd-server-y := rnbd-common.o rnbd-srv.o rnbd-srv-sysfs.o rnbd-srv-trace.o
EOF

# 4. Build against the Debian headers.
log=$OUT/build.log
echo "upstream-rnbd: building against $KDIR"
if ! make -C "$KDIR" M="$SRC" -j"$(nproc)" modules >"$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -n 30 >&2 || tail -n 30 "$log" >&2
	die "build failed (full log: $log)"
fi
for m in "${MODS[@]}"; do
	[[ -f $SRC/$m.ko ]] || die "build finished but $SRC/$m.ko is missing (log: $log)"
	vm=$(modinfo -F vermagic "$SRC/$m.ko" 2>/dev/null | cut -d' ' -f1)
	[[ $vm == "$KVER" ]] || die "$m.ko has vermagic '$vm', expected $KVER"
done
printf '%s\n' "$want_stamp" >"$STAMP"
echo "upstream-rnbd: built in $((SECONDS - start))s (kernel $KVER, $PKG ${src_ver:-?})"
print_kos
