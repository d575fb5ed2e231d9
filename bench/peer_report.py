#!/usr/bin/env python3
"""The report of bench/peer.sh: one table per database from the run folder it fills.

    python3 bench/peer_report.py RUN_DIR --dbs "postgres sqlite" [--command C] [--load-start L]

RUN_DIR holds, per database DB: DB.peer.tsv (peer_bench.sh's results: peer, gazette, the
static limit with the peer's Q1 answer), DB.limit.tsv (the static limit with gazette's own
answer to each query, optional), DB.gz.tsv (gazette-only queries, optional), DB.mem
(key=value, KiB); and startup.txt (milliseconds to /readyz 200 per try, SQLite). Prints
markdown. With --cache off the run is judged against the uncached targets (5x the peer,
p99 20 ms on PostgreSQL), with --cache on against the cached one (60% of the limit of the
same bytes); memory and start-up always.
"""
import argparse, csv, os, statistics, sys
from datetime import datetime, timezone

NAMES = {"q1": "Q1 article", "q2": "Q2 section", "q3": "Q3 author", "q4": "Q4 front page"}
TARGETS = {"rps_vs_peer": 5.0, "p99_ms": 20.0, "rps_vs_limit": 0.60, "rss_mb": 150.0,
           "startup_ms": 1000.0}


def read_tsv(path):
    if not os.path.exists(path):
        return [], []
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    head = [l.strip("# \n") for l in lines if l.startswith("#")]
    rows = list(csv.DictReader((l for l in lines if not l.startswith("#")), delimiter="\t"))
    return head, rows


def ok(r):
    return r is not None and r.get("rps") not in (None, "", "NA")


def f0(x):
    return f"{float(x):.0f}"


def ratio(a, b, k="rps"):
    if not ok(a) or not ok(b) or not float(b[k]):
        return "NA"
    return f"{float(a[k]) / float(b[k]):.2f}"


