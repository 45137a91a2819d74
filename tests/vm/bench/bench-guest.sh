#!/bin/bash
# Guest side of `make bench` (scripts/bench.sh boots the guest and runs this).
# Usage (inside the test guest only):
#   bench-guest.sh ROUNDS RUNTIME_SEC TARGETS JOBS [SERVER_TREE]
#   TARGETS  comma list of local,ibnbd,ibnbd_split,ibnbd_rinv,ibnbd_inv,rnbd,nvme,rxe
#            (rxe = perftest raw soft-RoCE)
#   JOBS     comma list of fio job names (see job_opts below)
#   SERVER_TREE  tree to load ibtrs-server.ko / ibnbd-server.ko from (default
#            the repo): A/B of a server change against the same client
#
# Every block target gets its own memory-backed null_blk of the same shape
# (queue_mode=2, memory_backed=1, 1 GiB, fio region preconditioned), and every
# network target runs over the same veth pair / rxe link (server 10.99.0.1 on
# rxe0, client 10.99.0.2 on rxe1, policy routing so the bytes cross the wire):
#   local  /dev/nullb0                      the ceiling
#   ibnbd  /dev/ibnbdN   ibnbd-client -> ibnbd-server (nullb1), port 1235
#   ibnbd_split /dev/ibnbdN  the ibnbd device itself, its jobs run with
#                        ibtrs-server merge_read_answer=N (a READ's data in
#                        an RDMA WRITE, then a zero-length WRITE_WITH_IMM
#                        answer, as upstream rtrs-server answers); the module
#                        default again after them
#   ibnbd_rinv /dev/ibnbdN  the ibnbd device itself, its jobs run with
#                        ibtrs-client remote_invalidate=Y (the server
#                        invalidates READ buffers with a SEND_WITH_INV, as
#                        upstream does, instead of the client's LOCAL_INV);
#                        the module default again after them
#   ibnbd_inv /dev/ibnbdN  the same server, a second session (bench-inv) whose
#                        paths were set up with ibtrs-server always_invalidate=Y
#                        (nullb7): the cost of invalidating every chunk
#   rnbd   /dev/rnbdN    upstream rnbd-client -> rnbd-server (nullb2), port 1234
#   nvme   /dev/nvmeXn1  nvme-rdma -> nvmet-rdma (nullb3), port 4420
# Rounds are interleaved (A B C D, D C B A, ...): in each round every target runs
# the whole job list, one fio invocation per target (fio starts slowly under
# emulation; its jobs are separated by stonewall), so drift of the shared host
# hits every target alike.
#
# Results leave the guest only through the console, one record per line group:
#   BENCH-META {json}                                 set-up facts
#   BENCH-MEM {json}                                  memory deltas of a mapping
#   BENCH-FIO-BEGIN <round> <target>                  then fio's JSON output (all jobs),
#   BENCH-FIO-END <round> <target> <rc>               then per job
#   BENCH-COUNTERS <round> <target> <job> {json}      CPU/rxe counter deltas of that job
#   BENCH-PERF-BEGIN <round> <tool> / BENCH-PERF-END  perftest --out_json output
#   BENCH-STATS-BEGIN <name> / BENCH-STATS-END        module statistics, verbatim
#   BENCH-INV {json}                                  server invalidation count per ibnbd session
# scripts/bench/report.py parses them on the host.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/../upstream.sh"

[[ ${KCXX_GUEST:-} == 1 ]] || die "bench-guest.sh runs only inside the test guest (scripts/bench.sh)"
ROUNDS=${1:?rounds}
RUNTIME=${2:?runtime}
IFS=, read -r -a TARGETS <<<"${3:?targets}"
IFS=, read -r -a JOBS <<<"${4:?jobs}"
SERVER_TREE=${5:-$KCXX_ROOT}

# fio region per device: small enough that four preconditioned memory-backed
# null_blk devices (five with ibnbd_inv) fit the 4 GiB guest, large enough to leave caches behind.
REGION_MB=128
SRV=$(rxe_ip 0 1)
CLT=$(rxe_ip 0 2)
IBNBD_PORT=1235 # upstream rnbd-server keeps the RTRS default 1234
NVME_NQN=nqn.2026-11.io.kcxx:bench
HOSTNQN=nqn.2026-11.io.kcxx:bench-host

