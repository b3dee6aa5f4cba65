#!/usr/bin/env bash
# email.sh — alertd + notifyd deliver email_configs over SMTP to a real SMTP server (Debian's
# python3-aiosmtpd, test/it/smtp_sink.py, run with /usr/bin/python3) that requires STARTTLS
# (a certificate made here with openssl) and AUTH: the message arrives once with the right
# envelope, From/To/Subject, the configured header and both parts; a wrong password is a
# failed delivery, counted failed and never delivered. A receiver with its own templates
# (to, Subject and another header, text and html, from a `templates:` file that also
# redefines __alertmanager, which the default HTML uses) gets them rendered. When Debian's
# prometheus-alertmanager is installed, the same config and alerts go through it to a second
# server, and the envelope, headers, text and HTML parts of both messages must be the same,
# byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || it_skip "python3-aiosmtpd is not installed for $PY"
it_need_cmds openssl jq
it_tmpdir

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$IT_DIR/key.pem" -out "$IT_DIR/cert.pem" \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
SMTP=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
it_start smtp $PY test/it/smtp_sink.py --port "$SMTP" --out "$IT_DIR/mail.jsonl" \
    --cert "$IT_DIR/cert.pem" --key "$IT_DIR/key.pem" --auth ops:s3cret --exclude PLAIN
printf 's3cret\n' > "$IT_DIR/password"

cat > "$IT_DIR/mail.tmpl" <<'TMPL'
{{ define "plant.to" }}plant-{{ .CommonLabels.line | toLower }}@example.org{{ end }}
{{ define "plant.subject" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.line }} – Förderband{{ end }}
{{ define "plant.text" }}{{ range .Alerts }}{{ .Labels.line }}: {{ .Annotations.summary }}
{{ end }}{{ end }}
{{ define "__alertmanager" }}Floorwatch{{ end }}
TMPL
# am_config PORT PASSWORD_LINE: the alertmanager.yml both sides load.
am_config() {
    cat <<YML
templates: ['mail.tmpl']
global:
  smtp_smarthost: '127.0.0.1:$1'
  smtp_from: 'Floorwatch <alertd@example.org>'
  smtp_hello: fw.example.org
  smtp_auth_username: ops
  $2
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
  routes:
    - matchers: ['team="bad"']
      receiver: badpw
    - matchers: ['team="custom"']
      receiver: custom
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org, Line Lead <lead@example.org>'
        text: 'Line 1 stopped: see the HTML part.'
        headers: {X-Plant: plant1}
        tls_config: {ca_file: '$IT_DIR/cert.pem'}
  - name: custom
    email_configs:
      - to: '{{ template "plant.to" . }}'
        text: '{{ template "plant.text" . }}'
        html: '<h1>{{ .CommonLabels.alertname }} &amp; {{ .CommonAnnotations.summary }}</h1><a href="{{ .ExternalURL }}/x?line={{ .CommonLabels.line }}">{{ template "__subject" . }}</a>'
        headers: {Subject: '{{ template "plant.subject" . }}', X-Line: '{{ .CommonLabels.line }}'}
        tls_config: {ca_file: '$IT_DIR/cert.pem'}
  - name: badpw
    email_configs:
      - to: 'nobody@example.org'
        auth_password: wrong
        tls_config: {ca_file: '$IT_DIR/cert.pem'}
YML
}
am_config "$SMTP" "smtp_auth_password_file: '$IT_DIR/password'" > "$IT_DIR/am.yml"
cat > "$IT_DIR/notifyd.yml" <<'YML'
timeout: 5s
retry: {initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 2}
max_in_flight: 8
YML
it_has 'configuration OK' "$BIN/alertd" --check-config --config.file="$IT_DIR/am.yml" \
    || it_die "alertd --check-config refuses the email config"
it_start notifyd "$BIN/notifyd" --config.file="$IT_DIR/notifyd.yml" \
    --web.listen-address=127.0.0.1:$NOTIFYD --zmq.notify-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z2 --log.level=debug
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
    --storage.path="$IT_DIR/alertd" --zmq.alerts-address=tcp://127.0.0.1:$Z3 \
    --zmq.notifyd-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z4 \
    --web.external-url=http://am.example.org:9093
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"
it_until 50 0.1 test -s "$IT_DIR/smtp.log" || it_die "smtp_sink did not start"

