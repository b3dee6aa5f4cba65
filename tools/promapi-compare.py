#!/usr/bin/env python3
"""promapi-compare.py: ask two Prometheus-compatible HTTP APIs on loopback the same requests
and compare the answers field by field: the HTTP status, then the JSON (status, errorType,
data, warnings), with floats in query answers equal within a relative tolerance.

  promapi-compare.py --a URL --b URL --cases FILE [--rel 1e-9] [--quiet]

--a is the reference (Prometheus), --b the one tested (tsdb). FILE holds one case a line:

  NAME | MODE | METHOD PATH?QUERY [| FORM-BODY]

METHOD is GET or POST (the form body is sent as application/x-www-form-urlencoded, as
promtool and Grafana send it). MODE says what must be equal:

  exact       status, and the whole JSON answer
  data        status and "data" (warnings may differ)
  set         status and "data", each list taken as a set (Prometheus builds some from Go
              maps, in no order: metadata's entries of one metric)
  error       status and errorType (the texts differ between Prometheus versions)
  error-text  status, errorType and error
  limit:N     b's data is a's first N items (a ignores limit, as Prometheus 2.42 does),
              and b warns "results truncated due to limit" exactly when a has more
  stats       status, data.result, the keys of data.stats.timings (each process's own
              times) and data.stats.samples whole (totalQueryableSamples, peakSamples)
  keys        status and the set of keys of "data" (an object whose values are this
              process's own: flags, runtimeinfo, buildinfo)

Prints one line per case ("same NAME" or "DIFF NAME: why") and exits 1 when any differs.
Standard library only; every request has a timeout.
"""
import argparse
import json
import math
import sys
import urllib.error
import urllib.parse
import urllib.request

TRUNC = "results truncated due to limit"


def load(path):
    cases = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            name, mode, req = parts[0], parts[1], parts[2]
            form = parts[3] if len(parts) > 3 else None
            method, path = req.split(" ", 1)
            cases.append((name, mode, method, path, form))
    return cases


def fetch(base, method, path, form):
    data = form.encode() if method == "POST" else None
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}
    req = urllib.request.Request(base + path, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, body.decode(errors="replace")


def close(x, y, rel):
    if x == y:
        return True
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError):
        return False
    if math.isnan(fx) and math.isnan(fy):
        return True
    if math.isinf(fx) or math.isinf(fy):
        return fx == fy
    return abs(fx - fy) <= rel * max(abs(fx), abs(fy)) + 1e-300


def same(a, b, rel, where="data"):
    """None when a and b are equal (sample values as numbers within rel), else why."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return "%s: keys %s vs %s" % (where, sorted(a), sorted(b))
        for k in sorted(a):
            why = same(a[k], b[k], rel, "%s.%s" % (where, k))
            if why:
                return why
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s: %d vs %d items (%s vs %s)" % (where, len(a), len(b), a[:3], b[:3])
        for i, (x, y) in enumerate(zip(a, b)):
            why = same(x, y, rel, "%s[%d]" % (where, i))
            if why:
                return why
        return None
    if isinstance(a, str) and isinstance(b, str) and where.endswith(("]", "value")):
        return None if close(a, b, rel) else "%s: %r vs %r" % (where, a, b)
    return None if a == b else "%s: %r vs %r" % (where, a, b)


def as_sets(v):
    """v with every list sorted, so that lists compare as sets."""
    if isinstance(v, dict):
        return {k: as_sets(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((as_sets(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    return v


def compare(mode, ra, rb, rel):
    (sa, ja), (sb, jb) = ra, rb
    if sa != sb:
        return "HTTP %s vs %s (%s vs %s)" % (sa, sb, str(ja)[:200], str(jb)[:200])
    if not isinstance(ja, dict) or not isinstance(jb, dict):
        return None if ja == jb else "bodies differ: %r vs %r" % (str(ja)[:200], str(jb)[:200])
    if mode == "exact":
        return same(ja, jb, rel, "answer")
    if mode == "data":
        return same(ja.get("data"), jb.get("data"), rel)
    if mode == "stats":
        da, db = ja.get("data") or {}, jb.get("data") or {}
        why = same(da.get("result"), db.get("result"), rel, "data.result")
        if why:
            return why
        sa, sb = da.get("stats") or {}, db.get("stats") or {}
        for part in ("timings", "samples"):
            ka, kb = sorted(sa.get(part) or {}), sorted(sb.get(part) or {})
            if ka != kb or not ka:
                return "stats.%s keys %s vs %s" % (part, ka, kb)
        if sa["samples"] != sb["samples"]:
            return "stats.samples %s vs %s" % (json.dumps(sa["samples"], sort_keys=True),
                                               json.dumps(sb["samples"], sort_keys=True))
        return None
    if mode == "set":
        return same(as_sets(ja.get("data")), as_sets(jb.get("data")), rel)
    if mode in ("error", "error-text"):
        if ja.get("errorType") != jb.get("errorType"):
            return "errorType %r vs %r (%r vs %r)" % (ja.get("errorType"), jb.get("errorType"),
                                                    ja.get("error"), jb.get("error"))
        if mode == "error-text" and ja.get("error") != jb.get("error"):
            return "error %r vs %r" % (ja.get("error"), jb.get("error"))
        return None
    if mode.startswith("limit:"):
        n = int(mode.split(":", 1)[1])
        da, db = ja.get("data"), jb.get("data")
        why = same(da[:n], db, rel)
        if why:
            return why
        warned = TRUNC in (jb.get("warnings") or [])
        if warned != (len(da) > n):
            return "warning %s with %d items in a, limit %d" % (warned, len(da), n)
        return None
    if mode == "keys":
        ka, kb = sorted((ja.get("data") or {}).keys()), sorted((jb.get("data") or {}).keys())
        return None if ka == kb else "keys differ: only a %s, only b %s" % (
            sorted(set(ka) - set(kb)), sorted(set(kb) - set(ka)))
    return "unknown mode %s" % mode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--rel", type=float, default=1e-9)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    for u in (a.a, a.b):
        host = urllib.parse.urlparse(u).hostname or ""
        if not (host.startswith("127.") or host == "localhost"):
            sys.exit("refusing non-loopback url %s" % u)
    cases = load(a.cases)
    bad = 0
    for name, mode, method, path, form in cases:
        try:
            why = compare(mode, fetch(a.a, method, path, form), fetch(a.b, method, path, form),
                          a.rel)
        except Exception as e:  # report and go on with the next case
            why = "failed: %s" % e
        if why:
            bad += 1
            print("DIFF %s: %s" % (name, why))
        elif not a.quiet:
            print("same %s" % name)
    print("promapi-compare: %d of %d cases differ" % (bad, len(cases)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