# ----------------------------------------------------------------- guest set-up
# (what tests/vm/runner.sh does for cases)
ip link set lo up
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
echo 1 >/proc/sys/kernel/panic_on_oops
dmesg -n 1
modprobe configfs
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
WORK=$(mktemp -d /var/tmp/bench.XXXXXX)
cd "$WORK"

has_target() {
	local t
	for t in "${TARGETS[@]}"; do [[ $t == "$1" ]] && return 0; done
	return 1
}

meta() { echo "BENCH-META $*"; }

# mem_snapshot: "MemFree Slab" in KiB after dropping caches (page cache and
# freeable slab would otherwise blur deltas of a few MiB).
mem_snapshot() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemFree:/ { f = $2 } /^Slab:/ { s = $2 } END { print f, s }' /proc/meminfo
}
# mem_report TARGET WHAT BEFORE AFTER: one BENCH-MEM line (KiB used by WHAT).
mem_report() {
	local b=($3) a=($4)
	echo "BENCH-MEM {\"target\":\"$1\",\"what\":\"$2\",\"memfree_delta_kib\":$((b[0] - a[0])),\"slab_delta_kib\":$((a[1] - b[1]))}"
}

# ----------------------------------------------------------------- backing devices
rxe_setup 1
modprobe null_blk queue_mode=2 memory_backed=1 gb=1 nr_devices=8
# nullb0 local, 1 ibnbd, 2 rnbd, 3 nvme; 4..6 second device of each network
# target, mapped only to measure the per-device memory (never written);
# 7 ibnbd_inv.
for i in 0 1 2 3 4 5 6 7; do wait_for 10 test -b /dev/nullb$i || die "no /dev/nullb$i"; done
# Precondition the fio region: memory-backed null_blk allocates a page on the
# first write, so the first pass over fresh space is slower than the rest.
declare -A NULLB=([local]=0 [ibnbd]=1 [rnbd]=2 [nvme]=3 [ibnbd_inv]=7)
for t in local ibnbd rnbd nvme ibnbd_inv; do
	if has_target "$t"; then
		i=${NULLB[$t]}
		echo "bench: preconditioning ${REGION_MB} MiB of nullb$i for $t ($(date -u +%T))"
		dd if=/dev/zero of=/dev/nullb$i bs=1M count=$REGION_MB oflag=direct status=none
	fi
done
meta "{\"kernel\":\"$(uname -r)\",\"server_tree\":\"$SERVER_TREE\",\"cpus\":$(nproc),\"mem_kib\":$(awk '/^MemTotal:/ {print $2}' /proc/meminfo),\"region_mb\":$REGION_MB,\"rounds\":$ROUNDS,\"runtime\":$RUNTIME,\"fio\":\"$(fio --version)\",\"null_blk\":\"queue_mode=2 memory_backed=1 gb=1 hw_queue_depth=$(cat /sys/module/null_blk/parameters/hw_queue_depth) irqmode=$(cat /sys/module/null_blk/parameters/irqmode)\"}"

