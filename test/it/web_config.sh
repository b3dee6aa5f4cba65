#!/usr/bin/env bash
# web_config.sh — --web.config.file (Prometheus's web configuration file) on the daemons'
# HTTP listeners, asked of real clients, and the shipped security rule firing on what the
# daemons count.
#
#   1. every daemon's --help lists --web.config.file, and a bad file makes it exit 2 with
#      each error at file:line:col (under --check-config too), the hash not shown;
#   2. alertd with basic_auth_users (a bcrypt hash made here) and a response header: curl
#      without credentials and with a wrong password gets 401 with "WWW-Authenticate: Basic",
#      the right password 200 (/-/healthy and /-/ready are protected, as in Prometheus);
#      the real `amtool --http.config.file` reads alertd's API v2 with the credentials and is
#      refused without; the failures are counted on /metrics;
#   3. tsdb over TLS (a self-signed certificate made here by openssl) with basic auth: curl
#      --cacert and the real `promtool query instant` (https://user:password@..., the CA in
#      SSL_CERT_FILE: 2.42's query commands have no --http.config.file) get answers, plain
#      HTTP, TLS 1.1 and no credentials none;
#      notifyd with client_auth_type RequireAndVerifyClientCert: a client certificate
#      signed by client_ca_file passes, none or another is refused (403) and counted;
#   4. scraper (authenticating its scrape of alertd's /metrics with basic_auth) feeds tsdb,
#      and ruled evaluates the shipped plant-security group (ruled/ruled.rules.yml) against
#      tsdb: after failed logins on alertd, ms5:security_auth_failures:rate5m{job="alertd"}
#      passes 0.1/s and AuthenticationFailures is active. The shipped rule waits `for: 5m`
#      (its promtool unit test covers that): the copy used here only shortens that `for` to
#      1s, so the alert fires within the test and reaches alertd (read with amtool);
#      tsdb's /api/v1/rules and /api/v1/targets, asked over TLS with credentials, pass them
#      on to ruled and scraper.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb ruled alertd notifyd slod
it_need_cmds curl openssl python3 amtool promtool jq
BIN=$(cd "$BUILD/bin" && pwd)
it_tmpdir
D=$IT_DIR

# --- 1. the flag on every daemon --------------------------------------------------------
printf 'basic_auth_users:\n  alice: plain-secret\ntls_server_config:\n  cipher_suites: [x]\n' >"$D/bad-web.yml"
for d in scraper tsdb ruled alertd notifyd slod; do
    "$BIN/$d" --help >"$D/help-$d.out" 2>&1 || true
    grep -q -- '--web.config.file' "$D/help-$d.out" || it_die "$d --help lacks --web.config.file"
    rc=0
    "$BIN/$d" --check-config --web.config.file="$D/bad-web.yml" >"$D/bad-$d.out" 2>&1 || rc=$?
    [ $rc = 2 ] || it_die "$d --check-config with a bad web config: exit $rc, want 2"
    grep -q "bad-web.yml:2:10: error: basic_auth_users: the password is not a bcrypt hash" "$D/bad-$d.out" &&
        grep -q "bad-web.yml:4:3: error: tls_server_config.cipher_suites: not supported" "$D/bad-$d.out" ||
        it_die "$d: $(cat "$D/bad-$d.out")"
    grep -q plain-secret "$D/bad-$d.out" && it_die "$d showed the hash"
done
it_ok "all six daemons take --web.config.file; a bad one exits 2 with file:line:col, hash not shown"

# --- credentials and certificate ------------------------------------------------------
# bcrypt at cost 4 (the lowest; failed logins each cost one check), as htpasswd -B makes them.
HASH=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))')
case $HASH in '$2b$04$'*) ;; *) it_die "python3 made no bcrypt hash: $HASH" ;; esac
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$D/key.pem" -out "$D/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost >"$D/openssl.log" 2>&1 ||
    it_die "openssl could not make a certificate: $(cat "$D/openssl.log")"
cat >"$D/web.yml" <<EOF
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: '$HASH'
EOF
cat >"$D/web-tls.yml" <<EOF
tls_server_config:
  cert_file: $D/cert.pem
  key_file: $D/key.pem
basic_auth_users:
  alice: '$HASH'
