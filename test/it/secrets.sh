#!/usr/bin/env bash
# secrets.sh — no secret of a config is shown: alertd's /api/v2/status (and `amtool config
# show`, which reads it), tsdb's /api/v1/status/config, the daemons' logs, /metrics and the
# NOTIFY messages published for taps (fwtail).
#
# The fixtures test/data/am/secrets.yml and test/data/prom/secrets.yml hold a distinct
# SECRET-* value in every secret field and PLAIN-* values next to them: no SECRET-* may be
# shown anywhere, every PLAIN-* must be. When Debian's prometheus-alertmanager and prometheus
# are installed they are run on the same files, and must agree that each SECRET-* is a
# secret (Alertmanager 0.25 still shows a webhook URL; from 0.26 it is a secret, as here).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
AMS=test/data/am/secrets.yml
AMD=test/data/am/secrets-alertd.yml # the part of $AMS that alertd delivers
PROMS=test/data/prom/secrets.yml
it_tmpdir

# no_secret WHAT FILE: FILE shows no SECRET-* value.
no_secret() {
    local found rc=0
    found=$(grep -o 'SECRET-[A-Za-z0-9-]*' "$2" | sort -u) || rc=$? # grep: 1 when none, 2 on error
    if [ "$rc" -gt 1 ]; then
        it_fail "$1: cannot read $2"
    elif [ -n "$found" ]; then
        head -5 <<<"$found"
        it_fail "$1 shows the secrets above"
    else
        it_pass "$1 shows no secret"
    fi
}
# all_plain WHAT FIXTURE FILE: every PLAIN-* value of FIXTURE is in FILE.
all_plain() {
    local missing
    missing=$(grep -o 'PLAIN-[A-Za-z0-9@.-]*' "$2" | sort -u | while read -r v; do
        grep -qF -- "$v" "$3" || echo "$v"; done)
    if [ -z "$missing" ]; then it_pass "$1 shows every plain value"; else it_fail "$1 hides $missing"; fi
}

# --- alertd: /api/v2/status, amtool config show, logs, PUB ---------------------------------
# The whole fixture names integrations and keys alertd does not do: refused by name, exit 2,
# no secret shown. alertd then runs on the part it delivers.
set +e
"$BIN/alertd" --check-config --config.file="$AMS" > "$IT_DIR/alertd.check" 2>&1; rc=$?
set -e
it_check "alertd --check-config refuses the whole fixture (exit $rc)" test "$rc" = 2
it_check "alertd --check-config names the integrations not supported" \
    grep -q "$AMS:[0-9]*:9: error: receivers\[2\]\.pagerduty_configs\[1\]\.service_key: not supported" "$IT_DIR/alertd.check"
no_secret "alertd --check-config errors on the whole fixture" "$IT_DIR/alertd.check"
SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
# The fixture's webhooks point at fwsink, which fails the first POST, so notifyd logs a
# failed delivery of a URL that holds a token.
sed -e "s#127.0.0.1:9211#127.0.0.1:$SINK#g" -e 's/^route:/route:\n  group_wait: 0s/' "$AMD" \
    > "$IT_DIR/am.yml"
it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl" \
    --fail-first=1
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2 --log.level=debug
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
    --storage.path="$IT_DIR/alertd" --zmq.alerts-address=tcp://127.0.0.1:$Z3 \
    --zmq.notifyd-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z4 --log.level=debug
it_wait_http "http://127.0.0.1:$SINK/" || true
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready"
it_wait_http "http://127.0.0.1:$AM/-/ready"
it_start tap_alertd "$BIN/fwtail" --type=NOTIFY --count=1 --timeout=20s tcp://127.0.0.1:$Z4
it_start tap_notifyd "$BIN/fwtail" --type=NOTIFY --count=3 --timeout=20s tcp://127.0.0.1:$Z2
sleep 0.5 # let the taps subscribe

