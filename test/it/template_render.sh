#!/usr/bin/env bash
# template_render.sh — `alertd template render` and POST /api/v2/template/render render
# alertmanager.yml's notification templates with sample alerts.
#
# The CLI against the real Debian amtool 0.25 (`amtool template render`, given the Debian
# default.tmpl and email.tmpl, which its build does not embed): the same text, with the same
# templates: file and amtool's sample data, renders the same bytes, in text and in html mode
# (email.default.html whole), a template error fails both, and 38 bad templates (missing
# fields, unknown functions, wrong argument counts and types, ...) print the same error text with the
# same exit code. Then a receiver's texts
# (defaults, a text calling a file template, a redefined default, PagerDuty details, email
# headers and html), a template error (exit 1, Go's message), usage errors (exit 2), and the
# API of a running alertd: a text, html, a receiver, given data, an unknown receiver (404),
# bad bodies and a template error (400).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_cmds curl jq
it_tmpdir
AMTMPL=/usr/share/prometheus/alertmanager

cat > "$IT_DIR/plant.tmpl" <<'TMPL'
{{ define "plant.lines" }}{{ range .Alerts }}{{ .Labels.instance }}{{ .Labels.foo }} [{{ .Annotations.annotation1 }}] & {{ end }}{{ end }}
{{ define "__alertmanager" }}Floorwatch{{ end }}
TMPL
printf '{{ define "extra" }}E{{ .Receiver }}{{ end }}\n' > "$IT_DIR/extra1.tmpl"
printf '{{ define "extra" }}F{{ .Receiver }}{{ end }}{{ define "extra2" }}2{{ end }}\n' > "$IT_DIR/extra2.tmpl"
cat > "$IT_DIR/am.yml" <<'YML'
templates: ['plant.tmpl']
global: {smtp_smarthost: 'localhost:25', smtp_from: 'am@example.org'}
route: {receiver: team}
receivers:
  - name: team
    slack_configs:
      - api_url: http://127.0.0.1:1/slack
        title: '{{ template "slack.default.title" . }} on {{ template "plant.lines" . }}'
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        details: {shift: '{{ .CommonLabels.commonlabelkey1 }}'}
    email_configs:
      - to: 'ops@example.org'
        headers: {X-Line: '{{ .GroupLabels.grouplabelkey1 }}'}
  - name: other
    webhook_configs: [{url: 'http://127.0.0.1:1/'}]
YML

