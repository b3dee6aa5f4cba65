#!/usr/bin/env bash
# remote_write_tls_live.sh — remote_write's tls_config ca_file replaced on disk without a
# reload (no SIGHUP, no /-/reload), as Prometheus's tlsRoundTripper follows it.
#
# The test makes two CAs and a server certificate from each with openssl. A python3
# keep-alive (HTTP/1.1) HTTPS receiver loads its certificate per connection and logs each
# connection it accepts and sees closed (by the client's port) and each request's
# connection. Checks: the queue delivers under the first CA and reuses its kept-alive
# connection; ca_file and the receiver's certificate replaced (newca): the queue delivers
# on a new connection, and the old one is closed at once (not left to curl's 118 s idle
# limit); ca_file moved away: the requests fail with Prometheus's "unable to read CA cert:
# unable to read file PATH: ..." and are retried; back: delivered again on the same
# connection.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds python3 curl openssl
it_tmpdir
D=$IT_DIR
it_tls_ca testca; it_tls_ca newca
it_tls_cert rw1 testca IP:127.0.0.1
it_tls_cert rw2 newca IP:127.0.0.1
cp "$D/rw1.pem" "$D/server.pem"; cp "$D/rw1.key" "$D/server.key" # the receiver's, per connection
cp "$D/testca.pem" "$D/live_ca.pem"                               # the queue's ca_file

cat > "$D/recv.py" <<'PY'
import http.server, socketserver, ssl, sys, threading
port, d = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
def log(line):
    with lock, open(d + "/recv.log", "a") as f: f.write(line + "\n")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" # keep-alive: the sender may reuse the connection
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        log("req %d" % self.client_address[1])
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def get_request(self):
        sock, addr = self.socket.accept()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d + "/server.pem", d + "/server.key") # as on disk now
        sock.settimeout(5)
        tls = ctx.wrap_socket(sock, server_side=True) # a refused handshake: OSError, skipped
        tls.settimeout(None)
        log("conn %d" % addr[1])
        return tls, addr
    def shutdown_request(self, request):
        try: log("close %d" % request.getpeername()[1])
        except OSError: log("close ?")
        super().shutdown_request(request)
S(("127.0.0.1", port), H).serve_forever()
PY
P=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
FW_URL="http://127.0.0.1:$T_HTTP"
touch "$D/recv.log"
it_start recv python3 "$D/recv.py" "$P" "$D"
it_until 100 0.1 curl -fsS -o /dev/null --cacert "$D/testca.pem" -X POST "https://127.0.0.1:$P/" ||
    it_die "receiver did not come up"
sleep 0.5; : > "$D/recv.log" # the probe's connection is not the queue's
cat > "$D/prometheus.yml" <<YML
remote_write:
  - url: https://127.0.0.1:$P/rw
    name: live
    tls_config: {ca_file: $D/live_ca.pem}
    queue_config: {min_shards: 1, max_shards: 1, batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 200ms}
    metadata_config: {send: false}
YML
it_start tsdb "$BIN/tsdb" --config.file="$D/prometheus.yml" --log.level=debug \
    --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$D/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB
it_wait_http "$FW_URL/-/ready" 150

# A sample now and at every check of the waits below, so the queue always has something to
# send once its window (10 s behind now) reaches it.
N=0
push() {
    N=$((N + 1))
    printf 'rw_tls_live{line="l1"} %s %s\n' "$N" "$(($(date +%s) * 1000))" |
        "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" >/dev/null 2>&1
}
metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1{remote_name=\"live\"}" '$1 == m {print $2}'; }
sent() { metric fw_tsdb_remote_storage_samples_total; }
count() { grep -c "^$1 " "$D/recv.log" || true; }
# conns from the client's ports the receiver accepted before now (the connections in use)
ports() { awk '$1 == "conn" {print $2}' "$D/recv.log" | sort -u; }
closed() { awk -v p="$1" '$1 == "close" && $2 == p {f = 1} END {exit !f}' "$D/recv.log"; }
above() { push; sleep 0.5; [ "$("$@")" -gt "$LIMIT" ] 2>/dev/null; }
LIMIT=0
it_check "delivered under the first CA (bounded: 80 tries, about 50 s)" it_until 80 0 above sent
LIMIT=$(($(count conn) + 1))
reused() { push; sleep 0.5; [ "$(count req)" -gt "$LIMIT" ]; }
it_check "later requests reuse the kept-alive connection (what a stale CA would hide behind)" \
    it_until 40 0 reused
it_check "one connection so far" [ "$(count conn)" = 1 ]

# No reload from here on.
OLD=$(ports)
CONNS=$(count conn)
cp "$D/rw2.pem" "$D/server.pem"; cp "$D/rw2.key" "$D/server.key"
cp "$D/newca.pem" "$D/live_ca.pem.tmp"; mv "$D/live_ca.pem.tmp" "$D/live_ca.pem"
LIMIT=$(sent)
it_check "without a reload, delivered under the new CA (bounded: 80 tries, about 50 s)" it_until 80 0 above sent
it_check "without a reload, on a new connection" [ "$(count conn)" -gt "$CONNS" ]
oldgone() { closed "$OLD"; }
it_check "the connection made under the old CA is closed, not left idle (bounded: 10 s)" \
    it_until 20 0.5 oldgone
it_check "no reload was logged" bash -c "! grep -q 'event=config.reload' '$D/tsdb.log'"

# The CA file moved away: each request fails with Prometheus's words and is retried.
mv "$D/live_ca.pem" "$D/live_ca.pem.away"
LIMIT=$(metric fw_tsdb_remote_storage_samples_retried_total)
LIMIT=${LIMIT:-0}
retried() { metric fw_tsdb_remote_storage_samples_retried_total; }
it_check "ca_file moved away: requests retried (bounded: 80 tries, about 50 s)" it_until 80 0 above retried
it_check "ca_file moved away: the error says so" \
    grep -q "unable to read CA cert: unable to read file $D/live_ca.pem: No such file or directory" "$D/tsdb.log"
CONNS=$(count conn)
mv "$D/live_ca.pem.away" "$D/live_ca.pem"
LIMIT=$(sent)
it_check "ca_file back: delivered again (bounded: 80 tries, about 50 s)" it_until 80 0 above sent
it_check "ca_file back (the same content): on the same connection" [ "$(count conn)" = "$CONNS" ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
