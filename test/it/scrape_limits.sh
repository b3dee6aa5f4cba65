#!/usr/bin/env bash
# scrape_limits.sh — bad targets are cut off at their limits, each with up 0 and a clear
# lastError, while a 1 s target beside them keeps being scraped on time.
#
# One local python3 HTTP server (threaded) plays the bad targets: too many samples, a 10 MB
# label value, a gzip bomb (50 MB of zeros in ~50 KB), an endless body, a slow trickle (one
# line every 0.3 s) and garbage; plus a good target and one for sample_limit_mode
# drop_excess. Every server loop is bounded in time. Global limits and jobs' own: label_limit,
# label_name_length_limit, label_value_length_limit and sample_limit each fail a job that
# sets none with Prometheus's text, and a job's own limit wins (larger or smaller);
# metric_relabel_configs run before sample_limit counts. A second scraper, with the
# --scrape.default-* flags lowered, shows them taken by a job that sets no limit (nor
# global) and a job's own limit winning over them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds python3 jq curl
it_tmpdir

SRV=$(it_free_port); WEB=$(it_free_port); PUSH=$(it_free_port); PUB=$(it_free_port)
cat > "$IT_DIR/targets.py" <<'PY'
import gzip, http.server, io, socketserver, sys, time, zlib

GOOD = b"good_metric 1\n"
BOMB = zlib.compressobj(9, zlib.DEFLATED, 31)
BOMB = BOMB.compress(b"\0" * (50 << 20)) + BOMB.flush()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, body, extra=()):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        for k, v in extra: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def stream(self, gen):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in gen: self.wfile.write(chunk); self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError): pass
    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/good": self.send(GOOD)
        elif p == "/many": self.send(b"".join(b"m{i=\"%d\"} 1\n" % i for i in range(1000)))
        elif p == "/excess": self.send(b"".join(b"x{i=\"%d\"} 1\n" % i for i in range(10)))
        elif p == "/longname": self.send(b"ln{a_label_name_that_is_long=\"v\"} 1\n")
        elif p == "/labels": self.send(b"lb{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 1\n")
        elif p == "/value": self.send(b"vv{v=\"0123456789abcdefghij\"} 1\n")
        elif p == "/bigbody": self.send(b"# " + b"x" * 20000 + b"\nbig 1\n")
        elif p == "/huge": self.send(b"h{v=\"" + b"a" * (10 << 20) + b"\"} 1\n")
        elif p == "/bomb": self.send(BOMB, [("Content-Encoding", "gzip")])
        elif p == "/garbage": self.send(b"\x00\xffnot{{{ a metric\n")
        elif p == "/endless":
            end = time.time() + 30
            line = b"e{i=\"0\"} 1\n" * 1000
            self.stream(line for _ in iter(int, 1) if time.time() < end)
        elif p == "/trickle":
            end = time.time() + 30
            def g():
                i = 0
                while time.time() < end:
                    yield b"t%d 1\n" % i; i += 1; time.sleep(0.3)
            self.stream(g())
        else: self.send_error(404)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
it_start targets python3 "$IT_DIR/targets.py" "$SRV"
it_wait_http "http://127.0.0.1:$SRV/good"

T="[\"127.0.0.1:$SRV\"]"
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 2s
  scrape_timeout: 1500ms
  body_size_limit: 1MB
  # global limits a job without its own takes (job names stay within 16 characters: the
  # job label's value counts too)
  sample_limit: 500
  label_limit: 6
  label_name_length_limit: 20
  label_value_length_limit: 16
