# shellcheck shell=bash
# Helpers for guest cases that use the UPSTREAM rtrs/rnbd modules (Linux 6.1) as
# the interop peer or the benchmark rival. The modules are built on the host by
# scripts/upstream-rnbd.sh into build/upstream/src (run it before the guest
# boots: the guest sees the host's root read-only). Source after lib.sh:
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   . "$(dirname "${BASH_SOURCE[0]}")/../upstream.sh"
#
#   upstream_load_server [PARAM...]   rtrs-core, rtrs-server, rnbd-server.
#       PARAM is "name=value" for rnbd-server (port_nr, dev_search_path) or
#       "rtrs_server.name=value" for rtrs-server (always_invalidate,
#       max_chunk_size, sess_queue_depth). always_invalidate defaults to 0
#       here (upstream's default is 1): on soft-RoCE 6.1 upstream RTRS with
#       always_invalidate=1 was seen to lose requests silently (hung IO, no
#       error; see /work/shared/reference/test-bed.md). Pass
#       rtrs_server.always_invalidate=1 to test that path on purpose.
#   upstream_load_client [PARAM...]   rtrs-core, rtrs-client, rnbd-client
#       (neither has parameters in 6.1; "rtrs_client.name=value" / "name=value"
#       are passed through for later kernels).
#   upstream_map SESS SRC DST DEVICE_PATH [ACCESS_MODE]
#       map DEVICE_PATH (relative to the server's dev_search_path) over one
#       path SRC@DST (bare IPv4 addresses, or already "ip:..."/"gid:..."),
#       wait for the block device and print its path (/dev/rnbdN).
#   upstream_unmap DEV               DEV = /dev/rnbdN or rnbdN ("normal" unmap).
#   upstream_unload_all              unload every upstream module (rnbd-client
#       unmaps what is still mapped when it goes), in dependency order.
#   UPSTREAM_KO_DIR                  where the .ko files are (default
#       $KCXX_ROOT/build/upstream/src).

UPSTREAM_KO_DIR=${UPSTREAM_KO_DIR:-$KCXX_ROOT/build/upstream/src}
UPSTREAM_CLT_CTL=/sys/class/rnbd-client/ctl

