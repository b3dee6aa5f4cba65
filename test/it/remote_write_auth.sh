#!/usr/bin/env bash
# remote_write_auth.sh — what tsdb's remote_write puts on the wire besides the samples:
# headers, basic_auth, authorization from a credentials file (re-read per request), azuread
# OAuth client credentials, tls_config (CA, client certificate: a receiver requiring mutual
# TLS with a certificate made here by openssl; one signed by another CA is never accepted),
# and how it answers a receiver's 5xx and 400.
#
# No Azure or Mimir runs here, so a local python3 server plays both documented peers: the
# Microsoft Entra token endpoint (POST form grant_type=client_credentials, client_id,
# client_secret, scope; answers {"token_type":"Bearer","expires_in":3599,"access_token":...}
# as https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
# documents) and a remote-write receiver that records each request's headers and answers
# 204 (path /ok), 500 twice then 204 (/flaky) or 400 (/bad). fwpush feeds tsdb.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds python3 jq curl openssl
it_tmpdir
jqe() { jq -e "$@" >/dev/null; }
D=$IT_DIR
it_tls_ca testca; it_tls_ca otherca
it_tls_cert server testca IP:127.0.0.1
it_tls_cert client testca

PEER=$(it_free_port); PEER_TLS=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
FW_URL="http://127.0.0.1:$T_HTTP"
PEER_URL="http://127.0.0.1:$PEER"

cat > "$IT_DIR/peer.py" <<'PY'
import http.server, json, socketserver, ssl, sys, threading, time, urllib.parse

log = open(sys.argv[2], "a")
lock = threading.Lock()
flaky = {"n": 0}

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?")[0]
        rec = {"path": path, "headers": {k.lower(): v for k, v in self.headers.items()},
               "bytes": len(body)}
        code, out = 204, b""
        if path.endswith("/token"):
            form = urllib.parse.parse_qs(body.decode())
            rec["form"] = {k: v[0] for k, v in form.items()}
            code = 200
            out = json.dumps({"token_type": "Bearer", "expires_in": 3599,
                              "access_token": "entra-token-1"}).encode()
        elif path == "/flaky":
            with lock:
                flaky["n"] += 1
                if flaky["n"] <= 2:
                    code, out = 500, b"try later\n"
        elif path == "/bad":
            code, out = 400, b"out of order sample\n"
        with lock:
            log.write(json.dumps(rec) + "\n")
            log.flush()
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        if out:
            self.send_header("Content-Type", "application/json" if code == 200 else "text/plain")
        self.end_headers()
        self.wfile.write(out)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

srv = S(("127.0.0.1", int(sys.argv[1])), H)
if len(sys.argv) > 3:  # TLS, client certificate required (mutual TLS)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3] + "/server.pem", sys.argv[3] + "/server.key")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(sys.argv[3] + "/testca.pem")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY

printf '  rotated-token-1  \n' > "$IT_DIR/token"
cat > "$IT_DIR/prometheus.yml" <<YML
remote_write:
  - url: $PEER_URL/ok
    name: basic
    headers: {X-Scope-OrgID: plant1}
    basic_auth: {username: fw, password: s3cret}
    queue_config: {batch_send_deadline: 1s}
  - url: $PEER_URL/flaky
    name: bearer
    authorization: {credentials_file: $IT_DIR/token}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 200ms}
  - url: $PEER_URL/azure
    name: azure
    azuread:
      cloud: AzurePublic
      oauth: {client_id: app-id, client_secret: app-secret, tenant_id: tenant-1}
      token_url: $PEER_URL/tenant-1/oauth2/v2.0/token
    queue_config: {batch_send_deadline: 1s}
  - url: https://127.0.0.1:$PEER_TLS/tls
    name: tls
    tls_config: {ca_file: $D/testca.pem, cert_file: $D/client.pem, key_file: $D/client.key}
    queue_config: {batch_send_deadline: 1s}
  - url: https://127.0.0.1:$PEER_TLS/tls-other-ca
    name: tls_other_ca
    tls_config: {ca_file: $D/otherca.pem, cert_file: $D/client.pem, key_file: $D/client.key}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 200ms}
  - url: $PEER_URL/bad
    name: bad
    queue_config: {batch_send_deadline: 1s}
YML
it_start peer python3 "$IT_DIR/peer.py" "$PEER" "$IT_DIR/requests.jsonl"
it_start peer_tls python3 "$IT_DIR/peer.py" "$PEER_TLS" "$IT_DIR/requests.jsonl" "$D"
it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB
it_wait_http "$FW_URL/-/ready" 150
out=$(curl -fsS "$FW_URL/api/v1/status/config" | jq -r .data.yaml)
it_check "status/config hides the password and the client secret" \
    bash -c "! grep -qE 's3cret|app-secret' <<< '$out'"

