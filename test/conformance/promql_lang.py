#!/usr/bin/env python3
"""promql_lang.py — the languages promql.py reads: promqltest's script literals and series
descriptions, and which series a PromQL query can select.

Purpose: keep the reading of text apart from running tsdb and comparing answers
(promql.py). The script part turns durations, numbers, quoted strings, series descriptions
and value sequences into Python values as upstream's promqltest reads them. The query
part (selectors) lists the series selectors of a query with their matchers, so that the
runner can tell whether a query may select a series it could not load (a native histogram,
a series with start timestamps): a query that selects none of them has the same answer
with or without them, since a PromQL query only ever sees the series its selectors match.

Design: a small tokenizer (strings, numbers and durations, identifiers, operators) and a
walk over the tokens that skips what holds no selector (function and aggregation names,
keywords, label lists of by/without/on/ignoring/group_left/group_right, anything in square
brackets) and reads `name{matchers}`, `name` and `{matchers}`. Anything it cannot read
makes it answer None, and the caller then assumes the worst.
"""

import math
import re

STALE = "stale"         # marker object for a staleness NaN in value sequences


class NotRunnable(Exception):
    """A statement this runner cannot express; the eval counts as 'not run'."""


# ---------------------------------------------------------------------------------------
# Script language: durations, numbers, series descriptions, value sequences

DUR_UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000,
             "w": 604800000, "y": 31536000000}
DUR_RE = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


def parse_duration_ms(text):
    """Prometheus duration ('1h30m', '0', '-1m') or float seconds, in milliseconds."""
    s = text.strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    if re.fullmatch(r"[0-9]+(\.[0-9]*)?", s):
        ms = int(round(float(s) * 1000))
    else:
        pos, ms = 0, 0
        for m in DUR_RE.finditer(s):
            if m.start() != pos:
                break
            ms += int(m.group(1)) * DUR_UNITS[m.group(2)]
            pos = m.end()
        if pos != len(s) or not s:
            raise NotRunnable("bad duration %r" % text)
    return -ms if neg else ms


def parse_float(tok):
    """A float as upstream's strconv.ParseFloat accepts it (Inf/NaN any case)."""
    t = tok.strip().replace("_", "")
    low = t.lower()
    if low in ("inf", "+inf", "infinity", "+infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low in ("nan", "+nan", "-nan"):
        return math.nan
    try:
        if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F.]+([pP][-+]?\d+)?", t):
            return float.fromhex(t)
        return float(t)
    except ValueError:
        raise NotRunnable("bad number %r" % tok)


def parse_scalar_line(text):
    """A bare number line: Go integer literal with automatic base, else a Go float."""
    t = text.strip().replace("_", "")
    m = re.fullmatch(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)", t)
    if m:
        body = m.group(2)
        if re.fullmatch(r"0[0-7]+", body):
            body = "0o" + body[1:]
        v = float(int(body, 0))
        return -v if m.group(1) == "-" else v
    return parse_float(t)


def is_scalar_line(text):
    try:
        parse_scalar_line(text)
        return True
    except NotRunnable:
        return False


ST_ITEM_RE = re.compile(r"([+-]?)(\d+)([a-wyzA-Z]*)")


def _st_duration(text, pos):
    """A signed duration at text[pos:] as upstream's parseDurationPrefix reads it (digits,
    then unit letters other than 'x'): (ms, next position)."""
    m = ST_ITEM_RE.match(text, pos)
    if not m:
        raise NotRunnable("bad @st item %r" % text)
    ms = parse_duration_ms(m.group(2) + m.group(3))
    return (-ms if m.group(1) == "-" else ms), m.end()


def expand_st(text):
    """An @st line's sequence -> list of start time offsets in ms (None: omitted), as
    upstream's parseSTSequence: '_', '_xN', 'D', 'DxN' (N+1 copies), 'D+ExN' / 'D-ExN'
    (N+1 values stepping by E); each offset is relative to its sample's timestamp."""
    out = []
    for tok in text.split():
        if tok == "_":
            out.append(None)
            continue
        m = re.fullmatch(r"_x(\d+)", tok)
        if m:
            if int(m.group(1)) == 0:
                raise NotRunnable("bad @st repeat %r" % tok)
            out.extend([None] * int(m.group(1)))
            continue
        base, pos = _st_duration(tok, 0)
        if pos == len(tok):
            out.append(base)
            continue
        if tok[pos] == "x":
            out.extend([base] * (int(tok[pos + 1:]) + 1))
            continue
        if tok[pos] not in "+-":
            raise NotRunnable("bad @st item %r" % tok)
        step, pos2 = _st_duration(tok, pos + 1)
        if tok[pos] == "-":
            step = -step
        if pos2 >= len(tok) or tok[pos2] != "x":
            raise NotRunnable("bad @st item %r" % tok)
        for k in range(int(tok[pos2 + 1:]) + 1):
            out.append(base + k * step)
    return out


