#!/usr/bin/env python3
"""promql.py — run the upstream PromQL test scripts against a real tsdb.

Purpose: measure how much of upstream Prometheus' PromQL behaviour floorwatch's tsdb
reproduces, and stop `make check` when that figure regresses. The suite is the
promqltest/testdata/*.test files under $SHARED/conformance/promql (format described in
$SHARED/conformance/README.md, section 1); the result is "N of M evals pass", where M is
the count of eval statements from promql-eval-counts.tsv.

Design: each .test file is parsed into a list of commands (load / clear / eval). A file is
run by one worker against its own tsdb process ($BUILD/bin/tsdb on free loopback ports,
LMDB directory inside one mktemp directory). `load` blocks are turned into exposition
lines with explicit millisecond timestamps (and `st@<ms>`, the start time an `@st` line
gives a sample, as upstream's promqltest adds its offset to the sample's time) and pushed
with $BUILD/bin/fwpush; the worker
then polls tsdb's /metrics until fw_tsdb_samples_appended_total shows every sample
committed. `clear` stops the tsdb (SIGTERM to its PID, bounded wait) and the next command
starts a fresh one on an empty directory. Every `eval` goes through the Prometheus HTTP API
(/api/v1/query, /api/v1/query_range) and is compared as upstream's promqltest does: set of
label sets, floats "almost equal" (relative 1e-6), range results sorted, expected errors
(with msg:/regex:), expected warn/info annotations, `expect ordered`, `expect string`,
`expect range vector`. Instant evals also get upstream's range-mode check (the expression
evaluated as a range query from t-1m to t+1m step 1m must give the same result at t).
Upstream's step-invariance check (rewriting selectors with `@ t` and re-evaluating at
other times) is not done; the summary says so.

Honesty rules: anything that cannot be run — an unparsable statement, or an eval whose
data could not be loaded (native histograms, load_with_nhcb conversions, names fwpush
cannot express) — counts as failing with reason "not run: ...". Such data is
left out series by series, and an eval runs only when none of its selectors can match a
series left out (promql_lang.selectors; when a query cannot be read, it does not run):
a PromQL answer depends only on the series its selectors match. tsdb runs with
--enable-feature=promql-delayed-name-removal, as upstream's test engine does. Files are
spread over two workers (two tsdb processes) to keep the run short on 2 cores; the whole
run has a time budget after which remaining evals count as "not run: time budget".
The failure list shows evals that ran and failed before those that were not run.

Known failures: test/conformance/promql-known-failures.txt lists every eval that does not
pass, one a line ("file:line<TAB>reason"). A full run fails when an eval that is not on the
list fails (a regression) and when one on the list passes (the list is stale: remove it), so
the list only shrinks. --update-known rewrites the list without the evals that now pass;
it refuses to add failures unless --add is given too (for a new upstream suite).

Usage: BUILD=build SHARED=../shared python3 test/conformance/promql.py [-v]
           [--update-known [--add]] [file.test ...]
Exit status: 0 ok (or suite absent: skipped), 1 a regression, a stale list entry or a
harness failure.
"""

import concurrent.futures
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from promql_lang import (STALE, STR_RE, NotRunnable, expand_st, expand_values, fmt_labels,
                         is_scalar_line,
                         label_key, may_select, parse_duration_ms, parse_scalar_line,
                         selftest, split_series, unquote)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KNOWN_FILE = os.path.join(HERE, "promql-known-failures.txt")

TIME_BUDGET_S = 270.0   # whole run; leaves room under the 5-minute target
HTTP_TIMEOUT_S = 10.0   # one API request
READY_TRIES = 200       # x 0.05 s waiting for /-/ready
COMMIT_TRIES = 400      # x 0.025 s waiting for a pushed load to be committed
WORKERS = 2
FAIL_LIST_CAP = 60

DBL_MIN = 2.2250738585072014e-308
DBL_MAX = sys.float_info.max

# Functions whose presence disables upstream's range-mode check.
RANGE_MODE_SKIP_RE = re.compile(r"\b(start|end|range|step)\s*\(")
LEGACY_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LEGACY_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# ---------------------------------------------------------------------------------------
# Test files -> commands

class Load:
    def __init__(self, lineno):
        self.lineno = lineno
        self.lines = []       # exposition lines for fwpush
        self.unloadable = {}  # label key of a series not loaded (or "*": none) -> why