# AUTH: the server here offers LOGIN only, Alertmanager's below PLAIN only (0.25's LOGIN
# wants the challenge "Username:", aiosmtpd sends "User Name").
# Two alerts of one group (HTML-special characters in an annotation) and one for badpw.
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","severity":"page"},
  "annotations":{"summary":"Line 1 <stopped> & \"waiting\" + 1"},
  "generatorURL":"http://prom.example.org:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
  "startsAt":"2026-01-01T00:00:00Z"},
 {"labels":{"alertname":"LineStopped","line":"L2","severity":"page"},
  "startsAt":"2026-01-01T00:00:00Z"},
 {"labels":{"alertname":"Other","team":"bad"},"startsAt":"2026-01-01T00:00:00Z"},
 {"labels":{"alertname":"Jam","line":"L7","team":"custom"},"annotations":{"summary":"belt <jam> & stop"},
  "startsAt":"2026-01-01T00:00:00Z"}]'
post() { curl -fsS -XPOST -H 'Content-Type: application/json' "$1/api/v2/alerts" -d "$ALERTS" >/dev/null; }
post "http://127.0.0.1:$AM"

count() { [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -ge "$3" ]; }
it_until 100 0.1 count "$IT_DIR/mail.jsonl" '"mail_from"' 2 || it_fail "no 2 emails arrived in 10 s"
it_until 100 0.1 count "$IT_DIR/notifyd.log" 'email.fail.*receiver=badpw' 2 \
    || it_fail "the wrong password was not tried twice"
sleep 1
# parts FILE RCPT: the accepted message to RCPT as JSON {envelope, headers, text, html}
# (count: how many were accepted for RCPT).
parts() {
    $PY - "$1" "$2" <<'PYEOF'
import email, email.policy, json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if '"mail_from"' in l]
msgs = [m for m in msgs if sys.argv[2] in m["rcpt_tos"]]
m = msgs[0]
e = email.message_from_string(m["data"], policy=email.policy.default)
out = {"mail_from": m["mail_from"], "rcpt_tos": sorted(m["rcpt_tos"]), "login": m["login"],
       "mechanism": m.get("mechanism"),
       "tls": m["tls"], "count": len(msgs), "type": e.get_content_type()}
for h in ("From", "To", "Subject", "X-Plant", "X-Line", "Message-Id", "Date", "MIME-Version"):
    out[h] = str(e[h]) if e[h] is not None else None
for p in e.iter_parts():
    out[p.get_content_subtype()] = p.get_content()
    out[p.get_content_subtype() + "_cte"] = p["Content-Transfer-Encoding"]
print(json.dumps(out))
PYEOF
}
parts "$IT_DIR/mail.jsonl" ops@example.org > "$IT_DIR/fw.json"
parts "$IT_DIR/mail.jsonl" plant-l7@example.org > "$IT_DIR/fw_custom.json"
j() { jq -r "$1" "$IT_DIR/fw.json"; }
it_check "one message accepted (the wrong password delivered none)" test "$(j .count)" = 1
it_check "envelope: MAIL FROM alertd@example.org" test "$(j .mail_from)" = alertd@example.org
it_check "envelope: RCPT TO both addresses" \
    test "$(jq -c .rcpt_tos "$IT_DIR/fw.json")" = '["lead@example.org","ops@example.org"]'
it_check "AUTH LOGIN as ops, over STARTTLS" test "$(j .login)/$(j .mechanism)/$(j .tls)" = ops/LOGIN/true
it_check "From header" test "$(j .From)" = 'Floorwatch <alertd@example.org>'
it_check "To header" test "$(j .To)" = 'ops@example.org, Line Lead <lead@example.org>'
it_check "Subject is Alertmanager's default" test "$(j .Subject)" = '[FIRING:2] LineStopped (page)'
it_check "configured header X-Plant" test "$(j '.["X-Plant"]')" = plant1
it_check "Message-Id, Date, MIME-Version" test "$(j '.["Message-Id"] != null and .Date != null and .["MIME-Version"] == "1.0"')" = true
it_check "multipart/alternative" test "$(j .type)" = multipart/alternative
it_check "text part, quoted-printable" test "$(j .plain)/$(j .plain_cte)" = \
    "Line 1 stopped: see the HTML part./quoted-printable"
it_check "html part names both alerts, escaped" \
    grep -q 'summary = Line 1 &lt;stopped&gt; &amp; &#34;waiting&#34; &#43; 1' <(j .html)
it_check "html part links the source" \
    grep -q 'href="http://prom.example.org:9090/graph?g0.expr=up&#43;%3D%3D&#43;0&amp;g0.tab=1"' <(j .html)
it_check "html part links Alertmanager's view of the receiver" \
    grep -q 'href="http://am.example.org:9093/#/alerts?receiver=mail"' <(j .html)
m=$(curl -fs "http://127.0.0.1:$NOTIFYD/metrics")
it_check "delivery counted (integration=email)" \
    grep -q 'fw_notifyd_notifications_total{receiver="mail",integration="email"} 1' <<<"$m"
