#!/usr/bin/env bash
# metadata.sh — HELP, TYPE and UNIT from the scrape to tsdb's /api/v1/metadata (METADATA v1),
# compared with the real Debian prometheus scraping the same targets with the same
# prometheus.yml.
#
# The scraper starts first: the METADATA its first scrapes cannot send (no tsdb yet) must
# reach tsdb with the next scrapes.
#
# Two targets from test/it/serve_metrics.py: one in the text format (a
# counter, an untyped family, a family with HELP only, one without metadata, an escaped
# HELP), one in OpenMetrics (units, a histogram, a family the other target describes with
# another HELP). tools/promapi-compare.py asks both /api/v1/metadata with and without
# metric, limit and limit_per_metric, and a bad limit. Then the text target's HELP changes:
# tsdb must show the new text within a few scrapes (sent on change, not per scrape), and the
# scraper must not have sent a METADATA per scrape (fw_scraper_metadata_messages_total).
# The same scraped series also give /api/v1/status/tsdb's head series, label pairs and
# top-10 lists as prometheus's head does.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds curl jq python3 prometheus
it_tmpdir
L=127.0.0.1

cat >"$IT_DIR/a.txt" <<'TXT'
# HELP req_total Requests served, with a \\ and a\nnewline.
# TYPE req_total counter
req_total{code="200"} 10
# TYPE odd untyped
odd 1
# HELP help_only Only help.
help_only 2
no_meta 3
# HELP shared_g A gauge both describe.
# TYPE shared_g gauge
shared_g 4
TXT
cat >"$IT_DIR/b.om" <<'OM'
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
# HELP temp_celsius Temperature "inside".
temp_celsius 21.5
# TYPE lat_seconds histogram
# UNIT lat_seconds seconds
# HELP lat_seconds Latency.
lat_seconds_bucket{le="0.1"} 1
lat_seconds_bucket{le="+Inf"} 2
lat_seconds_count 2
lat_seconds_sum 0.3
# TYPE shared_g gauge
# HELP shared_g The other target's words.
shared_g 5
# EOF
OM

SRV=$(it_free_port) SCR=$(it_free_port) TSDB=$(it_free_port) PROM=$(it_free_port)
ZS=$(it_free_port) ZQ=$(it_free_port) ZP=$(it_free_port) ZSP=$(it_free_port)
it_start target python3 test/it/serve_metrics.py "$SRV" /metrics="$IT_DIR/a.txt@text/plain; version=0.0.4" \
    /om="$IT_DIR/b.om"
cat >"$IT_DIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: text
    static_configs: [{targets: ["$L:$SRV"]}]
  - job_name: om
    metrics_path: /om
    static_configs: [{targets: ["$L:$SRV"]}]
YML
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$SCR --zmq.tsdb-address=tcp://$L:$ZS --zmq.pub-address=tcp://$L:$ZSP
# The scraper's first scrapes come before tsdb is up: their METADATA cannot be sent (the
# DEALER queues nothing without a connection) and must be sent again by the next scrape, not
# five minutes later (a race the sanitizer build once lost in CI with tsdb started first).
meta_dropped() {
    test "$(curl -fsS "http://$L:$SCR/metrics" |
        awk '/^fw_scraper_metadata_messages_total\{result="dropped"\}/ {print $2}')" -ge 2 2>/dev/null
}
it_wait_for "the scraper's METADATA of both targets dropped without tsdb" meta_dropped
it_ok "with tsdb not up yet the scraper counts both targets' METADATA as dropped"
it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$TSDB --storage.tsdb.path="$IT_DIR/tsdb" \
    --storage.tsdb.map-size=256MiB --zmq.samples-address=tcp://$L:$ZS \
    --zmq.query-address=tcp://$L:$ZQ --zmq.pub-address=tcp://$L:$ZP --scraper.url=$L:$SCR
it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address=$L:$PROM
it_wait_http "http://$L:$TSDB/-/ready" || it_die "tsdb did not start"
it_wait_http "http://$L:$PROM/-/ready" 200 || it_die "prometheus did not start"
T=http://$L:$TSDB P=http://$L:$PROM
families() { curl -fsS "$1/api/v1/metadata" | jq '.data | length'; }
has() { test "$(families "$1")" = "$2"; }
it_wait_for "tsdb's metadata of both targets" has "$T" 6
it_until 100 0.2 has "$P" 6 || it_die "prometheus has no metadata"
it_ok "both know the 6 described families"

