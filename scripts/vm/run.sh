#!/bin/bash
# Usage: scripts/vm/run.sh [--timeout SEC] [--log FILE] GUEST_SCRIPT [ARGS...]
#
# Boot the test guest (Debian's kernel from scripts/kver.sh under qemu TCG, the
# host root shared read-only over 9p with a tmpfs overlay on top, no NIC) and
# run GUEST_SCRIPT (absolute path; the repo is at the same path in the guest)
# with ARGS inside it. The console is streamed to stdout and to the log file
# (default build/vm/console.log). Exits with the guest script's exit status,
# which the guest prints as "KCXX-EXIT: <n>". Without that line (panic, hang,
# timeout) the run fails: 124 on timeout, 125 otherwise, and the last 60
# console lines are printed.
# Environment: KCXX_VM_MEM (MiB, default 4096), KCXX_VM_SMP (vCPUs, default 2),
# KCXX_VM_QEMU_ARGS (extra qemu arguments, blank-separated; used by
# scripts/vm-reboot-test.sh for the NICs, a disk and a control share).
set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
TIMEOUT=600
LOG=
MEM=${KCXX_VM_MEM:-4096}
SMP=${KCXX_VM_SMP:-2}
read -r -a EXTRA <<<"${KCXX_VM_QEMU_ARGS:-}"

usage() { sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

while (($#)); do
	case $1 in
	--timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--log) LOG=${2:?--log needs a file}; shift 2 ;;
	--log=*) LOG=${1#*=}; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
(($# >= 1)) || usage
SCRIPT=$1
shift
[[ $TIMEOUT =~ ^[0-9]+$ ]] || { echo "run.sh: bad --timeout '$TIMEOUT'" >&2; exit 2; }
[[ $SCRIPT == /* ]] || { echo "run.sh: GUEST_SCRIPT must be an absolute path: $SCRIPT" >&2; exit 2; }
[[ -f $SCRIPT ]] || { echo "run.sh: no such file: $SCRIPT" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "run.sh: qemu-system-x86_64 missing; run scripts/deps.sh" >&2; exit 2; }

KVER=$("$ROOT/scripts/kver.sh") || exit 2
KERNEL=/boot/vmlinuz-$KVER
VMDIR=$ROOT/build/vm
mkdir -p "$VMDIR"
LOG=${LOG:-$VMDIR/console.log}
mkdir -p "$(dirname "$LOG")"
INITRD=$VMDIR/initramfs-$KVER.cpio.gz
"$ROOT/scripts/vm/mkinitramfs.sh" "$INITRD" "$KVER" || exit 2

# Arguments travel on the kernel command line: percent-encode every byte that
# is not plainly safe there (the guest decodes %HH), join with commas.
enc_arg() {
	local s=$1 out='' c i
	local LC_ALL=C
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._/*?+=:@^~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}
enc=()
for a in "$@"; do enc+=("$(enc_arg "$a")"); done
ARGS_ENC=$(IFS=,; printf '%s' "${enc[*]}")
APPEND="console=ttyS0 quiet panic=-1 kcxx.script=$(enc_arg "$SCRIPT") kcxx.kver=$KVER kcxx.argc=$#"
(($#)) && APPEND+=" kcxx.args=$ARGS_ENC"
((${#APPEND} < 2000)) || { echo "run.sh: arguments too long for the kernel command line" >&2; exit 2; }
[[ $SCRIPT == "$(enc_arg "$SCRIPT")" ]] ||
	{ echo "run.sh: GUEST_SCRIPT path has unsupported characters: $SCRIPT" >&2; exit 2; }

PIDFILE=$VMDIR/qemu.$$.pid
QRCFILE=$VMDIR/qemu.$$.rc
rm -f "$PIDFILE" "$QRCFILE"
QEMU=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM"
	-nographic -no-reboot -nic none -pidfile "$PIDFILE"
	-kernel "$KERNEL" -initrd "$INITRD"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-append "$APPEND" "${EXTRA[@]}")

# If we are interrupted or killed, take qemu down with us.
on_signal() {
	local qpid
	qpid=$(cat "$PIDFILE" 2>/dev/null)
	[[ -n $qpid ]] && kill -TERM "$qpid" 2>/dev/null
	echo "run.sh: interrupted; qemu ${qpid:-(not started)} terminated" >&2
	wait 2>/dev/null
	rm -f "$PIDFILE" "$QRCFILE"
	exit 130
}
trap on_signal INT TERM HUP

echo "run.sh: kernel $KVER, timeout ${TIMEOUT}s, log $LOG"
echo "run.sh: guest runs $SCRIPT $*"
start=$(date +%s.%N)
# stdin from /dev/null: qemu must not grab a terminal. CRs and terminal escapes
# are stripped so the log is plain text. timeout kills qemu (TERM, then KILL
# 10 s later). The pipeline runs in the background so that a signal to this
# script is handled at once (bash defers traps until a foreground job ends).
{
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1
	echo $? >"$QRCFILE"
} | sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$LOG" &
wait $!
qrc=$(cat "$QRCFILE" 2>/dev/null || echo 255)
rm -f "$PIDFILE" "$QRCFILE"
trap - INT TERM HUP
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

marker=$(grep -aE '^KCXX-EXIT: [0-9]+$' "$LOG" | tail -n1)
if [[ -n $marker ]]; then
	rc=${marker#KCXX-EXIT: }
	echo "run.sh: guest script exited $rc after ${wall}s wall time"
	exit "$rc"
fi

if ((qrc == 124 || qrc == 137)); then
	echo "run.sh: TIMEOUT: qemu killed after ${TIMEOUT}s; no KCXX-EXIT marker"
	rc=124
else
	echo "run.sh: FAILED: no KCXX-EXIT marker (guest panicked or died; qemu exit $qrc) after ${wall}s"
	rc=125
fi
echo "run.sh: ----- last 60 console lines ($LOG) -----"
tail -n 60 "$LOG"
echo "run.sh: ----- end -----"
exit "$rc"
