#!/usr/bin/env bash
# utf8_names.sh — Prometheus 3's UTF-8 metric and label names, scraped, stored and queried.
#
# A local HTTP server (test/it/serve_metrics.py) serves the Prometheus 3 text format with
# quoted names ({"line.oee","line.id"="l1"} 0.84, # TYPE "line.oee" gauge) and the same as
# OpenMetrics, and records each request's Accept header. The real scraper scrapes it into
# the real tsdb. Asserts: the default (utf8) jobs are up and ask for escaping=allow-utf-8;
# a job with metric_name_validation_scheme legacy asks for escaping=underscores and is down
# with "invalid metric name or label names"; tsdb answers the series by quoted selectors,
# by ("line.id") grouping, /api/v1/labels, /api/v1/label/U__line_2e_id/values (the
# "values"-escaped name, as Prometheus 3), /api/v1/format_query ({__name__="line.oee"}) and
# /federate (quoted names with escaping=allow-utf-8 in Accept, underscores without).
#
# No side-by-side with the real peer: the Debian prometheus is 2.42, which has no UTF-8
# names (its parsers refuse quoted names); the expected answers are Prometheus 3's
# documented ones (docs "UTF-8 in Prometheus", promql/parser printer).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds curl jq python3
it_tmpdir

mkdir -p "$IT_DIR/www"
cat > "$IT_DIR/www/text.txt" <<'TXT'
# HELP "line.oee" Overall equipment effectiveness per line.
# TYPE "line.oee" gauge
{"line.oee","line.id"="l1",plant="p1"} 0.84
{"line.oee","line.id"="l2",plant="p1"} 0.3
plain_ok{"station name"="press 1"} 1
TXT
cat > "$IT_DIR/www/om.om" <<'OM'
# TYPE "om.requests" counter
# HELP "om.requests" Requests.
{"om.requests_total","http.status"="200"} 17
# EOF
OM

SRV_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
T_HTTP=$(it_free_port)
T_SAMPLES=$(it_free_port)
T_QUERY=$(it_free_port)
T_PUB=$(it_free_port)
TEXT3='text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8' # Prometheus 3's
it_start serve env ACCEPT_LOG="$IT_DIR/accept.log" python3 test/it/serve_metrics.py "$SRV_PORT" \
    "/text=$IT_DIR/www/text.txt@$TEXT3" "/om=$IT_DIR/www/om.om"
it_wait_http "http://127.0.0.1:$SRV_PORT/text"
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" \
    --storage.tsdb.path="$IT_DIR/tsdb" --storage.tsdb.map-size=64MiB \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.query-address="tcp://127.0.0.1:$T_QUERY" --zmq.pub-address="tcp://127.0.0.1:$T_PUB"
it_wait_http "http://127.0.0.1:$T_HTTP/-/ready"
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: utf8
    metrics_path: /text
    static_configs: [{targets: ["127.0.0.1:$SRV_PORT"], labels: {line.zone: z1}}]
  - job_name: om
    metrics_path: /om
    static_configs: [{targets: ["127.0.0.1:$SRV_PORT"]}]
  - job_name: legacy
    metrics_path: /text
    metric_name_validation_scheme: legacy
    static_configs: [{targets: ["127.0.0.1:$SRV_PORT"]}]
YML
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT" "$T_SAMPLES"

field() {
    curl -fsS "$API" | jq -r --arg j "$1" --arg f "$2" \
        '.data.activeTargets[] | select(.labels.job==$j) | .[$f]'
}
health_is() { [ "$(field "$1" health)" = "$2" ]; }
it_check "the text target with quoted UTF-8 names is up" it_until 50 0.1 health_is utf8 up
it_check "the OpenMetrics target with quoted UTF-8 names is up" it_until 50 0.1 health_is om up
it_check "the legacy-validation job is down" it_until 50 0.1 health_is legacy down
it_check "its lastError says why" \
    bash -c "[[ '$(field legacy lastError)' == 'invalid metric name or label names'* ]]"
