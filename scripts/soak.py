#!/usr/bin/env python3
"""A mixed load against a running mlgraph, at a fixed rate, for a fixed
time: search, asset pages, the lineage explorer, lineage reads, OpenLineage
ingestion and simulations. Every minute it prints a Markdown table row:
requests, throughput, p50/p99 latency, errors (5xx, connection failures or
an unexpected status) and the server's resident memory.

Only loopback or the given URL is contacted; the run stops by itself.
"""

import argparse
import http.client
import json
import queue
import random
import threading
import time
import urllib.parse


def rss_mb(pid, field="VmRSS"):
    """A memory figure of /proc/PID/status in MB: VmRSS (all resident
    memory), RssAnon (the heap and other private memory) or RssFile
    (mapped files' pages, such as the search index's segments)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def pct(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, int(round(p * (len(sorted_values) - 1))))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:3000")
    ap.add_argument("--token", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rps", type=float, default=200)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--datasets", type=int, default=5000,
                    help="distinct output datasets the events name (the catalog grows by up to this many)")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    assert u.hostname in ("127.0.0.1", "localhost", "::1"), "the soak only targets loopback"

    def conn():
        return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)

    # Ids and words to ask for, from the catalog itself.
    c = conn()
    c.request("GET", "/api/v1/assets?limit=1000")
    items = json.loads(c.getresponse().read())["items"]
    c.close()
    ids = [a["id"] for a in items]
    words = sorted({w for a in items for w in a["name"].replace(".", "_").split("_") if len(w) > 2}) or ["member"]
    auth = {"authorization": f"Bearer {args.token}", "content-type": "application/json"}

    def enc(s):
        return urllib.parse.quote(s, safe="")

    def request(rng, n):
        r = rng.random()
        if r < 0.40:
            return "search", "GET", f"/api/v1/assets?q={enc(rng.choice(words))}&limit=25", None, {}
        if r < 0.55:
            return "asset page", "GET", f"/asset?id={enc(enc(rng.choice(ids)))}", None, {}
        if r < 0.60:
            return "graph page", "GET", f"/graph?id={enc(enc(rng.choice(ids)))}", None, {}
        if r < 0.75:
            return "lineage", "GET", f"/api/v1/lineage/{enc(rng.choice(ids))}?depth=3&limit=500", None, {}
        if r < 0.95:
            ev = {
                "eventType": "COMPLETE",
                "eventTime": "2026-12-04T12:00:00Z",
                "producer": "https://example.com/soak",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": f"0190c9b2-6f6e-7cd1-a1f5-{n:012x}"},
                "job": {"namespace": "soak", "name": f"job_{n % 200}"},
                "inputs": [{"namespace": "soak", "name": f"in_{n % max(1, args.datasets // 5)}"}],
                "outputs": [{"namespace": "soak", "name": f"out_{n % args.datasets}"}],
            }
            return "ingest", "POST", "/api/v1/lineage", json.dumps(ev), auth
        body = {
            "policy": {"min_replicas": 1, "max_replicas": 50, "load_balancer": "power-of-two"},
            "traffic": {"kind": "constant", "qps": 2000.0},
            "duration_s": 10.0,
            "seed": n,
        }
        return "simulate", "POST", "/api/v1/simulate", json.dumps(body), auth

    expected = {"search": 200, "asset page": 200, "graph page": 200, "lineage": 200, "ingest": 201, "simulate": 200}

    jobs = queue.Queue()
    results = []  # (minute, kind, latency_ms, ok)
    limited = [0]  # simulations refused by the per-caller limit, then retried
    lock = threading.Lock()
    start = time.monotonic()
    end = start + args.minutes * 60

    def worker(seed):
        rng = random.Random(seed)
        c = conn()
        while True:
            item = jobs.get()
            if item is None:
                return
            n, due = item
            kind, method, path, body, headers = request(rng, n)
            t0 = time.monotonic()
            ok = False
            attempt = 0
            while attempt < 8:
                attempt += 1
                try:
                    c.request(method, path, body=body, headers=headers)
                    resp = c.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    c.close()
                    c = conn()
                    if attempt >= 2:
                        break
                    continue
                # The soak is one caller, and a caller may have two
                # simulations under way: a third is refused with 429 and,
                # as the Scaling tab's user would, tried again shortly.
                if kind == "simulate" and resp.status == 429:
                    with lock:
                        limited[0] += 1
                    time.sleep(0.05)
                    continue
                ok = resp.status == expected[kind]
                if not ok:
                    print(f"unexpected {resp.status} for {kind} {path}", flush=True)
                break
            else:
                print(f"{kind} {path}: still 429 after {attempt} tries", flush=True)
            # Latency counts from when the request was due, so a server
            # that falls behind shows it.
            latency = (time.monotonic() - due) * 1000
            with lock:
                results.append((int((due - start) // 60), kind, latency, ok))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    for t in threads:
        t.start()

    print("| minute | requests | req/s | p50 ms | p99 ms | errors | RSS MB | anon MB | file MB |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    interval = 1.0 / args.rps
    n = 0
    next_due = start
    reported = 0
    rss_first = None
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while next_due <= now:
            jobs.put((n, next_due))
            n += 1
            next_due += interval
        minute = int((now - start) // 60)
        if minute > reported:
            with lock:
                rows = [r for r in results if r[0] == reported]
            lat = sorted(r[2] for r in rows)
            errors = sum(1 for r in rows if not r[3])
            rss = rss_mb(args.pid)
            if reported == 4:
                rss_first = rss
            anon, mapped = rss_mb(args.pid, "RssAnon"), rss_mb(args.pid, "RssFile")
            print(f"| {reported + 1} | {len(rows)} | {len(rows) / 60:.0f} | {pct(lat, 0.5):.1f} | {pct(lat, 0.99):.1f} | {errors} | {rss:.0f} | {anon:.0f} | {mapped:.0f} |", flush=True)
            reported += 1
        time.sleep(min(interval, 0.005))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=60)
    lat = sorted(r[2] for r in results)
    errors = sum(1 for r in results if not r[3])
    rss = rss_mb(args.pid)
    by_kind = {}
    for r in results:
        by_kind.setdefault(r[1], []).append(r[2])
    print()
    print(f"total: {len(results)} requests in {args.minutes:g} min, {len(results) / (args.minutes * 60):.0f} req/s, "
          f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, {errors} errors, RSS {rss:.0f} MB"
          + (f" ({(rss / rss_first - 1) * 100:+.1f}% since minute 5)" if rss_first else ""))
    if limited[0]:
        print(f"  simulate: {limited[0]} refused with 429 (two under way for this caller) and tried again")
    for kind, values in sorted(by_kind.items()):
        values.sort()
        print(f"  {kind}: {len(values)} requests, p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