curl -fs "http://127.0.0.1:$AM/api/v2/status" | jq -r .config.original > "$IT_DIR/status.yml"
no_secret "alertd /api/v2/status" "$IT_DIR/status.yml"
all_plain "alertd /api/v2/status" "$AMD" "$IT_DIR/status.yml"
it_check "alertd /api/v2/status masks with <secret>" grep -q 'password: <secret>' "$IT_DIR/status.yml"
if command -v amtool >/dev/null; then
    amtool --alertmanager.url="http://127.0.0.1:$AM" config show > "$IT_DIR/amtool.yml" 2>/dev/null
    no_secret "amtool config show" "$IT_DIR/amtool.yml"
    all_plain "amtool config show" "$AMD" "$IT_DIR/amtool.yml"
    # amtool parses the shown config for its routing tree: a masked webhook url must still be
    # a URL to amtool 0.25 (shown as scheme://host:port/<secret>).
    it_check "amtool config routes parses the masked config" \
        amtool --alertmanager.url="http://127.0.0.1:$AM" config routes
    it_check "a webhook url is shown as its origin and <secret>" \
        grep -q "url: http://127.0.0.1:$SINK/<secret>" "$IT_DIR/status.yml"
fi

curl -fs -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$AM/api/v2/alerts" \
    -d '[{"labels":{"alertname":"Leak"}}]' > /dev/null
# Three webhooks, the first POST refused once and retried: three deliveries.
# lines_ge N FILE [PATTERN]: FILE has at least N lines (matching PATTERN).
lines_ge() { [ "$(grep -c -- "${3:-}" "$2" 2>/dev/null || true)" -ge "$1" ]; }
it_until 100 0.1 lines_ge 3 "$IT_DIR/sink.jsonl" \
    || it_fail "fwsink got $(grep -c '' "$IT_DIR/sink.jsonl" 2>/dev/null || true) of 3 notifications"
it_until 100 0.1 grep -q 'event=webhook.fail' "$IT_DIR/notifyd.log" \
    || it_fail "notifyd logged no failed delivery"
it_until 100 0.1 test -s "$IT_DIR/tap_alertd.log" || it_fail "no NOTIFY published by alertd"
it_until 100 0.1 lines_ge 3 "$IT_DIR/tap_notifyd.log" NOTIFY \
    || it_fail "notifyd did not publish 3 deliveries"
it_check "notifyd logs the webhook's origin" \
    grep -q "event=webhook.fail.*origin=http://127.0.0.1:$SINK " "$IT_DIR/notifyd.log"
it_check "taps see <secret> for the webhook url and credentials" \
    grep -q '"url":"<secret>".*"authorization":"<secret>"\|"authorization":"<secret>".*"url":"<secret>"' \
    "$IT_DIR/tap_alertd.log"
no_secret "alertd's NOTIFY for taps" "$IT_DIR/tap_alertd.log"
no_secret "notifyd's NOTIFY for taps" "$IT_DIR/tap_notifyd.log"
curl -fs "http://127.0.0.1:$AM/metrics" > "$IT_DIR/alertd.metrics"
curl -fs "http://127.0.0.1:$NOTIFYD/metrics" > "$IT_DIR/notifyd.metrics"
no_secret "alertd /metrics" "$IT_DIR/alertd.metrics"
no_secret "notifyd /metrics" "$IT_DIR/notifyd.metrics"
no_secret "alertd's log (debug)" "$IT_DIR/alertd.log"
no_secret "notifyd's log (debug)" "$IT_DIR/notifyd.log"

# A reload and a config error show no secret either.
sed -e 's#url: .http://127.0.0.1:[0-9]*/hook?token=#url: "ftp://u:SECRET-reload@h/#' \
    -e "s#SECRET-webhook-url'#SECRET-webhook-url\"#" "$IT_DIR/am.yml" > "$IT_DIR/am.bad"
cp "$IT_DIR/am.bad" "$IT_DIR/am.yml"
code=$(curl -s -o "$IT_DIR/reload.out" -w '%{http_code}' -XPOST "http://127.0.0.1:$AM/-/reload")
it_check "a bad reload is refused ($code)" test "$code" != 200
set +e
"$BIN/alertd" --check-config --config.file="$IT_DIR/am.bad" > "$IT_DIR/check.out" 2>&1
set -e
it_check "--check-config names the bad scheme" grep -q 'unsupported scheme "ftp"' "$IT_DIR/check.out"
no_secret "alertd --check-config errors" "$IT_DIR/check.out"
no_secret "alertd /-/reload errors" "$IT_DIR/reload.out"
no_secret "alertd's log after the bad reload" "$IT_DIR/alertd.log"

