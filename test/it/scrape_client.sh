#!/usr/bin/env bash
# scrape_client.sh — a job's HTTP client settings against local HTTPS targets.
#
# The test makes its own CA, a server certificate for 127.0.0.1/"node.test" and a client
# certificate with openssl. A python3 http.server wrapped in ssl plays the targets: one that
# requires basic auth, one a bearer token, one a client certificate (CERT_REQUIRED), and one
# that echoes the query string and answers gzip. Checks: the right settings scrape (up), a
# wrong password / token / CA / missing client certificate fail with a clear lastError,
# params reach the target, a credentials_file and a password_file are re-read when they
# change, and a ca_file replaced on disk is trusted after a reload (SIGHUP), the old CA no
# longer. Without a reload (ca_live, as Prometheus): a ca_file and a server certificate
# replaced on disk are used from the next scrapes on new connections, the targets that only
# the old CA signed fail, and a ca_file that cannot be read fails the scrape with a clear
# lastError and keeps the last good content. Two keep-alive (HTTP/1.1) servers load their
# certificate per connection and count connections and requests, so reusing a connection
# made under the old CA shows.
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
SAN=IP:127.0.0.1,DNS:node.test
it_tls_ca testca; it_tls_ca otherca
it_tls_cert server testca "$SAN"
it_tls_cert client testca
# newca signs the third target's certificate: the CA reload case.
it_tls_ca newca
it_tls_cert server2 newca "$SAN"
cp "$D/testca.pem" "$D/ca.pem" # the ca_reload job's ca_file: testca now, newca after the reload
# ca_live: liveA's certificate is replaced by one newca signed, liveB's stays testca's.
it_tls_cert liveA testca "$SAN"
it_tls_cert liveB testca "$SAN"
it_tls_cert liveA2 newca "$SAN"
cp "$D/testca.pem" "$D/live_ca.pem" # ca_live's ca_file: testca now, newca later (no reload)

P1=$(it_free_port); P2=$(it_free_port); P3=$(it_free_port); WEB=$(it_free_port); PUSH=$(it_free_port); PUB=$(it_free_port)
cat > "$D/tls.py" <<'PY'
import base64, gzip, http.server, socketserver, ssl, sys
port, d, mtls = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
cert = sys.argv[4] if len(sys.argv) > 4 else "server"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        path, _, query = self.path.partition("?")
        auth = self.headers.get("Authorization", "")
        ok = {"/basic": auth == "Basic " + base64.b64encode(b"alice:s3cret").decode(),
              # the password file too: per request, as Prometheus reads it
              "/basicf": auth == "Basic " + base64.b64encode(b"alice:" + open(d + "/pw", "rb").read().strip()).decode(),
              # the token file is read per request: a scraper that kept an old token fails
              "/bearer": auth == "Bearer " + open(d + "/token").read().strip()}.get(path, True)
        if not ok:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        body = ("echo{q=\"%s\"} 1\n" % query).encode()
        gz = "gzip" in self.headers.get("Accept-Encoding", "") and path == "/gzip"
        if gz: body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if gz: self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/" + cert + ".pem", d + "/" + cert + ".key")
if mtls:
    ctx.verify_mode = ssl.CERT_REQUIRED; ctx.load_verify_locations(d + "/testca.pem")
s = S(("127.0.0.1", port), H); s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
cat > "$D/live.py" <<'PY'
import http.server, socketserver, ssl, sys
port, d, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def count(what):
    with open("%s/%s.%s" % (d, name, what), "a") as f: f.write("1\n")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" # keep-alive: a scraper may reuse the connection
    def log_message(self, *a): pass
    def do_GET(self):
        count("reqs")
        body = b"live 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def get_request(self):
        sock, addr = self.socket.accept()
        count("conns")
        # the certificate as it is on disk now, for each new connection
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain("%s/%s.pem" % (d, name), "%s/%s.key" % (d, name))
        sock.settimeout(5)
        tls = ctx.wrap_socket(sock, server_side=True) # a refused handshake: OSError, skipped
        tls.settimeout(None)
        return tls, addr
S(("127.0.0.1", port), H).serve_forever()
PY
echo tok-1 > "$D/token"
echo pw-1 > "$D/pw"
it_start tls python3 "$D/tls.py" "$P1" "$D" 0
it_start mtls python3 "$D/tls.py" "$P2" "$D" 1
it_start tls2 python3 "$D/tls.py" "$P3" "$D" 0 server2
it_until 100 0.1 curl -fsS --cacert "$D/testca.pem" "https://127.0.0.1:$P1/good" || it_die "tls target did not come up"
it_until 100 0.1 curl -fsS --cacert "$D/newca.pem" "https://127.0.0.1:$P3/good" || it_die "newca target did not come up"
PA=$(it_free_port); PB=$(it_free_port)
it_start liveA python3 "$D/live.py" "$PA" "$D" liveA
it_start liveB python3 "$D/live.py" "$PB" "$D" liveB
for p in "$PA" "$PB"; do
    it_until 100 0.1 curl -fsS --cacert "$D/testca.pem" "https://127.0.0.1:$p/metrics" || it_die "live target $p did not come up"