# --- the CLI against amtool --------------------------------------------------------------
if command -v amtool >/dev/null && [ -f "$AMTMPL/default.tmpl" ]; then
    T='{{ template "slack.default.title" . }}|{{ template "plant.lines" . }}|{{ .Receiver }}|{{ range .Alerts }}{{ .Status }} {{ .Labels.SortedPairs }} {{ .Annotations.SortedPairs.Values }} {{ .Fingerprint }};{{ end }}|{{ template "pagerduty.default.instances" .Alerts }}|{{ template "__alertmanagerURL" . }}|{{ .CommonLabels.Names }}|{{ template "extra" . }}{{ template "extra2" . }}'
    "$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.glob="$IT_DIR/extra1.tmpl" \
        --template.glob="$IT_DIR/extra2.tmpl" --template.text="$T" > "$IT_DIR/fw.txt"
    amtool template render --template.glob="$AMTMPL/*.tmpl" --template.glob="$IT_DIR/plant.tmpl" \
        --template.glob="$IT_DIR/extra1.tmpl" --template.glob="$IT_DIR/extra2.tmpl" \
        --template.text="$T" > "$IT_DIR/am.txt"
    it_check "text: the same bytes as amtool $(amtool --version 2>&1 | head -1 | awk '{print $3}') (two --template.glob, the later define wins)" \
        bash -c 'cmp "$1" "$2" && grep -q "|Freceiver2$" "$1"' _ "$IT_DIR/fw.txt" "$IT_DIR/am.txt"
    for t in '{{ template "email.default.html" . }}' '<a href="{{ .ExternalURL }}/?r={{ .Receiver }}">{{ template "plant.lines" . }}</a>'; do
        "$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.type=html \
            --template.text="$t" > "$IT_DIR/fw.html"
        amtool template render --template.glob="$AMTMPL/*.tmpl" --template.glob="$IT_DIR/plant.tmpl" \
            --template.type=html --template.text="$t" > "$IT_DIR/am.html"
        it_check "html: the same bytes as amtool (${t:0:40}...)" cmp "$IT_DIR/fw.html" "$IT_DIR/am.html"
    done
    it_check "a redefined default (__alertmanager) in email.default.html" it_has "View in Floorwatch" \
        "$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.type=html \
        --template.text='{{ template "email.default.html" . }}'
    printf '{"receiver":"r x","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","instance":"i1"},"annotations":{"annotation1":"<v>"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://g/","fingerprint":"f"}],"groupLabels":{"alertname":"A"},"commonLabels":{"alertname":"A","instance":"i1"},"commonAnnotations":{},"externalURL":"http://am"}' > "$IT_DIR/data.json"
    T2='{{ template "__subject" . }}|{{ template "plant.lines" . }}|{{ template "__alertmanagerURL" . }}'
    "$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.data="$IT_DIR/data.json" --template.text="$T2" > "$IT_DIR/fw2.txt"
    amtool template render --template.glob="$AMTMPL/*.tmpl" --template.glob="$IT_DIR/plant.tmpl" \
        --template.data="$IT_DIR/data.json" --template.text="$T2" > "$IT_DIR/am2.txt"
    it_check "--template.data: the same bytes as amtool ($(cat "$IT_DIR/am2.txt"))" cmp "$IT_DIR/fw2.txt" "$IT_DIR/am2.txt"
    ! amtool template render --template.glob="$AMTMPL/*.tmpl" --template.text='{{ template "nope" . }}' >/dev/null 2>&1
    it_check "an undefined template fails as with amtool" \
        bash -c '! "$1" template render --template.text="{{ template \"nope\" . }}" 2>/dev/null' _ "$BIN/alertd"
    # Bad templates: the same error text (after each tool's prefix) and exit 1 as amtool.
    n=0; bad=0
    while IFS= read -r t; do
        n=$((n + 1))
        set +e
        amtool template render --template.glob="$AMTMPL/*.tmpl" --template.text="$t" > /dev/null 2> "$IT_DIR/am.err"; arc=$?
        "$BIN/alertd" template render --template.text="$t" > /dev/null 2> "$IT_DIR/fw.err"; frc=$?
        set -e
        a=$(sed 's/^amtool: error: //' "$IT_DIR/am.err"); f=$(sed 's/^alertd template render: //' "$IT_DIR/fw.err")
        if [ "$a" != "$f" ] || [ "$arc" != "$frc" ]; then
            bad=$((bad + 1)); echo "  $t: amtool exit $arc '$a'; alertd exit $frc '$f'"
        fi
    done <<'BAD'
{{ .Nope }}
{{ .Labels.foo }}
{{ with .Alerts }}{{ .Nope }}{{ end }}
{{ range .Alerts }}{{ .Labels.SortedPairs.Nope }}{{ end }}
{{ .Receiver 1 }}
{{ nofunc }}
{{ .Status | nofunc }}
{{ toUpper "a" "b" }}
{{ toUpper }}
{{ printf }}
{{ stringSlice | join }}
{{ printf "%s" 1 2 3 4 5 6 7 8 9 | len 3 }}
{{ index .Alerts 99 }}
{{ index "abcdefgh" 10 11 12 13 14 }}
{{ template "nope" . }}
{{ if }}x{{ end }}
{{ end }}
{{ $x }}
{{ unclosed
{{ .Status.Foo }}
{{ .CommonLabels.foo.bar }}
{{ len 3 }}
{{ eq 1 "a" }}
{{ 1 2 }}
{{ define "x" }}{{ end }}{{ template "x" 1 2 }}
{{ reReplaceAll "(" "x" "y" }}
{{ match "(" "x" }}
{{ safeHtml }}
{{ title 3 }}
{{ 3 | toUpper }}
{{ toUpper .Alerts }}
{{ toUpper .CommonLabels }}
{{ toUpper nil }}
{{ join "," .Alerts }}
{{ join 1 (stringSlice "a") }}
{{ match "a" 1.5 }}
{{ stringSlice "a" 2 }}
{{ join "," .CommonLabels.Names }}
BAD
    it_check "bad templates: $n error texts and exit codes as amtool's ($bad differ)" test "$bad" = 0
else
    echo "  (amtool or $AMTMPL absent: the comparison with amtool is skipped)"
fi

# --- a receiver's texts ------------------------------------------------------------------
"$BIN/alertd" template render --config.file="$IT_DIR/am.yml" > "$IT_DIR/team.txt"
has() { grep -qxF -- "$1" "$IT_DIR/team.txt"; }
it_check "receiver (the route's): a config text calling a default and a file template" \
    has 'slack_configs[0].title: [ALERTSTATUS] grouplabelvalue1 grouplabelvalue2  on foo.bar:1234 [value1] & bar [] & '
it_check "receiver: a default (slack fallback) with the sample receiver" \
    has 'slack_configs[0].fallback: [ALERTSTATUS] grouplabelvalue1 grouplabelvalue2  | https://example.com/#/alerts?receiver=team'
it_check "receiver: a redefined default (__alertmanager)" has 'slack_configs[0].username: Floorwatch'
it_check "receiver: PagerDuty's default and configured details" \
    bash -c 'grep -qxF "pagerduty_configs[0].details.num_firing: 0" "$1" && grep -qxF "pagerduty_configs[0].details.shift: commonlabelvalue1" "$1"' _ "$IT_DIR/team.txt"
it_check "receiver: email Subject, a header and the HTML" \
    bash -c 'grep -qxF "email_configs[0].headers.X-Line: grouplabelvalue1" "$1" && grep -q "^email_configs\[0\].headers.Subject: \[ALERTSTATUS\]" "$1" && grep -q "<title>\[ALERTSTATUS\] grouplabelvalue1" "$1"' _ "$IT_DIR/team.txt"
set +e
"$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.text='{{ .Status | nofunc }}' 2> "$IT_DIR/err.txt"; rc1=$?
"$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --receiver=nope 2>/dev/null; rc2=$?
"$BIN/alertd" template render --template.type=pdf --template.text=x 2>/dev/null; rc3=$?
"$BIN/alertd" template render 2>/dev/null; rc4=$?
set -e
it_check "a template error: exit 1, Go's message ($(cat "$IT_DIR/err.txt"))" \
    bash -c '[ "$1" = 1 ] && grep -q "function \"nofunc\" not defined" "$2"' _ "$rc1" "$IT_DIR/err.txt"
it_check "usage errors: exit 2 (unknown receiver, bad type, nothing to render)" \
    test "$rc2/$rc3/$rc4" = 2/2/2

# --- the API --------------------------------------------------------------------------------
AM=$(it_free_port); Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port)
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
    --storage.path= --zmq.alerts-address=tcp://127.0.0.1:$Z1 \
    --zmq.notifyd-address=tcp://127.0.0.1:$Z2 --zmq.pub-address=tcp://127.0.0.1:$Z3
it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"
api() { # BODY -> status code; answer in $IT_DIR/api.json
    curl -s -o "$IT_DIR/api.json" -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
        "http://127.0.0.1:$AM/api/v2/template/render" -d "$1"
}
code=$(api '{"text":"{{ template \"slack.default.title\" . }}|{{ template \"plant.lines\" . }}"}')
it_check "API text: 200 and the same text as the CLI" test "$code/$(jq -r .text "$IT_DIR/api.json")" = \
    "200/$("$BIN/alertd" template render --config.file="$IT_DIR/am.yml" --template.text='{{ template "slack.default.title" . }}|{{ template "plant.lines" . }}')"
code=$(api '{"text":"<b>{{ .CommonLabels.x }}{{ (index .Alerts 0).Annotations.annotation1 }}</b>","html":true,"data":{"alerts":[{"status":"firing","labels":{},"annotations":{"annotation1":"a<b"}}],"commonLabels":{"x":"&"}}}')
it_check "API html with data: escaped" test "$code/$(jq -r .text "$IT_DIR/api.json")" = '200/<b>&amp;a&lt;b</b>'
code=$(api '{"receiver":"team"}')
it_check "API receiver: every text, the same as the CLI" bash -c \
    '[ "$1" = 200 ] && diff <(jq -r ".texts[] | \"\(.integration)_configs[\(.index)].\(.key): \(.text)\"" "$2") "$3"' \
    _ "$code" "$IT_DIR/api.json" "$IT_DIR/team.txt"
code=$(api '{"receiver":"nope"}')
it_check "API unknown receiver: 404" test "$code" = 404
code=$(api '{"text":"{{ .X | nofunc }}"}')
it_check "API template error: 400 with Go's message" \
    bash -c '[ "$1" = 400 ] && grep -q "function \"nofunc\" not defined" <<<"$(jq -r .error "$2")"' _ "$code" "$IT_DIR/api.json"
code=$(api '{"text":"{{ range $i := until 1 }}{{ end }}{{ range .Alerts }}{{ range .Alerts }}{{ end }}{{ end }}"}')
it_check "API unknown function: 400" test "$code" = 400
codes="$(api '[1]') $(api '{"text":5}') $(api '{}') $(api 'nope') $(api '{"text":"x","html":"yes"}')"
it_check "API bad bodies: 400 ($codes)" test "$codes" = "400 400 400 400 400"
code=$(api '{"text":"{{ range .Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}","data":{"alerts":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}}')
it_check "API output bounded: 400 ($(jq -r .error "$IT_DIR/api.json" | cut -c1-80))" test "$code" = 400
it_check "alertd still answers" curl -fs "http://127.0.0.1:$AM/-/ready" -o /dev/null
it_finish
