#!/usr/bin/python3
"""test/it/api_compare.py — the normaliser test/it/api_compare.sh runs on each side's answers.

Values one server makes up and the other cannot know are replaced, nothing else:
  - a silence id becomes <silence:COMMENT> (each side's own ids, from its GET /api/v2/silences;
    the script gives every silence a comment of its own);
  - a date-time the script did not post becomes <time> (updatedAt, a silence's start moved
    to now, an alert's endsAt of now + resolve_timeout, an expired silence's end, uptime);
    amtool prints date-times to the second ("2026-12-03 11:22:41 UTC"): the same rule;
  - amtool's warning that its version differs from the server's (alertd's version is its
    own) is dropped.
Fingerprints, states, receivers, labels and array order are kept as they are.

  api_compare.py json SILENCES TIMES < BODY   print BODY normalised (keys sorted), or, when
                                              BODY is not JSON, as text with ids replaced
  api_compare.py text SILENCES TIMES < TEXT   print TEXT (amtool's tables) normalised
  api_compare.py config FW AM                 the two config.original texts: same secrets
                                              hidden at the same places, and every value
                                              alertd shows equal to Alertmanager's (but a
                                              route's matchers, which 0.25 sorts, and a
                                              webhook url, a secret since 0.26: alertd
                                              shows its origin + /<secret>)
"""
import json
import re
import sys
import urllib.parse

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def s_ids(path):
    try:
        with open(path) as f:
            sils = json.load(f)
    except (OSError, ValueError):
        return {}
    return {s["id"]: "<silence:%s>" % s.get("comment", "?") for s in sils if "id" in s}


def s_norm(v, ids, times):
    if isinstance(v, dict):
        return {k: s_norm(v[k], ids, times) for k in v}
    if isinstance(v, list):
        return [s_norm(x, ids, times) for x in v]
    if isinstance(v, str):
        if v in ids:
            return ids[v]
        if TIME.match(v) and v not in times:
            return "<time>"
    return v


AMTOOL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
AMTOOL_WARNING = re.compile(r"^Warning: amtool version \(.*\) and alertmanager version \(.*\) are different\.\n",
                            re.M)


def s_text(text, ids, times=()):
    for k, name in ids.items():
        text = text.replace(k, name)
    if times:
        # amtool's layout (Go's "2006-01-02 15:04:05 MST"), as the script posted them
        kept = set(t[:10] + " " + t[11:19] + " UTC" for t in times)
        text = AMTOOL_TIME.sub(lambda m: m.group(0) if m.group(0) in kept else "<time>".ljust(23), text)
        text = AMTOOL_WARNING.sub("", text)
    return text


def s_leaves(v, path=""):
    if isinstance(v, dict):
        for k in v:
            yield from s_leaves(v[k], path + "." + str(k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from s_leaves(x, "%s[%d]" % (path, i))
    else:
        yield path, v


def s_sort_matchers(route):
    if isinstance(route.get("matchers"), list):
        route["matchers"] = sorted(route["matchers"])
    for r in route.get("routes") or []:
        s_sort_matchers(r)


def s_config(fw_path, am_path):
    import yaml

    fw, am = (yaml.safe_load(open(p)) for p in (fw_path, am_path))
    bad = 0
    for c in (fw, am):  # 0.25 sorts a route's matchers (labels.Matchers): compare them so
        s_sort_matchers(c.get("route") or {})
    am_leaves = dict(s_leaves(am))
    fw_leaves = dict(s_leaves(fw))
    for path, v in fw_leaves.items():
        if re.search(r"webhook_configs\[\d+\]\.url$", path) and path in am_leaves:
            # 0.25 shows the url; 0.26+ hides it whole; alertd keeps its origin (alertd.8)
            u = urllib.parse.urlsplit(am_leaves[path])
            if v != "%s://%s/<secret>" % (u.scheme, u.netloc):
                print("  config.original%s: alertd %r, want %s://%s/<secret>" % (path, v, u.scheme, u.netloc))
                bad += 1
            continue
        if path not in am_leaves:
            print("  config.original%s: alertd shows %r, Alertmanager nothing" % (path, v))
            bad += 1
        elif am_leaves[path] != v and str(am_leaves[path]) != str(v):
            print("  config.original%s: alertd %r, Alertmanager %r" % (path, v, am_leaves[path]))
            bad += 1
    for path, v in am_leaves.items():
        if v == "<secret>" and fw_leaves.get(path) != "<secret>":
            print("  config.original%s: Alertmanager <secret>, alertd %r" % (path, fw_leaves.get(path)))
            bad += 1
    return 1 if bad else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "json":
        ids = s_ids(sys.argv[2])
        with open(sys.argv[3]) as f:
            times = set(line.strip() for line in f if line.strip())
        text = sys.stdin.read()
        try:
            body = json.loads(text)
        except ValueError:
            sys.stdout.write("text: " + s_text(text, ids))
            return 0
        print(json.dumps(s_norm(body, ids, times), sort_keys=True, indent=1))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "text":
        with open(sys.argv[3]) as f:
            times = set(line.strip() for line in f if line.strip())
        sys.stdout.write(s_text(sys.stdin.read(), s_ids(sys.argv[2]), times))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "config":
        return s_config(sys.argv[2], sys.argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