done

A="[\"127.0.0.1:$P1\"]"; B="[\"127.0.0.1:$P2\"]"; CA="{ca_file: $D/testca.pem}"
cat > "$D/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: basic_ok, scheme: https, metrics_path: /basic, tls_config: $CA, basic_auth: {username: alice, password: s3cret}, static_configs: [{targets: $A}]}
  - {job_name: basic_bad, scheme: https, metrics_path: /basic, tls_config: $CA, basic_auth: {username: alice, password: wrong}, static_configs: [{targets: $A}]}
  - {job_name: bearer, scheme: https, metrics_path: /bearer, tls_config: $CA, authorization: {credentials_file: $D/token}, static_configs: [{targets: $A}]}
  - {job_name: basic_file, scheme: https, metrics_path: /basicf, tls_config: $CA, basic_auth: {username: alice, password_file: $D/pw}, static_configs: [{targets: $A}]}
  - {job_name: wrong_ca, scheme: https, metrics_path: /x, tls_config: {ca_file: $D/otherca.pem}, static_configs: [{targets: $A}]}
  - {job_name: server_name, scheme: https, metrics_path: /x, tls_config: {ca_file: $D/testca.pem, server_name: node.test}, static_configs: [{targets: $A}]}
  - {job_name: mtls_ok, scheme: https, metrics_path: /x, tls_config: {ca_file: $D/testca.pem, cert_file: $D/client.pem, key_file: $D/client.key}, static_configs: [{targets: $B}]}
  - {job_name: mtls_nocert, scheme: https, metrics_path: /x, tls_config: $CA, static_configs: [{targets: $B}]}
  - {job_name: params, scheme: https, metrics_path: /gzip, tls_config: $CA, params: {module: [http_2xx], target: ["a b"]}, static_configs: [{targets: $A}]}
  - {job_name: ca_reload, scheme: https, metrics_path: /x, tls_config: {ca_file: $D/ca.pem}, static_configs: [{targets: ["127.0.0.1:$P1", "127.0.0.1:$P3"]}]}
  - {job_name: ca_live, scheme: https, tls_config: {ca_file: $D/live_ca.pem}, static_configs: [{targets: ["127.0.0.1:$PA", "127.0.0.1:$PB"]}]}
YML
it_check "--check-config accepts the client settings" "$BIN/scraper" --check-config --config.file="$D/prometheus.yml"
it_start_scraper "$D/prometheus.yml" "$WEB" "$PUSH" "$PUB"
err() { curl -fsS "$API" | jq -r --arg j "$1" '.data.activeTargets[] | select(.labels.job==$j) | .health + " " + .lastError'; }
has() { local got; got=$(err "$1"); [[ "$got" == $2 ]] || { echo "    $1: $got"; return 1; }; }
waits() { it_until 40 0.25 has "$@"; }
it_check "basic auth accepted over TLS with the test CA" waits basic_ok "up "
it_check "basic auth refused: HTTP 401" waits basic_bad "down server returned HTTP status 401*"
it_check "bearer token from credentials_file" waits bearer "up "
it_check "wrong CA: a certificate error" waits wrong_ca "down SSL certificate problem*"
it_check "server_name is verified against the certificate" waits server_name "up "
it_check "client certificate accepted" waits mtls_ok "up "
it_check "no client certificate: refused by the target" waits mtls_nocert "down *"
it_check "params reach the target, gzip decoded" waits params "up "
it_check "params in the scrape URL, Go-encoded" \
    [ "$(curl -fsS "$API" | jq -r '.data.activeTargets[] | select(.labels.job=="params") | .scrapeUrl')" = \
      "https://127.0.0.1:$P1/gzip?module=http_2xx&target=a+b" ]
echo tok-2 > "$D/token.new"; mv "$D/token.new" "$D/token" # the target wants tok-2 now
sleep 2.5
it_check "a rotated credentials_file is read again at the next scrape" waits bearer "up "
it_check "basic auth password from password_file" waits basic_file "up "
echo pw-2 > "$D/pw.new"; mv "$D/pw.new" "$D/pw" # the target wants pw-2 now
sleep 2.5
it_check "a rotated password_file is read again at the next scrape, no reload" waits basic_file "up "

