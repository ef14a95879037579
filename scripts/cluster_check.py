#!/usr/bin/env python3
"""The checks of scripts/cluster.sh: two `mlgraph serve` processes on one
SurrealDB server (ws://), run and restarted by this script.

1. A write through server A (a new dataset, and an edge with a column
   mapping from an existing dataset to it) must show on server B in search,
   on its asset page, in its lineage and in an impact answer, within 2 s.
2. Server A is killed (SIGKILL) and restarted while clients post OpenLineage
   events to it; every event A acknowledged (201) must be in the store
   afterwards, as seen from B.

Prints what it measured and exits non-zero when a check fails.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


def call(base, method, path, body=None, token=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, raw
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def quote(asset_id):
    return urllib.parse.quote(asset_id, safe="")


class Server:
    """One `mlgraph serve` on the shared store."""

    def __init__(self, binary, db, port, token, log):
        self.binary, self.db, self.port, self.token = binary, db, port, token
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc = None

    def start(self):
        env = dict(os.environ, MLGRAPH_ADMIN_TOKEN=self.token)
        out = open(self.log, "a")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--db", self.db, "--addr", f"127.0.0.1:{self.port}", "--demo", "0"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
        started = time.time()
        while time.time() - started < 120:
            if self.proc.poll() is not None:
                sys.exit(f"server on {self.port} exited at start; see {self.log}")
            try:
                if call(self.base, "GET", "/api/v1/assets?limit=1", timeout=2)[0] == 200:
                    return time.time() - started
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit(f"server on {self.port} did not answer in 120 s; see {self.log}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def visible_on(b, probe, upstream, column):
    """Which of search, page, lineage and impact on server `b` show `probe`."""
    seen = {}
    status, raw = call(b.base, "GET", "/api/v1/assets?q=" + urllib.parse.quote(probe["name"]) + "&limit=5")
    seen["search"] = status == 200 and any(i["id"] == probe["id"] for i in json.loads(raw)["items"])
    status, raw = call(b.base, "GET", "/asset?id=" + quote(probe["id"]))
    seen["page"] = status == 200 and probe["name"].encode() in raw
    status, raw = call(b.base, "GET", "/api/v1/lineage/" + quote(probe["id"]) + "?direction=upstream&depth=1")
    seen["lineage"] = status == 200 and any(n["id"] == upstream for n in json.loads(raw)["nodes"])
    body = {"dataset": upstream, "changes": [{"op": "drop", "column": column}]}
    status, raw = call(b.base, "POST", "/api/v1/impact?limit=10000", body)
    seen["impact"] = status == 200 and any(a["id"] == probe["id"] for a in json.loads(raw)["affected"])
    return seen


def check_writes(a, b, rounds):
    status, raw = call(a.base, "GET", "/api/v1/assets?kind=dataset&limit=50")
    datasets = [d for d in json.loads(raw)["items"] if d.get("schema")]
    if not datasets:
        sys.exit("the store has no dataset with a schema to draw an edge from")
    upstream = datasets[0]["id"]
    column = datasets[0]["schema"][0]["name"]
    times = []
    for r in range(rounds):
        name = f"cluster_probe_{uuid.uuid4().hex[:10]}"
        probe = {"id": f"dataset:cluster:{name}", "name": name}
        asset = {"kind": "dataset", "namespace": "cluster", "name": name,
                 "schema": [{"name": "value", "type": "bigint", "nullable": True}], "owners": ["cluster-check"]}
        status, raw = call(a.base, "PUT", "/api/v1/assets/" + quote(probe["id"]), asset, a.token)
        if status not in (200, 201):
            sys.exit(f"PUT asset on A: {status} {raw[:300]!r}")
        probe["id"] = json.loads(raw)["id"]
        edge = {"from": upstream, "to": probe["id"], "kind": "derives",
                "columns": [{"from": column, "to": "value"}]}
        status, raw = call(a.base, "POST", "/api/v1/edges", edge, a.token)
        if status != 201:
            sys.exit(f"POST edge on A: {status} {raw[:300]!r}")
        written = time.time()
        seen = {}
        while time.time() - written < 10:
            seen = visible_on(b, probe, upstream, column)
            if all(seen.values()):
                break
            time.sleep(0.05)
        took = time.time() - written
        times.append(took)
        print(f"  write {r + 1}: on B after {took * 1000:.0f} ms ({', '.join(k for k, v in seen.items() if v)})")
        if not all(seen.values()):
            return False, times
    return max(times) <= 2.0, times


def event(i, run):
    return {
        "eventType": "COMPLETE",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "run": {"runId": run},
        "job": {"namespace": "cluster", "name": f"job_{i % 50}"},
        "inputs": [{"namespace": "cluster", "name": f"in_{i % 50}"}],
        "outputs": [{"namespace": "cluster", "name": f"out_{i}"}],
        "producer": "https://github.com/mlgraph/mlgraph/scripts/cluster_check.py",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def check_restart(a, b, clients, seconds_before, seconds_after):
    acked, failed = [], [0]
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**9))

    def post():
        while not stop.is_set():
            with lock:
                i = next(counter)
            try:
                status, _ = call(a.base, "POST", "/api/v1/lineage", event(i, str(uuid.uuid4())), a.token, timeout=10)
            except OSError:
                status = None
            with lock:
                if status == 201:
                    acked.append(i)
                else:
                    failed[0] += 1
            if status != 201:
                time.sleep(0.05)

    threads = [threading.Thread(target=post) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds_before)
    before = len(acked)
    a.kill()
    killed = time.time()
    restart = a.start()
    print(f"  A killed after {before} acknowledged events; back in {time.time() - killed:.2f} s "
          f"(start {restart:.2f} s)")
    time.sleep(seconds_after)
    stop.set()
    for t in threads:
        t.join()
    print(f"  {len(acked)} events acknowledged, {failed[0]} refused or cut off while A was down")
    # Every acknowledged event's output must be in the store, seen from B.
    deadline = time.time() + 30
    missing = list(acked)
    while missing and time.time() < deadline:
        missing = [i for i in missing
                   if call(b.base, "GET", "/api/v1/assets/" + quote(f"dataset:cluster:out_{i}"))[0] != 200]
        if missing:
            time.sleep(0.5)
    print(f"  lost: {len(missing)} of {len(acked)} acknowledged events")
    return not missing and len(acked) > before


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mlgraph", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--ports", default="3101,3102")
    p.add_argument("--token", default="cluster-" + uuid.uuid4().hex)
    p.add_argument("--logs", default=".")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    args = p.parse_args()
    pa, pb = (int(x) for x in args.ports.split(","))
    a = Server(args.mlgraph, args.db, pa, args.token, os.path.join(args.logs, "mlgraph-a.log"))
    b = Server(args.mlgraph, args.db, pb, args.token, os.path.join(args.logs, "mlgraph-b.log"))
    ok = True
    try:
        print(f"server A on :{pa} started in {a.start():.2f} s; server B on :{pb} in {b.start():.2f} s")
        print(f"writes through A, read on B (search, page, lineage, impact), {args.rounds} rounds:")
        good, times = check_writes(a, b, args.rounds)
        print(f"  worst {max(times) * 1000:.0f} ms (target 2,000 ms): {'met' if good else 'MISSED'}")
        ok &= good
        print(f"A killed and restarted while {args.clients} clients post OpenLineage events to it:")
        good = check_restart(a, b, args.clients, 3.0, 3.0)
        print(f"  {'nothing acknowledged was lost' if good else 'FAILED'}")
        ok &= good
    finally:
        a.stop()
        b.stop()
    print("cluster check: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