declare -A DEV
DEV[local]=/dev/nullb0
nr_hwq() { # nr_hwq DISK: blk-mq hardware queues of /sys/block/DISK
	local q=(/sys/block/"$1"/mq/*)
	[[ -e ${q[0]} ]] && echo ${#q[@]} || echo 0
}

# ----------------------------------------------------------------- ibnbd
IBNBD_CTL=/sys/class/ibnbd-client/ctl
ibnbd_dev_of() { # ibnbd_dev_of DEVICE_PATH [SESSNAME]
	local link=$IBNBD_CTL/devices/${1//\//!}@${2:-bench}
	[[ -L $link ]] || return 1
	echo "/dev/$(basename "$(readlink -f "$link")")"
}
ibnbd_map() { # ibnbd_map DEVICE_PATH [SESSNAME]: prints the mapped /dev/ibnbdN
	local try sess=${2:-bench}
	for try in 1 2 3; do
		echo "sessname=$sess path=ip:$CLT@ip:$SRV device_path=$1 dest_port=$IBNBD_PORT" \
			>"$IBNBD_CTL/map_device" && break
		echo "bench: ibnbd map_device $1 ($sess) failed (try $try):" >&2
		dmesg | tail -n 15 >&2
		((try < 3)) || die "ibnbd map_device $1 ($sess) failed"
		sleep 2
	done
	wait_for 10 ibnbd_dev_of "$1" "$sess" >/dev/null || die "ibnbd: no ctl/devices entry for $1@$sess"
	local d
	d=$(ibnbd_dev_of "$1" "$sess")
	wait_for 10 test -b "$d" || die "$d did not appear"
	echo "$d"
}
ibnbd_meta() { # ibnbd_meta TARGET ALWAYS_INVALIDATE: set-up facts of that target's device
	local p=/sys/module/ibtrs_server/parameters b=${DEV[$1]#/dev/}
	meta "{\"$1\":{\"dev\":\"${DEV[$1]}\",\"sess_queue_depth\":$(cat $p/sess_queue_depth),\"max_chunk_size\":$(cat $p/max_chunk_size),\"always_invalidate\":\"$2\",\"max_hw_sectors_kb\":$(cat /sys/block/$b/queue/max_hw_sectors_kb),\"nr_hw_queues\":$(nr_hwq $b),\"nr_requests\":$(cat /sys/block/$b/queue/nr_requests)}}"
}
AINV=/sys/module/ibtrs_server/parameters/always_invalidate
# ibnbd_rinv and ibnbd_split run on the ibnbd device: they need that set-up.
if { has_target ibnbd_rinv || has_target ibnbd_split; } && ! has_target ibnbd; then TARGETS+=(ibnbd); fi
RINV=/sys/module/ibtrs_client/parameters/remote_invalidate
MERGE=/sys/module/ibtrs_server/parameters/merge_read_answer
if has_target ibnbd || has_target ibnbd_inv; then
	load_ko "$SERVER_TREE/ibtrs/ibtrs-server.ko"
	load_ko "$SERVER_TREE/ibnbd/server/ibnbd-server.ko" dev_search_path=/ port_nr=$IBNBD_PORT
	load_ko "$KCXX_ROOT/ibtrs/ibtrs-client.ko"
	load_ko "$KCXX_ROOT/ibnbd/client/ibnbd-client.ko"
	# Each session's paths take always_invalidate when they are set up:
	# bench with N, bench-inv with Y, whatever the module default is (it is
	# restored after each map, so a path that reconnects later takes it; the
	# invalidation count at the end, BENCH-INV, would show that).
	AINV_DEFAULT=$(cat $AINV)
	RINV_DEFAULT=$(cat $RINV)
	meta "{\"ibtrs_client_remote_invalidate_default\":\"$RINV_DEFAULT\"}"
	if [[ -e $MERGE ]]; then
		MERGE_DEFAULT=$(cat $MERGE)
		meta "{\"ibtrs_server_merge_read_answer_default\":\"$MERGE_DEFAULT\"}"
	elif has_target ibnbd_split; then
		die "ibnbd_split: $SERVER_TREE/ibtrs/ibtrs-server.ko has no merge_read_answer parameter"
	fi
fi
if has_target ibnbd; then
	echo "bench: ibnbd set-up ($(date -u +%T))"
	echo N >$AINV
	m0=$(mem_snapshot)
	DEV[ibnbd]=$(ibnbd_map /dev/nullb1)
	m1=$(mem_snapshot)
	ibnbd_map /dev/nullb4 >/dev/null
	m2=$(mem_snapshot)
	echo "$AINV_DEFAULT" >$AINV
	mem_report ibnbd session_and_first_device "$m0" "$m1"
	mem_report ibnbd additional_device "$m1" "$m2"
	ibnbd_meta ibnbd N
	DEV[ibnbd_rinv]=${DEV[ibnbd]}
	DEV[ibnbd_split]=${DEV[ibnbd]}
fi
# A second session of the same client and server whose paths take
# always_invalidate=Y.
if has_target ibnbd_inv; then
	echo "bench: ibnbd_inv set-up ($(date -u +%T))"
	echo Y >$AINV
	m0=$(mem_snapshot)
	DEV[ibnbd_inv]=$(ibnbd_map /dev/nullb7 bench-inv)
	m1=$(mem_snapshot)
	echo "$AINV_DEFAULT" >$AINV
	mem_report ibnbd_inv session_and_first_device "$m0" "$m1"
	ibnbd_meta ibnbd_inv Y
fi

# ----------------------------------------------------------------- upstream rnbd
if has_target rnbd; then
	echo "bench: rnbd set-up ($(date -u +%T))"
	upstream_load_server dev_search_path=/ rtrs_server.always_invalidate=0 >/dev/null
	upstream_load_client
	m0=$(mem_snapshot)
	DEV[rnbd]=$(upstream_map bench-rnbd "$CLT" "$SRV" /dev/nullb2)
	m1=$(mem_snapshot)
	upstream_map bench-rnbd "$CLT" "$SRV" /dev/nullb5 >/dev/null
	m2=$(mem_snapshot)
	mem_report rnbd session_and_first_device "$m0" "$m1"
	mem_report rnbd additional_device "$m1" "$m2"
	p=/sys/module/rtrs_server/parameters
	meta "{\"rnbd\":{\"dev\":\"${DEV[rnbd]}\",\"sess_queue_depth\":$(cat $p/sess_queue_depth),\"max_chunk_size\":$(cat $p/max_chunk_size),\"always_invalidate\":\"$(cat $p/always_invalidate)\",\"max_hw_sectors_kb\":$(cat /sys/block/${DEV[rnbd]#/dev/}/queue/max_hw_sectors_kb),\"nr_hw_queues\":$(nr_hwq ${DEV[rnbd]#/dev/}),\"nr_requests\":$(cat /sys/block/${DEV[rnbd]#/dev/}/queue/nr_requests)}}"
fi

# ----------------------------------------------------------------- NVMe-oF RDMA
nvmet_ns() { # nvmet_ns NSID DEVICE: add and enable a namespace
	local d=/sys/kernel/config/nvmet/subsystems/$NVME_NQN/namespaces/$1
	mkdir "$d"
	echo -n "$2" >"$d/device_path"
	echo 1 >"$d/enable"
}
if has_target nvme; then
	echo "bench: NVMe-oF set-up ($(date -u +%T))"
	modprobe nvmet
	modprobe nvmet-rdma
	modprobe nvme-rdma
	sub=/sys/kernel/config/nvmet/subsystems/$NVME_NQN
	mkdir "$sub"
	echo 1 >"$sub/attr_allow_any_host"
	nvmet_ns 1 /dev/nullb3
	port=/sys/kernel/config/nvmet/ports/1
	mkdir "$port"
	echo rdma >"$port/addr_trtype"
	echo ipv4 >"$port/addr_adrfam"
	echo "$SRV" >"$port/addr_traddr"
	echo 4420 >"$port/addr_trsvcid"
	ln -s "$sub" "$port/subsystems/$NVME_NQN"
	m0=$(mem_snapshot)
	# host-traddr binds the client end (rxe1) so the bytes cross the veth wire.
	nvme connect -t rdma -a "$SRV" -s 4420 -w "$CLT" -n "$NVME_NQN" -q "$HOSTNQN" >/dev/null ||
		die "nvme connect failed: $(dmesg | tail -n 5)"
	# The guest has no other NVMe device: the namespace's disk is the one
	# nvme*nNSID that is not a hidden per-controller path (nvmeXcYnZ).
	nvme_dev() {
		local n
		for n in /sys/block/nvme*n"$1"; do
			[[ -e $n && ${n##*/} != nvme*c*n* ]] || continue
			echo "/dev/${n##*/}"
			return 0
		done
		return 1
	}
	wait_for 20 nvme_dev 1 >/dev/null || die "no NVMe namespace 1 block device: $(ls /sys/block)"
	DEV[nvme]=$(nvme_dev 1)
	wait_for 10 test -b "${DEV[nvme]}" || die "${DEV[nvme]} did not appear"
	m1=$(mem_snapshot)
	nvmet_ns 2 /dev/nullb6
	for c in /sys/class/nvme/nvme*; do
		[[ $(cat "$c/subsysnqn") == "$NVME_NQN" ]] && nvme ns-rescan "/dev/${c##*/}" >/dev/null 2>&1
	done
	if wait_for 20 nvme_dev 2 >/dev/null; then
		m2=$(mem_snapshot)
		mem_report nvme additional_device "$m1" "$m2"
	fi
	mem_report nvme session_and_first_device "$m0" "$m1"
	b=${DEV[nvme]#/dev/}
	# native multipath: the queues belong to the hidden controller path nvmeXcYnZ
	pb=$(cd /sys/block && ls -d nvme*c*n1 2>/dev/null | head -n1)
	meta "{\"nvme\":{\"dev\":\"${DEV[nvme]}\",\"max_hw_sectors_kb\":$(cat /sys/block/$b/queue/max_hw_sectors_kb),\"nr_hw_queues\":$(nr_hwq "${pb:-$b}"),\"nr_requests\":$(cat /sys/block/${pb:-$b}/queue/nr_requests),\"inline_data_size\":$(cat /sys/kernel/config/nvmet/ports/1/param_inline_data_size 2>/dev/null || echo null)}}"
fi

for t in local ibnbd ibnbd_split ibnbd_rinv rnbd nvme ibnbd_inv; do
	has_target "$t" && echo "bench: $t = ${DEV[$t]}"
done

# ----------------------------------------------------------------- counters
# snapshot FILE (tests/vm/bench/snapshot.sh): CPU ticks, interrupts, context
# switches and every rxe hardware counter, "key value" per line. fio runs it
# around each job (exec_prerun / exec_postrun), so fio's start-up is excluded.
SNAP=$HERE/snapshot.sh
# counters_json BEFORE AFTER: {"key": after-before, ...}
counters_json() {
	awk 'NR == FNR { b[$1] = $2; next } { d[$1] = $2 - b[$1] }
		END { s = ""; for (k in d) { s = s sep "\"" k "\":" d[k]; sep = "," } print "{\"clk_tck\":100," s "}" }' "$1" "$2"
}

# ----------------------------------------------------------------- fio jobs
job_opts() { # job_opts JOB: the job's own options, one per line (fio job file syntax)
	case $1 in
	randread_qd1) printf '%s\n' rw=randread bs=4k iodepth=1 ;;
	randread_qd32) printf '%s\n' rw=randread bs=4k iodepth=32 ;;
	randwrite_qd32) printf '%s\n' rw=randwrite bs=4k iodepth=32 ;;
	seqread_128k) printf '%s\n' rw=read bs=128k iodepth=16 ;;
	seqwrite_128k) printf '%s\n' rw=write bs=128k iodepth=16 ;;
	randrw_mix) printf '%s\n' rw=randrw rwmixread=70 bssplit=4k/40:8k/20:16k/20:32k/10:64k/10 iodepth=32 ;;
	*) die "unknown job $1" ;;
	esac
}
# No ramp time: the counters are read around the whole job and divided by its
# IO count. null_blk has no cache to warm, and the fio region is preconditioned.
jobfile() { # jobfile TARGET: one fio job file running every job in turn (stonewall)
	local job
	cat <<-EOF
	[global]
	filename=${DEV[$1]}
	ioengine=libaio
	direct=1
	time_based
	runtime=$RUNTIME
	size=${REGION_MB}m
	norandommap
	randrepeat=0
	lat_percentiles=1
	clat_percentiles=0
	percentile_list=50:99:99.9
	EOF
	for job in "${JOBS[@]}"; do
		echo "[$job]"
		echo stonewall
		job_opts "$job"
		echo "exec_prerun=$SNAP $WORK/$job.before"
		echo "exec_postrun=$SNAP $WORK/$job.after"
	done
}