# tls_config.ca_file and the server's certificate replaced on disk, no SIGHUP: the next
# scrapes use the new CA on new connections (Prometheus's tlsRoundTripper compares the
# files' hashes per request). liveB, whose certificate only the old CA signed, fails
# although a connection made under the old CA is kept alive. On a scraper that reads the
# CA only at (re)load, liveB stays up over that connection.
live() { curl -fsS "$API" | jq -r --arg i "127.0.0.1:$1" '.data.activeTargets[] | select(.labels.job=="ca_live" and .labels.instance==$i) | .health + " " + .lastError'; }
haslive() { local got; got=$(live "$1"); [[ "$got" == $2 ]] || { echo "    $1: $got"; return 1; }; }
nlines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
bothup() { haslive "$PA" "up " && haslive "$PB" "up "; }
it_check "ca_live: both targets up under the first CA" it_until 40 0.25 bothup
c0=$(nlines "$D/liveB.conns"); r0=$(nlines "$D/liveB.reqs")
sleep 3.5
c1=$(nlines "$D/liveB.conns"); r1=$(nlines "$D/liveB.reqs")
echo "    liveB over 3.5 s: $((r1 - r0)) scrapes on $((c1 - c0)) new connections"
it_check "ca_live: scrapes reuse a kept-alive connection (what a stale CA would hide behind)" \
    [ $((r1 - r0 - (c1 - c0))) -ge 2 ]
ca0=$(nlines "$D/liveA.conns")
mv "$D/liveA2.key" "$D/liveA.key"; mv "$D/liveA2.pem" "$D/liveA.pem"
cp "$D/newca.pem" "$D/live_ca.pem.new"; mv "$D/live_ca.pem.new" "$D/live_ca.pem"
# liveA's state before its first scrape after the change is stale: wait for that scrape
# (a new connection: the handshake under the new CA) and the next one
moreconns() { [ "$(nlines "$D/liveA.conns")" -gt "$ca0" ]; }
it_check "ca_live: without a reload, liveA is scraped on a new connection" it_until 40 0.25 moreconns
ra=$(nlines "$D/liveA.reqs")
morereqs() { [ "$(nlines "$D/liveA.reqs")" -ge $((ra + 2)) ]; }
it_until 40 0.25 morereqs || true
echo "    liveA connections: $ca0 before the change, $(nlines "$D/liveA.conns") after"
it_check "ca_live: without a reload, the target with the new certificate is up under the new CA" \
    haslive "$PA" "up "
it_check "ca_live: without a reload, the old CA's target fails with a certificate error" \
    it_until 40 0.25 haslive "$PB" "down SSL certificate problem*"
it_check "ca_live: no reload happened" [ "$(grep -c 'event=config.reload ' "$D/scraper.log" || true)" = 0 ]
mv "$D/live_ca.pem" "$D/live_ca.pem.away"
it_check "ca_live: a ca_file that cannot be read: the scrape fails saying so" \
    it_until 40 0.25 haslive "$PA" "down unable to read CA cert: unable to read file $D/live_ca.pem: No such file or directory"
ca2=$(nlines "$D/liveA.conns")
mv "$D/live_ca.pem.away" "$D/live_ca.pem"
it_check "ca_live: the same CA back: up again" it_until 40 0.25 haslive "$PA" "up "
sleep 2.5
it_check "ca_live: the same content back keeps the kept-alive connection (no new one)" \
    [ "$(nlines "$D/liveA.conns")" = "$ca2" ]

# tls_config.ca_file replaced on disk (same path, another CA), then SIGHUP: the reload
# trusts the new CA alone. The old-CA target, up until then over a kept-alive connection,
# fails with a certificate error, and the new-CA one comes up.
tgt() { curl -fsS "$API" | jq -r --arg i "$1" '.data.activeTargets[] | select(.labels.job=="ca_reload" and .labels.instance==$i) | .health + " " + .lastError'; }
hasi() { local got; got=$(tgt "$1"); [[ "$got" == $2 ]] || { echo "    $1: $got"; return 1; }; }
it_check "ca_reload: the old CA's target up" it_until 40 0.25 hasi "127.0.0.1:$P1" "up "
it_check "ca_reload: the new CA's target refused before the reload" \
    it_until 40 0.25 hasi "127.0.0.1:$P3" "down SSL certificate problem*"
cp "$D/newca.pem" "$D/ca.pem.new"; mv "$D/ca.pem.new" "$D/ca.pem"
n_reload=$(grep -c 'event=config.reload ' "$D/scraper.log" || true)
kill -HUP "$PID_scraper"
reloaded() { [ "$(grep -c 'event=config.reload ' "$D/scraper.log" || true)" -gt "$n_reload" ]; }
it_check "ca_reload: SIGHUP reloads" it_until 100 0.1 reloaded
it_check "ca_reload: after the reload the new CA's target is up" \
    it_until 40 0.25 hasi "127.0.0.1:$P3" "up "
it_check "ca_reload: after the reload the old CA's target fails with a certificate error" \
    it_until 40 0.25 hasi "127.0.0.1:$P1" "down SSL certificate problem*"
it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
