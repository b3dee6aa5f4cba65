#!/usr/bin/env bash
# bench-notify-floor.sh [PROBES] — the measuring kit's floor under item 9's first-notification
# figure: tools/bench-first-notify.sh's probe (the kit's am-load.py and webhook-sink.py) with
# tools/notify-floor.c in place of alertd + notifyd, a relay that only reads each POST, writes
# the webhook to the sink and answers. Prints {"med","min","max"} in ms, as
# bench-first-notify.sh does, so the two can alternate:
#   for i in 1 2 3; do tools/bench-notify-floor.sh 80; tools/bench-first-notify.sh build/bin 80; done
set -euo pipefail
PROBES=${1:-60}
KIT=${SHARED:-/work/shared}/bench
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fw-notify-floor.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
fp() { python3 "$HERE/free_port.py"; }
wait_ready() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
cc -O2 -Wall -o "$T/notify-floor" "$HERE/notify-floor.c"
SINK=$(fp) RELAY=$(fp)
python3 "$KIT/webhook-sink.py" --port "$SINK" --out "$T/arrivals.jsonl" --max-seconds 300 \
    > "$T/sink.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$SINK/" || { echo "the sink did not start" >&2; exit 1; }
"$T/notify-floor" "$RELAY" "$SINK" 2> "$T/relay.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$RELAY") 2>/dev/null && break
    sleep 0.1
done
python3 "$KIT/am-load.py" --am-url "http://127.0.0.1:$RELAY" --sink-log "$T/arrivals.jsonl" \
    --alerts 100 --single 10 --probes "$PROBES" --settle 5 2>/dev/null |
    jq -c '{med: .first_notify_ms_median, min: .first_notify_ms_min, max: .first_notify_ms_max}'