scrape_configs:
  - {job_name: fast, scrape_interval: 1s, scrape_timeout: 1s, metrics_path: /good, static_configs: [{targets: $T}]}
  - {job_name: many, metrics_path: /many, sample_limit: 100, static_configs: [{targets: $T}]}
  - {job_name: excess, metrics_path: /excess, sample_limit: 4, sample_limit_mode: drop_excess, static_configs: [{targets: $T}]}
  - {job_name: huge, metrics_path: /huge, body_size_limit: 20MB, label_value_length_limit: 1024, static_configs: [{targets: $T}]}
  - {job_name: bomb, metrics_path: /bomb, static_configs: [{targets: $T}]}
  - {job_name: endless, metrics_path: /endless, static_configs: [{targets: $T}]}
  - {job_name: trickle, metrics_path: /trickle, body_size_limit: 100MB, static_configs: [{targets: $T}]}
  - {job_name: garbage, metrics_path: /garbage, static_configs: [{targets: $T}]}
  - {job_name: toomany, metrics_path: /good, target_limit: 1, static_configs: [{targets: ["127.0.0.1:$SRV", "localhost:$SRV"]}]}
  - {job_name: lname, metrics_path: /longname, static_configs: [{targets: $T}]}
  - {job_name: lname_job, metrics_path: /longname, label_name_length_limit: 25, static_configs: [{targets: $T}]}
  - {job_name: nlabels, metrics_path: /labels, static_configs: [{targets: $T}]}
  - {job_name: nlabels_job, metrics_path: /labels, label_limit: 7, static_configs: [{targets: $T}]}
  - {job_name: nlabels_low, metrics_path: /good, label_limit: 2, static_configs: [{targets: $T}]}
  - {job_name: value, metrics_path: /value, static_configs: [{targets: $T}]}
  - {job_name: value_job, metrics_path: /value, label_value_length_limit: 20, static_configs: [{targets: $T}]}
  - {job_name: many_global, metrics_path: /many, static_configs: [{targets: $T}]}
  - {job_name: many_job, metrics_path: /many, sample_limit: 1000, static_configs: [{targets: $T}]}
  - job_name: relabel_first
    metrics_path: /many
    sample_limit: 100
    static_configs: [{targets: $T}]
    metric_relabel_configs: [{source_labels: [i], regex: "[0-9]", action: keep}]
YML
# The scraper's --scrape.default-* limits: taken by a job when neither it nor global sets
# the limit; a job's own limit wins over them, larger or smaller.
cat > "$IT_DIR/defaults.yml" <<YML
global: {scrape_interval: 2s, scrape_timeout: 1500ms}
scrape_configs:
  - {job_name: d_many, metrics_path: /many, static_configs: [{targets: $T}]}
  - {job_name: d_many_job, metrics_path: /many, sample_limit: 1000, static_configs: [{targets: $T}]}
  - {job_name: d_body, metrics_path: /bigbody, static_configs: [{targets: $T}]}
  - {job_name: d_body_job, metrics_path: /bigbody, body_size_limit: 1MB, static_configs: [{targets: $T}]}
  - {job_name: d_value, metrics_path: /value, static_configs: [{targets: $T}]}
  - {job_name: d_value_job, metrics_path: /value, label_value_length_limit: 20, static_configs: [{targets: $T}]}
  - {job_name: d_value_low, metrics_path: /good, label_value_length_limit: 4, static_configs: [{targets: $T}]}
YML
it_check "--check-config accepts the limits" "$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml"
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB" "$PUSH" "$PUB"
D_WEB=$(it_free_port)
it_start defaults "$BIN/scraper" --config.file="$IT_DIR/defaults.yml" \
    --web.listen-address="127.0.0.1:$D_WEB" --zmq.tsdb-address="tcp://127.0.0.1:$PUSH" \
    --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" --scrape.default-sample-limit=500 \
    --scrape.default-body-size-limit=16KiB --scrape.default-label-value-length-limit=16