# Samples now and every second after (fwpush), so each queue has something to send once
# its window (10 s behind now) reaches them.
push() {
    local t
    t=$(($(date +%s) * 1000))
    printf 'rw_auth_probe{line="l1"} %s %s\n' "$1" "$t" |
        "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" >/dev/null 2>&1
}
for i in $(seq 1 14); do push "$i"; sleep 1; done

fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
got() { [ "$(fw_metric "fw_tsdb_remote_storage_samples_total{remote_name=\"$1\"}")" -gt 0 ] 2>/dev/null; }
for q in basic bearer azure tls; do
    it_check "queue $q delivered (bounded: 30 s)" it_until 150 0.2 got "$q"
done
failed() { [ "$(fw_metric 'fw_tsdb_remote_storage_samples_failed_total{remote_name="bad"}')" -gt 0 ] 2>/dev/null; }
it_check "a 400 is counted as failed, not retried" it_until 150 0.2 failed
it_check "the 400's samples were not retried" \
    [ "$(fw_metric 'fw_tsdb_remote_storage_samples_retried_total{remote_name="bad"}')" = 0 ]
it_check "a server certificate from another CA: nothing delivered" \
    bash -c "[ \"\$(curl -fsS '$FW_URL/metrics' | awk '\$1 == \"fw_tsdb_remote_storage_samples_total{remote_name=\\\"tls_other_ca\\\"}\" {print \$2}')\" = 0 ] &&
             ! grep -q tls-other-ca '$IT_DIR/requests.jsonl'"
it_check "the 500s were retried" \
    [ "$(fw_metric 'fw_tsdb_remote_storage_samples_retried_total{remote_name="bearer"}')" -gt 0 ]

R="$IT_DIR/requests.jsonl"
it_check "every request is remote write 1.0 (snappy, protobuf, version header)" \
    jqe -s '[.[] | select(.path | endswith("/token") | not)] | length > 0 and
        all(.headers["content-encoding"] == "snappy" and
            .headers["content-type"] == "application/x-protobuf" and
            .headers["x-prometheus-remote-write-version"] == "0.1.0" and .bytes > 0)' "$R"
it_check "basic_auth and the header on /ok" \
    bash -c "first() { jq -c 'select(.path == \"/ok\")' '$R' | head -n 1; }; first |
        jq -e '.headers.authorization == \"Basic Znc6czNjcmV0\" and
               .headers[\"x-scope-orgid\"] == \"plant1\"' >/dev/null"
it_check "the credentials file (trimmed) as a Bearer token on /flaky" \
    bash -c "jq -se '[.[] | select(.path == \"/flaky\")][0].headers.authorization ==
        \"Bearer rotated-token-1\"' '$R' >/dev/null"
it_check "the token endpoint got the client credentials grant with Azure Monitor's scope" \
    bash -c "jq -se '[.[] | select(.path == \"/tenant-1/oauth2/v2.0/token\")][0].form ==
        {\"grant_type\": \"client_credentials\", \"client_id\": \"app-id\",
         \"client_secret\": \"app-secret\", \"scope\": \"https://monitor.azure.com//.default\"}' \
        '$R' >/dev/null"
it_check "the Entra token as a Bearer token on /azure" \
    bash -c "jq -se '[.[] | select(.path == \"/azure\")] | length > 0 and
        all(.headers.authorization == \"Bearer entra-token-1\")' '$R' >/dev/null"
it_check "the token was asked once (cached)" \
    [ "$(jq -c 'select(.path | endswith("/token"))' "$R" | wc -l)" = 1 ]

# A rotated credentials file is read at the next request.
printf 'rotated-token-2\n' > "$IT_DIR/token"
push 99
rotated() { grep -q 'Bearer rotated-token-2' "$R"; }
it_check "the rotated token is sent (bounded: 30 s)" it_until 150 0.2 rotated

# A reload replaces the queues: the new header is sent, the queue removed stops.
sed -i 's/X-Scope-OrgID: plant1/X-Scope-OrgID: plant2/; /name: bad/,$d' "$IT_DIR/prometheus.yml"
sed -i '/url: .*\/bad$/d' "$IT_DIR/prometheus.yml"
it_check "POST /-/reload takes the new remote_write" \
    curl -fsS -o /dev/null -X POST "$FW_URL/-/reload"
push 100
bads=$(grep -c '"path": "/bad"' "$R" || true)
plant2() { grep -q '"x-scope-orgid": "plant2"' "$R"; }
it_check "the reloaded queue sends the new header (bounded: 30 s)" it_until 150 0.2 plant2
it_check "the removed queue sent nothing more" [ "$(grep -c '"path": "/bad"' "$R" || true)" = "$bads" ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
