#!/usr/bin/env python3
"""bench-rollups.py: time range queries on one tsdb with and without its rollups.

  bench-rollups.py --url URL --pid PID --start S --end E --queries FILE [--runs N]

FILE holds lines "NAME | range:STEP | EXPR" (START..END every STEP seconds). Each query is
asked with rollups=false (raw samples only) and with rollups (the default), one warm-up and
then --runs timed runs each, one mode after the other; for each mode the median wall time
and the tsdb process's CPU time per run (user + sys from /proc/PID/stat around the runs)
are printed, with the answers compared byte for byte (the "data" of the JSON). Prints one
tab-separated row per query and exits 1 when an answer differs or a request fails.
Standard library only; every request has a timeout; loopback URLs only.
"""
import argparse
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(rest[11]) + int(rest[12])) / tck


def ask(url, expr, start, end, step, raw):
    q = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
    if raw:
        q["rollups"] = "false"
    data = urllib.parse.urlencode(q).encode()
    t0 = time.monotonic()
    with urllib.request.urlopen(url + "/api/v1/query_range", data=data, timeout=300) as r:
        body = r.read()
    return time.monotonic() - t0, body


def data_of(body):
    # the answer without the stats or warnings around it: "data":{...} up to the end
    i = body.find(b'"data":')
    return body[i:] if i >= 0 else body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if not a.url.startswith("http://127."):
        sys.exit("loopback URLs only")
    bad = 0
    print("query\tseries\tpoints\traw_ms\trollup_ms\tratio\traw_cpu_ms\trollup_cpu_ms\tcpu_ratio\tanswers")
    for line in open(a.queries):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, kind, expr = [p.strip() for p in line.split("|", 2)]
        step = int(kind.split(":", 1)[1])
        res = {}
        try:
            for raw in (True, False):
                _, body = ask(a.url, expr, a.start, a.end, step, raw)  # warm-up
                c0 = cpu_s(a.pid)
                walls = []
                for _ in range(a.runs):
                    w, body = ask(a.url, expr, a.start, a.end, step, raw)
                    walls.append(w)
                c1 = cpu_s(a.pid)
                res[raw] = (statistics.median(walls) * 1000, (c1 - c0) * 1000 / a.runs, body)
        except Exception as e:  # a failed request is a failed row
            print("%s\tFAILED: %s" % (name, e))
            bad += 1
            continue
        same = data_of(res[True][2]) == data_of(res[False][2])
        bad += not same
        body = res[False][2]
        series, points = body.count(b'"metric"'), body.count(b'],[') + body.count(b'"metric"')
        rw, rc = res[True][0], res[True][1]
        ow, oc = res[False][0], res[False][1]
        print("%s\t%d\t%d\t%.1f\t%.1f\t%.1fx\t%.0f\t%.0f\t%s\t%s" % (
            name, series, points, rw, ow, rw / ow if ow > 0 else 0, rc, oc,
            "%.1fx" % (rc / oc) if oc > 0 else "n/a", "equal" if same else "DIFFER"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
