#!/usr/bin/env bash
# federate.sh — tsdb's GET /federate against the real Debian prometheus.
#
# One exposition file (explicit timestamps, so both stores hold the same points; NaN, ±Inf,
# -0, 1e+06, escaped label values, a series with its own `instance` and one with the external
# label's name, one whose instance is relabeled away) is scraped by floorwatch's scraper into
# tsdb and by a first prometheus (psrc) with the same external_labels. Then:
#  - a series without a timestamp is seen in /federate, disappears from the file, and is
#    gone from /federate once the stale marker is written (while its samples are still in the
#    lookback, which count_over_time shows);
#  - tsdb's /federate body equals psrc's byte for byte (content type, plus Prometheus 3's
#    "; escaping=underscores" that 2.42 does not send, # TYPE lines, order,
#    external labels, instance="", value spelling, timestamps), and so do the answers to the
#    error cases (no match[], bad selectors, POST) and the delimited protobuf answer when
#    the Accept header asks for it (bytes compared; NaN left out, its bits may differ);
#  - a second prometheus (pfed) scrapes tsdb's /federate with metrics_path and params:
#    job fed_honor (honor_labels: true) stores tsdb's series with their own labels, values
#    and timestamps; job fed_plain (honor_labels: false) stores them with job/instance moved
#    to exported_job/exported_instance as Prometheus does to a conflicting target label.
#  - a reload of tsdb's config changes the external labels /federate adds.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb scraper
it_need_cmds prometheus curl python3
it_tmpdir
D=$IT_DIR

SPORT=$(it_free_port) # the exposition file
TPORT=$(it_free_port) TSAMPLES=$(it_free_port)
SCPORT=$(it_free_port)
PSRC=$(it_free_port) PFED=$(it_free_port)
NOW=$(date +%s)
TS=$(((NOW - 20) * 1000)) # within the 5 m lookback for the whole test

# write_src WITH_VANISH: the exposition, with or without the series that goes stale
write_src() {
    {
        echo '# TYPE fed_temp gauge'
        echo "fed_temp{line=\"l1\",room=\"a\"} 21.5 $TS"
        echo "fed_temp{line=\"l2\",room=\"b\"} NaN $TS"
        echo "fed_count_total{line=\"l1\"} 1000000 $TS"
        echo "fed_big{line=\"l1\"} 1.5e+300 $((TS - 1000))"
        echo "fed_small{line=\"l1\"} 1.5e-07 $TS"
        echo "fed_inf{line=\"up\"} +Inf $TS"
        echo "fed_inf{line=\"down\"} -Inf $TS"
        echo "fed_negzero -0 $TS"
        echo "fed_one -1 $TS"
        echo "fed_weird{msg=\"say \\\"hi\\\" \\\\ now\\nand then\"} 0.1 $TS"
        echo "fed_own{instance=\"own:1\",job=\"ownjob\"} 3 $TS"
        echo "fed_zone{zone=\"own\"} 4 $TS"
        echo "fed_noinst{line=\"l3\"} 5 $TS"
        if [ "$1" = 1 ]; then echo 'fed_vanish{kind="gone"} 7'; fi
    } >"$D/src.prom.tmp"
    mv "$D/src.prom.tmp" "$D/src.prom"
}
write_src 1
it_start src python3 test/it/serve_metrics.py "$SPORT" \
    "/metrics=$D/src.prom@text/plain; version=0.0.4; charset=utf-8"

