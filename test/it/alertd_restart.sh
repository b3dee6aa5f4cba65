#!/usr/bin/env bash
# alertd_restart.sh — alertd's state survives SIGKILL: fwsink + notifyd + alertd, driven by
# curl and the real amtool.
#
# Two groups fire and are notified once each; a silence is created and a third alert is
# muted by it; then alertd is SIGKILLed. One alert's endsAt passes while it is down. After
# the restart: no group is notified again for the same state (the sink's requests counted
# per group key, also after the alerts are sent again as ruled would), the alert that
# resolved while alertd was down gets exactly one resolved notification, the silence still
# mutes, and `amtool alert query` lists the alerts posted before the kill. A second SIGKILL
# and restart sends nothing more. Every wait is bounded.
#
# alertd runs with --silences.max-silences=3 and --silences.max-silence-size-bytes=2048
# (Alertmanager 0.28's flags; the Debian amtool is 0.25's, whose client has no part in the
# limit): after the restarts, with the first silence restored, two more are added, then
# `amtool silence add` prints Alertmanager's 400 text for a fourth, an existing one can still
# be updated and expired at the limit (the expired one still counts until it is dropped), and
# an update over the size limit gets its 400 text.
#
# Updates (issue 8): Alertmanager updates a silence in place only when its canUpdate allows it
# and otherwise replaces it (new id in silenceID, the old one expired). At the limit a
# replacement (`amtool silence update --start`) is refused and the old one left as it was.
# Then one sequence runs against a second alertd (default limits) and, when it is installed,
# Debian's Alertmanager 0.25, and their decisions are compared: `amtool silence update
# --comment` keeps the id; a new --start of an active silence gives a new id and `amtool
# silence query --expired` lists the old one; a pending silence's later start keeps the id; a
# changed matcher (curl, since amtool 0.25's update has no matcher flag) gives a new id and
# expires the pending one; updating an expired silence gives a new id; an unknown id is 404.
# (amtool 0.25's `update -q` prints a pointer, so the id is read from `-o json`.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_bins alertd notifyd fwsink
it_need_cmds amtool jq curl
it_tmpdir

# The limits' flags take whole numbers only (Alertmanager's are ints): others exit 2.
for bad in --silences.max-silences=10k --silences.max-silences=99999999999999999999 \
    --silences.max-silence-size-bytes=1MiB --silences.max-silence-size-bytes=; do
    rc=0; "$BIN/alertd" "$bad" --check-config > "$IT_DIR/flag.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "invalid value" "$IT_DIR/flag.out" \
        || it_die "$bad: exit $rc, $(cat "$IT_DIR/flag.out")"
done
it_has "configuration OK" \
    "$BIN/alertd" --silences.max-silences=0 --silences.max-silence-size-bytes=-1 --check-config \
    || it_die "0 and -1 (no limit, as Alertmanager) refused"
it_ok "silence limit flags: 10k, 2^66, 1MiB and \"\" refused (exit 2); 0 and -1 taken"

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
        send_resolved: true
YML
it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl"
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2
NALERTD=0
start_alertd() {
    NALERTD=$((NALERTD + 1))
    it_start "alertd$NALERTD" "$BIN/alertd" --config.file="$IT_DIR/am.yml" \
        --web.listen-address=127.0.0.1:$AM --storage.path="$IT_DIR/state" \
        --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
        --zmq.pub-address=tcp://127.0.0.1:$Z4 \
        --silences.max-silences=3 --silences.max-silence-size-bytes=2048
    APID=$!
    it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd ($NALERTD) did not start"
}
kill_alertd() {
    local rc=0
    { kill -9 "$APID"; wait "$APID" || rc=$?; } 2>/dev/null # no "Killed" from bash
    [ "$rc" = 137 ] || it_die "alertd exit $rc after SIGKILL, want 137"
    local p keep=()
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$APID" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"})
}
start_alertd
it_wait_http "http://127.0.0.1:$SINK/" || it_die "fwsink did not start"
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_ok "fwsink, notifyd, alertd up"