run_fio() { # run_fio ROUND TARGET: every job on TARGET
	local round=$1 target=$2 rc=0 job
	jobfile "$target" >"$WORK/$target.fio"
	rm -f "$WORK"/*.before "$WORK"/*.after "$WORK/fio.json"
	echo "bench: round $round $target ($(date -u +%T))"
	timeout $((${#JOBS[@]} * (RUNTIME + 60) + 60)) fio --output-format=json --output="$WORK/fio.json" \
		"$WORK/$target.fio" >"$WORK/fio.err" 2>&1 || rc=$?
	echo "BENCH-FIO-BEGIN $round $target"
	[[ -s $WORK/fio.json ]] && cat "$WORK/fio.json"
	echo "BENCH-FIO-END $round $target $rc"
	for job in "${JOBS[@]}"; do
		[[ -s $WORK/$job.before && -s $WORK/$job.after ]] || continue
		echo "BENCH-COUNTERS $round $target $job $(counters_json "$WORK/$job.before" "$WORK/$job.after")"
	done
	if ((rc != 0)); then
		echo "bench: fio on $target (${DEV[$target]}) exited $rc:"
		tail -n 20 "$WORK/fio.err"
	fi
}

# ----------------------------------------------------------------- perftest
gid_index() { # gid_index RXE IPV4: the index of the IPv4-mapped GID
	local hex f
	hex=$(printf '%02x%02x:%02x%02x' ${2//./ })
	for f in /sys/class/infiniband/$1/ports/1/gids/*; do
		[[ $(cat "$f") == "0000:0000:0000:0000:0000:ffff:$hex" ]] && { echo "${f##*/}"; return 0; }
	done
	return 1
}
run_perftest() { # run_perftest ROUND TOOL EXTRA_ARGS...
	local round=$1 tool=$2 sgid cgid rc=0 spid
	shift 2
	if ! sgid=$(gid_index rxe0 "$SRV") || ! cgid=$(gid_index rxe1 "$CLT"); then
		echo "bench: no IPv4 GID on rxe0/rxe1: $(cat /sys/class/infiniband/rxe*/ports/1/gids/[01])"
		echo "BENCH-PERF-BEGIN $round $tool"
		echo "BENCH-PERF-END $round $tool nogid"
		return 0
	fi
	rm -f "$WORK/perf-srv.json" "$WORK/perf-clt.json"
	echo "bench: round $round $tool ($(date -u +%T))"
	timeout $((RUNTIME + 120)) "$tool" -d rxe0 -x "$sgid" -s 4096 -F "$@" \
		--out_json --out_json_file="$WORK/perf-srv.json" >"$WORK/perf-srv.log" 2>&1 &
	spid=$!
	sleep 1
	"$SNAP" "$WORK/before"
	timeout $((RUNTIME + 120)) "$tool" -d rxe1 -x "$cgid" -s 4096 -F "$@" --source_ip "$CLT" "$SRV" \
		--out_json --out_json_file="$WORK/perf-clt.json" >"$WORK/perf-clt.log" 2>&1 || rc=$?
	"$SNAP" "$WORK/after"
	wait "$spid" || true
	echo "BENCH-PERF-BEGIN $round $tool"
	[[ -s $WORK/perf-clt.json ]] && sed 's/^/ /' "$WORK/perf-clt.json"
	echo "BENCH-PERF-END $round $tool $rc"
	echo "BENCH-COUNTERS $round rxe $tool $(counters_json "$WORK/before" "$WORK/after")"
	if ((rc != 0)); then
		echo "bench: $tool exited $rc:"
		tail -n 15 "$WORK/perf-clt.log" "$WORK/perf-srv.log"
	fi
	echo "bench: $tool round $round:"
	grep -E '^ *[0-9]+ +[0-9]+' "$WORK/perf-clt.log" | sed 's/^/    /' || true
}

