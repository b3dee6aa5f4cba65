#!/usr/bin/env bash
# scrape_settings.sh — a job's client settings that scrape_client.sh does not cover, with
# Prometheus's outcomes: insecure_skip_verify, follow_redirects, enable_compression,
# proxy_url, and a status other than 200.
#
# Local python3 servers play the peers: an HTTPS target whose certificate is self-signed
# (made here with openssl; verifies against nothing), an HTTP target that logs each request's
# path and Accept-Encoding header and answers /redirect with a 302 to /metrics, /gz gzipped
# when asked, /nocontent with 204 and /busy with "503 Very Busy", and an HTTP proxy that
# logs each request line and forwards it. The scraper runs with http_proxy and https_proxy
# set to that proxy in its environment. Checks: insecure_skip_verify: true scrapes the HTTPS
# target, without it the certificate fails; follow_redirects (default true) follows the
# 302, false fails with "server returned HTTP status 302 Found" as Prometheus's does
# (Go's resp.Status: the status line after the version); enable_compression asks
# "Accept-Encoding: gzip" (default) or "identity" (false) exactly as Prometheus 3 does;
# proxy_url sends the scrape through the proxy (its absolute-URI request line logged) and
# the environment's proxy is used by no job (Prometheus ignores it unless
# proxy_from_environment); 204 and 503 fail with Prometheus's text (it takes 200 only; the
# Debian prometheus 2.42 gave "server returned HTTP status 204 No Content" and "... 503 Very
# Busy" for these answers); a reason phrase with bytes outside printable ASCII shows them as
# '?', so /api/v1/targets stays valid JSON. Every wait is bounded in tries; every server is
# stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds python3 jq curl openssl
it_tmpdir
D=$IT_DIR
it_tls_ca self # a self-signed certificate: no CA the scraper knows signed it

HTTPS=$(it_free_port) SRV=$(it_free_port) PROXY=$(it_free_port) WEB=$(it_free_port)
cat > "$D/targets.py" <<'PY'
import gzip, http.server, socketserver, ssl, sys, threading
port, tls_port, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        path = self.path.split("?")[0]
        with lock, open(d + "/requests.log", "a") as f:
            f.write("%s %s\n" % (path, self.headers.get("Accept-Encoding", "-")))
        if path == "/redirect":
            self.send_response(302); self.send_header("Location", "/metrics")
            self.send_header("Content-Length", "0"); self.end_headers(); return
        if path == "/nocontent":
            self.send_response(204); self.end_headers(); return
        if path == "/busy":
            self.send_response(503, "Very Busy"); self.send_header("Content-Length", "0")
            self.end_headers(); return
        if path == "/weird": # a reason phrase with a control byte and one not UTF-8
            self.send_response(503, "Bad\x01\xffPhrase"); self.send_header("Content-Length", "0")
            self.end_headers(); return
        body = b"settings_metric 1\n"
        gz = path == "/gz" and "gzip" in self.headers.get("Accept-Encoding", "")
        if gz: body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if gz: self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
