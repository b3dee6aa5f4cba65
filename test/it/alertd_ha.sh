#!/usr/bin/env bash
# alertd_ha.sh — two alertd replicas as one (issue 8 item 5): tsdb + ruled sending every
# alert to both replicas, notifyd, fwsink capturing the webhooks, and the real amtool.
#
#   1. A and B find each other (/api/v2/status: cluster ready, 2 peers; amtool cluster show);
#   2. ruled's always-firing alert reaches both (amtool alert query on each) and the group is
#      notified exactly once by the pair, by A (position 0); B (position 1) waits
#      --cluster.peer-timeout, finds A's log entry and stays quiet;
#   3. a silence made with amtool on A shows on B and mutes there an alert posted to B only;
#   4. a new group reaches both, and A is SIGKILLed before its group_wait ends: B alone
#      notifies it; a silence is made on B meanwhile;
#   5. A restarts on its old state, which holds the new group already due: it pulls B's
#      silences and log before it notifies (it settles first), so it does not notify what B
#      sent, also when its alerts are sent again (as ruled and Prometheus do).
# Every wait is bounded; every process is ours, stopped by PID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_bins alertd notifyd fwsink ruled tsdb
it_need_cmds amtool jq curl
it_tmpdir

SINK=$(it_free_port); NOTIFYD=$(it_free_port); Z_NOTIFY=$(it_free_port); Z_NPUB=$(it_free_port)
for r in A B; do
    for v in HTTP ALERTS PUB CLUSTER; do printf -v "${r}_$v" '%s' "$(it_free_port)"; done
done
# Alertmanager's --cluster.tls-config is refused by name, never ignored (the link is ZeroMQ).
printf 'tls_server_config: {cert_file: c.pem, key_file: k.pem}\n' > "$IT_DIR/cluster-tls.yml"
set +e
"$BIN/alertd" --cluster.tls-config="$IT_DIR/cluster-tls.yml" --check-config > "$IT_DIR/tls.out" 2>&1; rc=$?
set -e
it_check "--cluster.tls-config refused: exit $rc, $(head -c 90 "$IT_DIR/tls.out")" \
    bash -c '[ "$1" = 2 ] && grep -q "cluster.tls-config=.*: not supported" "$2"' _ "$rc" "$IT_DIR/tls.out"
PEER_TIMEOUT=3 # seconds: B waits this long before it checks the shared log
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
  routes:
    - matchers: ['alertname="HANew"']
      group_wait: 4s # A is killed while it holds HANew, before the group falls due
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
        send_resolved: true