# run_fio_with PARAM VALUE DEFAULT ROUND TARGET: run_fio with the module
# parameter file PARAM set to VALUE, then back to DEFAULT (the variants that
# are the ibnbd device itself under another setting).
run_fio_with() {
	echo "$2" >"$1"
	run_fio "$4" "$5"
	echo "$3" >"$1"
}

# ----------------------------------------------------------------- rounds
for ((r = 1; r <= ROUNDS; r++)); do
	# ibnbd_inv right after ibnbd: their ratio is the figure it is here for.
	# ibnbd_split and ibnbd_rinv right after ibnbd too, on the same device. Odd rounds run
	# the targets in this order, even rounds in reverse (A B C, C B A, ...):
	# whatever the position in a round costs (seen: the first network target
	# after local had a slower QD1 job) falls on every target alike.
	((r == 1)) && meta '{"round_order":"alternating"}'
	order=(local ibnbd ibnbd_split ibnbd_rinv ibnbd_inv rnbd nvme)
	if ((r % 2 == 0)); then order=(nvme rnbd ibnbd_inv ibnbd_rinv ibnbd_split ibnbd local); fi
	for t in "${order[@]}"; do
		has_target "$t" || continue
		case $t in
		ibnbd_rinv) run_fio_with "$RINV" Y "$RINV_DEFAULT" "$r" "$t" ;;
		ibnbd_split) run_fio_with "$MERGE" N "$MERGE_DEFAULT" "$r" "$t" ;;
		*) run_fio "$r" "$t" ;;
		esac
	done
	if has_target rxe; then
		run_perftest "$r" ib_write_bw -D "$RUNTIME"
		# 1000 round trips: enough for a p99.9; rxe retransmission timeouts
		# (seen here even for perftest) make a longer run take minutes.
		run_perftest "$r" ib_write_lat -n 1000
	fi