tls = S(("127.0.0.1", tls_port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/self.pem", d + "/self.key")
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=tls.serve_forever, daemon=True).start()
S(("127.0.0.1", port), H).serve_forever()
PY
cat > "$D/proxy.py" <<'PY'
# A forward proxy for plain HTTP: logs each request line, fetches the absolute URI and
# answers with the target's status, headers and body.
import http.client, http.server, socketserver, sys, urllib.parse
port, d = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with open(d + "/proxy.log", "a") as f: f.write("GET %s\n" % self.path)
        u = urllib.parse.urlsplit(self.path)
        if u.scheme != "http" or not u.hostname.startswith("127."):
            self.send_error(502); return
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.request("GET", u.path + ("?" + u.query if u.query else ""),
                  headers={k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"})
        r = c.getresponse(); body = r.read()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"): self.send_header(k, v)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", port), H).serve_forever()
PY
it_start targets python3 "$D/targets.py" "$SRV" "$HTTPS" "$D"
it_start proxy python3 "$D/proxy.py" "$PROXY" "$D"
it_wait_http "http://127.0.0.1:$SRV/metrics" || it_die "target did not come up"
it_until 100 0.1 curl -fsSk "https://127.0.0.1:$HTTPS/metrics" || it_die "https target did not come up"
it_until 100 0.1 curl -s -o /dev/null "http://127.0.0.1:$PROXY/" || it_die "proxy did not come up"
: > "$D/requests.log"; : > "$D/proxy.log" # the probes above

T="[\"127.0.0.1:$SRV\"]"
S="[\"127.0.0.1:$HTTPS\"]"
cat > "$D/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: skip_verify, scheme: https, metrics_path: /skip, tls_config: {insecure_skip_verify: true}, static_configs: [{targets: $S}]}
  - {job_name: verify, scheme: https, metrics_path: /verify, static_configs: [{targets: $S}]}
  - {job_name: redirect_on, metrics_path: /redirect, static_configs: [{targets: $T}]}
  - {job_name: redirect_off, metrics_path: /redirect, follow_redirects: false, static_configs: [{targets: $T}]}
  - {job_name: gzip_on, metrics_path: /gz, static_configs: [{targets: $T}]}
  - {job_name: gzip_off, metrics_path: /identity, enable_compression: false, static_configs: [{targets: $T}]}
  - {job_name: proxied, metrics_path: /viaproxy, proxy_url: "http://127.0.0.1:$PROXY", static_configs: [{targets: $T}]}
  - {job_name: nocontent, metrics_path: /nocontent, static_configs: [{targets: $T}]}
  - {job_name: busy, metrics_path: /busy, static_configs: [{targets: $T}]}
  - {job_name: weird, metrics_path: /weird, static_configs: [{targets: $T}]}
YML
it_check "--check-config accepts the settings" "$BIN/scraper" --check-config --config.file="$D/prometheus.yml"
# the environment's proxy, which no job may use (proxy_from_environment is false)
it_start scraper env "http_proxy=http://127.0.0.1:$PROXY" "https_proxy=http://127.0.0.1:$PROXY" \
    "$BIN/scraper" --config.file="$D/prometheus.yml" --web.listen-address="127.0.0.1:$WEB" \
    --zmq.tsdb-address="tcp://127.0.0.1:$(it_free_port)" --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)"
it_wait_http "http://127.0.0.1:$WEB/-/ready" || it_die "scraper did not come up"
API="http://127.0.0.1:$WEB/api/v1/targets"
err() { curl -fsS "$API" | jq -r --arg j "$1" '.data.activeTargets[] | select(.labels.job==$j) | .health + " " + .lastError'; }
has() { local got; got=$(err "$1"); [[ "$got" == $2 ]] || { echo "    $1: $got"; return 1; }; }
waits() { it_until 60 0.25 has "$@"; }
it_check "insecure_skip_verify: true scrapes a certificate that does not verify" waits skip_verify "up "
it_check "without it the certificate fails" waits verify "down SSL certificate problem: self*signed certificate*"
it_check "follow_redirects (default true) follows a 302 to the metrics" waits redirect_on "up "
it_check "follow_redirects: false: Prometheus's error for the 302" \
    waits redirect_off "down server returned HTTP status 302 Found"
it_check "enable_compression (default): gzip answer decoded" waits gzip_on "up "
it_check "enable_compression: false scrapes" waits gzip_off "up "
it_check "proxy_url: scraped" waits proxied "up "
it_check "a 204 fails as in Prometheus (200 only)" waits nocontent "down server returned HTTP status 204 No Content"
it_check "a 503 fails with the target's reason phrase" waits busy "down server returned HTTP status 503 Very Busy"
it_check "a reason phrase's bytes outside printable ASCII become '?' (lastError stays JSON)" \
    waits weird "down server returned HTTP status 503 Bad??Phrase"
it_check "the redirect was followed to /metrics (the target saw both)" \
    bash -c "grep -q '^/redirect ' '$D/requests.log' && grep -q '^/metrics ' '$D/requests.log'"
# Prometheus 3 sets Accept-Encoding to exactly gzip, or identity when compression is off.
it_check "enable_compression (default): Accept-Encoding: gzip" \
    bash -c "[ \"\$(grep '^/gz ' '$D/requests.log' | sort -u)\" = '/gz gzip' ]"
it_check "enable_compression: false: Accept-Encoding: identity" \
    bash -c "[ \"\$(grep '^/identity ' '$D/requests.log' | sort -u)\" = '/identity identity' ]"
it_check "proxy_url: the scrape went through the proxy (absolute URI)" \
    grep -qx "GET http://127.0.0.1:$SRV/viaproxy" "$D/proxy.log"
it_check "proxy_url: and reached the target" grep -q '^/viaproxy ' "$D/requests.log"
it_check "no other job used the environment's proxy" \
    bash -c "[ -z \"\$(grep -v '/viaproxy\$' '$D/proxy.log')\" ]"
it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