class Clear:
    def __init__(self, lineno):
        self.lineno = lineno


class Eval:
    def __init__(self, lineno, head):
        self.lineno = lineno
        self.head = head
        self.query = head
        self.range = False
        self.problem = None        # set: not runnable, with the reason
        self.expect_fail = False
        self.fail_msg = None
        self.fail_re = None
        self.warn, self.info = [], []   # ("any"|"msg"|"regex", text)
        self.no_warn = self.no_info = False
        self.need_warn = self.need_info = False
        self.ordered = False
        self.rv = None             # expect range vector (start, end, step) in ms
        self.string = None
        self.scalar = None
        self.series = []           # (label key, [values]) expected
        self.has_hist = False


def _fmt_value(v):
    if v is STALE:
        return "stale"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _parse_load(lineno, head, body):
    ld = Load(lineno)
    words = head.split()
    if len(words) != 2:
        raise NotRunnable("bad load line")
    step = parse_duration_ms(words[1])
    nhcb = words[0] == "load_with_nhcb"
    if words[0] not in ("load", "load_with_nhcb"):
        raise NotRunnable("unknown command %s" % words[0])
    by_series = {}
    pending = None   # an @st line's (labels, start time offsets), for the next line
    for ln, text in body:
        labels = None
        try:
            head = text.split()[0] if text.split() else ""
            if head.endswith("@st"):
                # upstream's isSTLine: the series' start times, for the sample line after it
                if pending is not None:
                    raise NotRunnable("@st line has no following sample line")
                labels, rest = split_series(text.replace("@st", "", 1))
                pending = (labels, expand_st(rest))
                continue
            labels, rest = split_series(text)
            st, pending = pending, None
            if st is not None and st[0] != labels:
                raise NotRunnable("@st metric does not match the following sample line")
            name = labels.get("__name__", "")
            if not LEGACY_NAME_RE.match(name) or \
                    not all(LEGACY_LABEL_RE.match(k) for k in labels if k != "__name__"):
                raise NotRunnable("UTF-8 metric/label name fwpush cannot send")
            values = expand_values(rest)
            if st is not None and len(st[1]) != len(values):
                raise NotRunnable("@st line has %d values but sample line has %d"
                                  % (len(st[1]), len(values)))
        except NotRunnable as e:
            # the series, when its labels could be read; else nothing of this load counts
            ld.unloadable[label_key(labels) if labels is not None else "*"] = \
                "%s (line %d)" % (e, ln)
            continue
        # a repeated series replaces the earlier
        by_series[label_key(labels)] = (values, st[1] if st is not None else None)
        if nhcb:
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if base != name:   # the native histogram the classic one is converted to
                nh = {k: v for k, v in labels.items() if k != "le"}
                nh["__name__"] = base
                ld.unloadable[label_key(nh)] = \
                    "load_with_nhcb histogram conversion (line %d)" % lineno
    if pending is not None:
        ld.unloadable[label_key(pending[0])] = "@st line has no following sample line"
    for key, (values, sts) in by_series.items():
        d = dict(key)
        name = d.pop("__name__")
        lab = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')
                                              .replace("\n", "\\n"))
                       for k, v in sorted(d.items()))
        for k, v in enumerate(values):
            if v is None:
                continue
            line = "%s{%s} %s %d" % (name, lab, _fmt_value(v), k * step)
            if sts is not None and sts[k] is not None:
                line += " st@%d" % (k * step + sts[k])   # the offset is from the sample's time
            ld.lines.append(line)
    return ld


def _parse_annotation(ev, kind, rest):
    rest = rest.strip()
    if not rest:
        spec = ("any", "")
    elif rest.startswith("msg:"):
        spec = ("msg", rest[4:].strip())
    elif rest.startswith("regex:"):
        spec = ("regex", rest[6:].strip())
    else:
        raise NotRunnable("bad expect %s line" % kind)
    return spec