def expand_values(text):
    """Value sequence -> list of float / STALE / None (missing). Histograms raise."""
    out = []
    for tok in text.split():
        if tok.startswith("{{"):
            raise NotRunnable("native histogram sample")
        if tok == "_":
            out.append(None)
            continue
        if tok == "stale":
            out.append(STALE)
            continue
        m = re.fullmatch(r"_x(\d+)", tok)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        m = re.fullmatch(r"(.+)x(\d+)", tok)
        if m:
            head, n = m.group(1), int(m.group(2))
            cut = next((i for i in range(1, len(head))
                        if head[i] in "+-" and head[i - 1] not in "eE"), None)
            if cut is None:   # axN: N+1 copies
                out.extend([parse_float(head)] * (n + 1))
                continue
            # a+bxN / a-bxN: repeated addition like upstream, for bit-identical values
            cur, step = parse_float(head[:cut]), parse_float(head[cut + 1:])
            if head[cut] == "-":
                step = -step
            out.append(cur)
            for _ in range(n):
                cur += step
                out.append(cur)
            continue
        out.append(parse_float(tok))
    return out


def unquote(s):
    """A Go double-quoted, single-quoted or back-quoted string literal's value."""
    if s[0] == "`":
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{3}|.)", _unescape_one, body)


def _unescape_one(m):
    e = m.group(1)
    table = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    if e in table:
        return table[e]
    if e[0] in "ux":
        return chr(int(e[1:], 16))
    if e[0] in "01234567" and len(e) == 3:
        return chr(int(e, 8))
    return e


STR_RE = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'


def split_series(line):
    """'<series> <rest>' -> (labels dict, rest). Only '=' matchers, as upstream allows."""
    s = line.strip()
    labels = {}
    m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s)
    pos = 0
    if m:
        labels["__name__"] = m.group(0)
        pos = m.end()
    if pos < len(s) and s[pos] == "{":
        pos += 1
        tok_re = re.compile(r"\s*(?:(%s)|([a-zA-Z_][a-zA-Z0-9_]*))\s*" % STR_RE)
        while True:
            if re.match(r"\s*}", s[pos:]):
                pos += re.match(r"\s*}", s[pos:]).end()
                break
            t = tok_re.match(s, pos)
            if not t:
                raise NotRunnable("cannot parse series %r" % s[:60])
            pos = t.end()
            name = unquote(t.group(1)) if t.group(1) else t.group(2)
            v = re.match(r"=\s*(%s)\s*" % STR_RE, s[pos:])
            if v:
                labels[name] = unquote(v.group(1))
                pos += v.end()
            elif t.group(1) and "__name__" not in labels:
                labels["__name__"] = name   # {"quoted.metric.name", ...}
            else:
                raise NotRunnable("cannot parse series %r" % s[:60])
            c = re.match(r"\s*,\s*", s[pos:])
            if c:
                pos += c.end()
    elif not m:
        raise NotRunnable("cannot parse series %r" % s[:60])
    # an empty label value is the same as no label
    return {k: v for k, v in labels.items() if v != ""}, s[pos:]


def label_key(labels):
    return tuple(sorted(labels.items()))


def fmt_labels(key):
    d = dict(key)
    name = d.pop("__name__", "")
    return name + "{" + ", ".join('%s="%s"' % kv for kv in sorted(d.items())) + "}"


# ---------------------------------------------------------------------------------------
# Query selectors

_TOKEN_RE = re.compile(r"""\s+|(?P<str>%s)|(?P<num>\.?[0-9][0-9a-zA-Z_.]*)|"""
                       r"""(?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<op>=~|!~|!=|==|<=|>=|."""
                       r"""|\n)""" % STR_RE)
_AGGREGATIONS = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk",
                 "bottomk", "quantile", "count_values", "limitk", "limit_ratio"}
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "anchored", "smoothed",
             "inf", "nan"} | _LABEL_LISTS | _AGGREGATIONS