it_wait_http "http://127.0.0.1:$D_WEB/-/ready" || it_die "the defaults scraper did not come up"
metric() { curl -fsS "http://127.0.0.1:$WEB/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
scrapes0=$(metric 'fw_scraper_scrapes_total{job="fast"}'); scrapes0=${scrapes0:-0}
sleep 8
scrapes1=$(metric 'fw_scraper_scrapes_total{job="fast"}')
curl -fsS "$API" > "$IT_DIR/targets.json"
curl -fsS "http://127.0.0.1:$D_WEB/api/v1/targets" > "$IT_DIR/defaults.json"
err() { jq -r -s --arg j "$1" '[.[].data.activeTargets[] | select(.labels.job==$j)][0] | .health + " " + .lastError' "$IT_DIR/targets.json" "$IT_DIR/defaults.json"; }
has() { local got; got=$(err "$1"); [[ "$got" == $2 ]] || { echo "    $1: $got"; return 1; }; }
it_check "the 1 s target was scraped on time beside them (>= 7 in 8 s)" \
    awk -v a="$scrapes0" -v b="$scrapes1" 'BEGIN {exit !(b - a >= 7)}'
it_check "fast is up" has fast "up "
it_check "too many samples: sample limit exceeded" has many "down sample limit exceeded"
it_check "drop_excess keeps the target up" has excess "up "
it_check "drop_excess counts what it drops" \
    awk -v v="$(metric 'fw_scraper_samples_dropped_excess_total{job="excess"}')" 'BEGIN {exit !(v >= 6)}'
it_check "10 MB label value: label_value_length_limit exceeded" \
    has huge "down label_value_length_limit exceeded (metric: h, label name: v, value: \"aaaa*\", length: 10485760, limit: 1024)"
it_check "gzip bomb: body size limit exceeded at 1 MiB decoded" has bomb "down body size limit exceeded (limit: 1048576 bytes)"
it_check "endless body: body size limit exceeded" has endless "down body size limit exceeded*"
it_check "slow trickle: cut off by the scrape timeout" has trickle "down Operation timed out after 15*"
it_check "garbage: a parse error" has garbage "down line 1: *"
it_check "target_limit: every target of the job down with Prometheus's text" \
    has toomany "down target_limit exceeded (number of targets: 2, limit: 1)"
# Label limits with Prometheus's texts (verifyLabelLimits); a job's own limit wins over
# global's, larger or smaller; metric relabeling runs before sample_limit counts.
it_check "label_name_length_limit (global): Prometheus's text" \
    has lname "down label_name_length_limit exceeded (metric: ln, label name: a_label_name_that_is_long, length: 25, limit: 20)"
it_check "label_name_length_limit: the job's 25 wins over global's 20" has lname_job "up "
it_check "label_limit (global): job and instance count" \
    has nlabels "down label_limit exceeded (metric: lb, number of labels: 7, limit: 6)"
it_check "label_limit: the job's 7 wins over global's 6" has nlabels_job "up "
it_check "label_limit: the job's 2 wins over global's 6" \
    has nlabels_low "down label_limit exceeded (metric: good_metric, number of labels: 3, limit: 2)"
it_check "label_value_length_limit (global)" \
    has value "down label_value_length_limit exceeded (metric: vv, label name: v, value: \"0123456789abcdefghij\", length: 20, limit: 16)"
it_check "label_value_length_limit: the job's 20 wins over global's 16" has value_job "up "
it_check "sample_limit (global 500): 1000 series fail" has many_global "down sample limit exceeded"
it_check "sample_limit: the job's 1000 wins over global's 500" has many_job "up "
it_check "metric_relabel_configs run before sample_limit: 10 of 1000 kept under 100" \
    has relabel_first "up "
# --scrape.default-* (500 samples, 16 KiB, 16 characters) where the file sets no limit
it_check "--scrape.default-sample-limit applies to a job without a limit" has d_many "down sample limit exceeded"
it_check "a job's sample_limit wins over --scrape.default-sample-limit" has d_many_job "up "
it_check "--scrape.default-body-size-limit applies to a job without a limit" \
    has d_body "down body size limit exceeded (limit: 16384 bytes)"
it_check "a job's body_size_limit wins over --scrape.default-body-size-limit" has d_body_job "up "
it_check "--scrape.default-label-value-length-limit applies to a job without a limit" \
    has d_value "down label_value_length_limit exceeded (metric: vv, label name: v, value: \"0123456789abcdefghij\", length: 20, limit: 16)"
it_check "a job's label_value_length_limit wins over the flag's (larger)" has d_value_job "up "
it_check "a job's label_value_length_limit wins over the flag's (smaller)" \
    has d_value_low "down label_value_length_limit exceeded (metric: good_metric, label name: __name__, value: \"good_metric\", length: 11, limit: 4)"
it_check "limit failures counted" \
    awk -v v="$(metric 'fw_scraper_limit_exceeded_total{job="many",limit="sample_limit"}')" 'BEGIN {exit !(v >= 1)}'
rss=$(awk '/VmHWM/ {print $2}' "/proc/$PID_scraper/status")
# The bound is the release build's; under AddressSanitizer (make asan) redzones and the
# quarantine of freed memory multiply a process's footprint, so the bound is three times as
# large there (it still catches a body held whole or a limit not enforced).
max_kb=300000
if it_asan_build "$BIN/scraper"; then max_kb=900000; fi
it_check "the scraper's peak memory stays bounded (${rss} kB < $((max_kb / 1000)) MB)" \
    [ "$rss" -lt "$max_kb" ]
it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