def _parse_eval(lineno, head, body):
    ev = Eval(lineno, head)
    m = re.match(r"(eval(?:_fail|_warn|_info|_ordered)?)\s+instant\s+at\s+(\S+)\s+(.*)$", head)
    mr = re.match(r"(eval(?:_fail|_warn|_info|_ordered)?)\s+range\s+from\s+(\S+)\s+to\s+(\S+)"
                  r"\s+step\s+(\S+)\s+(.*)$", head)
    try:
        if m:
            ev.query, ev.t = m.group(3), parse_duration_ms(m.group(2))
            kind = m.group(1)
        elif mr:
            ev.range = True
            ev.query = mr.group(5)
            ev.start, ev.end, ev.step = (parse_duration_ms(mr.group(i)) for i in (2, 3, 4))
            kind = mr.group(1)
            if ev.end < ev.start or ev.step <= 0:
                raise NotRunnable("bad range")
        else:
            raise NotRunnable("cannot parse eval line")
        ev.expect_fail = kind == "eval_fail"
        ev.ordered = kind == "eval_ordered"
        ev.need_warn = kind == "eval_warn"
        ev.need_info = kind == "eval_info"
        for ln, text in body:
            if text.startswith("expect "):
                rest = text[len("expect "):].strip()
                if rest.startswith("fail"):
                    ev.expect_fail = True
                    spec = _parse_annotation(ev, "fail", rest[4:])
                    if spec[0] == "msg":
                        ev.fail_msg = spec[1]
                    elif spec[0] == "regex":
                        ev.fail_re = spec[1]
                elif rest.startswith("no_warn"):
                    ev.no_warn = True
                elif rest.startswith("no_info"):
                    ev.no_info = True
                elif rest.startswith("warn"):
                    ev.warn.append(_parse_annotation(ev, "warn", rest[4:]))
                elif rest.startswith("info"):
                    ev.info.append(_parse_annotation(ev, "info", rest[4:]))
                elif rest == "ordered":
                    ev.ordered = True
                elif rest.startswith("range vector"):
                    r = re.fullmatch(r"range vector from (\S+) to (\S+) step (\S+)", rest)
                    if not r:
                        raise NotRunnable("bad expect range vector")
                    ev.rv = tuple(parse_duration_ms(r.group(i)) for i in (1, 2, 3))
                elif rest.startswith("string"):
                    s = rest[len("string"):].strip()
                    if not re.fullmatch(STR_RE, s):
                        raise NotRunnable("bad expect string")
                    ev.string = unquote(s)
                else:
                    raise NotRunnable("unknown expect line %r" % text[:40])
            elif text.startswith("expected_fail_message"):
                ev.expect_fail, ev.fail_msg = True, text[len("expected_fail_message"):].strip()
            elif text.startswith("expected_fail_regexp"):
                ev.expect_fail, ev.fail_re = True, text[len("expected_fail_regexp"):].strip()
            elif is_scalar_line(text):
                ev.scalar = parse_scalar_line(text)
            else:
                if "{{" in text:
                    ev.has_hist = True
                    raise NotRunnable("expects a native histogram result")
                labels, rest = split_series(text)
                ev.series.append((label_key(labels), expand_values(rest)))
        if (ev.warn and ev.no_warn) or (ev.info and ev.no_info):
            raise NotRunnable("both warn and no_warn (or info and no_info)")
    except NotRunnable as e:
        ev.problem = str(e)
    return ev


