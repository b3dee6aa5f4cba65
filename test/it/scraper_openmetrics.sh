#!/usr/bin/env bash
# scraper_openmetrics.sh — OpenMetrics is scraped as Prometheus 3 scrapes it.
#
# One local HTTP server (python3's http.server, in this script) answers five paths: a valid
# OpenMetrics body (histogram with exemplars, counter, info, stateset), an OpenMetrics body
# with a NaN counter (the OpenMetrics spec forbids it, Prometheus scrapes it), that NaN
# counter as Prometheus text 0.0.4, OpenMetrics without "# EOF" and OpenMetrics with a UNIT
# that is not the name's suffix (both refused by Prometheus's parser). Asserts, through the
# scraper's /api/v1/targets and its PUB socket (fwtail), that the first three are up with
# their samples and the last two down with Prometheus's error texts in lastError.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl jq python3
it_tmpdir

mkdir -p "$IT_DIR/www"
cat > "$IT_DIR/www/good.om" <<'OM'
# TYPE rq_seconds histogram
# UNIT rq_seconds seconds
# HELP rq_seconds Request latency.
rq_seconds_bucket{path="/a",le="0.5"} 3 # {trace_id="4bf92f3577b34da6"} 0.25 1700000000.5
rq_seconds_bucket{path="/a",le="+Inf"} 4 # {trace_id="00f067aa0ba902b7"} 9.5
rq_seconds_count{path="/a"} 4
rq_seconds_sum{path="/a"} 10.25
rq_seconds_created{path="/a"} 1700000000
# TYPE jobs counter
jobs_total{queue="x"} 7 # {trace_id="a"} 1
# TYPE build info
build_info{version="1.2"} 1
# TYPE mode stateset
mode{mode="auto"} 1
mode{mode="manual"} 0
# EOF
OM
printf '# TYPE jobs counter\njobs_total 7\njobs_total{queue="x"} NaN\n# EOF\n' \
    > "$IT_DIR/www/nan.om"
printf '# TYPE jobs counter\njobs_total 7\njobs_total{queue="x"} NaN\n' > "$IT_DIR/www/nantext.txt"
printf '# TYPE jobs counter\njobs_total 7\n' > "$IT_DIR/www/noeof.om"
printf '# TYPE a_x gauge\n# UNIT a_x seconds\na_x 1\n# EOF\n' > "$IT_DIR/www/badunit.om"

# Answers /<name> with www/<name>.om as OpenMetrics or www/<name>.txt as text 0.0.4.
cat > "$IT_DIR/serve.py" <<'PY'
import http.server, os, sys
www = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        base = os.path.join(www, os.path.basename(self.path))
        for ext, ctype in ((".om", "application/openmetrics-text; version=1.0.0; charset=utf-8"),
                           (".txt", "text/plain; version=0.0.4; charset=utf-8")):
            if os.path.exists(base + ext):
                body = open(base + ext, "rb").read()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.send_error(404)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

SRV_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
PUSH_PORT=$(it_free_port)
PUB_PORT=$(it_free_port)
it_start serve python3 "$IT_DIR/serve.py" "$SRV_PORT" "$IT_DIR/www"
it_wait_http "http://127.0.0.1:$SRV_PORT/good"
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
YML
for job in good nan noeof nantext badunit; do
    printf '  - job_name: %s\n    metrics_path: /%s\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
        "${job/nantext/text}" "$job" "$SRV_PORT" >> "$IT_DIR/prometheus.yml"
done

it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT" "$PUSH_PORT" "$PUB_PORT"

field() {
    curl -fsS "$API" | jq -r --arg j "$1" --arg f "$2" \
        '.data.activeTargets[] | select(.labels.job==$j) | .[$f]'
}
health_is() { [ "$(field "$1" health)" = "$2" ]; }
it_check "valid OpenMetrics target is up" it_until 50 0.1 health_is good up
it_check "text target with a NaN counter is up (0.0.4 is lenient)" \
    it_until 50 0.1 health_is text up
it_check "OpenMetrics target with a NaN counter is up (as in Prometheus)" \
    it_until 50 0.1 health_is nan up
it_check "OpenMetrics target without # EOF is down" it_until 50 0.1 health_is noeof down
it_check "OpenMetrics target with a UNIT not its name's suffix is down" \
    it_until 50 0.1 health_is badunit down
it_check "lastError is Prometheus's text for a missing # EOF" \
    [ "$(field noeof lastError)" = 'data does not end with # EOF' ]
it_check "lastError is Prometheus's text for the unit, with line and column" \
    [ "$(field badunit lastError)" \
      = 'line 2: unit "seconds" not a suffix of metric "a_x" at column 12' ]
it_check "the valid and the NaN targets have no lastError" \
    [ -z "$(field good lastError)$(field nan lastError)" ]

if [ -x "$BIN/fwtail" ]; then
    "$BIN/fwtail" --type=SAMPLES --count=8 --timeout=6s "tcp://127.0.0.1:$PUB_PORT" \
        > "$IT_DIR/tail.jsonl" 2>"$IT_DIR/fwtail.log" || true
    has_series() {
        jq -e -s --arg n "$1" --arg j "$2" \
            '[.[].body.series[] | select(.labels.__name__==$n and .labels.job==$j)] | length > 0' \
            "$IT_DIR/tail.jsonl" >/dev/null
    }
    it_check "PUB carries the histogram bucket of the valid OpenMetrics target" \
        has_series rq_seconds_bucket good
    it_check "PUB carries the stateset sample" has_series mode good
    it_check "PUB carries the text target's NaN counter" has_series jobs_total text
    it_check "PUB carries the OpenMetrics target's NaN counter" has_series jobs_total nan
    no_series() { ! has_series "$@"; }
    it_check "PUB carries nothing of the rejected OpenMetrics body" no_series a_x badunit
fi

it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
