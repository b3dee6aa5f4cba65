#!/usr/bin/env bash
# email_modes.sh — the SMTP session modes of email_configs, against real SMTP servers (Debian's
# python3-aiosmtpd, test/it/smtp_sink.py, run with /usr/bin/python3), each offering AUTH PLAIN
# only (email.sh covers LOGIN and STARTTLS):
#   r465     smarthost port 465, require_tls left true: TLS from the first byte (Alertmanager's
#            rule), no STARTTLS; AUTH PLAIN with auth_identity (the PLAIN exchange checked:
#            authzid, authcid); EHLO with `hello`
#   forced   force_implicit_tls: true on another port: TLS from the first byte
#   clear    require_tls: false against a server without STARTTLS: delivered in clear
#   needtls  require_tls: true against that server: fails with Alertmanager's words, retried,
#            counted failed, never sent
#   rotate   auth_password_file rewritten on disk without a reload: the next notification
#            authenticates with the new password (notifyd reads the file at each delivery,
#            notifyd(8))
# Port 465 is bound on a 127.x.y.1 address of its own (needs root; without it the r465 case
# is left out and said so). When Debian's prometheus-alertmanager (0.25) is installed, the
# same config (without force_implicit_tls, which 0.25 does not know, and with require_tls:
# false on the 465 receiver: before 0.31 Alertmanager asks for STARTTLS even over implicit
# TLS) goes through it to servers of its own, and what the servers saw must match: TLS,
# STARTTLS, EHLO name, mechanism, PLAIN authzid/authcid, login, password after rotation,
# and the require_tls error text.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || it_skip "python3-aiosmtpd is not installed for $PY"
it_need_cmds openssl jq
it_tmpdir

# Two 127.x.y.1 addresses for port 465 (ours and Alertmanager's), unlikely to be in use.
H465=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).1
P465=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).2
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$IT_DIR/key.pem" -out "$IT_DIR/cert.pem" \
    -days 1 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,IP:$H465,IP:$P465" 2>/dev/null
KEYS=(--cert "$IT_DIR/cert.pem" --key "$IT_DIR/key.pem")

# sink NAME ARGS...: start smtp_sink.py (AUTH PLAIN only, ops with s3cret or r0tated) writing
# NAME.jsonl; 0 once it is ready, 1 when it did not start in 10 s.
sink() {
    local n=$1; shift
    it_start "$n" $PY test/it/smtp_sink.py --out "$IT_DIR/$n.jsonl" --auth ops:s3cret \
        --auth ops:r0tated --exclude LOGIN "$@"
    it_until 100 0.1 grep -q '^ready' "$IT_DIR/$n.log"
}
S2=$(it_free_port); S3=$(it_free_port)
HAVE465=1
sink s465 --host "$H465" --port 465 --implicit "${KEYS[@]}" || HAVE465=0
sink sforced --port "$S2" --implicit "${KEYS[@]}" || it_die "smtp_sink (implicit TLS) did not start"
sink sclear --port "$S3" || it_die "smtp_sink (clear) did not start"
[ "$HAVE465" = 1 ] || echo "  note: cannot bind $H465:465 (not root?): the port-465 case is left out"

# am_config ADDR465 FORCED_PORT CLEAR_PORT R465_EXTRA: the alertmanager.yml (FORCED_PORT empty:
# no `forced` receiver).
am_config() {
    cat <<YML
global:
  smtp_from: 'Floorwatch <alertd@example.org>'
  smtp_auth_username: ops
route:
  receiver: clear
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
  routes:
YML
    for r in r465 ${2:+forced} needtls rotate; do
        printf "    - {matchers: ['rcv=\"%s\"'], receiver: %s}\n" "$r" "$r"
    done
    cat <<YML
receivers:
  - name: r465
    email_configs:
      - to: r465@example.org
        smarthost: '$1:465'
        hello: fw465.example.org
        auth_password: s3cret
        auth_identity: ops-authz
        tls_config: {ca_file: '$IT_DIR/cert.pem'}
        $4
  - name: clear
    email_configs:
      - to: clear@example.org
        smarthost: '127.0.0.1:$3'
        hello: clear.example.org
        auth_password: s3cret
        require_tls: false
  - name: needtls
    email_configs:
      - to: needtls@example.org
        smarthost: '127.0.0.1:$3'
        auth_password: s3cret
        require_tls: true
  - name: rotate
    email_configs:
      - to: rotate@example.org
        smarthost: '127.0.0.1:$3'
        auth_password_file: '$IT_DIR/password'
        require_tls: false
YML
    [ -z "$2" ] || cat <<YML
  - name: forced
    email_configs:
      - to: forced@example.org
        smarthost: '127.0.0.1:$2'
        auth_password: s3cret
        force_implicit_tls: true
        tls_config: {ca_file: '$IT_DIR/cert.pem'}
YML
}
am_config "$H465" "$S2" "$S3" "" > "$IT_DIR/am.yml"
printf 's3cret' > "$IT_DIR/password" # no newline: Alertmanager 0.25 does not trim it
cat > "$IT_DIR/notifyd.yml" <<'YML'
timeout: 5s
retry: {initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 2}
max_in_flight: 8
YML
it_has 'configuration OK' "$BIN/alertd" --check-config --config.file="$IT_DIR/am.yml" \
    || it_die "alertd --check-config refuses the config"
AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
it_start notifyd "$BIN/notifyd" --config.file="$IT_DIR/notifyd.yml" \
    --web.listen-address=127.0.0.1:$NOTIFYD --zmq.notify-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z2 --log.level=debug
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
    --storage.path="$IT_DIR/alertd" --zmq.alerts-address=tcp://127.0.0.1:$Z3 \
    --zmq.notifyd-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z4
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"

# post URL NAME RCV...: one alert named NAME for each receiver RCV.
post() {
    local url=$1 name=$2; shift 2
    local a="" r
    for r in "$@"; do
        a="$a${a:+,}{\"labels\":{\"alertname\":\"$name\",\"rcv\":\"$r\"},\"startsAt\":\"2026-01-01T00:00:00Z\"}"
    done
    curl -fsS -XPOST -H 'Content-Type: application/json' "$url/api/v2/alerts" -d "[$a]" >/dev/null
}
# got FILE RCPT [N]: FILE holds at least N (1) messages to RCPT.
got() { [ "$(grep -c "\"$2\"" "$1" 2>/dev/null || true)" -ge "${3:-1}" ]; }
# msg FILE RCPT [K]: the K-th (0) message to RCPT, as the sink recorded it, without its text.
msg() { jq -c --arg r "$2" "select(.rcpt_tos | index(\$r)) | del(.data)" "$1" | sed -n "$((${3:-0} + 1))p"; }

# cases SINKPREFIX URL LOG: post the first round, wait for it, rotate the password, post the
# second, wait for it. LOG is the daemon log where needtls's failures show.
cases() {
    local d=$1 url=$2 log=$3 rcvs=(clear needtls rotate)
    [ "$d" = fw ] && rcvs+=(forced)
    [ "$HAVE465" = 1 ] && rcvs+=(r465)
    printf 's3cret' > "$IT_DIR/password"
    post "$url" Round1 "${rcvs[@]}"
    it_until 150 0.1 got "$IT_DIR/sclear$4.jsonl" rotate@example.org || it_fail "$d: rotate's first email did not arrive in 15 s"
    it_until 150 0.1 got "$IT_DIR/sclear$4.jsonl" clear@example.org || it_fail "$d: clear's email did not arrive in 15 s"
    [ "$d" != fw ] || it_until 150 0.1 got "$IT_DIR/sforced.jsonl" forced@example.org || it_fail "forced: no email in 15 s"
    [ "$HAVE465" = 0 ] || it_until 150 0.1 got "$IT_DIR/s465$4.jsonl" r465@example.org || it_fail "$d: r465: no email in 15 s"
    it_until 150 0.1 grep -q "$5" "$log" || it_fail "$d: needtls's failure not logged in 15 s"
    sleep 1 # a retry after the second attempt would show
    printf 'r0tated' > "$IT_DIR/password"
    post "$url" Round2 rotate
    it_until 150 0.1 got "$IT_DIR/sclear$4.jsonl" rotate@example.org 2 || it_fail "$d: rotate's second email did not arrive in 15 s"
}
WANT_ERR="'require_tls' is true (default) but \\\\\"127.0.0.1:$S3\\\\\" does not advertise the STARTTLS extension"
cases fw "http://127.0.0.1:$AM" "$IT_DIR/notifyd.log" "" "email.fail.*receiver=needtls.*attempt=2"
sleep 1

if [ "$HAVE465" = 1 ]; then
    m=$(msg "$IT_DIR/s465.jsonl" r465@example.org)
    it_check "r465: delivered over TLS from the first byte, no STARTTLS ($m)" \
        test "$(jq -r '"\(.tls)/\(.starttls)"' <<<"$m")" = true/false
    it_check "r465: AUTH PLAIN, authzid auth_identity, authcid auth_username" \
        test "$(jq -r '"\(.mechanism) \(.plain.authzid) \(.plain.authcid) \(.password)"' <<<"$m")" = "PLAIN ops-authz ops s3cret"
    it_check "r465: EHLO fw465.example.org (hello)" test "$(jq -r .ehlo <<<"$m")" = fw465.example.org
fi
m=$(msg "$IT_DIR/sforced.jsonl" forced@example.org)
it_check "forced: force_implicit_tls on port $S2: TLS from the first byte ($m)" \
    test "$(jq -r '"\(.tls)/\(.starttls)/\(.mechanism)"' <<<"$m")" = true/false/PLAIN
it_check "forced: EHLO localhost (the default hello)" test "$(jq -r .ehlo <<<"$m")" = localhost
m=$(msg "$IT_DIR/sclear.jsonl" clear@example.org)
it_check "clear: require_tls false, no STARTTLS offered: delivered in clear ($m)" \
    test "$(jq -r '"\(.tls)/\(.login)/\(.mechanism)"' <<<"$m")" = false/ops/PLAIN
it_check "clear: EHLO clear.example.org" test "$(jq -r .ehlo <<<"$m")" = clear.example.org
it_check "needtls: nothing sent to the server" bash -c "! grep -q needtls@example.org '$IT_DIR/sclear.jsonl'"
it_check "needtls: Alertmanager's error text in the log" \
    grep -q "receiver=needtls .*err=\"$WANT_ERR\"" "$IT_DIR/notifyd.log"
it_check "needtls: tried twice (max_attempts)" \
    test "$(grep -c 'email.fail.*receiver=needtls' "$IT_DIR/notifyd.log")" = 2
mt=$(curl -fs "http://127.0.0.1:$NOTIFYD/metrics")
it_check "needtls: counted failed (reason tls), never delivered" \
    bash -c 'grep -q "fw_notifyd_notifications_failed_total{receiver=\"needtls\",integration=\"email\",reason=\"tls\"} 1" <<<"$1" && ! grep -q "notifications_total{receiver=\"needtls\"" <<<"$1"' _ "$mt"
for r in clear:1 rotate:2 forced:1; do
    it_check "${r%:*}: counted delivered (${r#*:})" \
        grep -q "fw_notifyd_notifications_total{receiver=\"${r%:*}\",integration=\"email\"} ${r#*:}\$" <<<"$mt"
done
it_check "rotate: first email with the password then in the file (s3cret)" \
    test "$(msg "$IT_DIR/sclear.jsonl" rotate@example.org 0 | jq -r .password)" = s3cret
it_check "rotate: after the file changed, no reload: the new password (r0tated)" \
    test "$(msg "$IT_DIR/sclear.jsonl" rotate@example.org 1 | jq -r .password)" = r0tated
it_check "rotate: no reload happened" bash -c "! grep -q 'reload' '$IT_DIR/alertd.log' '$IT_DIR/notifyd.log'"

# --- the real Alertmanager, same config, servers of its own ---------------------------------
if command -v prometheus-alertmanager >/dev/null; then
    S3P=$(it_free_port); P=$(it_free_port)
    [ "$HAVE465" = 0 ] || sink s465p --host "$P465" --port 465 --implicit "${KEYS[@]}" \
        || it_die "smtp_sink on $P465:465 did not start"
    sink sclearp --port "$S3P" || it_die "smtp_sink (clear, peer) did not start"
    am_config "$P465" "" "$S3P" "require_tls: false" > "$IT_DIR/peer.yml"
    it_start peer_am prometheus-alertmanager --config.file="$IT_DIR/peer.yml" \
        --web.listen-address=127.0.0.1:$P --storage.path="$IT_DIR/peer_am" \
        --cluster.listen-address= --log.level=debug
    it_wait_http "http://127.0.0.1:$P/-/ready" 100 || it_die "prometheus-alertmanager did not start"
    cases am "http://127.0.0.1:$P" "$IT_DIR/peer_am.log" p "receiver=needtls.*does not advertise"
    sleep 1
    v=$(prometheus-alertmanager --version 2>&1 | awk 'NR == 1 {print $3}') # awk reads it all: no SIGPIPE
    K='"\(.tls) \(.starttls) \(.ehlo) \(.login) \(.mechanism) \(.plain.authzid) \(.plain.authcid) \(.password)"'
    same() { # same NAME OURFILE THEIRFILE RCPT [K]
        local a b
        a=$(msg "$2" "$4" "${5:-0}" | jq -r "$K"); b=$(msg "$3" "$4" "${5:-0}" | jq -r "$K")
        it_check "$1: the server saw the same session as from Alertmanager $v ($b)" test "$a" = "$b"
    }
    [ "$HAVE465" = 0 ] || same r465 "$IT_DIR/s465.jsonl" "$IT_DIR/s465p.jsonl" r465@example.org
    same clear "$IT_DIR/sclear.jsonl" "$IT_DIR/sclearp.jsonl" clear@example.org
    same "rotate (before)" "$IT_DIR/sclear.jsonl" "$IT_DIR/sclearp.jsonl" rotate@example.org 0
    same "rotate (after)" "$IT_DIR/sclear.jsonl" "$IT_DIR/sclearp.jsonl" rotate@example.org 1
    it_check "needtls: Alertmanager $v sent nothing either" bash -c "! grep -q needtls@example.org '$IT_DIR/sclearp.jsonl'"
    theirs=$(grep -m1 -o "'require_tls' is true (default) but [^ ]* does not advertise the STARTTLS extension" \
        "$IT_DIR/peer_am.log" | sed "s/$S3P/$S3/")
    ours=$(grep -m1 -o "'require_tls' is true (default) but [^ ]* does not advertise the STARTTLS extension" \
        "$IT_DIR/notifyd.log")
    it_check "needtls: the same error text as Alertmanager $v ($theirs)" test -n "$ours" -a "$ours" = "$theirs"
fi
it_finish