def parse_file(path):
    """Split a .test file into Load / Clear / Eval commands (README section 1.1)."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    lines = [(i + 1, ln.strip(" \t")) for i, ln in enumerate(raw)]
    cmds, i = [], 0
    while i < len(lines):
        lineno, text = lines[i]
        i += 1
        if not text or text.startswith("#"):
            continue
        word = text.split()[0].lower()
        body = []
        if word.startswith("load") or word.startswith("eval"):
            while i < len(lines) and lines[i][1] and not lines[i][1].startswith("#"):
                body.append(lines[i])
                i += 1
                t = body[-1][1]
                if word.startswith("eval") and (is_scalar_line(t) or
                                                t.startswith("expected_fail_")):
                    break
        if word == "clear":
            cmds.append(Clear(lineno))
        elif word.startswith("load"):
            try:
                cmds.append(_parse_load(lineno, text, body))
            except NotRunnable as e:
                ld = Load(lineno)
                ld.unloadable["*"] = "%s (line %d)" % (e, lineno)
                cmds.append(ld)
        elif word.startswith("eval"):
            cmds.append(_parse_eval(lineno, text, body))
        # anything else is a script error upstream; there is no eval to count
    return cmds


# ---------------------------------------------------------------------------------------
# One tsdb process

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from free_port import free_port  # noqa: E402  (outside the ephemeral port range)


class Tsdb:
    """A tsdb on free loopback ports with its own LMDB directory under `parent`."""

    def __init__(self, build, parent):
        self.build = build
        self.dir = tempfile.mkdtemp(prefix="tsdb-", dir=parent)
        self.appended = 0
        self.proc = None
        for _ in range(3):   # a port picked free may be taken before tsdb binds it
            if self._start():
                return
        raise RuntimeError("tsdb did not become ready; log in %s" % self.dir)

    def _start(self):
        self.http = free_port()
        self.samples = "tcp://127.0.0.1:%d" % free_port()
        args = [os.path.join(self.build, "bin", "tsdb"),
                "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--storage.tsdb.retention.time=0s", "--storage.tsdb.map-size=256MiB",
                # each load waits for its commit: commit at once rather than each second
                "--storage.tsdb.commit-interval=10ms",
                # each load waits for its acknowledgement: nothing to gather, read at once
                "--storage.tsdb.ingest-pace=0s",
                "--web.listen-address=127.0.0.1:%d" % self.http,
                "--zmq.samples-address=" + self.samples,
                "--zmq.query-address=tcp://127.0.0.1:%d" % free_port(),
                "--zmq.pub-address=tcp://127.0.0.1:%d" % free_port(),
                # upstream's promqltest engine runs with delayed name removal on
                "--enable-feature=promql-delayed-name-removal",
                "--log.level=warn"]
        with open(os.path.join(self.dir, "log"), "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        for _ in range(READY_TRIES):
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.http,
                                            timeout=1) as r:
                    r.read()
                # ready, and still the process that answered: a port taken by another
                # daemon makes ours exit on its failed bind
                if self.proc.poll() is None:
                    return True
            except (urllib.error.URLError, OSError, http.client.HTTPException):
                # HTTPException: something else answered on the port (another process's
                # ZeroMQ socket speaks no HTTP); this start is not ours, try other ports
                time.sleep(0.05)
        self._kill()
        return False

    def _metric(self, name):
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http,
                                      timeout=HTTP_TIMEOUT_S).read().decode()
        m = re.search(r"^%s(?:\{\})? (\S+)$" % re.escape(name), body, re.M)
        return float(m.group(1)) if m else 0.0

    def push(self, lines):
        """Send lines with fwpush, then wait until tsdb has committed all of them."""
        if not lines:
            return
        subprocess.run([os.path.join(self.build, "bin", "fwpush"), "--endpoint=" + self.samples],
                       input=("\n".join(lines) + "\n").encode(), check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.appended += len(lines)
        for _ in range(COMMIT_TRIES):
            if self._metric("fw_tsdb_samples_appended_total") >= self.appended:
                return
            if self._metric("fw_tsdb_write_failures_total") > 0:
                raise RuntimeError("tsdb write failure")
            time.sleep(0.025)
        raise RuntimeError("samples not committed within %.0f s" % (COMMIT_TRIES * 0.025))

    def api(self, path, params):
        data = urllib.parse.urlencode(params).encode()
        url = "http://127.0.0.1:%d%s" % (self.http, path)
        try:
            body = urllib.request.urlopen(url, data=data, timeout=HTTP_TIMEOUT_S).read()
        except urllib.error.HTTPError as e:
            body = e.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            return {"status": "error", "error": "request failed: %s" % e, "transport": True}
        try:
            return json.loads(body)
        except ValueError:
            return {"status": "error", "error": "bad JSON: %r" % body[:100], "transport": True}

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def stop(self):
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Comparison

def almost_equal(a, b):
    """util/almost.Equal with epsilon 1e-6 (stale markers never reach the API)."""
    if a is STALE or b is STALE:
        return a is b
    if a == b:
        return True
    if math.isnan(a) and math.isnan(b):
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    diff = abs(a - b)
    if a == 0 or b == 0 or abs(a) + abs(b) < DBL_MIN:
        return diff < 1e-6 * DBL_MIN
    return diff / min(abs(a) + abs(b), DBL_MAX) < 1e-6


def _sec(ms):
    return "%.3f" % (ms / 1000.0)


def _check_annotations(ev, resp):
    for kind, specs, none, need in (("warn", ev.warn, ev.no_warn, ev.need_warn),
                                    ("info", ev.info, ev.no_info, ev.need_info)):
        got = resp.get("warnings" if kind == "warn" else "infos") or []
        if none and got:
            return "unexpected %s: %s" % (kind, got[0][:80])
        if need and not got:
            return "no %s annotation" % kind
        if not specs:
            continue
        def match(spec, text):
            return (spec[0] == "any" or (spec[0] == "msg" and text.strip() == spec[1]) or
                    (spec[0] == "regex" and re.search(spec[1], text) is not None))
        for spec in specs:
            if not any(match(spec, g) for g in got):
                return "missing %s annotation %s" % (kind, (spec[1] or "(any)")[:80])
        for g in got:
            if not any(match(spec, g) for spec in specs):
                return "extra %s annotation %s" % (kind, g[:80])
    return None


def _expected_points(ev, values, start, step):
    return [(start + k * step, v) for k, v in enumerate(values) if v is not None]


def _compare_matrix(result, want, sorted_required=True):
    """result: API matrix; want: {key: [(t_ms, v)]}. None or a reason."""
    got, order = {}, []
    for s in result:
        if s.get("histograms"):
            return "histogram points where floats were expected"
        key = label_key(s["metric"])
        order.append(key)
        got[key] = [(int(round(float(t) * 1000)), float(v)) for t, v in s.get("values", [])]
    if sorted_required and order != sorted(order):
        return "matrix result not sorted by labels"
    return _compare_sets(got, want, points=True)


def _compare_sets(got, want, points):
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing:
        return "missing series %s (%d got)" % (fmt_labels(missing[0]), len(got))
    if extra:
        return "unexpected series %s" % fmt_labels(extra[0])
    for key, w in want.items():
        g = got[key]
        if points:
            if len(g) != len(w):
                return "%s: %d points, want %d" % (fmt_labels(key), len(g), len(w))
            for (gt, gv), (wt, wv) in zip(g, w):
                if gt != wt or not almost_equal(gv, wv):
                    return "%s: got %s@%s want %s@%s" % (fmt_labels(key), _fmt_value(gv),
                                                        _sec(gt), _fmt_value(wv), _sec(wt))
        elif not almost_equal(g, w):
            return "%s: got %s want %s" % (fmt_labels(key), _fmt_value(g), _fmt_value(w))
    return None


def _compare_instant(ev, data):
    """An instant result (vector/scalar/string) against the expectation."""
    rtype, result = data.get("resultType"), data.get("result")
    if ev.string is not None:
        if rtype != "string":
            return "got %s, want string" % rtype
        return None if result[1] == ev.string else "string %r, want %r" % (result[1], ev.string)
    if ev.scalar is not None:
        if rtype != "scalar":
            return "got %s, want scalar %s" % (rtype, _fmt_value(ev.scalar))
        v = float(result[1])
        return None if almost_equal(v, ev.scalar) else \
            "scalar %s, want %s" % (_fmt_value(v), _fmt_value(ev.scalar))
    if rtype != "vector":
        return "got %s, want vector" % rtype
    got, order = {}, []
    for s in result:
        if "histogram" in s:
            return "histogram sample where a float was expected"
        key = label_key(s["metric"])
        if key in got:
            return "duplicate series %s" % fmt_labels(key)
        got[key] = float(s["value"][1])
        order.append(key)
    want = {}
    for key, values in ev.series:
        vals = [v for v in values if v is not None]
        if len(vals) != 1:
            return "not run: instant expectation with %d values" % len(vals)
        want[key] = vals[0]
    why = _compare_sets(got, want, points=False)
    if why is None and ev.ordered and order != [k for k, _ in ev.series]:
        return "order differs: first %s" % (fmt_labels(order[0]) if order else "-")
    return why


def run_eval(db, ev):
    """Run one eval statement; None when it passes, else the reason."""
    if ev.range:
        resp = db.api("/api/v1/query_range", {"query": ev.query, "start": _sec(ev.start),
                                              "end": _sec(ev.end), "step": _sec(ev.step)})
    else:
        t = ev.rv[1] if ev.rv else ev.t
        resp = db.api("/api/v1/query", {"query": ev.query, "time": _sec(t)})
    if resp.get("transport"):
        return resp["error"]
    if ev.expect_fail:
        if resp.get("status") != "error":
            return "expected an error, query succeeded"
        err = resp.get("error", "")
        if ev.fail_msg is not None and err.strip() != ev.fail_msg:
            return "error %r, want %r" % (err[:60], ev.fail_msg[:60])
        if ev.fail_re is not None and not re.search(ev.fail_re, err):
            return "error %r does not match /%s/" % (err[:60], ev.fail_re[:60])
        return None
    if resp.get("status") != "success":
        return "error: %s" % resp.get("error", "?")[:100]
    why = _check_annotations(ev, resp)
    if why:
        return why
    data = resp.get("data", {})
    if ev.range or ev.rv:
        if data.get("resultType") != "matrix":
            return "got %s, want matrix" % data.get("resultType")
        start, step = (ev.start, ev.step) if ev.range else (ev.rv[0], ev.rv[2])
        if ev.scalar is not None:
            return "not run: scalar expectation for a range result"
        want = {k: _expected_points(ev, v, start, step) for k, v in ev.series}
        return _compare_matrix(data.get("result", []), want)
    why = _compare_instant(ev, data)
    if why or ev.ordered or ev.string is not None or RANGE_MODE_SKIP_RE.search(ev.query):
        return why
    return _range_mode(db, ev)


def _range_mode(db, ev):
    """Upstream's range-mode check: the points at t of a t-1m..t+1m range query."""
    resp = db.api("/api/v1/query_range", {"query": ev.query, "start": _sec(ev.t - 60000),
                                          "end": _sec(ev.t + 60000), "step": "60"})
    if resp.get("status") != "success":
        return "range mode: error: %s" % resp.get("error", "?")[:90]
    series = []
    for s in resp.get("data", {}).get("result", []):
        for t, v in s.get("values", []):
            if int(round(float(t) * 1000)) == ev.t:
                series.append({"metric": s["metric"], "value": [t, v]})
        if any(int(round(float(h[0]) * 1000)) == ev.t for h in s.get("histograms", [])):
            return "range mode: histogram point where a float was expected"
    if ev.scalar is not None:
        # a scalar expression comes back as one series with no labels
        if len(series) != 1 or series[0]["metric"]:
            return "range mode: %d series, want one scalar" % len(series)
        data = {"resultType": "scalar", "result": series[0]["value"]}
    else:
        data = {"resultType": "vector", "result": series}
    why = _compare_instant(ev, data)
    return "range mode: " + why if why else None


