#!/usr/bin/env bash
# delivery_tls.sh — http_config's tls_config and proxy_url, end to end: notifyd delivers a
# webhook and a Slack notification over HTTPS to a local server that requires a client
# certificate from a CA made here, one Slack message through a local HTTP proxy (CONNECT,
# with proxy_connect_header and the proxy URL's credentials) and one plain-HTTP webhook through
# it (absolute-form request line). alertd reads the CA, certificate and key files and ships
# them in NOTIFY (notifyd is given no file). A webhook with the CA but no client certificate
# is refused by the server; a receiver's own http_config replaces global.http_config. The
# proxy password and the key never show in /api/v2/status or the taps' copies.
# Everything listens on 127.0.0.1; test/it/tls_sink.py plays the server and the proxy.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_bins alertd notifyd
it_need_cmds openssl curl jq
it_tmpdir
D=$IT_DIR

# A test CA, a server certificate for 127.0.0.1, localhost and hooks.plant.example, and a
# client certificate; EC keys, quick to make.
ossl() { openssl "$@" >>"$D/openssl.log" 2>&1 || it_die "openssl $1 failed: $(tail -3 "$D/openssl.log")"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=plant-test-ca \
    -keyout "$D/ca.key" -out "$D/ca.pem"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$D/server.key" -out "$D/server.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:hooks.plant.example\n' >"$D/san.ext"
ossl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
    -extfile "$D/san.ext" -out "$D/server.pem"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=notifyd-client \
    -keyout "$D/client.key" -out "$D/client.csr"
ossl x509 -req -in "$D/client.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
    -out "$D/client.pem"
it_ok "test CA, server and client certificates made"

PS=$(it_free_port); PP=$(it_free_port)
it_start https $PY "$HERE/test/it/tls_sink.py" https "$PS" "$D/https.jsonl" "$D/ca.pem" "$D/server.pem" "$D/server.key"
it_start proxy $PY "$HERE/test/it/tls_sink.py" proxy "$PP" "$D/proxy.jsonl"

# Relative file names: relative to the config's directory, as in Alertmanager.
cat >"$D/am.yml" <<YML
global:
  http_config:
    tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key}
route:
  receiver: plant
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  routes:
    - {receiver: nocert, matchers: ['line="L9"']}
receivers:
  - name: plant
    webhook_configs:
      - url: https://127.0.0.1:$PS/hook/direct
      - url: https://localhost:$PS/hook/server-name
        http_config:
          tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key, server_name: hooks.plant.example, min_version: TLS12}
      - url: http://hooks.plant.example/hook/via-proxy
        http_config:
          proxy_url: http://127.0.0.1:$PP/
    slack_configs:
      - api_url: https://127.0.0.1:$PS/slack/via-proxy
        http_config:
          proxy_url: http://fwuser:SECRET-proxy-pw@127.0.0.1:$PP/
          proxy_connect_header: {X-Plant: [line-1]}
          tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key}
  - name: nocert
    webhook_configs:
      - url: https://127.0.0.1:$PS/hook/no-client-cert
        http_config:
          tls_config: {ca_file: ca.pem}
YML
"$BIN/alertd" --check-config --config.file="$D/am.yml" >"$D/check.log" 2>&1 ||
    it_die "alertd refuses the config: $(cat "$D/check.log")"
it_until 100 0.1 curl -fsS -o /dev/null --cacert "$D/ca.pem" --cert "$D/client.pem" --key "$D/client.key" \
    -d '{}' "https://127.0.0.1:$PS/ready" || it_die "the HTTPS server did not come up"
it_until 100 0.1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PP" || it_die "the proxy did not come up"
: >"$D/https.jsonl"; : >"$D/proxy.jsonl"
it_start_notifyd_alertd "$D/am.yml"
it_ok "HTTPS server (client certificate required), proxy, notifyd and alertd up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
curl -fsS -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$AM/api/v2/alerts" -d \
    "[{\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\"},\"startsAt\":\"$START\"},
      {\"labels\":{\"alertname\":\"Unsafe\",\"line\":\"L9\"},\"startsAt\":\"$START\"}]"

has() { # FILE JQ-FILTER: some line matches
    [ -s "$1" ] && [ "$(jq -s "[.[] | select($2)] | length" "$1")" -ge 1 ]
}
it_wait_for "webhook over HTTPS with the client certificate (global.http_config)" \
    has "$D/https.jsonl" '.path == "/hook/direct" and .client_cn == "notifyd-client"'
it_ok "webhook delivered over HTTPS: CA and client certificate from global.http_config"
it_wait_for "webhook with server_name" has "$D/https.jsonl" \
    ".path == \"/hook/server-name\" and .sni == \"hooks.plant.example\" and .host == \"localhost:$PS\""
it_ok "server_name: SNI hooks.plant.example, Host header still the URL's"
it_wait_for "Slack through the proxy" has "$D/https.jsonl" '.path == "/slack/via-proxy" and .client_cn == "notifyd-client"'
has "$D/proxy.jsonl" ".line == \"CONNECT 127.0.0.1:$PS HTTP/1.1\" and .headers[\"X-Plant\"] == \"line-1\"
        and .headers[\"Proxy-Authorization\"] == \"Basic $(printf fwuser:SECRET-proxy-pw | base64)\"" ||
    it_die "the proxy did not see the Slack CONNECT with X-Plant and the URL's credentials: $(cat "$D/proxy.jsonl")"
it_ok "Slack over HTTPS through the proxy: CONNECT with proxy_connect_header and credentials"
it_wait_for "plain webhook through the proxy" has "$D/proxy.jsonl" \
    '.line == "POST http://hooks.plant.example/hook/via-proxy HTTP/1.1"'
it_ok "plain-HTTP webhook through the proxy (absolute-form request line)"
has "$D/https.jsonl" '.path == "/hook/direct" and .client_cn == null' &&
    it_die "a request came without the client certificate"
has "$D/https.jsonl" '.path == "/hook/no-client-cert"' && it_die "the server took a request without a client certificate"
it_wait_for "notifyd counts the refused handshake" \
    it_has 'fw_notifyd_retries_total{receiver="nocert"}' curl -fsS "http://127.0.0.1:$NOTIFYD/metrics"
it_ok "no client certificate (the receiver's own http_config replaces global's): refused, retried"

STATUS=$(curl -fsS "http://127.0.0.1:$AM/api/v2/status")
grep -q SECRET- <<<"$STATUS" && it_die "/api/v2/status shows a secret"
grep -q 'fwuser:xxxxx@127.0.0.1' <<<"$STATUS" || it_die "/api/v2/status lacks the masked proxy URL"
grep -q -e SECRET- -e 'PRIVATE KEY' "$D"/alertd.log "$D"/notifyd.log && it_die "a log shows a secret"
it_ok "/api/v2/status and the logs: proxy password masked, no key"
it_term "$PID_alertd"; it_term "$PID_notifyd"
echo "$(basename "$0"): ${IT_PASSES} passed"
