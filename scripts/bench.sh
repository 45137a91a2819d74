#!/bin/bash
# `make bench`: ONE guest boot measures, in interleaved rounds, a local
# memory-backed null_blk (the ceiling), /dev/ibnbd0 (ibnbd-client ->
# ibnbd-server), a second ibnbd session whose server paths run
# always_invalidate=Y (ibnbd_inv: the cost of that option), the ibnbd device
# again with the client's remote_invalidate=Y (ibnbd_rinv: READ buffers
# invalidated by the server, as upstream does, instead of locally), the ibnbd
# device again with the server's merge_read_answer=N (ibnbd_split: a READ's
# data and answer in two messages, as upstream answers), upstream /dev/rnbd0 (Linux 6.1 rnbd built by
# scripts/upstream-rnbd.sh), NVMe-oF RDMA (nvme-rdma -> nvmet-rdma) and the
# raw soft-RoCE link (perftest ib_write_bw / ib_write_lat, 4 KiB), all over
# the same veth/rxe link with the same null_blk type behind each target
# (guest side: tests/vm/bench/bench-guest.sh). The fio JSON leaves the guest
# through the console; scripts/bench/report.py parses it on the host and
# writes the table, the plots and the summary JSON.
#
# Env:
#   BENCH_ROUNDS=3      interleaved rounds (A B C D, D C B A, A B C D ...)
#   BENCH_RUNTIME=10    seconds per fio job (no ramp)
#   BENCH_TARGETS=local,ibnbd,ibnbd_split,ibnbd_rinv,ibnbd_inv,rnbd,nvme,rxe
#   BENCH_JOBS=randread_qd1,randread_qd32,randwrite_qd32,seqread_128k,seqwrite_128k,randrw_mix
#   BENCH_SMOKE=1       1 round of 2 s jobs; output to build/bench/smoke/ (the
#                       docs are not touched); fails if any target/job gave
#                       no result: what CI can run
#   BENCH_NOTE="..."    a line about the conditions, written into the doc
#   BENCH_SERVER_TREE=DIR  load ibtrs-server.ko and ibnbd-server.ko from DIR (a
#                       copy of the tree with a server change, built there):
#                       an A/B of that change; output to build/bench/ab/ only
# Output (full run): docs/benchmarks.md (the generated section between its
# bench markers), docs/bench/results.json, docs/bench/*.png; the console log
# and every fio JSON under build/bench/.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"

SMOKE=${BENCH_SMOKE:-0}
ALL_JOBS=randread_qd1,randread_qd32,randwrite_qd32,seqread_128k,seqwrite_128k,randrw_mix
if [[ $SMOKE == 1 ]]; then
	ROUNDS=${BENCH_ROUNDS:-1}
	RUNTIME=${BENCH_RUNTIME:-2}
	OUT=build/bench/smoke
	DOC=$OUT/benchmarks.md
	DOCDIR=$OUT
else
	ROUNDS=${BENCH_ROUNDS:-3}
	RUNTIME=${BENCH_RUNTIME:-10}
	OUT=build/bench
	DOC=docs/benchmarks.md
	DOCDIR=docs/bench
fi
SERVER_TREE=${BENCH_SERVER_TREE:-}
if [[ -n $SERVER_TREE ]]; then
	SERVER_TREE=$(cd "$SERVER_TREE" && pwd)
	[[ -f $SERVER_TREE/ibnbd/server/ibnbd-server.ko ]] ||
		{ echo "bench: no ibnbd/server/ibnbd-server.ko under $SERVER_TREE" >&2; exit 2; }
	OUT=build/bench/ab
	DOC=$OUT/benchmarks.md
	DOCDIR=$OUT
fi
TARGETS=${BENCH_TARGETS:-local,ibnbd,ibnbd_split,ibnbd_rinv,ibnbd_inv,rnbd,nvme,rxe}
JOBS=${BENCH_JOBS:-$ALL_JOBS}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive integer" >&2; exit 2; }
[[ $RUNTIME =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNTIME must be a positive integer" >&2; exit 2; }

# Tools on the host (the guest sees the host's root): install what is missing.
need=(qemu-system-x86_64 fio ib_write_bw nvme gnuplot)
for t in "${need[@]}"; do
	command -v "$t" >/dev/null || { echo "bench: $t missing; running scripts/deps.sh"; bash scripts/deps.sh; break; }
done

# The modules: ours (make modules) and the upstream rival (idempotent build).
make -s modules >/dev/null
if [[ $TARGETS == *rnbd* ]]; then
	scripts/upstream-rnbd.sh >/dev/null
fi

mkdir -p "$OUT" "$DOCDIR"
LOG=$OUT/console.log
# Guest time (generous: a loaded host slows emulation a lot): per block target and
# round one fio run (start-up ~60 s, per job RUNTIME + ~10 s of counter
# snapshots and JSON output), per round two perftest runs (up to RUNTIME +
# 120 s each), plus boot, preconditioning and set-up.
njobs=$(tr ',' '\n' <<<"$JOBS" | wc -l)
nblk=$(tr ',' '\n' <<<"$TARGETS" | grep -cv '^rxe$' || true)
TIMEOUT=$((900 + ROUNDS * (nblk * (60 + njobs * (RUNTIME + 10)) + 2 * (RUNTIME + 120))))
echo "bench: $ROUNDS round(s) x ${RUNTIME}s, targets $TARGETS, jobs $JOBS; guest timeout ${TIMEOUT}s"
date -u +%FT%TZ >"$OUT/started"
# The terminal shows the run without the JSON records (they stay in the log).
set +e
scripts/vm/run.sh --timeout "$TIMEOUT" --log "$LOG" \
	"$ROOT/tests/vm/bench/bench-guest.sh" "$ROUNDS" "$RUNTIME" "$TARGETS" "$JOBS" $SERVER_TREE |
	grep --line-buffered -avE '^(BENCH-|[[:space:]]*[]{}["]|[[:space:]]*$)'
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
	echo "bench: the guest run failed (exit $rc); console log: $LOG" >&2
	exit 1
fi

args=(--log "$LOG" --out "$OUT" --doc "$DOC" --docdir "$DOCDIR" --started "$(cat "$OUT/started")"
	--targets "$TARGETS" --jobs "$JOBS")
[[ $SMOKE == 1 ]] && args+=(--smoke)
[[ -n ${BENCH_NOTE:-} ]] && args+=(--note "$BENCH_NOTE")
[[ -n $SERVER_TREE ]] && args+=(--note "ibtrs-server/ibnbd-server from $SERVER_TREE. ${BENCH_NOTE:-}")
/usr/bin/python3 scripts/bench/report.py "${args[@]}"