AMURL=http://127.0.0.1:$AM
am() { amtool --alertmanager.url="$AMURL" "$@" 2>>"$IT_DIR/amtool.log"; }
# count GROUP [STATUS]: the sink's requests for alertname=GROUP (with that status).
count() {
    [ -s "$IT_DIR/sink.jsonl" ] || { echo 0; return; }
    jq -r --arg g "$1" --arg s "${2:-}" \
        'select(.groupLabels.alertname == $g and ($s == "" or .status == $s)) | .status' \
        "$IT_DIR/sink.jsonl" | wc -l
}
# wait_count N GROUP [STATUS]: up to 10 s for the count to reach N.
wait_count() {
    local n=$1; shift
    for _ in $(seq 100); do [ "$(count "$@")" -ge "$n" ] && return 0; sleep 0.1; done
    return 1
}
ENDS=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
ENDS_S=$(date -u -d "$ENDS" +%s)
post() {
    curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" -d "[
      {\"labels\":{\"alertname\":\"Steady\",\"line\":\"L1\"}},
      {\"labels\":{\"alertname\":\"Steady\",\"line\":\"L2\"}},
      {\"labels\":{\"alertname\":\"Ending\",\"line\":\"L3\"},\"endsAt\":\"$ENDS\"}]"
}
post || it_die "POST alerts"
wait_count 1 Steady firing || it_die "Steady was not notified"
wait_count 1 Ending firing || it_die "Ending was not notified"
sid=$(am silence add alertname=Muted --comment=restart --duration=1h) || it_die "amtool silence add"
am alert add Muted line=L4 >/dev/null || it_die "amtool alert add Muted"
sleep 1.5 # two group intervals: Muted must stay unnotified
[ "$(count Steady)" = 1 ] && [ "$(count Ending)" = 1 ] && [ "$(count Muted)" = 0 ] \
    || it_die "before the kill: want Steady 1, Ending 1, Muted 0; got $(count Steady) $(count Ending) $(count Muted)"
it_ok "before the kill: Steady and Ending notified once each, Muted silenced ($sid)"

kill_alertd
it_ok "alertd SIGKILLed"
# Stay down until Ending's endsAt has passed.
for _ in $(seq 100); do [ "$(date -u +%s)" -gt "$ENDS_S" ] && break; sleep 0.1; done
[ "$(date -u +%s)" -gt "$ENDS_S" ] || it_die "endsAt $ENDS did not pass within 10 s"
start_alertd
grep -q 'event=state.restore.* alerts=4 ' "$IT_DIR/alertd2.log" \
    || it_die "restore: $(grep state.restore "$IT_DIR/alertd2.log")"
it_ok "alertd restarted after Ending's endsAt ($ENDS); its state restored (4 alerts)"

wait_count 1 Ending resolved || it_die "no resolved notification for Ending after the restart"
post || it_die "POST alerts again" # ruled sends its alerts again every evaluation
sleep 3 # group_wait + two group intervals
[ "$(count Ending resolved)" = 1 ] || it_die "Ending resolved $(count Ending resolved) times, want 1"
[ "$(count Ending firing)" = 1 ] || it_die "Ending firing notified $(count Ending firing) times, want 1"
[ "$(count Steady)" = 1 ] || it_die "Steady notified $(count Steady) times in all, want 1"
[ "$(count Muted)" = 0 ] || it_die "Muted was notified after the restart"
it_ok "after the restart: Steady not notified again, Ending resolved exactly once, Muted silent"

q=$(am alert query -o json) || it_die "amtool alert query"
[ "$(echo "$q" | jq '[.[] | select(.labels.alertname == "Steady")] | length')" = 2 ] \
    || it_die "alert query after restart: $q"
it_lacks Muted am alert query alertname=Muted || it_die "Muted listed as active after restart (or amtool failed)"
it_has Muted am alert query -s alertname=Muted || it_die "Muted not listed as suppressed"
it_has "$sid" am silence query -q || it_die "silence $sid gone after restart"
it_ok "amtool after the restart: both Steady alerts listed, silence $sid kept and muting Muted"

kill_alertd
start_alertd
sleep 3
[ "$(count Steady)" = 1 ] && [ "$(count Ending)" = 2 ] && [ "$(count Muted)" = 0 ] \
    || it_die "second restart: want Steady 1, Ending 2, Muted 0; got $(count Steady) $(count Ending) $(count Muted)"
it_ok "a second SIGKILL and restart sends nothing more"

# The silence limits, with the restored silence counted.
s2=$(am silence add alertname=Lim2 --comment=limit --duration=1h) || it_die "silence 2 refused"
s3=$(am silence add alertname=Lim3 --comment=limit --duration=1h) || it_die "silence 3 refused"
rc=0
amtool --alertmanager.url="$AMURL" silence add alertname=Lim4 --comment=limit --duration=1h \
    > "$IT_DIR/lim4.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'exceeded maximum number of silences: 3 (limit: 3)' "$IT_DIR/lim4.out" \
    || it_die "4th silence at the limit: amtool exit $rc: $(cat "$IT_DIR/lim4.out")"
[ "$(am silence query -q | wc -l)" = 3 ] || it_die "silences after the refusal: $(am silence query -q)"
it_ok "amtool silence add at the limit: exit $rc, $(grep 'amtool: error' "$IT_DIR/lim4.out")"
am silence update "$s2" --comment=updated-at-limit >/dev/null || it_die "update at the limit refused"
am silence query -o json | jq -e --arg id "$s2" \
    '.[] | select(.id == $id and .comment == "updated-at-limit")' >/dev/null \
    || it_die "update at the limit not applied"
am silence expire "$s3" || it_die "expire at the limit refused"
it_ok "at the limit: silence $s2 updated in place and $s3 expired"
big=$(printf 'x%.0s' $(seq 3000))
# s2 as stored with a big comment: an update in place, so the size is what refuses it (a
# changed matcher or start would be a replacement, refused first for room at the limit).
body=$(am silence query -o json | jq -c --arg id "$s2" --arg c "$big" \
    '.[] | select(.id == $id) | {id, matchers, startsAt, endsAt, createdBy, comment: $c}')
st=$(curl -sS -o "$IT_DIR/big.out" -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
    "$AMURL/api/v2/silences" -d "$body")
[ "$st" = 400 ] && grep -q '"silence exceeded maximum size: [0-9]* bytes (limit: 2048 bytes)"' \
    "$IT_DIR/big.out" || it_die "oversized silence: HTTP $st $(head -c 200 "$IT_DIR/big.out")"
it_ok "update of $s2 past the size limit: HTTP $st $(cat "$IT_DIR/big.out")"

# At the limit (3 held), a replacement needs room: refused, the old silence untouched.
rc=0
amtool --alertmanager.url="$AMURL" silence update "$s2" -o json \
    --start="$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)" --duration=1h \
    > "$IT_DIR/repl.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'exceeded maximum number of silences: 3 (limit: 3)' "$IT_DIR/repl.out" \
    || it_die "replacement at the limit: amtool exit $rc: $(cat "$IT_DIR/repl.out")"
am silence query -o json | jq -e --arg id "$s2" \
    '.[] | select(.id == $id and .status.state == "active" and .comment == "updated-at-limit")' \
    >/dev/null || it_die "replacement refused at the limit changed $s2"
m=$(curl -fsS "$AMURL/metrics") || it_die "GET /metrics"
grep -q '^fw_alertd_silences_refused_total{reason="max_silences"} 2$' <<<"$m" \
    || it_die "refusals not counted: $(grep silences_refused <<<"$m")"
it_ok "replacement of $s2 at the limit refused ($(grep 'amtool: error' "$IT_DIR/repl.out")), $s2 kept, counted"

# update_seq URL: the update sequence against one server; prints one decision a line.
update_seq() {
    local url=$1 id0 id1 id2 id3 id4 id5 st body
    u() { amtool --alertmanager.url="$url" "$@" 2>>"$IT_DIR/amtool.log"; }
    id0=$(u silence add alertname=Upd --comment=first --duration=1h) || it_die "$url: add"
    id1=$(u silence update -o json "$id0" --comment=second | jq -r '.[0].id')
    [ "$id1" = "$id0" ] && echo "comment: same id" || echo "comment: new id"
    id2=$(u silence update -o json "$id1" --duration=1h \
        --start="$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)" | jq -r '.[0].id')
    [ -n "$id2" ] && [ "$id2" != null ] || it_die "$url: update --start gave no id"
    [ "$id2" = "$id1" ] && echo "active start: same id" || echo "active start: new id"
    it_has -x "$id1" u silence query --expired -q && echo "active start: old expired" \
        || echo "active start: old not expired"
    id3=$(u silence update -o json "$id2" --duration=1h \
        --start="$(date -u -d '+20 minutes' +%Y-%m-%dT%H:%M:%SZ)" | jq -r '.[0].id')
    [ "$id3" = "$id2" ] && echo "pending start: same id" || echo "pending start: new id"
    body=$(curl -fsS "$url/api/v2/silence/$id3" | jq -c '{id, startsAt, endsAt, createdBy,
        comment, matchers: [{name: "alertname", value: "Upd2", isRegex: false, isEqual: true}]}')
    id4=$(curl -fsS -XPOST -H 'Content-Type: application/json' "$url/api/v2/silences" \
        -d "$body" | jq -r .silenceID) || it_die "$url: matcher change refused"
    [ "$id4" = "$id3" ] && echo "matcher: same id" || echo "matcher: new id"
    it_has -x "$id3" u silence query --expired -q && echo "matcher: old expired" \
        || echo "matcher: old not expired"
    id5=$(u silence update -o json "$id0" --comment=again --duration=2h | jq -r '.[0].id')
    [ "$id5" = "$id0" ] && echo "expired: same id" || echo "expired: new id"
    it_has -x "$id0" u silence query --expired -q && echo "expired: old still expired" \
        || echo "expired: old not expired"
    body=${body/\"id\":\"$id3\"/\"id\":\"0b5d3d7a-1b2c-4d5e-8f90-123456789abc\"}
    st=$(curl -sS -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
        "$url/api/v2/silences" -d "$body")
    echo "unknown id: HTTP $st"
}
WANT='comment: same id
active start: new id
active start: old expired
pending start: same id
matcher: new id
matcher: old expired
expired: new id
expired: old still expired
unknown id: HTTP 404'
AM2=$(it_free_port)
it_start alertd2 "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM2 \
    --zmq.alerts-address=tcp://127.0.0.1:$(it_free_port) \
    --zmq.notifyd-address=tcp://127.0.0.1:$(it_free_port) \
    --zmq.pub-address=tcp://127.0.0.1:$(it_free_port)
it_wait_http "http://127.0.0.1:$AM2/-/ready" || it_die "alertd (2) did not start"
got=$(update_seq "http://127.0.0.1:$AM2")
[ "$got" = "$WANT" ] || it_die "alertd's update decisions:
$got
want:
$WANT"
it_ok "alertd: $(tr '\n' ';' <<<"$got")"
if command -v prometheus-alertmanager >/dev/null; then
    AMREF=$(it_free_port)
    printf 'route: {receiver: d}\nreceivers: [{name: d}]\n' > "$IT_DIR/ref.yml"
    it_start amref prometheus-alertmanager --config.file="$IT_DIR/ref.yml" \
        --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF --cluster.listen-address=
    it_wait_http "http://127.0.0.1:$AMREF/-/ready" || it_die "Alertmanager did not come up"
    ref=$(update_seq "http://127.0.0.1:$AMREF")
    [ "$ref" = "$got" ] || it_die "Debian Alertmanager decides otherwise:
$ref
alertd:
$got"
    it_ok "the Debian Alertmanager ($(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}')) decides the same"
else
    echo "SKIP: prometheus-alertmanager not installed, no comparison"
fi
echo "alertd_restart.sh: all checks passed"
