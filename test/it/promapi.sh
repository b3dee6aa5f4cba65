#!/usr/bin/env bash
# promapi.sh — tsdb's Prometheus HTTP API against the real Debian prometheus on the same data.
#
# One history is written as OpenMetrics: window A (an hour from T0: jobs api, db, web) and
# window B (an hour from T0+4h: jobs batch, cron), every series sampled through its whole
# window, so that Prometheus's block- and chunk-granular answers and tsdb's per-sample ones
# agree for ranges inside a window. promtool turns it into blocks that prometheus serves;
# `tsdb import` loads the same file into tsdb. Then tools/promapi-compare.py asks both the
# same requests (GET and form POST) and compares the answers field by field: labels, label
# values and series with match[], start and end; query and query_range; the errors and their
# HTTP codes; format_query. `limit` is Prometheus 3's (2.42 ignores it): tsdb's answer must be
# the first N of Prometheus's full answer, with the warning exactly when it was cut. Last,
# promtool query instant, range, series and labels must print the same against both.
# Where Prometheus 2.42 and 3 differ (limit, some error texts) the case compares only what
# both define (see the MODE column and tools/promapi-compare.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds promtool prometheus curl python3
it_tmpdir
D=$IT_DIR

T0=1767225600 # 2026-01-01T00:00:00Z, a multiple of 2 h: windows A and B in separate blocks
python3 - "$D/hist.om" "$T0" <<'PY'
import sys
path, t0 = sys.argv[1], int(sys.argv[2])
fam = {}  # family -> (type, unit, help, [(name, labels, window)])
def add(family, typ, unit, help_, name, labels, window):
    fam.setdefault(family, (typ, unit, help_, []))[3].append((name, labels, window))
for w, jobs in (("A", ("api", "db", "web")), ("B", ("batch", "cron"))):
    for j in jobs:
        for i in range(2):
            inst = 'instance="%s-%d:9100",job="%s"' % (j, i, j)
            add("up", "gauge", "", "Whether the target is up.", "up", inst, w)
            for code in ("200", "500"):
                add("http_requests", "counter", "", "Requests served.", "http_requests_total",
                    'code="%s",%s' % (code, inst), w)
            add("temp_celsius", "gauge", "celsius", "A temperature.", "temp_celsius", inst, w)
            for le in ("0.1", "1", "+Inf"):
                add("lat_seconds", "histogram", "seconds", "Latency.", "lat_seconds_bucket",
                    '%s,le="%s"' % (inst, le), w)
            add("lat_seconds", "histogram", "seconds", "Latency.", "lat_seconds_count", inst, w)
            add("lat_seconds", "histogram", "seconds", "Latency.", "lat_seconds_sum", inst, w)
with open(path, "w") as f:
    for family, (typ, unit, help_, rows) in fam.items():
        f.write("# HELP %s %s\n# TYPE %s %s\n" % (family, help_, family, typ))
        if unit:
            f.write("# UNIT %s %s\n" % (family, unit))
        for n, (name, labels, w) in enumerate(rows):
            start = t0 if w == "A" else t0 + 4 * 3600
            for k in range(240):  # an hour at 15 s
                if name == "up":
                    v = 1
                elif name.endswith(("_total", "_bucket", "_count")):
                    v = k * (n % 7 + 1)
                elif name.endswith("_sum"):
                    v = k * 0.25
                else:
                    v = 20 + (k * 7 + n) % 13 / 10
                f.write("%s{%s} %s %d\n" % (name, labels, v, start + k * 15))
    f.write("# EOF\n")
PY
promtool tsdb create-blocks-from openmetrics -q "$D/hist.om" "$D/blocks" >/dev/null ||
    it_die "promtool create-blocks-from openmetrics refused the history"
"$TSDB" import --storage.tsdb.path="$D/tsdb" --storage.tsdb.map-size=256MiB "$D/hist.om" \
    >"$D/import.out" 2>&1 || it_die "tsdb import failed: $(cat "$D/import.out")"