YML
# Bad cluster flags are refused at start, never ignored.
set +e
out=$("$BIN/alertd" --cluster.probe-interval=0s --check-config 2>&1); rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'must be above 0s' <<<"$out" || it_die "probe interval 0s: exit $rc: $out"
set +e
out=$(timeout 10 "$BIN/alertd" --config.file="$IT_DIR/am.yml" --storage.path="" \
    --web.listen-address=127.0.0.1:$(it_free_port) --cluster.listen-address=nonsense://x 2>&1); rc=$?
set -e
[ "$rc" = 1 ] && grep -q 'event=cluster.open.fail.*--cluster.listen-address' <<<"$out" ||
    it_die "bad --cluster.listen-address: exit $rc: $out"
it_ok "a 0s probe interval exits 2; a listen address that cannot be bound exits 1 naming the flag"
it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl"
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z_NOTIFY --zmq.pub-address=tcp://127.0.0.1:$Z_NPUB
it_wait_http "http://127.0.0.1:$SINK/" || it_die "fwsink did not start"
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"

# start_replica A|B LOGNAME: the replica on its ports and state directory; both get the
# same peer list (their own address included, as a StatefulSet's pods do) and are named
# alertd-0 and alertd-1, which orders their positions.
start_replica() {
    local r=$1 idx http alerts pub cluster
    [ "$r" = A ] && idx=0 || idx=1
    http=${r}_HTTP; alerts=${r}_ALERTS; pub=${r}_PUB; cluster=${r}_CLUSTER
    it_start "$2" "$BIN/alertd" --config.file="$IT_DIR/am.yml" \
        --web.listen-address=127.0.0.1:${!http} --storage.path="$IT_DIR/state-$r" \
        --zmq.alerts-address=tcp://127.0.0.1:${!alerts} --zmq.pub-address=tcp://127.0.0.1:${!pub} \
        --zmq.notifyd-address=tcp://127.0.0.1:$Z_NOTIFY --zmq.notifyd-pub-address=tcp://127.0.0.1:$Z_NPUB \
        --cluster.listen-address=127.0.0.1:${!cluster} --cluster.advertise-address=alertd-$idx:${!cluster} \
        --cluster.peer=127.0.0.1:$A_CLUSTER --cluster.peer=127.0.0.1:$B_CLUSTER \
        --cluster.peer-timeout=${PEER_TIMEOUT}s --cluster.probe-interval=200ms \
        --cluster.gossip-interval=100ms --cluster.settle-timeout=10s
    printf -v "PID_$r" '%s' "$!"
    it_wait_http "http://127.0.0.1:${!http}/-/ready" || it_die "alertd $r did not start"
}
start_replica A alertdA1
start_replica B alertdB1
AURL=http://127.0.0.1:$A_HTTP
BURL=http://127.0.0.1:$B_HTTP
am() { local url=$1; shift; amtool --alertmanager.url="$url" "$@" 2>>"$IT_DIR/amtool.log"; }
both_ready() {
    local u
    for u in "$AURL" "$BURL"; do
        curl -fsS "$u/api/v2/status" | jq -e '.cluster.status == "ready" and (.cluster.peers | length) == 2' \
            >/dev/null || return 1
    done
}
it_wait_for "both replicas see the cluster ready with 2 peers" both_ready
am "$AURL" cluster show -o json | jq -e '[.peers[].name] | sort | .[0] | startswith("alertd-0:")' >/dev/null &&
    it_has 'alertd-1' am "$AURL" cluster show -o extended ||
    it_die "amtool cluster show on A: $(am "$AURL" cluster show -o extended)"
it_ok "A and B clustered: /api/v2/status ready with 2 peers on each, amtool cluster show lists both on A"

# count GROUP: the sink's requests for alertname=GROUP.
count() {
    [ -s "$IT_DIR/sink.jsonl" ] || { echo 0; return; }
    jq -r --arg g "$1" 'select(.groupLabels.alertname == $g) | .status' "$IT_DIR/sink.jsonl" | wc -l
}
# wait_count N GROUP SECS: up to SECS for the count to reach N.
wait_count() {
    local n=$1 g=$2 secs=$3
    for _ in $(seq $((secs * 10))); do [ "$(count "$g")" -ge "$n" ] && return 0; sleep 0.1; done
    return 1
}
# sent LOG GROUP: how many notifications for GROUP the replica whose log is LOG made.
sent() { grep -c "event=notify.send .*alertname=\\\\\"$2\\\\\"" "$IT_DIR/$1.log" || true; }

# --- 2. ruled sends every alert to both; the pair notifies once ----------------------
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
R_HTTP=$(it_free_port); R_PUB=$(it_free_port)
it_start tsdb "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.pub-address=tcp://127.0.0.1:$T_PUB --storage.tsdb.map-size=64MiB
it_wait_http "http://127.0.0.1:$T_HTTP/-/ready" || it_die "tsdb did not start"
mkdir -p "$IT_DIR/rules"
printf 'global: {evaluation_interval: 1s}\nrule_files: [rules/*.yml]\n' > "$IT_DIR/prometheus.yml"
cat > "$IT_DIR/rules/ha.yml" <<'EOF'
groups:
  - name: ha
    rules:
      - alert: HAOne
        expr: vector(1)
EOF
it_start ruled "$BIN/ruled" --storage.path="$IT_DIR/ruled-state" --config.file="$IT_DIR/prometheus.yml" --web.listen-address=127.0.0.1:$R_HTTP \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS,tcp://127.0.0.1:$B_ALERTS \
    --zmq.pub-address=tcp://127.0.0.1:$R_PUB
it_wait_http "http://127.0.0.1:$R_HTTP/-/ready" || it_die "ruled did not start"
has_alert() { it_has "$2" am "$1" alert query alertname="$2"; }
it_wait_for "HAOne on A" has_alert "$AURL" HAOne
it_wait_for "HAOne on B" has_alert "$BURL" HAOne
it_ok "ruled's HAOne reached both replicas (amtool alert query on A and on B)"
wait_count 1 HAOne 10 || it_die "HAOne was not notified"
sleep $((PEER_TIMEOUT + 2)) # B's wait has passed: it checked the log
[ "$(count HAOne)" = 1 ] || it_die "HAOne notified $(count HAOne) times by the pair, want 1"
[ "$(sent alertdA1 HAOne)" = 1 ] && [ "$(sent alertdB1 HAOne)" = 0 ] ||
    it_die "HAOne sent by A $(sent alertdA1 HAOne) and B $(sent alertdB1 HAOne) times, want 1 and 0"
it_ok "HAOne notified exactly once by the pair (by A, position 0; B found A's log entry)"

# --- 3. a silence made on A mutes on B -----------------------------------------------
sid=$(am "$AURL" silence add alertname=HAMuted --comment=ha --duration=1h) || it_die "amtool silence add on A"
on_b() { it_has "$sid" am "$BURL" silence query -q; }
it_wait_for "silence $sid on B" on_b
post() { # post URL NAME: one alert to one replica, as Prometheus posts to each Alertmanager
    curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$1/api/v2/alerts" \
        -d "[{\"labels\":{\"alertname\":\"$2\",\"line\":\"L1\"}}]"
}
post "$BURL" HAMuted || it_die "POST HAMuted to B"
sleep $((PEER_TIMEOUT + 2))
[ "$(count HAMuted)" = 0 ] || it_die "HAMuted notified $(count HAMuted) times, want 0 (silenced on A)"
am "$BURL" alert query -s alertname=HAMuted -o json | jq -e --arg s "$sid" \
    '.[0].status.silencedBy == [$s]' >/dev/null || it_die "B does not show HAMuted silenced by $sid"
it_ok "silence $sid made on A is listed by amtool on B and mutes HAMuted there"

# --- 4. A killed: B carries on alone --------------------------------------------------
kill_a() {
    local rc=0
    { kill -9 "$PID_A"; wait "$PID_A" || rc=$?; } 2>/dev/null
    [ "$rc" = 137 ] || it_die "alertd A exit $rc after SIGKILL, want 137"
    local p keep=()
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$PID_A" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"})
}
post "$AURL" HANew || it_die "POST HANew to A"
post "$BURL" HANew || it_die "POST HANew to B"
kill_a # within HANew's group_wait: A holds it (in its state) but has not notified it
[ "$(count HANew)" = 0 ] || it_die "HANew notified before A was killed"
wait_count 1 HANew $((PEER_TIMEOUT + 8)) || it_die "B alone did not notify HANew"
[ "$(sent alertdB1 HANew)" = 1 ] || it_die "HANew sent by B $(sent alertdB1 HANew) times, want 1"
sid2=$(am "$BURL" silence add alertname=HALater --comment=while-a-down --duration=1h) ||
    it_die "amtool silence add on B"
it_ok "A SIGKILLed: B alone notified HANew once; silence $sid2 made on B"

# --- 5. A comes back and catches up ----------------------------------------------------
start_replica A alertdA2
grep -q 'event=state.restore.* alerts=2 ' "$IT_DIR/alertdA2.log" ||
    it_die "A's restore: $(grep state.restore "$IT_DIR/alertdA2.log")" # HAOne and HANew
grep -q 'event=cluster.sync ' "$IT_DIR/alertdA2.log" ||
    it_wait_for "A pulled B's state" grep -q 'event=cluster.sync ' "$IT_DIR/alertdA2.log"
on_a() { it_has "$sid2" am "$AURL" silence query -q; }
it_wait_for "silence $sid2 on A" on_a
post "$AURL" HANew || it_die "POST HANew to A" # sent again, as ruled and Prometheus do
post "$AURL" HALater || it_die "POST HALater to A"
sleep $((PEER_TIMEOUT + 2)) # A is position 0 again: it would have sent by now
[ "$(count HANew)" = 1 ] || it_die "HANew notified $(count HANew) times after A's restart, want 1"
[ "$(sent alertdA2 HANew)" = 0 ] || it_die "restarted A re-notified HANew"
[ "$(count HALater)" = 0 ] || it_die "HALater notified: A did not catch up with B's silence"
[ "$(count HAOne)" = 1 ] || it_die "HAOne notified $(count HAOne) times in all, want 1"
it_ok "A restarted: pulled silence $sid2 and B's log; HANew and HAOne not notified again, HALater muted"
echo "alertd_ha.sh: all checks passed"
