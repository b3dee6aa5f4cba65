#!/bin/sh
# run-stack.sh — `make run`: start the whole floorwatch stack on loopback with the embedded
# default configs, print where to look, and stop everything (by PID) on Ctrl-C or SIGTERM.
# Data goes to ./data/ (tsdb's LMDB, alertd's state); logs to ./data/logs/.
set -eu
BIN=${BUILD:-build}/bin
DATA=${DATA:-data}
mkdir -p "$DATA/logs"
pids=""

stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping floorwatch ..."
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do
        i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    done
    echo "stopped."
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for port in 9090 9093 9201 9202 9203 9204 9210 9211 5560 5561 5562 5563 5564 5565 5566 5567 5568 5569; do
    if (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null ||
       ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port \|\*:$port \|0.0.0.0:$port "; then
        echo "run: port $port on 127.0.0.1 is already in use; stop what uses it (ss -ltnp) and retry" >&2
        exit 1
    fi
done

start() {
    name=$1; shift
    "$@" > "$DATA/logs/$name.log" 2>&1 &
    pids="$pids $!"
}
start factorysim "$BIN/factorysim"
start fwsink "$BIN/fwsink" --output="$DATA/webhook-received.jsonl"
start tsdb "$BIN/tsdb" --storage.tsdb.path="$DATA/tsdb"
start notifyd "$BIN/notifyd"
start alertd "$BIN/alertd" --storage.path="$DATA/alertd"
start scraper "$BIN/scraper"
start ruled "$BIN/ruled"
start slod "$BIN/slod" --storage.path="$DATA/slod"
sleep 1
for p in $pids; do
    kill -0 "$p" 2>/dev/null || { echo "run: a daemon exited at start; see $DATA/logs/" >&2; exit 1; }
done

cat <<EOT

floorwatch is running on loopback (logs in $DATA/logs/):

  tsdb      http://127.0.0.1:9090   Prometheus API: point Grafana or promtool here
                                     e.g. promtool query instant http://127.0.0.1:9090 'line:oee:ratio'
  alertd    http://127.0.0.1:9093   Alertmanager API v2: amtool --alertmanager.url=http://127.0.0.1:9093 alert
  scraper   http://127.0.0.1:9201/api/v1/targets
  ruled     http://127.0.0.1:9202/api/v1/rules
  slod      http://127.0.0.1:9203/metrics
  notifyd   http://127.0.0.1:9204/metrics
  factory   http://127.0.0.1:9210/metrics   (demo exporter)
            force trouble:  curl -X POST 'http://127.0.0.1:9210/trouble?line=line2'
            recover:        curl -X POST 'http://127.0.0.1:9210/recover?line=line2'
  webhooks  $DATA/webhook-received.jsonl     (what the webhook receiver got)
  tail      $BIN/fwtail ruled              (any daemon's stream as JSON lines)

Press Ctrl-C to stop.
EOT
while :; do
    for p in $pids; do
        kill -0 "$p" 2>/dev/null || { echo "run: daemon $p exited; see $DATA/logs/" >&2; exit 1; }
    done
    sleep 2
done