# ---------------------------------------------------------------------------------------
# Driver

class Deadline:
    def __init__(self, seconds):
        self.at = time.monotonic() + seconds

    def passed(self):
        return time.monotonic() > self.at


def _selects_unloaded(query, unloadable):
    """Why query may see a series that was not loaded, or None: it runs only when none of
    its selectors matches one, since its answer then cannot depend on them."""
    if "*" in unloadable:
        return unloadable["*"]
    for key, why in unloadable.items():
        if may_select(query, dict(key)):
            return why
    return None


def run_file(path, build, tmpdir, deadline, stop_event):
    """Run one .test file; returns [(lineno, query, reason or None)]."""
    results, db, unloadable = [], None, {}
    try:
        for cmd in parse_file(path):
            if isinstance(cmd, Clear):
                if db:
                    db.stop()
                db, unloadable = None, {}
                continue
            if isinstance(cmd, Load):
                unloadable.update(cmd.unloadable)
                if deadline.passed() or stop_event.is_set():
                    continue
                if db is None:
                    db = Tsdb(build, tmpdir)
                db.push(cmd.lines)
                continue
            ev = cmd
            if ev.problem:
                reason = ev.problem if ev.problem.startswith("not run") else \
                    "not run: " + ev.problem
            elif deadline.passed() or stop_event.is_set():
                reason = "not run: time budget exceeded"
            elif _selects_unloaded(ev.query, unloadable):
                reason = "not run: data not loaded: " + _selects_unloaded(ev.query, unloadable)
            else:
                if db is None:
                    db = Tsdb(build, tmpdir)
                reason = run_eval(db, ev)
            results.append((ev.lineno, ev.query, reason))
    finally:
        if db:
            db.stop()
    return results


