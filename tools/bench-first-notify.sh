#!/usr/bin/env bash
# bench-first-notify.sh BIN [PROBES] — item 9's first-notification latency alone, for A/B runs
# of two builds in turn (tools/bench-alerting.sh takes 20 probes inside a 90 s section).
# BIN `--floor` measures the kit's own floor instead (tools/bench-notify-floor.sh).
#
# Starts BIN's notifyd and alertd (group_wait 0s, the bench's routing) and the kit's
# webhook-sink.py, all on 127.0.0.1, runs the kit's am-load.py with PROBES (default 60) new
# groups and a token load, prints {"med","min","max"} in ms (POST start -> the sink has the
# webhook). Then the kit's sink stops and tools/first-notify-probe.c takes its port and
# POSTs PROBES more new groups to the same daemons: a second line {"c_probe":{...}} in ms,
# the webhook's first byte received minus the POST's last byte sent minus group_wait, from
# kernel timestamps (median, p90, min, max; "user_*" the same from the probe's own
# CLOCK_MONOTONIC), so the Python client and sink are not in it. Stops what it started by
# PID. SHARED (default /work/shared) holds the kit. BENCH_GROUP_WAIT_MS (default 0) sets
# group_wait (the kit's figure then includes it; the probe's does not).
#   for i in 1 2 3; do tools/bench-first-notify.sh OLD/bin 80; tools/bench-first-notify.sh build/bin 80; done
set -euo pipefail
BIN=$1 PROBES=${2:-60}
KIT=${SHARED:-/work/shared}/bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/bench-lib.sh
. "$HERE/bench-lib.sh" # bench_alertd_start
T=$(mktemp -d "${TMPDIR:-/tmp}/fw-first-notify.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
fp() { python3 "$HERE/free_port.py"; }
wait_ready() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
SINK=$(fp)
cc -O2 -Wall -o "$T/first-notify-probe" "$HERE/first-notify-probe.c"
if [ "$BIN" = --floor ]; then # the relay, started once the sink is up (below)
    cc -O2 -Wall -o "$T/notify-floor" "$HERE/notify-floor.c"
    HTTP=$(fp)
else
    bench_alertd_start "$BIN" "$T" "$SINK" || ok=0
    PIDS+=("$NOTIFYD_PID" "$ALERTD_PID")
    [ "${ok:-1}" = 1 ] || { echo "alertd did not start" >&2; exit 1; }
    HTTP=$ALERTD_HTTP
fi
python3 "$KIT/webhook-sink.py" --port "$SINK" --out "$T/arrivals.jsonl" --max-seconds 300 \
    > "$T/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_ready "http://127.0.0.1:$SINK/" || { echo "the sink did not start" >&2; exit 1; }
if [ "$BIN" = --floor ]; then
    "$T/notify-floor" "$HTTP" "$SINK" 2> "$T/relay.log" &
    PIDS+=($!)
    for _ in $(seq 1 100); do # the relay answers only POSTs: wait for its port
        (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
        sleep 0.1
    done
fi
python3 "$KIT/am-load.py" --am-url "http://127.0.0.1:$HTTP" --sink-log "$T/arrivals.jsonl" \
    --alerts 100 --single 10 --probes "$PROBES" --settle 5 2>/dev/null |
    jq -c '{med: .first_notify_ms_median, min: .first_notify_ms_min, max: .first_notify_ms_max}'
kill "$SINK_PID" && wait "$SINK_PID" 2>/dev/null || true # the probe is the sink now
"$T/first-notify-probe" "$HTTP" "$SINK" "$PROBES" "${BENCH_GROUP_WAIT_MS:-0}" |
    jq -c '{c_probe: .}'
