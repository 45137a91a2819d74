#!/bin/bash
# Usage: snapshot.sh FILE — write the guest's counters to FILE, "key value" per
# line: CPU ticks of /proc/stat (busy = user+nice+sys+irq+softirq, both vCPUs
# summed and each vCPU alone),
# interrupts, context switches, rescheduling and function-call IPIs, and
# every rxe hardware counter (packets,
# SEND-type messages, retries...). bench-guest.sh has fio run it around each
# job (exec_prerun / exec_postrun) and prints the differences. Two processes
# only: fork+exec is slow under emulation.
set -eu
out=${1:?snapshot.sh FILE}
{
	awk '$1 == "cpu" { print "cpu_busy", $2 + $3 + $4 + $7 + $8; print "cpu_idle", $5 + $6;
		print "cpu_sys", $4; print "cpu_softirq", $8 }
		$1 ~ /^cpu[0-9]+$/ { print $1 "_busy", $2 + $3 + $4 + $7 + $8; print $1 "_idle", $5 + $6 }
		$1 == "intr" { print "intr", $2 } $1 == "ctxt" { print "ctxt", $2 }
		# cross-CPU wake-ups: rescheduling and function-call IPIs, all CPUs
		FILENAME == "/proc/interrupts" && ($1 == "RES:" || $1 == "CAL:") {
			s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
			print "ipi_" tolower(substr($1, 1, 3)), s }' /proc/stat /proc/interrupts
	# /sys/class/infiniband/rxe0/ports/1/hw_counters/sent_pkts:123 -> rxe0_sent_pkts 123
	grep -H . /sys/class/infiniband/rxe*/ports/1/hw_counters/* 2>/dev/null |
		sed -E 's|^/sys/class/infiniband/([^/]+)/ports/1/hw_counters/([^:]+):|\1_\2 |' || true
} >"$out.tmp"
mv "$out.tmp" "$out"
