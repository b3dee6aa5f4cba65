#!/usr/bin/python3
"""receivers_compare.py FW.jsonl AM.jsonl WHAT [options] — the side-by-side comparison of the
receiver scripts (test/it/receivers_*.sh, through rx_compare in receivers_lib.sh): the
requests floorwatch's capture server recorded (FW.jsonl) against those Alertmanager's
recorded (AM.jsonl), the nth request to each path on one side against the nth on the other,
bodies field by field (nested objects and lists too), and the headers named. Prints each
difference and a count; exits 1 when any differs or the number compared is not the one wanted.

Options (the scripts' data: which paths, which headers, how many):
  --only PREFIX     compare only paths starting with PREFIX (repeatable; default all)
  --skip TEXT       leave out paths holding TEXT (repeatable)
  --by-method       key the requests by method and path (default: path)
  --header NAME     compare this header too (repeatable; default Content-Type)
  --status CODE     every compared request must have been answered CODE on both sides
  --want N          exactly N requests must be compared (default: at least one)
"""
import argparse
import json
import sys


def load(path, args):
    out = {}
    for line in open(path):
        r = json.loads(line)
        p = r["path"]
        if args.only and not p.startswith(tuple(args.only)):
            continue
        if any(t in p for t in args.skip):
            continue
        out.setdefault((r["method"], p) if args.by_method else p, []).append(r)
    return out


def diff(a, b, at, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{at}.{k}: missing in floorwatch (Alertmanager: {b[k]!r})")
            elif k not in b:
                out.append(f"{at}.{k}: only in floorwatch ({a[k]!r})")
            else:
                diff(a[k], b[k], f"{at}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{at}[{i}]", out)
    elif a != b:
        out.append(f"{at}: floorwatch {a!r} != Alertmanager {b!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fw")
    ap.add_argument("am")
    ap.add_argument("what")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--by-method", action="store_true")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--status", type=int)
    ap.add_argument("--want", type=int)
    args = ap.parse_args()
    headers = args.header or ["Content-Type"]
    fw, am = load(args.fw, args), load(args.am, args)
    bad, n = [], 0
    for key in sorted(set(fw) | set(am)):
        f, m = fw.get(key, []), am.get(key, [])
        if len(f) != len(m):
            bad.append(f"{key}: floorwatch {len(f)} requests, Alertmanager {len(m)}")
            continue
        for i, (x, y) in enumerate(zip(f, m)):
            n += 1
            diff(x["body"], y["body"], f"{key}#{i}", bad)
            for h in headers:
                if x["headers"].get(h) != y["headers"].get(h):
                    bad.append(f"{key}#{i} header {h}: "
                               f"{x['headers'].get(h)} != {y['headers'].get(h)}")
            if args.status is not None and (x["status"], y["status"]) != (args.status, args.status):
                bad.append(f"{key}#{i}: status {x['status']}/{y['status']}, want {args.status}")
    for b in bad:
        print("  diff:", b)
    print(f"  {n} {args.what} requests compared, {len(bad)} differences; {len(fw)} "
          f"{'method+path pairs' if args.by_method else 'paths'}: {sorted(fw)}")
    ok = n == args.want if args.want is not None else n > 0
    sys.exit(1 if bad or not ok else 0)


if __name__ == "__main__":
    main()
