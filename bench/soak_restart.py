#!/usr/bin/env python3
"""Clients of bench/soak.sh's restart soak (RESTART=1): CONC threads, each one client on a
keep-alive connection, for DUR seconds, reading as front ends do (REST article and listing,
GraphQL article page and sections) and, one request in ten, writing a new draft with an
Idempotency-Key that it keeps until the write is acknowledged (retrying after Retry-After on
a 503, as a client should).

It reports every answer by status, the INTERNAL ones (status 500, or `INTERNAL` as a REST
`code` or a GraphQL `extensions.code`: must be 0), GraphQL answers with errors that are not
a 503, socket errors, the 503s, the longest outage a client saw (from the start of its first
request that failed to the end of its next request that succeeded) and the slowest answer
(a request that waited out the outage for a connection, and then succeeded). The headlines of
acknowledged writes go to ACKED (one a line), for soak.sh to look up in the database.

    BASE=http://127.0.0.1:18091 TOKEN=... SLUGS=a,b DUR=60 CONC=16 ACKED=acked.txt \
        python3 bench/soak_restart.py
"""

import http.client
import json
import os
import threading
import time
import urllib.parse

BASE = urllib.parse.urlsplit(os.environ["BASE"])
TOKEN = os.environ["TOKEN"]
SLUGS = [s for s in os.environ["SLUGS"].split(",") if s]
SECTION = os.environ.get("SECTION", "world")
AUTHOR = os.environ["AUTHOR"]
DUR = float(os.environ.get("DUR", "60"))
CONC = int(os.environ.get("CONC", "16"))
ACKED = os.environ.get("ACKED", "acked.txt")

lock = threading.Lock()
totals = {"answers": 0, "by_status": {}, "internal": 0, "graphql_errors": 0,
          "socket_errors": 0, "unavailable": 0, "writes_acked": 0,
          "longest_outage": 0.0, "slowest": 0.0, "examples": []}
acked = []


def code_of(body):
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            return body["code"]
        errors = body.get("errors") or []
        if errors:
            return (errors[0].get("extensions") or {}).get("code", "")
    return ""


def client(n, stop_at):
    conn = None
    seq = 0
    pending = None  # (headline, key) of a write not yet acknowledged
    outage_from = None
    longest = 0.0
    slowest = 0.0
    local = {"answers": 0, "by_status": {}, "internal": 0, "graphql_errors": 0,
             "socket_errors": 0, "unavailable": 0, "writes_acked": 0}
    while time.monotonic() < stop_at:
        seq += 1
        headers = {"Content-Type": "application/json"}
        write = pending is not None or seq % 10 == 0
        if write:
            if pending is None:
                pending = (f"Soak restart {n}-{seq}", f"\"soak-{n}-{seq}-{os.getpid()}\"")
            headline, key = pending
            method, path = "POST", "/api/v1/articles"
            body = json.dumps({"headline": headline, "section": SECTION, "authors": [AUTHOR],
                               "body": [{"paragraph": {"html": "Written across a restart."}}]})
            headers.update({"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key})
        else:
            slug = SLUGS[seq % len(SLUGS)]
            kind = seq % 4
            if kind == 0:
                method, path, body = "GET", f"/api/v1/articles/{slug}", None
            elif kind == 1:
                method, path, body = "GET", f"/api/v1/articles?section={SECTION}&limit=20", None
            elif kind == 2:
                method, path = "POST", "/graphql"
                body = json.dumps({"query": "query($s: String!) { article(slug: $s) { headline section { name } authors { name } tags { name } } }",
                                   "variables": {"s": slug}})
            else:
                method, path = "POST", "/graphql"
                body = json.dumps({"query": "{ sections { path articles(first: 5) { edges { node { slug headline } } } } }"})
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            raw = res.read()
            status = res.status
            retry_after = res.getheader("Retry-After")
        except (OSError, http.client.HTTPException):
            local["socket_errors"] += 1
            conn = None
            if outage_from is None:
                outage_from = started
            time.sleep(0.1)
            continue
        slowest = max(slowest, time.monotonic() - started)
        local["answers"] += 1
        local["by_status"][status] = local["by_status"].get(status, 0) + 1
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        code = code_of(parsed)
        ok = status in (200, 201) and code == ""
        if status == 500 or code == "INTERNAL":
            local["internal"] += 1
            with lock:
                if len(totals["examples"]) < 5:
                    totals["examples"].append(f"{method} {path}: {status} {raw[:300]!r}")
        elif status == 200 and code:
            local["graphql_errors"] += 1
            with lock:
                if len(totals["examples"]) < 5:
                    totals["examples"].append(f"{method} {path}: {status} {raw[:300]!r}")
        if status == 503:
            local["unavailable"] += 1
        if ok:
            if outage_from is not None:
                longest = max(longest, time.monotonic() - outage_from)
                outage_from = None
            if write:
                local["writes_acked"] += 1
                with lock:
                    acked.append(pending[0])
                pending = None
        else:
            if outage_from is None:
                outage_from = started
            # Writes wait as Retry-After says; reads go on with the next request.
            time.sleep(float(retry_after) if (write and retry_after) else 0.05)
    if outage_from is not None:
        longest = max(longest, time.monotonic() - outage_from)
    with lock:
        for k in ("answers", "internal", "graphql_errors", "socket_errors", "unavailable", "writes_acked"):
            totals[k] += local[k]
        for s, c in local["by_status"].items():
            totals["by_status"][s] = totals["by_status"].get(s, 0) + c
        totals["longest_outage"] = max(totals["longest_outage"], longest)
        totals["slowest"] = max(totals["slowest"], slowest)


def main():
    stop_at = time.monotonic() + DUR
    threads = [threading.Thread(target=client, args=(n, stop_at)) for n in range(CONC)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(ACKED, "w") as f:
        f.write("".join(h + "\n" for h in acked))
    by_status = ", ".join(f"{s}: {c}" for s, c in sorted(totals["by_status"].items()))
    print(f"answers: {totals['answers']} ({by_status}); INTERNAL: {totals['internal']}; "
          f"GraphQL errors without a 503: {totals['graphql_errors']}; socket errors: {totals['socket_errors']}; "
          f"503s: {totals['unavailable']}; writes acknowledged: {totals['writes_acked']}; "
          f"longest outage seen by a client: {totals['longest_outage']:.2f} s; "
          f"slowest answer: {totals['slowest']:.2f} s")
    for e in totals["examples"]:
        print("  e.g.", e)
    bad = totals["internal"] or totals["graphql_errors"] or totals["socket_errors"]
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