EOF
printf 'basic_auth:\n  username: alice\n  password: s3cret\n' >"$D/client.yml"

# --- 2. alertd with basic auth --------------------------------------------------------
A_HTTP=$(it_free_port); A_ALERTS=$(it_free_port); A_NOTIFY=$(it_free_port); A_PUB=$(it_free_port)
it_start alertd "$BIN/alertd" --web.listen-address=127.0.0.1:$A_HTTP --storage.path="$D/alertd" \
    --zmq.alerts-address=tcp://127.0.0.1:$A_ALERTS --zmq.notifyd-address=tcp://127.0.0.1:$A_NOTIFY \
    --zmq.pub-address=tcp://127.0.0.1:$A_PUB --web.config.file="$D/web.yml"
AM=http://127.0.0.1:$A_HTTP
it_wait_http "http://alice:s3cret@127.0.0.1:$A_HTTP/-/ready" || it_die "alertd did not come up"
grep -q "s3cret\|$HASH" "$D/alertd.log" && it_die "alertd logged a credential"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
hdrs=$(curl -s -D - -o /dev/null --max-time 10 "$AM/-/healthy")
grep -q '^HTTP/1.1 401' <<<"$hdrs" || it_die "no credentials: $hdrs"
grep -qi '^WWW-Authenticate: Basic' <<<"$hdrs" || it_die "no Basic challenge: $hdrs"
grep -qi '^X-Frame-Options: deny' <<<"$hdrs" || it_die "no X-Frame-Options: $hdrs"
[ "$(code -u alice:wrong "$AM/-/ready")" = 401 ] || it_die "wrong password not refused"
[ "$(code -u mallory:s3cret "$AM/api/v2/status")" = 401 ] || it_die "unknown user not refused"
[ "$(code -u alice:s3cret "$AM/-/healthy")" = 200 ] || it_die "right password refused"
it_ok "alertd: 401 with WWW-Authenticate: Basic without or with wrong credentials, 200 with them"

amtool --alertmanager.url="$AM" alert query >"$D/amtool-noauth.log" 2>&1 &&
    it_die "amtool without credentials got an answer: $(cat "$D/amtool-noauth.log")"
amtool --alertmanager.url="$AM" --http.config.file="$D/client.yml" config show \
    >"$D/amtool.log" 2>&1 || it_die "amtool with --http.config.file: $(cat "$D/amtool.log")"
grep -q 'route:' "$D/amtool.log" || it_die "amtool config show: $(cat "$D/amtool.log")"
it_ok "amtool --http.config.file (basic_auth) reads alertd's API v2; refused without"

m=$(curl -s -u alice:s3cret "$AM/metrics")
grep -q '^fw_http_auth_failures_total{reason="missing"} [1-9]' <<<"$m" || it_die "missing not counted: $(echo "$m" | grep auth_fail)"
grep -q '^fw_http_auth_failures_total{reason="wrong"} 2$' <<<"$m" || it_die "wrong not counted: $(echo "$m" | grep auth_fail)"
grep -q '^fw_http_requests_total{handler="/-/ready",code="401"} 1$' <<<"$m" || it_die "401 by route: $m"
it_ok "alertd counts the refusals: fw_http_auth_failures_total{reason}, fw_http_requests_total{code=\"401\"}"

# --- 3. tsdb over TLS with basic auth -------------------------------------------------
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
S_HTTP=$(it_free_port); R_HTTP=$(it_free_port) # scraper and ruled, behind the same users (step 4)
it_start tsdb "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP --storage.tsdb.path="$D/tsdb" \
    --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.pub-address=tcp://127.0.0.1:$T_PUB --storage.tsdb.map-size=64MiB \
    --ruled.url=http://127.0.0.1:$R_HTTP --scraper.url=http://127.0.0.1:$S_HTTP \
    --web.config.file="$D/web-tls.yml"
