#!/usr/bin/env bash
# scrape_million.sh — a target of a million series under the scraper's default limits is
# cut off with a clear lastError and up 0, and a light target in the same scraper keeps
# being scraped, with the scraper's and tsdb's memory bounded (issue 7, "Bad input").
#
# A python3 HTTP server (threaded) serves a pre-built body of MILLION_SERIES (1,000,000)
# series, about 27 MB of text 0.0.4 (under the default body size limit of 64 MiB, over the
# default sample limit of 500,000), and a one-line light body. Scraper A, with no limit in
# its prometheus.yml and no --scrape.default-* flag (so the defaults apply), scrapes both
# (heavy every 2 s, light every 1 s) into a real tsdb; scraper B, the control, scrapes only
# the light target into the same tsdb under the same load at the same time. Asserts: the
# heavy target is down with lastError "sample limit exceeded" and up 0 in tsdb, none of its
# series stored, the failures counted as limit failures; over the window A's light
# scrapes are as many as B's (>= 80% of B's, less one); and the peak RSS (VmHWM) of the
# scraper and of tsdb stay under SCRAPER_MAX_MB and TSDB_MAX_MB. A against B, not against
# the clock, so a busy machine slows both alike. Every wait is bounded in tries and seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
# The memory bounds are the release build's (AddressSanitizer multiplies a footprint).
if it_asan_build "$BIN/scraper"; then
    it_skip "the memory bounds measure the release build, not an AddressSanitizer build"
fi
it_need_bins scraper tsdb
it_need_cmds python3 jq curl
it_tmpdir
NS=${MILLION_SERIES:-1000000} WINDOW=${MILLION_WINDOW:-12} WINDOW_MAX_S=${MILLION_WINDOW_MAX_S:-150}
SCRAPER_MAX_MB=${SCRAPER_MAX_MB:-768} TSDB_MAX_MB=${TSDB_MAX_MB:-256}

SRV=$(it_free_port) WEB=$(it_free_port) WEB_B=$(it_free_port)
cat > "$IT_DIR/targets.py" <<'PY'
import http.server, socketserver, sys
n = int(sys.argv[2])
HEAVY = b"".join(b'million_series{i="%d"} 1\n' % i for i in range(n))
LIGHT = b"light_metric 1\n"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        body = {"/heavy": HEAVY, "/light": LIGHT}.get(self.path.split("?")[0])
        if body is None: return self.send_error(404)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try: self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
sys.stderr.write("heavy body %d bytes\n" % len(HEAVY)); sys.stderr.flush()
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
it_start targets python3 "$IT_DIR/targets.py" "$SRV" "$NS"
it_wait_http "http://127.0.0.1:$SRV/light" 300 || it_die "target server did not start"
it_start_tsdb_and_alertd
cat > "$IT_DIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: light, metrics_path: /light, static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
  - {job_name: heavy, metrics_path: /heavy, scrape_interval: 2s, scrape_timeout: 2s,
     static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
YML
cat > "$IT_DIR/control.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: light_control, metrics_path: /light, static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
YML
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB" "$T_SAMPLES" || it_die "scraper not ready"
it_start control "$BIN/scraper" --config.file="$IT_DIR/control.yml" \
    --web.listen-address="127.0.0.1:$WEB_B" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)"
it_wait_http "http://127.0.0.1:$WEB_B/-/ready" || it_die "control scraper not ready"

metric() {
    curl -fsS --max-time 5 "http://127.0.0.1:$WEB/metrics" |
        awk -v n="$1" -v j="job=\"$2\"" 'index($0, n "{") == 1 && index($0, j) { s += $NF } END { print s + 0 }'
}
query() {
    curl -fsS --max-time 10 "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // "0"'
}
# until_s SECONDS PAUSE CMD...: CMD until it succeeds, for at most SECONDS (and as many tries)
until_s() {
    local end=$((SECONDS + $1)) pause=$2 tries=0; shift 2
    while [ "$SECONDS" -le "$end" ] && [ "$tries" -le 600 ]; do
        "$@" >/dev/null 2>&1 && return 0
        tries=$((tries + 1)); sleep "$pause"
    done
    return 1
}
heavy_failed() { [ "$(metric fw_scraper_scrape_failures_total heavy)" -ge 1 ]; }
it_check "the heavy target was scraped and failed" until_s 120 0.5 heavy_failed

# The window: at least WINDOW s, until A scraped the heavy target 3 more times and B has
# WINDOW - 1 light scrapes (at most WINDOW_MAX_S).
t0=$SECONDS h0=$(metric fw_scraper_scrapes_total heavy)
span() { echo $((SECONDS - t0 + 1)); }
ups() { query "count_over_time(up{job=\"$1\"}[$2s])"; }
window_done() {
    local w; w=$(span)
    [ "$w" -ge "$WINDOW" ] && [ "$(ups light_control "$w")" -ge $((WINDOW - 1)) ] &&
        [ $(($(metric fw_scraper_scrapes_total heavy) - h0)) -ge 3 ]
}
until_s "$WINDOW_MAX_S" 1 window_done || true
w=$(span)
light=$(ups light "$w") control=$(ups light_control "$w") heavy=$(($(metric fw_scraper_scrapes_total heavy) - h0))
echo "   in ${w}s (load $(cut -d' ' -f1 /proc/loadavg)): light scrapes $light (control $control), heavy $heavy"
it_check "the window closed within ${WINDOW_MAX_S}s (${w}s)" [ "$w" -le $((WINDOW_MAX_S + 2)) ]
it_check "the heavy target was scraped meanwhile ($heavy >= 3)" [ "$heavy" -ge 3 ]
it_check "the light target kept being scraped: $light >= 80% of the control's $control - 1" \
    [ $((light * 10)) -ge $((control * 8 - 10)) ]
it_check "light is up" [ "$(query 'up{job="light"}')" = 1 ]

tgt=$(curl -fsS "$API" | jq -r '.data.activeTargets[] | select(.labels.job=="heavy") | .health + " " + .lastError')
it_check "heavy: down, lastError names the limit ($tgt)" [ "$tgt" = "down sample limit exceeded" ]
it_check "heavy: up 0 in tsdb" [ "$(query 'count(up{job="heavy"} == 0)')" = 1 ]
it_check "heavy: scrape_samples_scraped counts the whole body ($NS)" \
    [ "$(query 'scrape_samples_scraped{job="heavy"}')" = "$NS" ]
it_check "heavy: none of its series stored" [ "$(query 'count(million_series)')" = 0 ]
it_check "heavy: counted as sample_limit failures" \
    [ "$(metric fw_scraper_limit_exceeded_total heavy)" -ge 3 ]
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }
s_hwm=$(hwm "$PID_scraper") t_hwm=$(hwm "$PID_tsdb")
echo "   peak RSS: scraper $s_hwm MiB, tsdb $t_hwm MiB"
it_check "scraper peak RSS ${s_hwm} MiB < ${SCRAPER_MAX_MB} MiB" [ "$s_hwm" -lt "$SCRAPER_MAX_MB" ]
it_check "tsdb peak RSS ${t_hwm} MiB < ${TSDB_MAX_MB} MiB" [ "$t_hwm" -lt "$TSDB_MAX_MB" ]
it_term "$PID_scraper"
it_check "scraper SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