# --- tsdb: --check-config, /api/v1/status/config -----------------------------------------
# Most of the fixture (oauth2, the service discoveries, remote_write, remote_read,
# alertmanagers) is what floorwatch does not do: tsdb refuses the file by naming each key,
# without showing a value. /api/v1/status/config is then shown for the part of the fixture
# floorwatch implements: global and the scrape jobs up to the first refused one.
set +e
"$BIN/tsdb" --check-config --config.file="$PROMS" > "$IT_DIR/tsdb.check" 2>&1; rc=$?
set -e
it_check "tsdb --check-config refuses the fixture (exit $rc)" test "$rc" = 2
it_check "tsdb --check-config names the keys not supported" \
    grep -q 'scrape_configs\[2\]\.oauth2: not supported by floorwatch' "$IT_DIR/tsdb.check"
no_secret "tsdb --check-config errors" "$IT_DIR/tsdb.check"
awk '/^  - job_name: oauth/ {exit} {print}' "$PROMS" > "$IT_DIR/prom-supported.yml"
if "$BIN/tsdb" --check-config --config.file="$IT_DIR/prom-supported.yml" >/dev/null 2>&1; then
    TS=$(it_free_port); ZS=$(it_free_port); ZQ=$(it_free_port); ZP=$(it_free_port)
    it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prom-supported.yml" \
        --web.listen-address=127.0.0.1:$TS \
        --storage.tsdb.path="$IT_DIR/tsdb" --storage.tsdb.map-size=64MiB \
        --zmq.samples-address=tcp://127.0.0.1:$ZS --zmq.query-address=tcp://127.0.0.1:$ZQ \
        --zmq.pub-address=tcp://127.0.0.1:$ZP --log.level=debug
    it_wait_http "http://127.0.0.1:$TS/-/ready"
    curl -fs "http://127.0.0.1:$TS/api/v1/status/config" | jq -r .data.yaml > "$IT_DIR/tsdb.yml"
    no_secret "tsdb /api/v1/status/config" "$IT_DIR/tsdb.yml"
    all_plain "tsdb /api/v1/status/config" "$IT_DIR/prom-supported.yml" "$IT_DIR/tsdb.yml"
    it_check "tsdb shows a URL's password as xxxxx" \
        grep -q 'http://PLAIN-proxy-user:xxxxx@proxy.example.org' "$IT_DIR/tsdb.yml"
    no_secret "tsdb's log (debug)" "$IT_DIR/tsdb.log"
else
    # basic_auth, authorization and proxy_url are being implemented (issue 7, item 4);
    # until then floorwatch refuses them too, and there is no secret tsdb could show.
    echo "  note tsdb /api/v1/status/config not checked: $IT_DIR/prom-supported.yml is refused"
fi

# --- the real peers, on the same files ---------------------------------------------------
if command -v prometheus-alertmanager >/dev/null; then
    P=$(it_free_port)
    it_start peer_am prometheus-alertmanager --config.file="$AMS" --web.listen-address=127.0.0.1:$P \
        --storage.path="$IT_DIR/peer_am" --cluster.listen-address=
    if it_wait_http "http://127.0.0.1:$P/-/ready" 100; then
        curl -fs "http://127.0.0.1:$P/api/v2/status" | jq -r .config.original > "$IT_DIR/peer_am.yml"
        ver=$(curl -fs "http://127.0.0.1:$P/api/v2/status" | jq -r .versionInfo.version)
        # Alertmanager before 0.26 held a webhook URL as a plain URL.
        case $ver in 0.2[0-5].*) sed -i 's/SECRET-webhook-url//' "$IT_DIR/peer_am.yml" ;; esac
        no_secret "Alertmanager $ver on the same file (the fixture's secrets are secrets)" \
            "$IT_DIR/peer_am.yml"
        all_plain "Alertmanager $ver on the same file" "$AMS" "$IT_DIR/peer_am.yml"
    else
        it_fail "prometheus-alertmanager did not start"
    fi
fi
if command -v prometheus >/dev/null; then
    P=$(it_free_port)
    it_start peer_prom prometheus --config.file="$PROMS" --web.listen-address=127.0.0.1:$P \
        --storage.tsdb.path="$IT_DIR/peer_prom"
    if it_wait_http "http://127.0.0.1:$P/-/ready" 150; then
        curl -fs "http://127.0.0.1:$P/api/v1/status/config" | jq -r .data.yaml \
            > "$IT_DIR/peer_prom.yml"
        no_secret "Prometheus on the same file (the fixture's secrets are secrets)" \
            "$IT_DIR/peer_prom.yml"
        all_plain "Prometheus on the same file" "$PROMS" "$IT_DIR/peer_prom.yml"
    else
        it_fail "prometheus did not start"
    fi
fi
it_finish