def _tokens(query):
    """[(kind, text)] of query, or None when some character cannot start a token."""
    out, pos = [], 0
    while pos < len(query):
        m = _TOKEN_RE.match(query, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        if m.lastgroup:
            out.append((m.lastgroup, m.group(0)))
    return out


def _skip_group(toks, i, opening, closing):
    """The index after the group that opens at toks[i], or None when it is not closed."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] == ("op", opening):
            depth += 1
        elif toks[j] == ("op", closing):
            depth -= 1
            if depth == 0:
                return j + 1
    return None


def _matchers(toks, i):
    """The matchers of the braces opening at toks[i] and the index after them, or None."""
    ms, i = [], i + 1
    while i < len(toks) and toks[i] != ("op", "}"):
        kind, text = toks[i]
        if kind not in ("id", "str"):
            return None
        name = unquote(text) if kind == "str" else text
        if i + 2 < len(toks) and toks[i + 1][0] == "op" and \
                toks[i + 1][1] in ("=", "!=", "=~", "!~") and toks[i + 2][0] == "str":
            ms.append((name, toks[i + 1][1], unquote(toks[i + 2][1])))
            i += 3
        elif kind == "str":          # {"quoted.metric.name", ...}
            ms.append(("__name__", "=", name))
            i += 1
        else:
            return None
        if i < len(toks) and toks[i] == ("op", ","):
            i += 1
    return (ms, i + 1) if i < len(toks) else None


def selectors(query):
    """The series selectors of a PromQL query, each a list of (label, op, value) matchers;
    None when the query cannot be read this way. info() counts as selecting every *_info
    series (its default target_info and the names its selector may give)."""
    toks = _tokens(query)
    if toks is None:
        return None
    out, i = [], 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "op" and text == "[":
            i = _skip_group(toks, i, "[", "]")
        elif kind == "op" and text == "{":
            got = _matchers(toks, i)
            if got is None:
                return None
            out.append(got[0])
            i = got[1]
        elif kind == "id" and text in _LABEL_LISTS and nxt == ("op", "("):
            i = _skip_group(toks, i + 1, "(", ")")
        elif kind == "id" and nxt == ("op", "("):   # a function or aggregation
            if text == "info":
                out.append([("__name__", "=~", ".*_info")])
            i += 1
        elif kind == "id" and text.lower() not in _KEYWORDS:
            ms = [("__name__", "=", text)]
            i += 1
            if nxt == ("op", "{"):
                got = _matchers(toks, i)
                if got is None:
                    return None
                ms += got[0]
                i = got[1]
            out.append(ms)
        else:
            i += 1
        if i is None:
            return None
    return out


def _matches(m, labels):
    name, op, value = m
    have = labels.get(name, "")
    if op in ("=", "!="):
        return (have == value) == (op == "=")
    try:
        hit = re.fullmatch("(?s:%s)" % value, have) is not None
    except re.error:
        return True   # a pattern Python cannot read: assume the worst
    return hit == (op == "=~")


def may_select(query, labels):
    """Whether query may select the series with these labels (a dict); True when unsure."""
    sels = selectors(query)
    if sels is None:
        return True
    return any(all(_matches(m, labels) for m in ms) for ms in sels)


def selftest():
    """Check the selector reading on queries of the suite's shapes; raises AssertionError."""
    cases = [
        ('sum by (job) (rate(x{job="a"}[5m] offset 1m))',
         [[("__name__", "=", "x"), ("job", "=", "a")]]),
        ("a and on(b) c unless ignoring(d) group_left(e) f",
         [[("__name__", "=", "a")], [("__name__", "=", "c")], [("__name__", "=", "f")]]),
        ('topk(1, {__name__=~"h(_x)?"} @ start())', [[("__name__", "=~", "h(_x)?")]]),
        ('label_replace(x, "y", "$1", "z", "(.*)")[5m:1m]', [[("__name__", "=", "x")]]),
        ('info(m, {data=~".+"})', [[("__name__", "=~", ".*_info")], [("__name__", "=", "m")],
                                   [("data", "=~", ".+")]]),
        ('{"a.b", c!="d"} + inf', [[("__name__", "=", "a.b"), ("c", "!=", "d")]]),
    ]
    for query, want in cases:
        got = selectors(query)
        assert got == want, "%s: %r, want %r" % (query, got, want)
    assert may_select('sum(x{a=~"b|c"})', {"__name__": "x", "a": "c"})
    assert not may_select('sum(x{a=~"b|c"})', {"__name__": "x", "a": "cc"})
    assert not may_select("count(y)", {"__name__": "x"})
    assert may_select("count(y{", {"__name__": "x"})   # unreadable: assume it selects
    # @st sequences as upstream's parseSTSequence reads them (offsets in ms)
    for text, want in [("_ _ -30s-1mx2 0", [None, None, -30000, -90000, -150000, 0]),
                       ("-1mx2 1ms _x2", [-60000, -60000, -60000, 1, None, None]),
                       ("-59999msx1 -0ms +1m", [-59999, -59999, 0, 60000])]:
        assert expand_st(text) == want, "%s: %r" % (text, expand_st(text))