TS=https://127.0.0.1:$T_HTTP
it_wait_for "tsdb ready over TLS" curl -sf --cacert "$D/cert.pem" -u alice:s3cret "$TS/-/ready"
[ "$(code --cacert "$D/cert.pem" "$TS/-/healthy")" = 401 ] || it_die "tsdb TLS without credentials"
[ "$(code "http://127.0.0.1:$T_HTTP/-/healthy")" = 000 ] || it_die "tsdb answered plain HTTP"
[ "$(code --tls-max 1.1 --cacert "$D/cert.pem" -u alice:s3cret "$TS/-/healthy")" = 000 ] ||
    it_die "tsdb accepted TLS 1.1 (min_version defaults to TLS12)"
# promtool 2.42's query commands have no --http.config.file: Go's client takes the
# credentials from the URL and the CA from SSL_CERT_FILE.
SSL_CERT_FILE="$D/cert.pem" promtool query instant "https://alice:s3cret@127.0.0.1:$T_HTTP" \
    'vector(42)' >"$D/promtool.log" 2>&1 || it_die "promtool over TLS with basic auth: $(cat "$D/promtool.log")"
grep -q '=> 42' "$D/promtool.log" || it_die "promtool answer: $(cat "$D/promtool.log")"
SSL_CERT_FILE="$D/cert.pem" promtool query instant "$TS" 'vector(42)' >"$D/promtool-noauth.log" 2>&1 &&
    it_die "promtool without credentials got an answer"
grep -q '401\|Unauthorized' "$D/promtool-noauth.log" || it_die "promtool without credentials: $(cat "$D/promtool-noauth.log")"
it_ok "tsdb over TLS: curl --cacert and promtool (https, basic auth) answered; plain HTTP, TLS 1.1 and no credentials refused"

# --- 3b. notifyd asking for client certificates (RequireAndVerifyClientCert) -------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$D/ca.key" -out "$D/ca.pem" -subj /CN=it-clients >>"$D/openssl.log" 2>&1 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$D/cl.key" \
        -out "$D/cl.csr" -subj /CN=client >>"$D/openssl.log" 2>&1 &&
    openssl x509 -req -in "$D/cl.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
        -out "$D/cl.pem" -days 2 >>"$D/openssl.log" 2>&1 || it_die "openssl: $(cat "$D/openssl.log")"
cat >"$D/web-mtls.yml" <<EOF
tls_server_config:
  cert_file: $D/cert.pem
  key_file: $D/key.pem
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $D/ca.pem
EOF
N_HTTP=$(it_free_port)
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$N_HTTP \
    --zmq.notify-address=tcp://127.0.0.1:$(it_free_port) --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) \
    --web.config.file="$D/web-mtls.yml"
NS=https://127.0.0.1:$N_HTTP
MTLS=(--cacert "$D/cert.pem" --cert "$D/cl.pem" --key "$D/cl.key")
it_wait_for "notifyd ready over mutual TLS" curl -sf "${MTLS[@]}" "$NS/-/ready"
[ "$(code --cacert "$D/cert.pem" "$NS/-/healthy")" = 403 ] || it_die "notifyd without a client certificate"
[ "$(code --cacert "$D/cert.pem" --cert "$D/cert.pem" --key "$D/key.pem" "$NS/-/healthy")" = 403 ] ||
    it_die "notifyd with a certificate the client CA did not sign"
nm=$(curl -sf "${MTLS[@]}" "$NS/metrics")
grep -q '^fw_http_auth_failures_total{reason="client_certificate"} 2$' <<<"$nm" ||
    it_die "client certificate refusals not counted: $(curl -s "${MTLS[@]}" "$NS/metrics" | grep auth_fail)"
it_ok "notifyd with RequireAndVerifyClientCert: 200 with a client certificate the CA signed, 403 without or with another, counted"

# --- 4. the shipped security rule against real counts ---------------------------------
S_PUB=$(it_free_port); R_PUB=$(it_free_port)
cat >"$D/scrape.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: alertd
    basic_auth: {username: alice, password: s3cret}
    static_configs: [{targets: ['127.0.0.1:$A_HTTP']}]
EOF
it_start scraper "$BIN/scraper" --config.file="$D/scrape.yml" --web.listen-address=127.0.0.1:$S_HTTP \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.pub-address=tcp://127.0.0.1:$S_PUB \
    --web.config.file="$D/web.yml"
it_wait_http "http://alice:s3cret@127.0.0.1:$S_HTTP/-/ready" || it_die "scraper did not come up"

# The plant-security group of the shipped rules, AuthenticationFailures' for: 5m made 1s.
mkdir -p "$D/rules"
python3 - ruled/ruled.rules.yml "$D/rules/security.yml" <<'PY' || it_die "no plant-security group"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
g = [g for g in doc["groups"] if g["name"] == "plant-security"][0]
g["interval"] = "1s"
n = 0
for r in g["rules"]:
    if r.get("alert") == "AuthenticationFailures":
        assert r["for"] == "5m"
        r["for"] = "1s"
        n += 1
assert n == 1
yaml.safe_dump({"groups": [g]}, open(sys.argv[2], "w"), sort_keys=False)
PY
printf 'global: {evaluation_interval: 1s}\nrule_files: [rules/security.yml]\n' >"$D/ruled.yml"
it_start ruled "$BIN/ruled" --storage.path="$D/ruled-state" --config.file="$D/ruled.yml" \
    --web.listen-address=127.0.0.1:$R_HTTP --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES \
    --zmq.query-address=tcp://127.0.0.1:$T_QUERY --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS \
    --zmq.pub-address=tcp://127.0.0.1:$R_PUB --query.timeout=2s --web.config.file="$D/web.yml"
it_wait_http "http://alice:s3cret@127.0.0.1:$R_HTTP/-/ready" || it_die "ruled did not come up"

q() { curl -sf --cacert "$D/cert.pem" -u alice:s3cret "$TS/api/v1/query" --data-urlencode "query=$1"; }
# The 401 series exists since step 2; wait until a scrape has stored it, then fail logins.
stored() { it_has '"code":"401"' q 'fw_http_requests_total{job="alertd",code="401"}'; }
it_until 300 0.1 stored ||
    it_die "the scrape of alertd's 401 count did not reach tsdb"
for _ in $(seq 1 60); do curl -s -o /dev/null --max-time 5 -u alice:guess$RANDOM "$AM/api/v2/alerts"; done
for _ in $(seq 1 60); do curl -s -o /dev/null --max-time 5 "$AM/api/v2/alerts"; done
it_ok "120 failed logins on alertd"

above() { it_has '"job":"alertd"' q 'ms5:security_auth_failures:rate5m{job="alertd"} > 0.1'; }
it_until 300 0.1 above || it_die "ms5:security_auth_failures:rate5m{job=\"alertd\"} did not pass 0.1: $(q 'ms5:security_auth_failures:rate5m')"
it_ok "ruled recorded ms5:security_auth_failures:rate5m{job=\"alertd\"} > 0.1 in tsdb"

firing() { curl -sf -u alice:s3cret "http://127.0.0.1:$R_HTTP/api/v1/alerts" |
    jq -e '.data.alerts[] | select(.labels.alertname == "AuthenticationFailures" and .labels.job == "alertd" and .state == "firing")' >/dev/null; }
it_until 300 0.1 firing || it_die "AuthenticationFailures not firing: $(curl -s -u alice:s3cret "http://127.0.0.1:$R_HTTP/api/v1/alerts")"
in_am() { it_has AuthenticationFailures amtool --alertmanager.url="$AM" --http.config.file="$D/client.yml" \
    alert query alertname=AuthenticationFailures job=alertd 2>/dev/null; }
it_until 300 0.1 in_am || it_die "AuthenticationFailures did not reach alertd"
it_ok "AuthenticationFailures{job=\"alertd\"} fires in ruled and reaches alertd (amtool alert query)"

# tsdb answers /api/v1/rules and /api/v1/targets from ruled and scraper, passing on the
# asking client's credentials (ruled and scraper refuse requests without them).
rules=$(curl -sf --cacert "$D/cert.pem" -u alice:s3cret "$TS/api/v1/rules?type=alert")
jq -e '.data.groups[].rules[] | select(.name == "AuthenticationFailures" and .state == "firing")' \
    <<<"$rules" >/dev/null || it_die "tsdb /api/v1/rules: $rules"
targets=$(curl -sf --cacert "$D/cert.pem" -u alice:s3cret "$TS/api/v1/targets")
jq -e ".data.activeTargets[] | select(.labels.job == \"alertd\" and .health == \"up\")" \
    <<<"$targets" >/dev/null || it_die "tsdb /api/v1/targets: $targets"
it_ok "tsdb's /api/v1/rules and /api/v1/targets reach ruled and scraper with the client's credentials"

echo "web_config.sh: all passed ($IT_PASSES)"