it_check "the wrong password counted failed, never delivered" \
    bash -c 'grep -q "fw_notifyd_notifications_failed_total{receiver=\"badpw\",integration=\"email\",reason=\"[a-z]*\"} 1" <<<"$1" && ! grep -q "notifications_total{receiver=\"badpw\"" <<<"$1"' _ "$m"
it_check "the server saw the wrong password" count "$IT_DIR/mail.jsonl" '"auth_failed"' 2
jc() { jq -r "$1" "$IT_DIR/fw_custom.json"; }
it_check "custom: to from a template (plant.to)" test "$(jc '.rcpt_tos[0]')/$(jc .To)" = \
    plant-l7@example.org/plant-l7@example.org
it_check "custom: Subject from a template, non-ASCII" test "$(jc .Subject)" = '[FIRING] Jam on L7 – Förderband'
it_check "custom: header X-Line from a template" test "$(jc '.["X-Line"]')" = L7
it_check "custom: text from a templates: file (CRLF in quoted-printable)" test "$(jc .plain)" = $'L7: belt <jam> & stop\r'
it_check "custom: html escaped in HTML mode" test "$(jc .html)" = \
    '<h1>Jam &amp; belt &lt;jam&gt; &amp; stop</h1><a href="http://am.example.org:9093/x?line=L7">[FIRING:1] Jam (L7 custom)</a>'
it_check "the templates: file's __alertmanager in the default HTML" grep -q 'View in Floorwatch' <(j .html)
original() { curl -fs "http://127.0.0.1:$AM/api/v2/status" | jq -r .config.original; }
it_check "/api/v2/status shows the password file, no password" it_has 'auth_password: <secret>' original

# --- the real Alertmanager, same config and alerts, its own SMTP server --------------------
if command -v prometheus-alertmanager >/dev/null; then
    SMTP2=$(it_free_port); P=$(it_free_port)
    it_start smtp2 $PY test/it/smtp_sink.py --port "$SMTP2" --out "$IT_DIR/mail2.jsonl" \
        --cert "$IT_DIR/cert.pem" --key "$IT_DIR/key.pem" --auth ops:s3cret --exclude LOGIN
    # 0.25 has no smtp_auth_password_file: the same password inline.
    am_config "$SMTP2" "smtp_auth_password: s3cret" > "$IT_DIR/peer.yml"
    it_start peer_am prometheus-alertmanager --config.file="$IT_DIR/peer.yml" \
        --web.listen-address=127.0.0.1:$P --storage.path="$IT_DIR/peer_am" \
        --cluster.listen-address= --web.external-url=http://am.example.org:9093
    it_wait_http "http://127.0.0.1:$P/-/ready" 100 || it_die "prometheus-alertmanager did not start"
    it_until 50 0.1 test -s "$IT_DIR/smtp2.log" || it_die "the second smtp_sink did not start"
    post "http://127.0.0.1:$P"
    if ! it_until 150 0.1 count "$IT_DIR/mail2.jsonl" '"mail_from"' 2; then
        it_fail "Alertmanager's email did not arrive in 15 s"
        tail -5 "$IT_DIR/peer_am.log"
        it_finish
    fi
    parts "$IT_DIR/mail2.jsonl" ops@example.org > "$IT_DIR/peer.json"
    parts "$IT_DIR/mail2.jsonl" plant-l7@example.org > "$IT_DIR/peer_custom.json"
    v=$(prometheus-alertmanager --version 2>&1 | awk 'NR == 1 {print $3}') # awk reads it all: no SIGPIPE
    for m in "" _custom; do
        for k in mail_from rcpt_tos login tls From To Subject X-Plant X-Line type plain plain_cte html_cte; do
            a=$(jq -c ".[\"$k\"]" "$IT_DIR/fw$m.json"); b=$(jq -c ".[\"$k\"]" "$IT_DIR/peer$m.json")
            it_check "${m:+custom: }same $k as Alertmanager ($b)" test "$a" = "$b"
        done
        jq -r .html "$IT_DIR/fw$m.json" > "$IT_DIR/fw$m.html"
        jq -r .html "$IT_DIR/peer$m.json" > "$IT_DIR/peer$m.html"
        if diff -u "$IT_DIR/peer$m.html" "$IT_DIR/fw$m.html" > "$IT_DIR/html$m.diff"; then
            it_pass "${m:+custom: }same HTML part as Alertmanager $v, byte for byte"
        else
            it_fail "${m:+custom: }HTML part differs from Alertmanager's:"; head -40 "$IT_DIR/html$m.diff"
        fi
    done
fi
it_finish