done

# ----------------------------------------------------------------- module statistics
stats() { # stats NAME FILE...
	echo "BENCH-STATS-BEGIN $1"
	shift
	local f
	for f in "$@"; do
		[[ -r $f ]] || continue
		echo " == $f"
		sed 's/^/ /' "$f" 2>/dev/null || true
	done
	echo "BENCH-STATS-END"
}
# BENCH-INV {"target":T,"sess":S,"paths":N,"ios":R+W,"inv":I}: the server's
# count of requests and of completed chunk invalidations over the session's
# paths (stats/rdma fields 1, 3 and 6): with always_invalidate=Y every
# request had one (inv >= ios), without it inv is 0.
inv_count() { # inv_count TARGET SESSNAME
	local f paths=0 ios=0 inv=0 rd rdb wr wrb parked i
	for f in /sys/class/ibtrs-server/"$2"/paths/*/stats/rdma; do
		[[ -r $f ]] || continue
		read -r rd rdb wr wrb parked i <"$f"
		paths=$((paths + 1))
		ios=$((ios + rd + wr))
		inv=$((inv + ${i:-0}))
	done
	echo "BENCH-INV {\"target\":\"$1\",\"sess\":\"$2\",\"paths\":$paths,\"ios\":$ios,\"inv\":$inv}"
}
has_target ibnbd && inv_count ibnbd bench
has_target ibnbd_inv && inv_count ibnbd_inv bench-inv
if has_target ibnbd || has_target ibnbd_inv; then
	stats ibnbd ${DEV[ibnbd]:+/sys/block/${DEV[ibnbd]#/dev/}/ibnbd/stats} \
		${DEV[ibnbd_inv]:+/sys/block/${DEV[ibnbd_inv]#/dev/}/ibnbd/stats} \
		/sys/class/ibtrs-client/bench-inv/paths/*/stats/* /sys/class/ibtrs-client/bench-inv/* \
		/sys/class/ibtrs-client/bench/paths/*/stats/* /sys/class/ibtrs-client/bench/* \
		/sys/class/ibtrs-server/*/stats/* /sys/class/ibtrs-server/*/paths/*/stats/*
fi
if has_target rnbd; then
	stats rnbd /sys/class/rtrs-client/bench-rnbd/paths/*/stats/*
fi
stats rxe /sys/class/infiniband/rxe*/ports/1/hw_counters/*
# The transports' own account of path errors, reconnects and failed IOs.
echo "BENCH-STATS-BEGIN dmesg"
dmesg | grep -aiE 'ibtrs|ibnbd|rtrs|rnbd|nvme|rxe|null_blk' | tail -n 300 | sed 's/^/ /'
echo "BENCH-STATS-END"
echo "bench: done ($(date -u +%T))"