it_ok "the history is in promtool's blocks and in tsdb"

PPORT=$(it_free_port)
TPORT=$(it_free_port)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/prometheus.yml"
it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/blocks" \
    --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:"$PPORT"
it_start tsdb "$TSDB" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/tsdb" \
    --storage.tsdb.retention.time=0s --storage.tsdb.map-size=256MiB \
    --web.listen-address=127.0.0.1:"$TPORT" --scraper.url= \
    --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
it_wait_http "http://127.0.0.1:$PPORT/-/ready" 300 || it_die "prometheus did not start"
it_wait_http "http://127.0.0.1:$TPORT/-/ready" || it_die "tsdb did not start"
P=http://127.0.0.1:$PPORT
T=http://127.0.0.1:$TPORT
it_ok "prometheus on :$PPORT and tsdb on :$TPORT"

A1=$((T0 + 600)) A2=$((T0 + 3000)) B1=$((T0 + 4 * 3600 + 600)) B2=$((T0 + 4 * 3600 + 3000))
AQ=$((T0 + 1800)).5 # off the 15 s grid: Prometheus 2's closed and 3's left-open windows agree
M='match%5B%5D='
cat >"$D/cases.txt" <<EOF
# --- labels: Grafana's variable queries (match[], start, end), GET and form POST
labels_all        | exact     | GET /api/v1/labels
labels_match      | exact     | GET /api/v1/labels?${M}up
labels_match_hist | exact     | GET /api/v1/labels?${M}lat_seconds_bucket&${M}up%7Bjob%3D%22db%22%7D
labels_window_a   | exact     | GET /api/v1/labels?start=$A1&end=$A2
labels_post       | exact     | POST /api/v1/labels | ${M}temp_celsius&start=$B1&end=$B2
values_job        | exact     | GET /api/v1/label/job/values
values_job_match  | exact     | GET /api/v1/label/job/values?${M}up%7Bjob%3D~%22a.%2A%7Cc.%2A%22%7D
values_job_a      | exact     | GET /api/v1/label/job/values?start=$A1&end=$A2
values_job_b      | exact     | GET /api/v1/label/job/values?${M}up&start=$B1&end=$B2
values_job_rfc    | exact     | GET /api/v1/label/job/values?start=2026-01-01T04:10:00Z&end=2026-01-01T04:50:00.5Z
values_inst_b     | exact     | GET /api/v1/label/instance/values?${M}http_requests_total%7Bcode%3D%22500%22%7D&start=$B1
values_name_job   | exact     | GET /api/v1/label/__name__/values?${M}%7Bjob%3D%22cron%22%7D
values_none       | exact     | GET /api/v1/label/nothing/values
# --- series
series_up         | exact     | GET /api/v1/series?${M}up
series_two        | exact     | GET /api/v1/series?${M}up%7Bjob%3D%22api%22%7D&${M}temp_celsius%7Binstance%3D~%22db.%2A%22%7D
series_window_a   | exact     | GET /api/v1/series?${M}up&start=$A1&end=$A2
series_window_b   | exact     | POST /api/v1/series | ${M}lat_seconds_count&start=$B1&end=$B2
series_none       | exact     | GET /api/v1/series?${M}up&start=$((T0 + 2 * 3600))&end=$((T0 + 3 * 3600))
# --- limit (Prometheus 3; 2.42 ignores it): the first N of the full answer, and the warning
labels_limit      | limit:3   | GET /api/v1/labels?limit=3
values_limit      | limit:2   | GET /api/v1/label/job/values?limit=2&start=$A1&end=$A2
values_limit_all  | limit:9   | GET /api/v1/label/job/values?limit=9
series_limit      | limit:4   | GET /api/v1/series?${M}up&limit=4
# --- queries, GET and form POST
query_get         | data      | GET /api/v1/query?query=sum+by+(job)+(rate(http_requests_total%5B5m%5D))&time=$AQ
query_post        | data      | POST /api/v1/query | query=histogram_quantile(0.9,sum+by+(le)+(rate(lat_seconds_bucket%5B5m%5D)))&time=$AQ
query_vector      | data      | GET /api/v1/query?query=temp_celsius%7Bjob%3D%22web%22%7D&time=$AQ
query_range_get   | data      | GET /api/v1/query_range?query=avg+by+(job)+(temp_celsius)&start=$A1.5&end=$A2.5&step=60
query_range_post  | data      | POST /api/v1/query_range | query=up&start=$B1.5&end=$B2.5&step=300&timeout=30s
# stats: totalQueryableSamples and peakSamples as Prometheus counts them (selectors, range
# functions, aggregations, operators, literals, subqueries, @); windows off the sample grid,
# where Prometheus 2's closed and 3's left-open ones agree
stats_instant     | stats     | GET /api/v1/query?query=up%7Bjob%3D%22api%22%7D&time=$AQ&stats=true
stats_rate        | stats     | POST /api/v1/query | query=sum(rate(http_requests_total%5B5m%5D))&time=$AQ&stats=all
stats_range       | stats     | GET /api/v1/query_range?query=max_over_time(temp_celsius%5B2m%5D)&start=$A1.5&end=$A2.5&step=60&stats=true
stats_hist        | stats     | GET /api/v1/query?query=histogram_quantile(0.9,sum+by+(le)+(rate(lat_seconds_bucket%5B5m%5D)))&time=$AQ&stats=all
stats_binop       | stats     | POST /api/v1/query_range | query=rate(http_requests_total%5B5m%5D)+%3E+0+and+on(job)+up&start=$A1.5&end=$A2.5&step=60&stats=all
stats_topk        | stats     | GET /api/v1/query?query=sum(topk(2,temp_celsius))%2B1&time=$AQ&stats=all
stats_subquery    | stats     | GET /api/v1/query_range?query=sum(max_over_time(temp_celsius%5B10m:1m%5D))&start=$A1.5&end=$A2.5&step=60&stats=all
stats_nested      | stats     | GET /api/v1/query_range?query=max_over_time(max_over_time(up%5B190s:30s%5D)%5B5m:1m%5D)&start=$A1.5&end=$A2.5&step=120&stats=all
stats_subq_top    | stats     | GET /api/v1/query?query=temp_celsius%5B10m:1m%5D&time=$AQ&stats=all
stats_at          | stats     | GET /api/v1/query_range?query=sum(up+%40+$((T0 + 1800)))+%2B+sum(up)&start=$A1.5&end=$A2.5&step=1&stats=all
stats_scalar      | stats     | GET /api/v1/query_range?query=time()+%2B+1&start=$A1.5&end=$A2.5&step=60&stats=all
stats_timestamp   | stats     | GET /api/v1/query_range?query=timestamp(up)&start=$A1.5&end=$A2.5&step=60&stats=all
stats_absent      | stats     | GET /api/v1/query_range?query=absent_over_time(up%7Bjob%3D%22api%22%7D%5B1m%5D)&start=$A1.5&end=$A2.5&step=60&stats=all
query_scalar      | exact     | GET /api/v1/query?query=1%2B2&time=$AQ
query_string      | exact     | GET /api/v1/query?query=%22a%22&time=$AQ
# --- errors: the HTTP code and errorType always, the text where 2.42 and 3 agree. 2.42 says
# "Invalid time value", 3 "invalid time value" (tsdb: 3's)
e_series_nomatch  | error-text| GET /api/v1/series
e_series_badmatch | error     | GET /api/v1/series?${M}up%7B
e_labels_badmatch | error     | GET /api/v1/labels?${M}up%7B
# a name invalid for both (not UTF-8): 0x is a valid name since Prometheus 3's UTF-8 names
e_values_badname  | error     | GET /api/v1/label/a%FFb/values
e_labels_start    | error     | GET /api/v1/labels?start=yesterday
e_series_end      | error     | GET /api/v1/series?${M}up&end=x
e_query_parse     | error-text| GET /api/v1/query?query=sum(
e_query_time      | error     | GET /api/v1/query?query=up&time=x
e_query_timeout   | error-text| GET /api/v1/query?query=up&timeout=x
e_query_timed_out | error     | GET /api/v1/query?query=count_over_time(%7B__name__%3D~%22.%2B%22%7D%5B6h%5D)&time=$AQ&timeout=0.000000001
e_range_timed_out | error     | POST /api/v1/query_range | query=up&start=$A1&end=$A2&step=15&timeout=-1s
e_query_exec      | error     | GET /api/v1/query?query=http_requests_total+%2B+on(job)+http_requests_total&time=$AQ
e_range_order     | error-text| GET /api/v1/query_range?query=up&start=10&end=5&step=1
e_range_step      | error-text| GET /api/v1/query_range?query=up&start=1&end=5&step=0
e_range_points    | error-text| GET /api/v1/query_range?query=up&start=0&end=100000&step=1
e_range_type      | error-text| POST /api/v1/query_range | query=up%5B5m%5D&start=1&end=5&step=1
e_range_start     | error-text| GET /api/v1/query_range?query=up&start=x&end=5&step=1
e_no_route        | exact     | GET /api/v1/nothing
e_label_path      | exact     | GET /api/v1/label/job/nothing
e_method          | exact     | DELETE /api/v1/query?query=up
e_query_empty     | error-text| GET /api/v1/query
e_exemplars_order | error-text| GET /api/v1/query_exemplars?query=up&start=10&end=5
e_labels_empty_m  | error     | GET /api/v1/labels?${M}%7Bjob%3D~%22.%2A%22%7D
# --- format_query and the rest
format_short      | exact     | GET /api/v1/format_query?query=sum+by(job)(rate(http_requests_total%7Bcode%3D%22500%22,job%3D~%22a.%2A%22%7D%5B5m%5D))
format_long       | exact     | POST /api/v1/format_query | query=sum+by(job)(rate(http_requests_total%7Bcode%3D%22500%22%7D%5B5m%5D))/sum+by(job)(rate(http_requests_total%5B5m%5D))%3E0.01
format_bad        | error-text| GET /api/v1/format_query?query=up%2B
exemplars_empty   | exact     | GET /api/v1/query_exemplars?query=up&start=$A1&end=$A2
buildinfo_keys    | keys      | GET /api/v1/status/buildinfo
EOF
if python3 tools/promapi-compare.py --a "$P" --b "$T" --cases "$D/cases.txt" >"$D/cmp.log" 2>&1; then
    it_ok "tsdb answers as prometheus: $(tail -n 1 "$D/cmp.log")"
else
    grep -v '^same ' "$D/cmp.log" || true
    it_die "tsdb's answers differ from prometheus's"
fi

# --- promtool query against both prints the same ---
pq() { promtool query "$@" 2>&1; }
same_out() { # DESC ARGS...: promtool query ARGS with each server in place of SERVER
    local desc=$1; shift
    local a b
    a=$(pq "${@/SERVER/$P}") b=$(pq "${@/SERVER/$T}")
    [ -n "$a" ] || it_die "promtool $desc printed nothing against prometheus"
    [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -20 || true; it_die "promtool $desc differs"; }
    it_ok "promtool query $desc: the same $(echo "$a" | wc -l) lines"
}
same_out "instant" instant --time="$AQ" SERVER 'max by (job) (temp_celsius)'
same_out "range" range --start="$B1.5" --end="$B2.5" --step=5m SERVER 'up{job="cron"}'
same_out "series" series --match='up{job=~"a.*|b.*"}' --start="$A1" --end="$A2" SERVER
same_out "labels" labels --match='temp_celsius' --start="$B1" --end="$B2" SERVER instance
echo "promapi.sh: $IT_PASSES passed"