# One config for psrc, the scraper and tsdb (tsdb reads global.external_labels).
cat >"$D/src.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: {dc: east, zone: z1}
scrape_configs:
  - job_name: src
    static_configs: [{targets: ['127.0.0.1:$SPORT']}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: fed_noinst
        target_label: instance
        replacement: ''
EOF
cat >"$D/fed.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fed_honor
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{__name__=~"fed_.+"}']}
    static_configs: [{targets: ['127.0.0.1:$TPORT']}]
  - job_name: fed_plain
    metrics_path: /federate
    params: {'match[]': ['{__name__=~"fed_.+"}']}
    static_configs: [{targets: ['127.0.0.1:$TPORT']}]
EOF

it_start tsdb "$BIN/tsdb" --config.file="$D/src.yml" --storage.tsdb.path="$D/tsdb" \
    --storage.tsdb.map-size=64MiB --web.listen-address=127.0.0.1:"$TPORT" --scraper.url= \
    --zmq.samples-address=tcp://127.0.0.1:"$TSAMPLES" \
    --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
it_wait_http "http://127.0.0.1:$TPORT/-/ready" || it_die "tsdb did not start"
it_start_scraper "$D/src.yml" "$SCPORT" "$TSAMPLES" || it_die "scraper did not start"
it_start psrc prometheus --config.file="$D/src.yml" --storage.tsdb.path="$D/psrc" \
    --web.listen-address=127.0.0.1:"$PSRC"
it_wait_http "http://127.0.0.1:$PSRC/-/ready" 300 || it_die "prometheus (psrc) did not start"
T=http://127.0.0.1:$TPORT
P=http://127.0.0.1:$PSRC
it_ok "tsdb, scraper and prometheus scrape the same file"

FM='match%5B%5D=%7B__name__%3D~%22fed_.%2B%22%7D' # {__name__=~"fed_.+"}
VM='match%5B%5D=fed_vanish'
has_vanish() { it_has '^fed_vanish{' curl -fsS "$1/federate?$VM"; }
it_until 100 0.2 has_vanish "$T" || it_die "fed_vanish never reached tsdb's /federate"
it_until 100 0.2 has_vanish "$P" || it_die "fed_vanish never reached prometheus's /federate"
it_ok "a fresh series is federated"
write_src 0
no_vanish() { ! has_vanish "$1"; }
it_check "tsdb leaves out a series whose latest sample is a stale marker" \
    it_until 100 0.2 no_vanish "$T"
it_until 100 0.2 no_vanish "$P" || it_fail "prometheus kept federating fed_vanish"
in_lookback() {
    it_has '"result":\[{' curl -fsS "$T/api/v1/query?query=count_over_time(fed_vanish%5B5m%5D)"
}
it_check "... while its samples are still within the 5 m lookback" in_lookback

# the same request to both: status, content type and body
same() {
    local name=$1 method=$2 query=$3 accept=${4:-} only=${5:-}
    local a=() && [ -z "$accept" ] || a=(-H "Accept: $accept")
    curl -sS -X "$method" ${a[@]+"${a[@]}"} -o "$D/t.body" -D "$D/t.hdr" "$T/federate$query"
    curl -sS -X "$method" ${a[@]+"${a[@]}"} -o "$D/p.body" -D "$D/p.hdr" "$P/federate$query"
    if [ -n "$only" ]; then # the lines of the $only* families alone
        grep -E "^(# TYPE )?$only" "$D/t.body" >"$D/t.only" || true
        grep -E "^(# TYPE )?$only" "$D/p.body" >"$D/p.only" || true
        [ -s "$D/t.only" ] || it_fail "$name: no $only line in tsdb's answer"
        mv "$D/t.only" "$D/t.body" && mv "$D/p.only" "$D/p.body"
    fi
    local ts ps tc pc
    ts=$(head -1 "$D/t.hdr" | cut -d' ' -f2) ps=$(head -1 "$D/p.hdr" | cut -d' ' -f2)
    tc=$(grep -i '^content-type:' "$D/t.hdr" | tr -d '\r') || true
    pc=$(grep -i '^content-type:' "$D/p.hdr" | tr -d '\r') || true
    # Prometheus 3 (the Debian prometheus here is 2.42) names the name escaping in a 200's
    # Content-Type, underscores when the Accept header asks for none (expfmt.Negotiate)
    [ "$ps" != 200 ] || pc="$pc; escaping=underscores"
    if [ "$ts" = "$ps" ] && [ "${tc,,}" = "${pc,,}" ] && cmp -s "$D/t.body" "$D/p.body"; then
        it_pass "$name: $ts, ${tc#*: }, $(wc -c <"$D/t.body") bytes as prometheus"
    else
        it_fail "$name: tsdb $ts '$tc' vs prometheus $ps '$pc'"
        diff "$D/t.body" "$D/p.body" | head -20 || true
    fi
}
same "every fed_ series" GET "?$FM"
grep -q '^fed_noinst{job="src",line="l3",dc="east",instance="",zone="z1"} 5 ' "$D/t.body" &&
    grep -q '^# TYPE fed_zone untyped$' "$D/t.body" &&
    grep -q '^fed_zone{instance="127.0.0.1:[0-9]*",job="src",zone="own",dc="east"} 4 ' \
        "$D/t.body" && it_pass "external labels appended after the series' own, instance=\"\"" ||
    it_fail "external labels or instance=\"\" not as expected: $(grep fed_zone "$D/t.body")"
same "two selectors, overlapping" GET \
    "?match%5B%5D=fed_temp&match%5B%5D=%7Bline%3D%22l1%22%7D&match%5B%5D=fed_inf"
same "OpenMetrics asked: text 0.0.4 as Prometheus" GET "?match%5B%5D=fed_temp" \
    'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'
PB='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
NONAN='match%5B%5D=%7B__name__%3D~%22fed_.%2B%22%2Cline%21%3D%22l2%22%7D' # NaN's bits may differ
same "protobuf asked: delimited MetricFamily bytes" GET "?$NONAN" "$PB;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
same "text preferred to protobuf" GET "?$NONAN" "$PB;q=0.3,text/plain;version=0.0.4;q=0.5"
same "protobuf, two families" GET "?match%5B%5D=fed_inf&match%5B%5D=fed_own" "$PB"
same "no match[]: empty 200" GET ""
same "matching nothing" GET "?match%5B%5D=does_not_match_anything"
same "bad selector at the start" GET "?match%5B%5D=-not-a-valid-metric-name"
same "bad selector in the middle" GET "?match%5B%5D=not-a-valid-metric-name"
same "only empty matchers (fed_ lines)" GET "?match%5B%5D=%7Bfoo%3D%22%22%7D" "" fed
same "one good, one bad" GET "?match%5B%5D=fed_temp&match%5B%5D=fed_temp%5B5m%5D"
same "an aggregation" GET "?match%5B%5D=sum(fed_temp)"
same "a keyword after the selector" GET "?match%5B%5D=fed_temp+by"
same "an operator word after the selector" GET "?match%5B%5D=fed_temp+and+fed_one"
same "a number" GET "?match%5B%5D=5"
same "a string after the selector" GET "?match%5B%5D=fed_temp+%22x%22"
same "a keyword that is no metric name" GET "?match%5B%5D=bool"
same "an aggregator's name as the metric name" GET "?match%5B%5D=sum"
same "an empty selector" GET "?match%5B%5D="
same "empty braces" GET "?match%5B%5D=%7B%7D"
same "POST" POST "?$FM"

# pfed federates tsdb; after a few scrapes compare what it stored with tsdb's /federate
curl -fsS "$T/federate?$FM" >"$D/tsdb.txt"
it_start pfed prometheus --config.file="$D/fed.yml" --storage.tsdb.path="$D/pfed" \
    --web.listen-address=127.0.0.1:"$PFED"
it_wait_http "http://127.0.0.1:$PFED/-/ready" 300 || it_die "prometheus (pfed) did not start"
F=http://127.0.0.1:$PFED
scraped() {
    curl -fsS "$F/api/v1/query?query=sum(prometheus_sd_discovered_targets)" >/dev/null &&
        it_has '"result":\[{' curl -fsS "$F/api/v1/query?query=count(up%3D%3D1)%3E%3D2" &&
        it_has '"result":\[{' curl -fsS "$F/api/v1/query?query=count(fed_temp)%3E%3D4"
}
it_until 150 0.2 scraped || it_die "pfed did not scrape tsdb's /federate with both jobs"
sleep 3 # a few more scrapes
curl -fsS "$F/federate?match%5B%5D=%7B__name__%3D~%22fed_.%2B%22%2Cjob%21%3D%22fed_plain%22%7D" \
    >"$D/honor.txt"
curl -fsS "$F/federate?match%5B%5D=%7B__name__%3D~%22fed_.%2B%22%2Cjob%3D%22fed_plain%22%7D" \
    >"$D/plain.txt"
python3 - "$D/tsdb.txt" "$D/honor.txt" "$D/plain.txt" "127.0.0.1:$TPORT" <<'PY' || IT_FAILS=$((IT_FAILS + 1))
import re, sys
def parse(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'([^{ ]+)(?:\{(.*)\})? (\S+) (\d+)$', line.rstrip("\n"))
        name, body, v, t = m.groups()
        labels = {"__name__": name}
        for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', body or ""):
            labels[lm.group(1)] = lm.group(2)
        out[tuple(sorted(labels.items()))] = (v, t)
    return out
tsdb, honor, plain = (parse(p) for p in sys.argv[1:4])
target = sys.argv[4]
bad = 0
def want_honor(l):
    # the series' own labels win; instance="" counts as given, so the target's instance is
    # not added and the stored series has none (pfed's /federate writes instance="" again)
    return l
def want_plain(l):
    d = {k: v for k, v in l if v != ""}
    for k, v in (("instance", target), ("job", "fed_plain")):
        if k in d:
            e = "exported_" + k
            while e in d:
                e = "exported_" + e
            d[e] = d[k]
        d[k] = v
    return tuple(sorted(d.items()))
for name, got, want in (("honor_labels: true", honor, want_honor),
                        ("honor_labels: false", plain, want_plain)):
    exp = {want(l): vt for l, vt in tsdb.items()}
    if exp == got and len(exp) == 13:
        print("  ok   pfed %s: %d series, labels, values and timestamps as tsdb federated"
              % (name, len(exp)))
    else:
        bad += 1
        print("  FAIL pfed %s: %d expected, %d stored" % (name, len(exp), len(got)))
        for k in sorted(set(exp) | set(got)):
            if exp.get(k) != got.get(k):
                print("       %s: tsdb %s, prometheus %s" % (dict(k), exp.get(k), got.get(k)))
sys.exit(1 if bad else 0)
PY

# a reload changes the external labels /federate adds
sed -i 's/external_labels: {dc: east, zone: z1}/external_labels: {region: r9}/' "$D/src.yml"
curl -fsS -X POST "$T/-/reload" >/dev/null || it_fail "tsdb's /-/reload failed"
curl -fsS "$T/federate?match%5B%5D=fed_one" >"$D/reloaded.txt"
it_check "after a reload, the new external labels and none of the old" grep -qx \
    "fed_one{instance=\"127.0.0.1:$SPORT\",job=\"src\",region=\"r9\"} -1 $TS" "$D/reloaded.txt"
it_finish