cat >"$IT_DIR/cases.txt" <<'EOF2'
all           | set        | GET /api/v1/metadata
one           | exact      | GET /api/v1/metadata?metric=req_total
unit          | exact      | GET /api/v1/metadata?metric=temp_celsius
hist          | exact      | GET /api/v1/metadata?metric=lat_seconds
shared        | set        | GET /api/v1/metadata?metric=shared_g
none          | exact      | GET /api/v1/metadata?metric=no_meta
per_metric    | exact      | GET /api/v1/metadata?metric=req_total&limit_per_metric=1
limit0        | exact      | GET /api/v1/metadata?limit=0
bad_limit     | error-text | GET /api/v1/metadata?limit=x
# limit_per_metric=y: Prometheus 3 refuses it ("limit_per_metric must be a number", as tsdb:
# check_tsdb_metadata), 2.42 ignores it
EOF2
if python3 tools/promapi-compare.py --a "$P" --b "$T" --cases "$IT_DIR/cases.txt" \
    >"$IT_DIR/cmp.log" 2>&1; then
    it_ok "tsdb's /api/v1/metadata answers as prometheus's: $(tail -n 1 "$IT_DIR/cmp.log")"
else
    grep -v '^same ' "$IT_DIR/cmp.log" || true
    it_die "tsdb's metadata differs from prometheus's"
fi
# limit picks any metrics in Prometheus (a Go map); tsdb takes the first by name
it_check "limit=2 gives two metrics" test "$(curl -fsS "$T/api/v1/metadata?limit=2" |
    jq -c '.data | keys')" = '["help_only","lat_seconds"]'

# status/tsdb on the same scraped series (both heads hold the 2 targets' series, the 5
# synthetic ones each included): head series and label pairs, and each top-10 list: the same
# counts in order, and the same names above the 10th count (ties at the cut go either way).
# memoryInBytesByLabelName is 2.42's slicelabels size, tsdb's is 3's: not compared.
cmp_tsdb_status() {
    python3 - "$(curl -fsS "$P/api/v1/status/tsdb")" "$(curl -fsS "$T/api/v1/status/tsdb")" <<'PY2'
import json, sys
a, b = (json.loads(x)["data"] for x in sys.argv[1:3])
for k in ("numSeries", "numLabelPairs"):
    if a["headStats"][k] != b["headStats"][k]:
        sys.exit("headStats.%s: %s vs %s" % (k, a["headStats"][k], b["headStats"][k]))
for k in ("seriesCountByMetricName", "labelValueCountByLabelName", "seriesCountByLabelValuePair"):
    va, vb = [e["value"] for e in a[k]], [e["value"] for e in b[k]]
    if va != vb:
        sys.exit("%s counts: %s vs %s" % (k, va, vb))
    cut = va[-1] if va else 0
    na = sorted(e["name"] for e in a[k] if e["value"] > cut)
    nb = sorted(e["name"] for e in b[k] if e["value"] > cut)
    if na != nb:
        sys.exit("%s names: %s vs %s" % (k, na, nb))
PY2
}
it_until 50 0.2 cmp_tsdb_status || { cmp_tsdb_status || true; it_die "status/tsdb differs"; }
it_ok "status/tsdb: the same head series, label pairs and top-10 lists as prometheus"

sed -i 's/^# HELP help_only Only help\./# HELP help_only Changed help./' "$IT_DIR/a.txt"
changed() { test "$(curl -fsS "$T/api/v1/metadata?metric=help_only" |
    jq -r '.data.help_only[0].help')" = "Changed help."; }
it_wait_for "the changed HELP in tsdb" changed
it_ok "a changed HELP reaches tsdb"
scrapes=$(curl -fsS "http://$L:$SCR/metrics" | awk '/^fw_scraper_scrapes_total/ {s += $2} END {print s + 0}')
sent=$(curl -fsS "http://$L:$SCR/metrics" |
    awk '/^fw_scraper_metadata_messages_total\{result="sent"\}/ {print $2}')
it_check "METADATA sent on change only: $sent messages for $scrapes scrapes" \
    test "${sent:-0}" -ge 3 -a "${sent:-0}" -le 4 -a "${scrapes:-0}" -gt 8
it_finish