def mb(kb):
    try:
        return f"{int(kb) / 1024:.1f} MB"
    except (TypeError, ValueError):
        return "NA"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--dbs", default="postgres sqlite")
    ap.add_argument("--command", default="bash bench/peer.sh")
    ap.add_argument("--load-start", default="")
    ap.add_argument("--commit", default="")
    ap.add_argument("--cache", choices=("on", "off"), default="on")
    a = ap.parse_args()
    out = []
    p = out.append
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    p(f"## Peer benchmark, {now}")
    p("")
    p(f"`{a.command}` (gazette {a.commit}; response cache {a.cache}; load average at start "
      f"{a.load_start}; {os.cpu_count()} CPUs: server, database, peer and wrk share them)")
    startup = []
    sp = os.path.join(a.run_dir, "startup.txt")
    if os.path.exists(sp):
        startup = [l.strip() for l in open(sp) if l.strip()]
    misses = []
    for db in a.dbs.split():
        head, rows = read_tsv(os.path.join(a.run_dir, f"{db}.peer.tsv"))
        _, gz_rows = read_tsv(os.path.join(a.run_dir, f"{db}.gz.tsv"))
        _, limit_rows = read_tsv(os.path.join(a.run_dir, f"{db}.limit.tsv"))
        same_bytes = {r["query"]: r for r in limit_rows}
        mem = {}
        mp = os.path.join(a.run_dir, f"{db}.mem")
        if os.path.exists(mp):
            mem = dict(l.strip().split("=", 1) for l in open(mp) if "=" in l)
        by = {(r["target"], r["query"]): r for r in rows}
        limit = next((r for r in rows if r["target"].startswith("nginx")), None)
        p("")
        p(f"### gazette on {'PostgreSQL' if db == 'postgres' else 'SQLite'}")
        p("")
        for h in head:
            p(f"- {h}")
        p("")
        if rows:
            p("| query | target | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette/peer req/s | gazette/limit req/s (same bytes) | gazette/peer p99 |")
            p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for q in ("q1", "q2", "q3", "q4") if rows else ():
            for t in ("postgraphile", "gazette"):
                r = by.get((t, q))
                if r is None:
                    continue
                if not ok(r):
                    p(f"| {NAMES[q]} | {t} | {r.get('note') or 'NA'} | | | | | | | |")
                    misses.append(f"{db} {NAMES[q]}: gazette {r.get('note') or 'not measured'}")
                    continue
                cells = [NAMES[q], t, f0(r["rps"]), r["p50_ms"], r["p99_ms"], r["errors"], r["bytes_per_req"]]
                if t == "gazette":
                    peer = by.get(("postgraphile", q))
                    own = same_bytes.get(q)
                    rp, rl = ratio(r, peer), ratio(r, own if ok(own) else limit)
                    if not ok(own) and rl != "NA":
                        rl += " (peer's Q1 bytes)"
                    cells += [f"**{rp}**" if a.cache == "off" else rp,
                              f"**{rl}**" if a.cache == "on" else rl, ratio(r, peer, "p99_ms")]
                    if a.cache == "off" and db == "postgres":
                        if rp == "NA" or float(rp) < TARGETS["rps_vs_peer"]:
                            misses.append(f"{db} {NAMES[q]}: gazette/peer req/s {rp} < 5")
                        if float(r["p99_ms"]) > TARGETS["p99_ms"]:
                            misses.append(f"{db} {NAMES[q]}: p99 {r['p99_ms']} ms > 20 ms")
                    if a.cache == "on":
                        val = rl.split()[0]
                        if val == "NA" or float(val) < TARGETS["rps_vs_limit"]:
                            misses.append(f"{db} {NAMES[q]}: gazette/limit req/s {rl} < 0.60")
                    if int(r["errors"]):
                        misses.append(f"{db} {NAMES[q]}: {r['errors']} errors")
                else:
                    cells += ["", "", ""]
                p("| " + " | ".join(cells) + " |")
        if ok(limit):
            p(f"| limit (peer's Q1 body) | {limit['target']} | {f0(limit['rps'])} | {limit['p50_ms']} | "
              f"{limit['p99_ms']} | {limit['errors']} | {limit['bytes_per_req']} | | | |")
        for r in limit_rows:
            if ok(r):
                p(f"| limit ({NAMES.get(r['query'], r['query'])}, gazette's bytes) | {r['target']} | "
                  f"{f0(r['rps'])} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} | "
                  f"{r['bytes_per_req']} | | | |")
        if gz_rows:
            p("")
            p("gazette-only queries (`bench/queries/`):")
            p("")
            p("| query | connections | req/s | p50 ms | p90 ms | p99 ms | errors | bytes/resp |")
            p("|---|---:|---:|---:|---:|---:|---:|---:|")
            for r in gz_rows:
                conc = (r.get("note") or "").removeprefix("c=") if (r.get("note") or "").startswith("c=") else ""
                if not ok(r):
                    p(f"| {r['query']} | | {r.get('note') or 'NA'} | | | | | |")
                    misses.append(f"{db} {r['query']}: {r.get('note') or 'not measured'}")
                    continue
                p(f"| {r['query']} | {conc} | {f0(r['rps'])} | {r['p50_ms']} | {r['p90_ms']} | "
                  f"{r['p99_ms']} | {r['errors']} | {r['bytes_per_req']} |")
                if int(r["errors"]):
                    misses.append(f"{db} {r['query']}: {r['errors']} errors")
        p("")
        p(f"Resident memory of gazette (sampled every 0.5 s): {mb(mem.get('rss_ready_kb'))} when ready; "
          f"under load at most {mb(mem.get('rss_max_kb'))} VmRSS ({mb(mem.get('anon_at_max_kb'))} anonymous, "
          f"{mb(mem.get('file_at_max_kb'))} file-backed) and "
          f"**{mb(mem.get('pss_max_kb'))} PSS** (each page once); {mb(mem.get('rss_end_kb'))} VmRSS at the end, "
          f"VmHWM {mb(mem.get('hwm_kb'))}.")
        if mem.get("server_errors", "0") not in ("0", ""):
            p(f"The server logged {mem['server_errors']} internal errors (see its log).")
            misses.append(f"{db}: {mem['server_errors']} internal errors in the server log")
        try:
            if int(mem.get("pss_max_kb") or mem.get("rss_max_kb") or 0) / 1024 > TARGETS["rss_mb"]:
                misses.append(f"{db}: memory under load {mb(mem.get('pss_max_kb') or mem.get('rss_max_kb'))} PSS > 150 MB")
        except ValueError:
            pass
        if db == "sqlite" and startup:
            ms = [float(x) for x in startup if x != "NA"]
            med = statistics.median(ms) if ms else None
            p("")
            p(f"Start-up to ready on the existing SQLite file: median "
              f"{f'{med:.0f} ms' if med is not None else 'NA'} (tries: {', '.join(x + ' ms' if x != 'NA' else x for x in startup)}).")
            if med is None or med > TARGETS["startup_ms"]:
                misses.append(f"sqlite: start-up to ready {med} ms > 1000 ms")
    p("")
    judged = ("uncached on PostgreSQL: ≥5× the peer's req/s and p99 ≤ 20 ms at 32 connections"
              if a.cache == "off" else "with the response cache: ≥60% of the static limit of the same bytes")
    p(f"Targets of issue #7 ({judged}; resident memory ≤ 150 MB; start-up ≤ 1 s): "
      + ("all met." if not misses else "not met: " + "; ".join(misses) + "."))
    print("\n".join(out))


if __name__ == "__main__":
    main()