def read_tsv_counts(shared):
    """{file: evals} from promql-eval-counts.tsv, or None when it is missing."""
    path = os.path.join(shared, "conformance", "promql-eval-counts.tsv")
    if not os.path.exists(path):
        return None
    counts = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(cols) < 2 or cols[0] in ("file", "TOTAL"):
                continue
            counts[cols[0]] = int(cols[1])
    return counts


def read_known():
    """{(file, line): reason} from the known-failures list ({} when it is missing)."""
    known = {}
    try:
        with open(KNOWN_FILE, encoding="utf-8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                where, _, reason = line.rstrip("\n").partition("\t")
                name, _, num = where.rpartition(":")
                known[(name, int(num))] = reason
    except OSError:
        pass
    return known


def known_reason(why):
    """The reason a failing eval goes on the known-failures list, from its failure."""
    for pat, reason in KNOWN_REASONS:
        if re.search(pat, why):
            return reason
    return why.replace("\t", " ")[:160]


# Failure text -> the reason recorded in the known-failures list (first match wins).
KNOWN_REASONS = [
    (r"native histogram|load_with_nhcb|histogram points where|histogram sample where",
     "native histograms: floorwatch stores float samples only"),
    (r"@st (line|metric|item|repeat)", "an @st line the runner cannot read"),
    (r"\b(anchored|smoothed)\b", "experimental anchored/smoothed range selectors: not implemented"),
    (r'"fill(_left|_right)?"', "experimental fill()/fill_left()/fill_right() modifiers: not "
     "implemented"),
    (r'"info"', "experimental info(): not implemented"),
    (r'"(limitk|limit_ratio)"', "experimental limitk/limit_ratio: not implemented"),
    (r'"count_values"', "count_values: not implemented"),
    (r'"(step|range|min_of|max_of)"|in (offset|range selector|subquery selector), expected',
     "experimental duration expressions in ranges and offsets: not implemented"),
]
# Failures of whole files whose cause the failure text does not show.
KNOWN_FILE_REASONS = {}


def write_known(results, files, add):
    """Rewrite the known-failures list from this run. Returns the failures left out."""
    known = read_known()
    lines, refused = [], []
    for f in files:
        for ln, q, why in results[f]:
            if why is None:
                continue
            if (f, ln) in known:
                lines.append("%s:%d\t%s" % (f, ln, known[(f, ln)]))
            elif add:
                lines.append("%s:%d\t%s" % (f, ln, KNOWN_FILE_REASONS.get(f, known_reason(why))))
            else:
                refused.append((f, ln, q, why))
    # entries of files this run did not cover stay as they are
    lines += ["%s:%d\t%s" % (f, ln, why) for (f, ln), why in sorted(known.items())
              if f not in files]
    with open(KNOWN_FILE, "w", encoding="utf-8") as out:
        out.write("# PromQL conformance evals that do not pass, with the reason; "
                  "test/conformance/promql.py\n# fails when one not listed here fails or one "
                  "listed passes. This list only shrinks.\n")
        out.write("\n".join(lines) + "\n")
    return refused


def _reason_counts(fails):
    """Failure reasons folded into coarse categories, with counts."""
    counts = {}
    for _, (_, _, why) in fails:
        why = re.sub(r'^error: invalid parameter "query": [0-9:]+ ', "error: ", why)
        why = re.sub(r" \(line \d+\)", "", why)
        why = re.sub(r'function "[^"]*" is not su.*', "function not supported yet", why)
        why = re.sub(r'unknown function with name "[^"]*"', "unknown function", why)
        why = re.split(r"(?<=[a-z]) [{(\d\"']|: [a-zA-Z_]*\{|: got ", why)[0][:70]
        counts[why] = counts.get(why, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def main(argv):
    verbose = "-v" in argv
    update = "--update-known" in argv
    add = "--add" in argv
    picked = [a for a in argv if not a.startswith("-")]
    selftest()   # which evals may run rests on reading their selectors right
    shared = os.environ.get("SHARED") or os.path.join(REPO, "..", "shared")
    build = os.environ.get("BUILD") or os.path.join(REPO, "build")
    if not os.path.isabs(build):
        build = os.path.join(REPO, build)
    suite = os.path.join(shared, "conformance", "promql")
    if not os.path.isdir(suite):
        print("promql conformance: skipped, %s not found (set SHARED)" % suite)
        return 0
    for b in ("tsdb", "fwpush"):
        if not os.access(os.path.join(build, "bin", b), os.X_OK):
            print("promql conformance: %s/bin/%s missing (build first)" % (build, b))
            return 1
    files = sorted(f for f in os.listdir(suite) if f.endswith(".test"))
    if picked:
        files = [f for f in files if f in [os.path.basename(p) for p in picked]]
    tsv = read_tsv_counts(shared)
    base = os.path.join(REPO, "test", "tmp")
    made_base = not os.path.isdir(base)
    os.makedirs(base, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix="promql-conf-", dir=base)
    deadline, stop_event = Deadline(TIME_BUDGET_S), threading.Event()
    began = time.monotonic()
    results = {}
    try:
        # biggest files first so the two workers finish at about the same time
        order = sorted(files, key=lambda f: -os.path.getsize(os.path.join(suite, f)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futs = {pool.submit(run_file, os.path.join(suite, f), build, tmpdir, deadline,
                                stop_event): f for f in order}
            try:
                for fut in concurrent.futures.as_completed(futs):
                    results[futs[fut]] = fut.result()
            except BaseException:
                stop_event.set()
                raise
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print("promql conformance: harness failure: %s" % e)
        return 1
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if made_base:
            try:
                os.rmdir(base)   # ours, and only if still empty: others may use it too
            except OSError:
                pass
    elapsed = time.monotonic() - began

    passed = sum(1 for f in files for r in results[f] if r[2] is None)
    parsed = sum(len(results[f]) for f in files)
    denom = sum(tsv.get(f, 0) for f in files) if tsv else parsed
    if tsv is not None and picked:
        denom = parsed
    print("promql conformance: %d of %d evals pass (%.0f s)" % (passed, denom, elapsed))
    if tsv is None:
        print("note: promql-eval-counts.tsv not found; denominator is this parser's count")
    elif parsed != denom:
        print("note: this runner parsed %d eval statements, promql-eval-counts.tsv says %d"
              % (parsed, denom))
    print("note: upstream's step-invariance (@-rewrite) check is not run; "
          "the range-mode check is")
    for f in files:
        n = sum(1 for r in results[f] if r[2] is None)
        extra = ""
        if tsv and tsv.get(f) != len(results[f]):
            extra = "  (tsv says %s)" % tsv.get(f)
        print("  %s: %d/%d%s" % (f, n, len(results[f]), extra))
    fails = [(f, r) for f in files for r in results[f] if r[2] is not None]
    # evals that ran and failed first: they say most about the engine
    fails.sort(key=lambda fr: fr[1][2].startswith("not run"))
    print("failure reasons (most common first):")
    for why, n in _reason_counts(fails)[:8]:
        print("  %4d  %s" % (n, why))
    cap = len(fails) if verbose else FAIL_LIST_CAP
    if fails:
        print("failing evals:")
    for f, (ln, q, why) in fails[:cap]:
        q = q if len(q) <= 70 else q[:67] + "..."
        print("  %s:%d: %s  -- %s" % (f, ln, q, why))
    if len(fails) > cap:
        print("  ... and %d more (-v lists all)" % (len(fails) - cap))

    if update:
        refused = write_known(results, files, add)
        print("promql conformance: wrote %s" % os.path.relpath(KNOWN_FILE, REPO))
        for f, ln, q, why in refused:
            print("  not added (new failure): %s:%d: %s  -- %s" % (f, ln, q[:60], why))
        return 1 if refused else 0
    known = read_known()
    new = [(f, r) for f, r in fails if (f, r[0]) not in known]
    stale = sorted(k for k in known if k[0] in results and
                   any(r[0] == k[1] and r[2] is None for r in results[k[0]]))
    for f, (ln, q, why) in new:
        print("  NEW FAILURE %s:%d: %s  -- %s" % (f, ln, q[:60], why))
    for f, ln in stale:
        print("  NOW PASSES %s:%d: remove it from %s (--update-known)"
              % (f, ln, os.path.relpath(KNOWN_FILE, REPO)))
    if picked:
        return 1 if new else 0
    if new or stale:
        print("promql conformance: FAIL, %d eval(s) fail that are not in %s, %d listed pass"
              % (len(new), os.path.relpath(KNOWN_FILE, REPO), len(stale)))
        return 1
    print("promql conformance: every failing eval is listed in %s with its reason"
          % os.path.relpath(KNOWN_FILE, REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
