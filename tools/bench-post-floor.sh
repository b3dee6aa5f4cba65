#!/usr/bin/env bash
# bench-post-floor.sh BIN [OLD_BIN] — single-alert POSTs: Alertmanager, alertd and the floor.
#
# Issue 8 item 9 asks alertd for three times Alertmanager's alerts/s over HTTP. With one alert
# per POST /api/v2/alerts (tools/alertload --batch=1, two keep-alive connections) the client
# and the round trip weigh as much as the server on this machine's 2 shared cores, so this
# measures the ceiling too: tools/post-floor (BIN/post-floor), a server that only reads each
# request and answers what alertd answers, the least any server can do for this exchange.
# The Debian Alertmanager 0.25 (started as tools/bench-alerting.sh starts its second one),
# BIN's alertd + notifyd (tools/bench-lib.sh bench_alertd_start), OLD_BIN's when given (a
# build to compare), and post-floor take ROUNDS rounds (default 9) of SINGLE (2,000) single
# POSTs from alertload with each of CLIENTS ("curl raw epoll": libcurl, --client=raw, a
# plain socket a connection, and --client=epoll, one thread over all of them), after one
# warm-up round each; within a round the servers take turns back to back in an order that
# rotates each round, so the machine's moment weighs on all. Rounds after
# the warm-up re-send the same alerts, as ruled and Prometheus re-send firing alerts.
# Prints one JSON line per run, then per client the median alerts/s and CPU per alert of each
# server (from /proc) and the ratios alertd/AM, floor/AM, alertd/floor (each the median of
# the rounds' own ratios). If floor/AM is under 3, no server reaches 3x with this client
# here. Needs the peer kit's webhook-sink.py (SHARED, default ../shared, /bench). Run it
# under `flock /work/notes/bench.lock` on the shared machine, and quote the load it prints.
# At load 10-18 from other work the rounds swing 5-10x (a round lasts 40-500 ms, and one
# preempted wake-up in a round trip halves it); `chrt -f 1` in front (SCHED_FIFO for every
# process of the bench, so other work cannot preempt it; it sleeps most of its 12 s) gave
# rounds within 10-20 % of each other and medians within 3 % between runs:
#   flock /work/notes/bench.lock timeout -s KILL 900 chrt -f 1 tools/bench-post-floor.sh build/bin OLD/bin
# (bounded: Go programs under SCHED_FIFO can livelock, a spinning thread never preempted by
# the one it waits for; Alertmanager and amtool did so in make bench, README "Benchmarks").
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(cd "$1" && pwd)
OLD_BIN=${2:+$(cd "$2" && pwd)}
KIT=${SHARED:-../shared}/bench
ROUNDS=${ROUNDS:-9} SINGLE=${SINGLE:-2000} CLIENTS=${CLIENTS:-curl raw epoll} CONNECTIONS=${CONNECTIONS:-2}
[ -f "$KIT/webhook-sink.py" ] || { echo "bench-post-floor: no $KIT/webhook-sink.py (SHARED=...)"; exit 2; }
[ -x "$BIN/post-floor" ] || { echo "bench-post-floor: no $BIN/post-floor (make all)"; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench-post-floor.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
# shellcheck source=tools/bench-lib.sh
. "$HERE/bench-lib.sh" # free_port, bench_am_start, bench_alertd_start
# cpu_s PID: CPU seconds of PID's threads so far, from schedstat (ns: /proc's stat counts in
# 10 ms ticks, 5 us an alert over a 2,000-POST run).
cpu_s() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.6f\n", s / 1e9 }'; }
echo "start $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"

SERVERS=() # name:port:pid
up=1
bench_am_start "$KIT" "$TMP" am || up=0
PIDS+=("$AM_SINK_PID" "$AM_PID")
[ "$up" = 1 ] || { echo "bench-post-floor: alertmanager did not start"; exit 1; }
AMP=$AM_PORT
SERVERS+=("am:$AMP:$AM_PID")

# alertd_up NAME BIN: BIN's alertd + notifyd with a sink of their own, added to SERVERS.
alertd_up() {
    local sink ok=1
    sink=$(free_port)
    mkdir -p "$TMP/$1"
    python3 "$KIT/webhook-sink.py" --port "$sink" --out "$TMP/$1/arrivals.jsonl" \
        --max-seconds 900 > "$TMP/$1/sink.log" 2>&1 &
    PIDS+=($!)
    bench_alertd_start "$2" "$TMP/$1" "$sink" || ok=0
    PIDS+=("$NOTIFYD_PID" "$ALERTD_PID")
    [ "$ok" = 1 ] || { echo "bench-post-floor: $1's alertd did not start"; exit 1; }
    SERVERS+=("$1:$ALERTD_HTTP:$ALERTD_PID")
}
alertd_up alertd "$BIN"
[ -z "$OLD_BIN" ] || alertd_up old "$OLD_BIN"

FP=$(free_port)
"$BIN/post-floor" --web.listen-address=127.0.0.1:$FP > "$TMP/floor.log" 2>&1 &
PIDS+=($!)
SERVERS+=("floor:$FP:$!")
bench_wait_ready "http://127.0.0.1:$FP/-/ready" || { echo "bench-post-floor: post-floor did not start"; exit 1; }

# one ROUND CLIENT NAME PORT PID: one run of SINGLE POSTs, one JSON line.
one() {
    local c0 c1 out
    c0=$(cpu_s "$5")
    out=$("$BIN/alertload" --post-url="http://127.0.0.1:$4/api/v2/alerts" --alerts="$SINGLE" \
        --batch=1 --client="$2" --connections="$CONNECTIONS" --run=postfloor) || true
    c1=$(cpu_s "$5")
    jq -c --argjson r "$1" --arg s "$3" --argjson c0 "$c0" --argjson c1 "$c1" \
        '{round: $r, server: $s} + . + {cpu_us_per_alert: (($c1 - $c0) * 1e6 / .alerts)}' <<<"$out"
}
n=${#SERVERS[@]}
echo "== $ROUNDS rounds (after a warm-up) of $SINGLE single POSTs from alertload (clients:" \
    "$CLIENTS) to ${SERVERS[*]%%:*} in turn, the order rotating"
for r in $(seq 0 "$ROUNDS"); do
    for client in $CLIENTS; do
        for i in $(seq 0 $((n - 1))); do
            IFS=: read -r name port pid <<<"${SERVERS[$(((i + r) % n))]}"
            one "$r" "$client" "$name" "$port" "$pid" | tee -a "$TMP/runs.jsonl"
        done
    done
done
echo "end $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"

# Per client: each server's median alerts/s and CPU us per alert over rounds 1.., and the
# median of the rounds' ratios. Runs with errors count as 0 alerts/s.
jq -rs --arg old "${OLD_BIN:+1}" '
    def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r2: if . == null then "-" else (. * 100 | round / 100 | tostring) + "x" end;
    map(select(.round > 0) | .alerts_per_s = (if .errors == 0 then .alerts_per_s else 0 end))
    | group_by(.client)[] | . as $runs | .[0].client as $c
    | (reduce .[] as $x ({}; .[$x.server][$x.round | tostring] = $x)) as $by
    | def rat(a; b): [$by[a] // {} | keys[] as $k | select($by[b][$k] != null)
                      | $by[a][$k].alerts_per_s / $by[b][$k].alerts_per_s] | med;
      def srv(s): [$by[s] // {} | .[] | .alerts_per_s] | med;
      def cpu(s): [$by[s] // {} | .[] | .cpu_us_per_alert] | med;
    "client \($c): alerts/s (median of \([$runs[] | .round] | unique | length) rounds), CPU us per" +
    " alert of the server: Alertmanager \(srv("am") | round) (\(cpu("am") | round) us), alertd" +
    " \(srv("alertd") | round) (\(cpu("alertd") | round) us)" +
    (if $old == "1" then ", old alertd \(srv("old") | round) (\(cpu("old") | round) us)" else "" end) +
    ", floor \(srv("floor") | round) (\(cpu("floor") | round) us); ratios (median of rounds):" +
    " alertd/AM \(rat("alertd"; "am") | r2)" +
    (if $old == "1" then ", old/AM \(rat("old"; "am") | r2), alertd/old \(rat("alertd"; "old") | r2)" else "" end) +
    ", floor/AM \(rat("floor"; "am") | r2), alertd/floor \(rat("alertd"; "floor") | r2)"
' "$TMP/runs.jsonl"
