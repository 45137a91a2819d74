#!/usr/bin/python3
"""Turn the console log of tests/vm/bench/bench-guest.sh into the benchmark
report: medians over the rounds, ratios of ibnbd to each rival, the issue-6
target checks, the cost of always_invalidate (ibnbd_inv ÷ ibnbd, with the
server's invalidation count as proof), local vs remote invalidation of READ
buffers (ibnbd ÷ ibnbd_rinv), READ answers merged with their data or not
(ibnbd ÷ ibnbd_split), memory, per-IO counters, PNG plots (gnuplot) and a compact
results JSON.  Called by scripts/bench.sh; rerunnable on a saved log:

  scripts/bench/report.py --log build/bench/console.log --out build/bench \
      --doc docs/benchmarks.md --docdir docs/bench --started 2026-...Z

The doc keeps everything outside the markers `<!-- bench:begin -->` and
`<!-- bench:end -->` (the hand-written analysis); only the part between them
is regenerated.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

TARGETS = ["local", "ibnbd", "ibnbd_split", "ibnbd_rinv", "ibnbd_inv", "rnbd", "nvme"]
TARGET_NAMES = {
    "local": "local null_blk",
    "ibnbd": "ibnbd (ours, always_invalidate=N)",
    "ibnbd_split": "ibnbd merge_read_answer=N",
    "ibnbd_rinv": "ibnbd remote_invalidate=Y",
    "ibnbd_inv": "ibnbd always_invalidate=Y",
    "rnbd": "rnbd 6.1",
    "nvme": "NVMe-oF RDMA",
}
# Plot axis labels: the full names do not fit under seven bars.
PLOT_NAMES = {
    "local": "local null_blk",
    "ibnbd": "ibnbd",
    "ibnbd_split": "ibnbd merge=N",
    "ibnbd_rinv": "ibnbd rinv=Y",
    "ibnbd_inv": "ibnbd ainv=Y",
    "rnbd": "rnbd 6.1",
    "nvme": "NVMe-oF",
}
RIVALS = ["rnbd", "nvme"]
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

# (job, metric key, label, unit, higher is better)
METRICS = [
    ("randread_qd1", "lat_avg_us", "4k randread QD1 avg latency", "us", False),
    ("randread_qd1", "lat_p99_us", "4k randread QD1 p99 latency", "us", False),
    ("randread_qd1", "lat_p999_us", "4k randread QD1 p99.9 latency", "us", False),
    ("randread_qd32", "iops", "4k randread QD32", "IOPS", True),
    ("randwrite_qd32", "iops", "4k randwrite QD32", "IOPS", True),
    ("seqread_128k", "bw_mib", "128k seq read QD16", "MiB/s", True),
    ("seqwrite_128k", "bw_mib", "128k seq write QD16", "MiB/s", True),
    ("randrw_mix", "iops", "70/30 randrw 4k-64k QD32", "IOPS", True),
    ("randrw_mix", "bw_mib", "70/30 randrw 4k-64k QD32", "MiB/s", True),
]

# Issue 6 targets: (job, metric, rival ratio bound, ">=" or "<=")
GOALS = [
    ("randread_qd32", "iops", 1.3, ">="),
    ("randwrite_qd32", "iops", 1.3, ">="),
    ("randread_qd1", "lat_p99_us", 0.7, "<="),
    ("seqread_128k", "bw_mib", 1.5, ">="),
    ("seqwrite_128k", "bw_mib", 1.5, ">="),
]


def parse_log(path):
    """Records of the console log: meta, mem, fio runs, counters, perftest, stats."""
    meta, mem, fio, counters, perf, stats, errors = {}, [], {}, {}, {}, {}, []
    inv = {}
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("BENCH-META "):
            deep_merge(meta, json.loads(line[len("BENCH-META "):]))
        elif line.startswith("BENCH-INV "):
            d = json.loads(line[len("BENCH-INV "):])
            inv[d["target"]] = d
        elif line.startswith("BENCH-MEM "):
            mem.append(json.loads(line[len("BENCH-MEM "):]))
        elif line.startswith("BENCH-COUNTERS "):
            _, rnd, target, job, js = line.split(" ", 4)
            counters[(int(rnd), target, job)] = json.loads(js)
        elif line.startswith("BENCH-FIO-BEGIN ") or line.startswith("BENCH-PERF-BEGIN "):
            kind = "fio" if line.startswith("BENCH-FIO") else "perf"
            key = tuple(line.split()[1:])
            end_tag = "BENCH-FIO-END " if kind == "fio" else "BENCH-PERF-END "
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(end_tag):
                body.append(lines[i])
                i += 1
            rc = lines[i].split()[-1] if i < len(lines) else "missing"
            text = "\n".join(body)
            start = text.find("{")
            doc = None
            if kind == "perf":
                # perftest's --out_json is not JSON (unquoted keys): take "key: number" lines
                doc = {}
                for ln in body:
                    mm = re.match(r"^\s*([A-Za-z0-9_.%]+)\s*:\s*([-+0-9.eE]+)\s*,?\s*$", ln)
                    if mm:
                        doc[mm.group(1)] = float(mm.group(2))
                doc = doc or None
            elif start >= 0:
                try:
                    doc = json.loads(text[start:])
                except ValueError as e:
                    errors.append("%s %s: bad JSON (%s)" % (kind, " ".join(key), e))
            if rc != "0":
                errors.append("%s %s: exit %s" % (kind, " ".join(key), rc))
            if kind == "fio":
                # one fio run per round and target; its jobs are the benchmark jobs
                for job in (doc or {}).get("jobs", []):
                    one = dict(doc)
                    one["jobs"] = [job]
                    fio[(int(key[0]), key[1], job["jobname"])] = one
            else:
                perf[(int(key[0]), key[1])] = doc
        elif line.startswith("BENCH-STATS-BEGIN "):
            name = line.split(None, 1)[1]
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("BENCH-STATS-END"):
                body.append(lines[i])
                i += 1
            stats[name] = "\n".join(body)
        i += 1
    return meta, mem, fio, counters, perf, stats, errors, inv


def inv_check(inv, targets):
    """Did the invalidations happen? From the server's stats/rdma (BENCH-INV):
    on ibnbd_inv every request had a completed chunk invalidation
    (inv >= ios > 0), on ibnbd none (inv == 0). Returns (lines, problems)."""
    lines, problems = [], []
    for t, want in (("ibnbd_inv", "all"), ("ibnbd", "none")):
        if t not in targets:
            continue
        d = inv.get(t)
        if not d:
            problems.append("no BENCH-INV record for %s" % t)
            continue
        ok = (d["ios"] > 0 and d["inv"] >= d["ios"]) if want == "all" else d["inv"] == 0
        lines.append("%s (server session `%s`, %d path(s)): %s chunk invalidations for %s requests — %s"
                     % (TARGET_NAMES[t], d["sess"], d["paths"], "{:,}".format(d["inv"]),
                        "{:,}".format(d["ios"]),
                        ("every request was invalidated" if want == "all" else "none, as expected")
                        if ok else "**check failed**"))
        if not ok:
            problems.append("%s: %d invalidations for %d requests (expected %s)"
                            % (t, d["inv"], d["ios"], ">= requests" if want == "all" else "0"))
    return lines, problems


def deep_merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            deep_merge(a[k], v)
        else:
            a[k] = v


def fio_metrics(doc):
    """The figures the report uses from one fio JSON document."""
    job = doc["jobs"][0]
    rd, wr = job["read"], job["write"]
    m = {
        "iops": rd["iops"] + wr["iops"],
        "bw_mib": (rd["bw_bytes"] + wr["bw_bytes"]) / 2**20,
        "ios": rd["total_ios"] + wr["total_ios"],
        "runtime_s": max(rd["runtime"], wr["runtime"]) / 1000.0,
        "errors": job.get("error", 0),
    }
    main = rd if rd["total_ios"] >= wr["total_ios"] else wr
    lat = main.get("lat_ns", {})
    pct = lat.get("percentile", {})
    m["lat_avg_us"] = lat.get("mean", 0) / 1000.0
    m["lat_p50_us"] = pct.get("50.000000", 0) / 1000.0
    m["lat_p99_us"] = pct.get("99.000000", 0) / 1000.0
    m["lat_p999_us"] = pct.get("99.900000", 0) / 1000.0
    return m


def per_io(cnt, ios):
    """Counter deltas of one run divided by its IO count."""
    if not cnt or not ios:
        return {}
    tick_us = 1e6 / cnt.get("clk_tck", 100)
    out = {"cpu_us_per_io": cnt.get("cpu_busy", 0) * tick_us / ios,
           "softirq_us_per_io": cnt.get("cpu_softirq", 0) * tick_us / ios,
           "ctxt_per_io": cnt.get("ctxt", 0) / ios}
    pk = sum(v for k, v in cnt.items() if k.endswith("_sent_pkts"))
    sends = sum(v for k, v in cnt.items() if k.endswith("_rdma_sends"))
    retries = sum(v for k, v in cnt.items()
                  if k.endswith(("_completer_retry_err", "_retry_exceeded_err", "_rcvd_seq_err",
                                 "_duplicate_request", "_out_of_seq_request")))
    # The busiest vCPU's share of its time: near 100 % means one CPU is the
    # bottleneck even when the sum over both (cpu_us_per_io) leaves room.
    shares = []
    for k, busy in cnt.items():
        m = re.match(r"cpu(\d+)_busy$", k)
        if m:
            tot = busy + cnt.get("cpu%s_idle" % m.group(1), 0)
            if tot > 0:
                shares.append(100.0 * busy / tot)
    if shares:
        out["max_vcpu_busy_pct"] = max(shares)
    if "ipi_res" in cnt or "ipi_cal" in cnt:
        out["ipi_per_io"] = (cnt.get("ipi_res", 0) + cnt.get("ipi_cal", 0)) / ios
    out["pkts_per_io"] = pk / ios
    out["sends_per_io"] = sends / ios
    out["retries"] = retries
    return out


def perf_metrics(doc, tool):
    """ib_write_bw: MsgRate (Mpps) and BW (MiB/s); ib_write_lat: t_avg, 99%, 99.9% (us)."""
    if not doc:
        return {}
    res = doc.get("results", doc)
    out = {}
    for k, v in res.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "IOPS" or (abs(v) >= 1000 and unit != "x"):
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def variant_table(base, var, med, spread, rounds, jobs):
    """Markdown rows comparing target var with target base: every metric with
    its spread, then CPU, packets and SEND-type messages per IO."""
    R = ["| metric | unit | %s | %s | %s ÷ %s |" % (base, var, var, base), "|---|---|---|---|---|"]

    def cell(t, j, k, unit):
        v, sp = med.get((t, j, k)), spread.get((t, j, k))
        c = fmt(v, unit)
        if sp and len(rounds) > 1 and v is not None:
            c += " [%s–%s]" % (fmt(sp[0], unit), fmt(sp[1], unit))
        return c

    rows = [(j, k, label, unit) for j, k, label, unit, _hib in METRICS if j in jobs]
    for j in jobs:
        rows.append((j, "cpu_us_per_io", "%s cpu us/IO" % j, "us"))
    for j in jobs:
        rows.append((j, "max_vcpu_busy_pct", "%s busiest vCPU %%" % j, ""))
    for j in jobs:
        rows.append((j, "ipi_per_io", "%s IPIs/IO (RES+CAL)" % j, ""))
    for j in jobs:
        rows.append((j, "pkts_per_io", "%s pkts/IO" % j, ""))
    for j in jobs:
        rows.append((j, "sends_per_io", "%s sends/IO (rxe rdma_sends)" % j, ""))
    for j, k, label, unit in rows:
        if med.get((var, j, k)) is None and med.get((base, j, k)) is None:
            continue  # a counter this run did not record
        rv = ratio(med.get((var, j, k)), med.get((base, j, k)))
        R.append("| %s | %s | %s | %s | %s |" % (label, unit, cell(base, j, k, unit), cell(var, j, k, unit),
                                                 "%.2f×" % rv if rv is not None else "–"))
    return R


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("gnuplot failed: " + r.stderr.strip())


def plots(med, targets, outdir, docdir, rxe_rate):
    """Three bar charts (PNG): IOPS, bandwidth, QD1 latency; returns file names."""
    made = []
    names = [PLOT_NAMES[t] for t in targets]
    groups = [
        ("bench-iops.png", "4 KiB IOPS (median over rounds)", "IOPS",
         [("randread_qd32", "iops", "randread QD32"), ("randwrite_qd32", "iops", "randwrite QD32"),
          ("randrw_mix", "iops", "70/30 mix QD32")]),
        ("bench-bw.png", "128 KiB sequential bandwidth (median)", "MiB/s",
         [("seqread_128k", "bw_mib", "read QD16"), ("seqwrite_128k", "bw_mib", "write QD16"),
          ("randrw_mix", "bw_mib", "70/30 mix 4k-64k")]),
        ("bench-lat.png", "4 KiB randread QD1 latency (median), lower is better", "microseconds",
         [("randread_qd1", "lat_avg_us", "avg"), ("randread_qd1", "lat_p99_us", "p99"),
          ("randread_qd1", "lat_p999_us", "p99.9")]),
    ]
    for fname, title, ylabel, series in groups:
        # gnuplot refuses a histogram column without any value (a job not run)
        series = [x for x in series if any(med.get((t, x[0], x[1])) is not None for t in targets)]
        if not series:
            continue
        dat = os.path.join(outdir, fname.replace(".png", ".dat"))
        with open(dat, "w") as f:
            f.write("target " + " ".join('"%s"' % s[2] for s in series) + "\n")
            for t, n in zip(targets, names):
                vals = [med.get((t, j, k)) for j, k, _ in series]
                f.write('"%s" ' % n + " ".join("%.3f" % v if v is not None else "NaN" for v in vals) + "\n")
        extra = ""
        if fname == "bench-iops.png" and rxe_rate:
            extra = ('set arrow from graph 0, first %f to graph 1, first %f nohead dt 2 lc rgb "red"\n'
                     'set label "raw rxe 4 KiB WRITE msg rate" at graph 0.45, first %f offset 0,0.7 tc rgb "red"\n'
                     % (rxe_rate, rxe_rate, rxe_rate))
        png = os.path.join(docdir, fname)
        gnuplot(
            'set terminal pngcairo size 900,480 font "sans,10" noenhanced\n'
            'set output "%s"\n'
            'set title "%s"\nset ylabel "%s"\nset style data histograms\n'
            'set style histogram clustered gap 1\nset style fill solid 0.85 border -1\n'
            'set boxwidth 0.9\nset key top right\nset grid ytics\nset yrange [0:*]\n%s'
            'plot for [c=2:%d] "%s" using c:xtic(1) title columnhead\n'
            % (png, title, ylabel, extra, len(series) + 1, dat))
        made.append(fname)
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True, help="directory for the full JSON and plot data")
    ap.add_argument("--doc", required=True)
    ap.add_argument("--docdir", required=True, help="directory for results.json and the PNGs")
    ap.add_argument("--started", default="")
    ap.add_argument("--targets", default="local,ibnbd,rnbd,nvme,rxe")
    ap.add_argument("--jobs", default="")
    ap.add_argument("--note", default="")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()

    meta, mem, fio, counters, perf, stats, errors, inv = parse_log(a.log)
    want = a.targets.split(",")
    if ("ibnbd_rinv" in want or "ibnbd_split" in want) and "ibnbd" not in want:
        want.append("ibnbd")  # bench-guest.sh sets ibnbd up for them and runs it too
    targets = [t for t in TARGETS if t in want]
    jobs = [j for j in a.jobs.split(",") if j] or sorted({k[2] for k in fio})
    rounds = sorted({k[0] for k in fio} | {k[0] for k in perf})

    os.makedirs(os.path.join(a.out, "fio"), exist_ok=True)
    os.makedirs(a.docdir, exist_ok=True)
    # Full fio/perftest JSON stays under build/ (large); the summary goes to docs.
    for (r, t, j), doc in fio.items():
        if doc:
            with open(os.path.join(a.out, "fio", "r%d-%s-%s.json" % (r, t, j)), "w") as f:
                json.dump(doc, f, indent=1)

    runs = {}  # (round, target, job) -> metrics + per-IO counters
    for key, doc in fio.items():
        if not doc:
            continue
        m = fio_metrics(doc)
        if m["errors"]:
            errors.append("round %d %s %s: fio error %d (%s)" % (key[0], key[1], key[2], m["errors"],
                                                                 os.strerror(m["errors"])))
        m.update(per_io(counters.get(key), m["ios"]))
        runs[key] = m
    missing = [(r, t, j) for r in rounds for t in targets for j in jobs if (r, t, j) not in runs]
    for r, t, j in missing:
        errors.append("no result: round %d %s %s" % (r, t, j))

    med = {}
    spread = {}
    for t in targets:
        for j in jobs:
            keys = set(k for rr in rounds for k in runs.get((rr, t, j), {}))
            for k in keys:
                vals = [runs[(rr, t, j)][k] for rr in rounds if (rr, t, j) in runs]
                med[(t, j, k)] = median(vals)
                spread[(t, j, k)] = (min(vals), max(vals)) if vals else None

    rxe = {}
    for tool in ("ib_write_bw", "ib_write_lat"):
        vals = [perf_metrics(perf.get((r, tool)), tool) for r in rounds]
        vals = [v for v in vals if v]
        if not vals:
            if "rxe" in want:
                errors.append("no result: %s" % tool)
            continue
        keys = set().union(*vals)
        rxe[tool] = {k: median([v.get(k) for v in vals]) for k in keys}
        rxe[tool + "_counters"] = {}
        cvals = [counters.get((r, "rxe", tool)) for r in rounds]
        cvals = [c for c in cvals if c]
        for k in ("rxe0_sent_pkts", "rxe1_sent_pkts", "cpu_busy"):
            rxe[tool + "_counters"][k] = median([c.get(k, 0) for c in cvals]) if cvals else None
    rxe_rate = None
    if "ib_write_bw" in rxe:
        mr = rxe["ib_write_bw"].get("MsgRate")
        rxe_rate = mr * 1e6 if mr is not None else None

    pngs = plots(med, targets, a.out, a.docdir, rxe_rate) if runs else []

    inv_lines, inv_problems = inv_check(inv, targets)
    errors.extend(inv_problems)
    both_inv = "ibnbd" in targets and "ibnbd_inv" in targets
    inv_ratios = {}
    if both_inv:
        for j, k, _label, _unit, _hib in METRICS + [(j, "cpu_us_per_io", "", "", False) for j in jobs]:
            if j in jobs:
                inv_ratios.setdefault(j, {})[k] = ratio(med.get(("ibnbd_inv", j, k)), med.get(("ibnbd", j, k)))

    # ---- compact JSON for docs/bench
    summary = {
        "started": a.started, "note": a.note, "meta": meta, "memory": mem,
        "rounds": rounds, "targets": targets, "jobs": jobs,
        "medians": {t: {j: {k: med[(t, j, k)] for (tt, jj, k) in med if tt == t and jj == j}
                        for j in jobs} for t in targets},
        "runs": [dict(round=r, target=t, job=j, **runs[(r, t, j)]) for (r, t, j) in sorted(runs)],
        "rxe_perftest": rxe, "errors": errors,
        "always_invalidate": {"invalidations": inv, "ratios_inv_over_plain": inv_ratios},
    }
    with open(os.path.join(a.docdir, "results.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    for name, text in stats.items():
        with open(os.path.join(a.out, "stats-%s.txt" % name), "w") as f:
            f.write(text + "\n")

    # ---- markdown
    L = []
    L.append(BEGIN)
    L.append("<!-- Generated by scripts/bench.sh (scripts/bench/report.py); edits between these markers are overwritten. -->")
    L.append("")
    L.append("## Results of the last run")
    L.append("")
    order = ("targets in order in odd rounds and in reverse order in even rounds"
             if meta.get("round_order") == "alternating" else "targets in the same order every round")
    L.append("* Run started %s; %d round(s) of %s s per fio job, interleaved (in each round every target runs "
             "the whole job list, %s)." % (a.started or "?", len(rounds), meta.get("runtime", "?"), order))
    L.append("* Guest: kernel %s, %s vCPUs (qemu TCG), %s MiB; %s; fio region %s MiB per device "
             "(preconditioned); fio %s, libaio, direct=1, time_based, numjobs=1."
             % (meta.get("kernel", "?"), meta.get("cpus", "?"), int(meta.get("mem_kib", 0)) // 1024,
                meta.get("null_blk", "?"), meta.get("region_mb", "?"), meta.get("fio", "?")))
    if a.note:
        L.append("* Conditions: " + a.note)
    for t in ("ibnbd", "ibnbd_inv", "rnbd", "nvme"):
        if t in meta:
            d = meta[t]
            L.append("* %s: %s" % (TARGET_NAMES[t], ", ".join("%s=%s" % (k, v) for k, v in d.items())))
    if "ibtrs_client_remote_invalidate_default" in meta:
        L.append("* ibtrs-client remote_invalidate (the module default: every ibnbd target but ibnbd_rinv): %s"
                 % meta["ibtrs_client_remote_invalidate_default"])
    if "ibtrs_server_merge_read_answer_default" in meta:
        L.append("* ibtrs-server merge_read_answer (the module default: every ibnbd target but ibnbd_split): %s"
                 % meta["ibtrs_server_merge_read_answer_default"])
    if errors:
        L.append("* **Problems in this run:** " + "; ".join(errors))
    L.append("")
    L.append("### Medians and ratios")
    L.append("")
    L.append("Ratios are ibnbd ÷ rival of the medians (for latency lower is better, so a ratio < 1 is a win). "
             "min–max over the rounds in brackets.")
    L.append("")
    hdr = "| metric | unit | " + " | ".join(TARGET_NAMES[t] for t in targets)
    hdr += "".join(" | ibnbd ÷ %s" % TARGET_NAMES[r] for r in RIVALS + ["local"] if r in targets and "ibnbd" in targets)
    L.append(hdr + " |")
    L.append("|" + "---|" * (hdr.count("|")))
    for j, k, label, unit, _hib in METRICS:
        if j not in jobs:
            continue
        row = "| %s | %s |" % (label, unit)
        for t in targets:
            v = med.get((t, j, k))
            sp = spread.get((t, j, k))
            cell = fmt(v, unit)
            if sp and len(rounds) > 1 and v is not None:
                cell += " [%s–%s]" % (fmt(sp[0], unit), fmt(sp[1], unit))
            row += " %s |" % cell
        if "ibnbd" in targets:
            for r in RIVALS + ["local"]:
                if r in targets:
                    rv = ratio(med.get(("ibnbd", j, k)), med.get((r, j, k)))
                    row += " %s |" % ("%.2f×" % rv if rv is not None else "–")
        L.append(row)
    L.append("")

    if both_inv or inv_lines:
        L.append("### Cost of always_invalidate")
        L.append("")
        L.append("ibnbd_inv is a second session of the same client and server (its own null_blk) whose "
                 "server paths were set up with `always_invalidate=Y`: every request first LOCAL_INVs its "
                 "chunk's MR, every answer re-registers it (fenced REG_MR) and carries the new rkey in a "
                 "SEND_WITH_IMM RKEY_RSP instead of a WRITE_WITH_IMM. Ratio = ibnbd_inv ÷ ibnbd of the "
                 "medians (throughput: < 1 is a loss; latency and CPU: > 1 is a loss).")
        L.append("")
        if both_inv:
            L.append("| metric | unit | ibnbd | ibnbd_inv | ibnbd_inv ÷ ibnbd |")
            L.append("|---|---|---|---|---|")
            for j, k, label, unit, _hib in METRICS:
                if j not in jobs:
                    continue
                rv = inv_ratios.get(j, {}).get(k)
                cells = []
                for t in ("ibnbd", "ibnbd_inv"):
                    v, sp = med.get((t, j, k)), spread.get((t, j, k))
                    cell = fmt(v, unit)
                    if sp and len(rounds) > 1 and v is not None:
                        cell += " [%s–%s]" % (fmt(sp[0], unit), fmt(sp[1], unit))
                    cells.append(cell)
                L.append("| %s | %s | %s | %s | %s |" % (label, unit, cells[0], cells[1],
                                                         "%.2f×" % rv if rv is not None else "–"))
            for j in jobs:
                rv = inv_ratios.get(j, {}).get("cpu_us_per_io")
                L.append("| %s cpu us/IO | us | %s | %s | %s |" % (
                    j, fmt(med.get(("ibnbd", j, "cpu_us_per_io"))), fmt(med.get(("ibnbd_inv", j, "cpu_us_per_io"))),
                    "%.2f×" % rv if rv is not None else "–"))
            for j in jobs:
                L.append("| %s sends/IO (rxe rdma_sends) | | %s | %s | |" % (
                    j, fmt(med.get(("ibnbd", j, "sends_per_io"))), fmt(med.get(("ibnbd_inv", j, "sends_per_io")))))
            L.append("")
        if inv_lines:
            L.append("Invalidation check (server `stats/rdma`, last field = completed chunk invalidations, "
                     "counted over the whole run):")
            L.append("")
            for ln in inv_lines:
                L.append("* " + ln)
            L.append("")

    if "ibnbd" in targets and "ibnbd_rinv" in targets:
        L.append("### Local vs remote invalidation of READ buffers (ibtrs-client remote_invalidate)")
        L.append("")
        L.append("ibnbd_rinv is the ibnbd device itself, run with the client's `remote_invalidate` parameter "
                 "set to Y for its jobs (and back to the default after them): every READ asks the server "
                 "to invalidate its buffer's MR with a SEND_WITH_INV before the answer, as upstream "
                 "rtrs-client does. ibnbd (default N) gets the WRITE_WITH_IMM answer alone and invalidates "
                 "the MR with a LOCAL_INV, a local work request that puts no packet on the wire. "
                 "Ratio = ibnbd ÷ ibnbd_rinv of the medians (what local invalidation buys: throughput > 1 "
                 "and latency, CPU, packets < 1 are wins).")
        L.append("")
        L.extend(variant_table("ibnbd_rinv", "ibnbd", med, spread, rounds, jobs))
        L.append("")

    if "ibnbd" in targets and "ibnbd_split" in targets:
        L.append("### READ data and answer in one message (ibtrs-server merge_read_answer)")
        L.append("")
        L.append("ibnbd_split is the ibnbd device itself, run with the server's `merge_read_answer` parameter "
                 "set to N for its jobs (and back to the default after them): a READ's data goes in an RDMA "
                 "WRITE and the answer follows in a zero-length WRITE_WITH_IMM, as upstream rtrs-server "
                 "answers. ibnbd (default Y) sends the data and the answer's immediate in one "
                 "WRITE_WITH_IMM: one message, so one ACK, fewer. Writes are answered the same way in both. "
                 "Ratio = ibnbd ÷ ibnbd_split of the medians (what the merge buys: throughput > 1 and "
                 "latency, CPU, packets < 1 are wins).")
        L.append("")
        L.extend(variant_table("ibnbd_split", "ibnbd", med, spread, rounds, jobs))
        L.append("")

    if rxe:
        L.append("### Raw soft-RoCE link (perftest, 4 KiB, rxe1 → rxe0 over the same veth pair)")
        L.append("")
        bw = rxe.get("ib_write_bw", {})
        lat = rxe.get("ib_write_lat", {})
        if bw:
            L.append("* ib_write_bw: %s MiB/s average, %s msg/s (median of %d rounds)"
                     % (fmt(bw.get("BW_average")), fmt((bw.get("MsgRate") or 0) * 1e6, "IOPS"), len(rounds)))
        if lat:
            L.append("* ib_write_lat: avg %s us, p99 %s us, p99.9 %s us (median; one-sided, ping-pong/2)"
                     % (fmt(lat.get("t_avg")), fmt(lat.get("percentile_99")),
                        fmt(lat.get("percentile_99.9"))))
        if rxe_rate and "ibnbd" in targets:
            for j in ("randread_qd32", "randwrite_qd32"):
                v = med.get(("ibnbd", j, "iops"))
                if v:
                    L.append("* ibnbd %s: %.0f%% of the raw 4 KiB RDMA-WRITE message rate" % (j, 100 * v / rxe_rate))
        L.append("")

    if "ibnbd" in targets and any(r in targets for r in RIVALS):
        L.append("### Issue 6 targets (same-run ratios)")
        L.append("")
        L.append("| target | " + " | ".join("vs %s" % TARGET_NAMES[r] for r in RIVALS if r in targets) + " |")
        L.append("|---|" + "---|" * len([r for r in RIVALS if r in targets]))
        for j, k, bound, op in GOALS:
            if j not in jobs:
                continue
            label = next(lb for jj, kk, lb, _u, _h in METRICS if jj == j and kk == k)
            row = "| %s %s %.1f× |" % (label, op, bound)
            for r in RIVALS:
                if r not in targets:
                    continue
                rv = ratio(med.get(("ibnbd", j, k)), med.get((r, j, k)))
                if rv is None:
                    row += " – |"
                    continue
                ok = rv >= bound if op == ">=" else rv <= bound
                row += " %.2f× %s |" % (rv, "met" if ok else "**missed**")
            L.append(row)
        if rxe_rate:
            v = med.get(("ibnbd", "randread_qd32", "iops"))
            if v:
                L.append("| 4k randread QD32 ≥ 80%% of raw rxe 4 KiB WRITE msg rate | %.0f%% %s |%s"
                         % (100 * v / rxe_rate, "met" if v >= 0.8 * rxe_rate else "**missed**",
                            " |" * (len([r for r in RIVALS if r in targets]) - 1)))
        L.append("")

    if mem:
        L.append("### Memory")
        L.append("")
        L.append("Client and server run in the same guest, so a mapping's cost is the drop of MemFree "
                 "(after `drop_caches`) over both sides; Slab is the part of it in kmalloc/slab caches. "
                 "`session_and_first_device` = first map/connect (transport session, server buffers, "
                 "first device); `additional_device` = a second device on the same session/controller.")
        L.append("")
        L.append("| target | what | MemFree drop (KiB) | Slab growth (KiB) |")
        L.append("|---|---|---|---|")
        for m in mem:
            L.append("| %s | %s | %s | %s |" % (TARGET_NAMES.get(m["target"], m["target"]), m["what"],
                                               "{:,}".format(m["memfree_delta_kib"]),
                                               "{:,}".format(m["slab_delta_kib"])))
        for t in ("ibnbd", "rnbd"):
            d = meta.get(t, {})
            if "sess_queue_depth" in d and "max_chunk_size" in d:
                L.append("")
                L.append("* %s server: pins sess_queue_depth × max_chunk_size = %d × %d B = %d MiB per session "
                         "(module parameters)." % (TARGET_NAMES[t], d["sess_queue_depth"], d["max_chunk_size"],
                                                   d["sess_queue_depth"] * d["max_chunk_size"] // 2**20))
        L.append("")

    L.append("### Cost per IO (medians; CPU of the whole guest, both sides)")
    L.append("")
    L.append("`cpu us/IO` = busy CPU time of the guest (user+sys+irq+softirq, both vCPUs) ÷ IOs; "
             "`pkts/IO` = rxe packets sent by both ends ÷ IOs; `sends/IO` = rxe `rdma_sends` (SEND-type "
             "messages) ÷ IOs; `busiest vCPU` = the larger of the two vCPUs' busy share of the job's time (near "
             "100 % means one vCPU is the bottleneck even where the sum leaves room); `IPIs/IO` = rescheduling + "
             "function-call IPIs (`/proc/interrupts` RES, CAL) ÷ IOs: cross-vCPU wake-ups; `retries` = rxe retry/duplicate/sequence-error counters of both ends summed over the job (a count per 5–10 s job, not per IO; 0 on a clean link).")
    L.append("")
    L.append("| job | target | cpu us/IO | softirq us/IO | busiest vCPU % | pkts/IO | sends/IO | ctx sw/IO | IPIs/IO | retries |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for j in jobs:
        for t in targets:
            g = lambda k: med.get((t, j, k))
            if g("cpu_us_per_io") is None:
                continue
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                j, TARGET_NAMES[t], fmt(g("cpu_us_per_io")), fmt(g("softirq_us_per_io")),
                fmt(g("max_vcpu_busy_pct")), fmt(g("pkts_per_io")), fmt(g("sends_per_io")), fmt(g("ctxt_per_io")),
                fmt(g("ipi_per_io")), fmt(g("retries"))))
    L.append("")
    if pngs and ("ibnbd_rinv" in targets or "ibnbd_inv" in targets or "ibnbd_split" in targets):
        L.append("Plots: `ibnbd merge=N` = ibnbd merge_read_answer=N, `ibnbd rinv=Y` = ibnbd "
                 "remote_invalidate=Y, `ibnbd ainv=Y` = ibnbd always_invalidate=Y.")
        L.append("")
    for p in pngs:
        L.append("![%s](%s)" % (p, os.path.relpath(os.path.join(a.docdir, p), os.path.dirname(a.doc) or ".")))
        L.append("")
    L.append("Raw data: [%s](%s) (every run's figures and counters); full fio JSON and the console log "
             "stay under `build/bench/`." % ("results.json", os.path.relpath(os.path.join(a.docdir, "results.json"),
                                                                          os.path.dirname(a.doc) or ".")))
    L.append(END)
    generated = "\n".join(L) + "\n"

    if os.path.exists(a.doc):
        old = open(a.doc).read()
    else:
        old = "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + generated.rstrip("\n") + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + generated
    with open(a.doc, "w") as f:
        f.write(new)
    print("bench: wrote %s, %s, %d plot(s)" % (a.doc, os.path.join(a.docdir, "results.json"), len(pngs)))
    for e in errors:
        print("bench: problem: " + e, file=sys.stderr)
    # Print the table on the terminal too.
    for line in L:
        if line.startswith("|"):
            print(line)
    if a.smoke and errors:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