# _upstream_ko NAME [PARAM...]: load $UPSTREAM_KO_DIR/NAME.ko unless loaded.
# Like lib.sh's load_ko, but modinfo "depends" lists upstream modules with
# dashes (rtrs-core) while /sys/module uses underscores, and those modules are
# not installed for modprobe: they must already be loaded (the callers load in
# dependency order).
_upstream_ko() {
	_kcxx_guest_only "$1"
	local name=$1 path dep deps out
	shift
	path=$UPSTREAM_KO_DIR/$name.ko
	[[ -d /sys/module/${name//-/_} ]] && return 0
	[[ -f $path ]] || die "upstream: no $path: run scripts/upstream-rnbd.sh on the host before booting the guest"
	deps=$(modinfo -F depends "$path" 2>/dev/null) || die "upstream: modinfo failed on $path"
	for dep in ${deps//,/ }; do
		[[ -d /sys/module/${dep//-/_} ]] && continue
		[[ -f $UPSTREAM_KO_DIR/$dep.ko ]] && die "upstream: $name needs $dep loaded first"
		modprobe "$dep" 2>/dev/null || die "upstream: $name needs '$dep', which modprobe cannot load"
	done
	if ! out=$(insmod "$path" "$@" 2>&1); then
		echo "upstream: insmod $path $* failed: $out" >&2
		dmesg | tail -n 20 >&2
		die "upstream: cannot load $name"
	fi
}

# _upstream_split PREFIX PARAM...: sets _UP_OWN (params with "PREFIX." removed)
# and _UP_REST (params without a module prefix).
_upstream_split() {
	local prefix=$1 p
	shift
	_UP_OWN=() _UP_REST=()
	for p in "$@"; do
		case $p in
		"$prefix".* | "${prefix//_/-}".*) _UP_OWN+=("${p#*.}") ;;
		*.*=*) die "upstream: parameter '$p' is for another module" ;;
		*) _UP_REST+=("$p") ;;
		esac
	done
}

upstream_load_server() {
	local p ai=0
	_upstream_split rtrs_server "$@"
	for p in "${_UP_OWN[@]}"; do
		[[ $p == always_invalidate=* ]] && ai=
	done
	if [[ -n $ai ]]; then
		_UP_OWN+=("always_invalidate=$ai")
		echo "upstream: rtrs-server always_invalidate=0 (with 1, rxe lost requests silently; see docs/interop.md)"
	fi
	_upstream_ko rtrs-core
	_upstream_ko rtrs-server "${_UP_OWN[@]}"
	_upstream_ko rnbd-server "${_UP_REST[@]}"
}

upstream_load_client() {
	_upstream_split rtrs_client "$@"
	_upstream_ko rtrs-core
	_upstream_ko rtrs-client "${_UP_OWN[@]}"
	_upstream_ko rnbd-client "${_UP_REST[@]}"
}

_upstream_addr() {
	case $1 in
	ip:* | gid:*) echo "$1" ;;
	*) echo "ip:$1" ;;
	esac
}

# The block device of a mapping: ctl/devices/<device_path with / -> !>@<sess>
# is a symlink to /sys/block/rnbdN.
_upstream_dev_of() {
	local link=$UPSTREAM_CLT_CTL/devices/${2//\//!}@$1
	[[ -L $link ]] || return 1
	basename "$(readlink -f "$link")"
}

upstream_map() {
	_kcxx_guest_only upstream_map
	local sess=${1:?upstream_map SESS SRC DST DEVICE_PATH [ACCESS_MODE]}
	local src=${2:?upstream_map: SRC} dst=${3:?upstream_map: DST}
	local devpath=${4:?upstream_map: DEVICE_PATH} mode=${5:-rw} opts out name
	[[ -w $UPSTREAM_CLT_CTL/map_device ]] || die "upstream_map: rnbd-client not loaded (upstream_load_client)"
	opts="sessname=$sess path=$(_upstream_addr "$src")@$(_upstream_addr "$dst") device_path=$devpath access_mode=$mode"
	# The write blocks until the session is connected and the device is open
	# on the server (or fails with the reason as errno).
	if ! out=$( (echo "$opts" >"$UPSTREAM_CLT_CTL/map_device") 2>&1); then
		echo "upstream_map: '$opts' failed: $out" >&2
		dmesg | tail -n 20 >&2
		die "upstream_map: cannot map $devpath over $src@$dst"
	fi
	wait_for 10 _upstream_dev_of "$sess" "$devpath" >/dev/null ||
		die "upstream_map: no ctl/devices entry for $devpath@$sess after mapping"
	name=$(_upstream_dev_of "$sess" "$devpath")
	wait_for 10 test -b "/dev/$name" || die "upstream_map: /dev/$name did not appear"
	echo "/dev/$name"
}

upstream_unmap() {
	_kcxx_guest_only upstream_unmap
	local name=${1:?upstream_unmap DEV} out
	name=${name#/dev/}
	[[ -e /sys/block/$name/rnbd/unmap_device ]] || die "upstream_unmap: $name is not an rnbd device"
	if ! out=$( (echo normal >"/sys/block/$name/rnbd/unmap_device") 2>&1); then
		echo "upstream_unmap: $name: $out" >&2
		die "upstream_unmap: cannot unmap $name"
	fi
	wait_for 10 test ! -e "/sys/block/$name" || die "upstream_unmap: /sys/block/$name still present"
}

upstream_unload_all() {
	_kcxx_guest_only upstream_unload_all
	local m
	for m in rnbd_client rtrs_client rnbd_server rtrs_server rtrs_core; do
		unload_ko "$m"
	done
}
