#!/usr/bin/env python3
"""promql-compare.py: run the same PromQL queries against two Prometheus-compatible query
APIs on loopback and check that the answers are the same: the same series (label sets) and,
per series, the same timestamps and values, equal as numbers within a relative tolerance
(floating-point formatting and summation order may differ in the last digits; NaN equals
NaN). topk and bottomk pick any of the series tied at the cut (Prometheus leaves the choice
to its heap), so for them each step's values are compared as a sorted list instead.

  promql-compare.py --a URL --b URL --start S --end E --queries FILE [--rel 1e-9] [--quiet]

FILE holds lines "NAME | instant | EXPR" (evaluated at END) or "NAME | range:STEP | EXPR"
(START..END every STEP seconds), as ../shared/bench/queries.txt. Prints one line per query
("same NAME: N series, M points" or "DIFF NAME: why") and exits 1 when any differs or fails.
Standard library only; every request has a timeout.
"""
import argparse
import json
import math
import sys
import urllib.parse
import urllib.request


def load(path):
    qs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, kind, expr = [p.strip() for p in line.split("|", 2)]
            qs.append((name, kind, expr))
    return qs


def query(url, kind, expr, start, end):
    if kind == "instant":
        q, path = {"query": expr, "time": "%.3f" % end}, "/api/v1/query"
    else:
        q = {"query": expr, "start": "%.3f" % start, "end": "%.3f" % end,
             "step": kind.split(":", 1)[1]}
        path = "/api/v1/query_range"
    req = urllib.request.Request(url + path, data=urllib.parse.urlencode(q).encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=120) as r:
        js = json.loads(r.read())
    if js.get("status") != "success":
        raise RuntimeError("%s: %s" % (js.get("errorType"), js.get("error")))
    return js["data"]


def points(data):
    """{labels-json: [(t, value-string), ...]} for any result type."""
    rt, res = data["resultType"], data["result"]
    if rt in ("scalar", "string"):
        return {"{}": [(float(res[0]), res[1])]}
    out = {}
    for s in res:
        key = json.dumps(s.get("metric", {}), sort_keys=True)
        vals = s["values"] if rt == "matrix" else [s["value"]]
        out[key] = [(float(t), v) for t, v in vals]
    return out


def close(a, b, rel):
    if a == b:
        return True
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= rel * max(abs(fa), abs(fb)) + 1e-300


def by_step(p):
    steps = {}
    for vals in p.values():
        for t, v in vals:
            steps.setdefault(t, []).append(float(v))
    return {t: sorted(vs) for t, vs in steps.items()}


def compare_ties(pa, pb, rel):
    sa, sb = by_step(pa), by_step(pb)
    if sorted(sa) != sorted(sb):
        return "steps differ: %d vs %d" % (len(sa), len(sb))
    for t in sorted(sa):
        if len(sa[t]) != len(sb[t]) or not all(close(x, y, rel) for x, y in zip(sa[t], sb[t])):
            return "values at %s differ: %s vs %s" % (t, sa[t], sb[t])
    return None


def compare(pa, pb, rel):
    if set(pa) != set(pb):
        only_a, only_b = sorted(set(pa) - set(pb)), sorted(set(pb) - set(pa))
        return "series differ: %d only in a (%s), %d only in b (%s)" % (
            len(only_a), only_a[:1], len(only_b), only_b[:1])
    for k in sorted(pa):
        va, vb = pa[k], pb[k]
        if [t for t, _ in va] != [t for t, _ in vb]:
            return "timestamps differ for %s: %d vs %d points" % (k, len(va), len(vb))
        for (t, x), (_, y) in zip(va, vb):
            if not close(x, y, rel):
                return "value differs for %s at %s: %s vs %s" % (k, t, x, y)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--rel", type=float, default=1e-9)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    for u in (a.a, a.b):
        host = urllib.parse.urlparse(u).hostname or ""
        if not (host.startswith("127.") or host == "localhost"):
            sys.exit("refusing non-loopback url %s" % u)
    bad = 0
    for name, kind, expr in load(a.queries):
        try:
            pa = points(query(a.a, kind, expr, a.start, a.end))
            pb = points(query(a.b, kind, expr, a.start, a.end))
            ties = expr.lstrip().startswith(("topk", "bottomk"))
            why = (compare_ties if ties else compare)(pa, pb, a.rel)
        except Exception as e:  # report and go on with the next query
            why = "failed: %s" % e
        if why:
            bad += 1
            print("DIFF %s: %s" % (name, why))
        elif not a.quiet:
            print("same %s: %d series, %d points" % (name, len(pa), sum(len(v) for v in pa.values())))
    print("promql-compare: %d of %d queries differ" % (bad, len(load(a.queries))))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