accept_of() { grep -m1 "^$1 " "$IT_DIR/accept.log" | cut -d' ' -f2-; }
it_check "the utf8 jobs ask for escaping=allow-utf-8" \
    bash -c "[[ '$(accept_of /om)' == *'escaping=allow-utf-8'* ]]"
it_check "the legacy job asks for escaping=underscores" \
    grep -q '^/text .*escaping=underscores' "$IT_DIR/accept.log"

Q="http://127.0.0.1:$T_HTTP/api/v1"
value() {
    curl -fsS "$Q/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'
}
stored() { [ "$(value "$1")" = "$2" ]; }
it_check 'tsdb answers {"line.oee","line.id"="l1"} 0.84' \
    it_until 100 0.1 stored '{"line.oee","line.id"="l1"}' 0.84
it_check 'the OpenMetrics counter {"om.requests_total"} is 17' \
    it_until 100 0.1 stored '{"om.requests_total","http.status"="200"}' 17
it_check 'a UTF-8 target label (static_configs) is on the stored series' \
    stored 'count({"line.oee","line.zone"="z1"})' 2
it_check 'a quoted label name on a legacy metric name' stored 'plain_ok{"station name"="press 1"}' 1
it_check 'sum by ("line.id") keeps the UTF-8 label' \
    [ "$(curl -fsS "$Q/query" --data-urlencode 'query=sum by ("line.id") ({"line.oee"})' |
        jq -c '[.data.result[].metric["line.id"]] | sort')" = '["l1","l2"]' ]
it_check "/api/v1/labels lists line.id and http.status" \
    [ "$(curl -fsS "$Q/labels" | jq -c '[.data[] | select(. == "line.id" or . == "http.status")]')" \
      = '["http.status","line.id"]' ]
it_check "/api/v1/label/U__line_2e_id/values (escaped name) answers l1, l2" \
    [ "$(curl -fsS "$Q/label/U__line_2e_id/values" | jq -c .data)" = '["l1","l2"]' ]
it_check "/api/v1/series finds both line.oee series" \
    [ "$(curl -fsS "$Q/series" --data-urlencode 'match[]={"line.oee"}' | jq '.data | length')" = 2 ]
it_check "format_query prints the quoted name as Prometheus 3: {__name__=\"line.oee\"}" \
    [ "$(curl -fsS "$Q/format_query" --data-urlencode 'query={"line.oee", "line.id"="l1"}' |
        jq -r .data)" = '{"line.id"="l1",__name__="line.oee"}' ]
fed_has() { # fed_has ACCEPT TEXT...: the /federate answer for {"line.oee"} holds each TEXT
    local accept=$1 body
    shift
    body=$(curl -fsS -G -H "Accept: $accept" "http://127.0.0.1:$T_HTTP/federate" \
        --data-urlencode 'match[]={"line.oee"}')
    for t in "$@"; do grep -qF -- "$t" <<<"$body" || return 1; done
}
it_check "/federate with escaping=allow-utf-8 writes the quoted names" \
    fed_has 'text/plain;version=1.0.0;escaping=allow-utf-8' '# TYPE "line.oee" untyped' \
    '{"line.oee",instance=' ',"line.id"="l1",'
it_check "/federate without escaping= writes them escaped with underscores (Prometheus 3's default)" \
    fed_has 'text/plain;version=0.0.4' '# TYPE line_oee untyped' 'line_oee{instance=' \
    ',line_id="l1",'
fed_type() { # fed_type ACCEPT: the Content-Type of the /federate answer
    curl -fsS -o /dev/null -w '%{content_type}' -G -H "Accept: $1" \
        "http://127.0.0.1:$T_HTTP/federate" --data-urlencode 'match[]={"line.oee"}'
}
it_check "/federate's allow-utf-8 answer is labelled escaping=allow-utf-8 (Prometheus 3)" \
    [ "$(fed_type 'text/plain;version=1.0.0;escaping=allow-utf-8')" = \
        "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8" ]
it_check "/federate's default answer is labelled escaping=underscores (Prometheus 3)" \
    [ "$(fed_type 'text/plain;version=0.0.4')" = \
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores" ]
it_check "a label name that is not UTF-8 is refused with 400" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$Q/label/a%FFb/values")" = 400 ]

it_finish
