# tools/bench-lib.sh — helpers shared by the `make bench` sections (tools/bench-*.sh).
# Source it after the kit's lib.sh.

free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
now() { date +%s.%N; }

# bench_tmp NAME: TMP, a temp dir removed at exit, and RUN_PIDS, the processes a section
# started, stopped by PID at exit (the kit's stop_pid, bounded).
bench_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench-$1.XXXXXX")
    RUN_PIDS=()
    trap bench_cleanup EXIT
}
bench_cleanup() {
    local p
    for p in "${RUN_PIDS[@]}"; do stop_pid "$p" 30; done
    [ -z "${EXP_PID:-}" ] || stop_pid "$EXP_PID" 10 # bench_exporter's
    rm -rf "$TMP"
}

# bench_bounded SECS CMD...: CMD in a process group of its own, stopped whole (TERM, then
# KILL 5 s later) if it runs past SECS; CMD's status, or 124 when it was stopped. The kit's
# run-alertmanager.sh under `chrt -f 1` once hung in `amtool silence query` (amtool and
# Alertmanager each spinning a core at FIFO priority for 14 minutes, the machine's other work
# starved), and its own cleanup runs only once amtool returns.
bench_bounded() {
    local secs=$1 pid rc=0 i
    shift
    setsid "$@" &
    pid=$!
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "bench: stopped after ${secs} s: $*" >&2
        kill -TERM -- -"$pid" 2>/dev/null || true
        sleep 5
        kill -KILL -- -"$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 124
    fi
    wait "$pid" || rc=$?
    return "$rc"
}

# free_range N: the first of N consecutive free loopback ports (bounded search)
free_range() {
    python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); sys.exit(0)
sys.exit(1)
PY
}

# bench_exporter KIT TARGETS SERIES SECONDS DIR: build the kit's synth-exporter and start it
# for SECONDS on TARGETS consecutive free ports; sets EXP_PID (stop it by PID) and writes
# DIR/targets.txt (host:port lines). Non-zero when it did not start (DIR/exporter.log).
bench_exporter() {
    local kit=$1 nt=$2 ns=$3 secs=$4 dir=$5 base
    ( cd "$kit" && cc -O2 -o synth-exporter synth-exporter.c -lm ) || return 1
    base=$(free_range "$nt") || return 1
    "$kit/synth-exporter" -t "$nt" -s "$ns" -p "$base" -d "$secs" -w "$dir/targets.txt" \
        2>"$dir/exporter.log" &
    EXP_PID=$!
    for _ in $(seq 50); do [ -s "$dir/targets.txt" ] && break; sleep 0.1; done
    kill -0 "$EXP_PID" 2>/dev/null && [ -s "$dir/targets.txt" ]
}

# bench_route_config SINK_PORT: the kit's routing (KIT/run-alertmanager.sh: grouped by
# alertname and line, group_wait 0s, group_interval 2s) to a webhook sink on 127.0.0.1;
# BENCH_GROUP_WAIT_MS (default 0) sets another group_wait.
bench_route_config() {
    cat <<EOT
route:
  receiver: sink
  group_by: ['alertname', 'line']
  group_wait: ${BENCH_GROUP_WAIT_MS:-0}ms
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$1/hook
        send_resolved: false
EOT
}

# bench_wait_ready URL: 0 once URL answers 2xx, 1 after 30 s (300 tries 0.1 s apart).
bench_wait_ready() {
    local _
    for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
    return 1
}

# bench_am_start KIT DIR NAME: a webhook sink (KIT/webhook-sink.py) and the Debian
# Alertmanager routing to it (bench_route_config; clustering off, storage in DIR/NAME-data,
# config DIR/NAME.yml, logs DIR/NAME-*.log, arrivals DIR/NAME-arrivals.jsonl) on 127.0.0.1;
# waits (<= 30 s) for its /-/ready. Sets AM_PORT, AM_PID and AM_SINK_PID (the caller stops
# them by PID) and AM_SINK_PORT. Non-zero when Alertmanager is not ready.
bench_am_start() {
    local kit=$1 dir=$2 name=$3 sink
    AM_PORT=$(free_port) sink=$(free_port)
    AM_SINK_PORT=$sink
    bench_route_config "$sink" > "$dir/$name.yml"
    python3 "$kit/webhook-sink.py" --port "$sink" --out "$dir/$name-arrivals.jsonl" \
        --max-seconds 900 > "$dir/$name-sink.log" 2>&1 &
    AM_SINK_PID=$!
    prometheus-alertmanager --config.file="$dir/$name.yml" --storage.path="$dir/$name-data" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= --log.level=warn \
        > "$dir/$name-am.log" 2>&1 &
    AM_PID=$!
    bench_wait_ready "http://127.0.0.1:$AM_PORT/-/ready"
}

# bench_alertd_start BIN DIR SINK_PORT: BIN's notifyd and alertd on 127.0.0.1 (ZeroMQ over
# tcp:// between them, as between two pods), routing from bench_route_config to the sink,
# config, state and logs in DIR; waits (<= 30 s) for alertd's /-/ready. Sets NOTIFYD_PID and
# ALERTD_PID (the caller stops them by PID), ALERTD_HTTP (its HTTP port), ALERTD_ZMQ (its
# ALERTS PULL endpoint) and ALERTD_PUB (its PUB endpoint). Non-zero when alertd is not ready.
bench_alertd_start() {
    local bin=$1 dir=$2 sink=$3 nhttp zn zp1 _
    ALERTD_HTTP=$(free_port) nhttp=$(free_port) zn=tcp://127.0.0.1:$(free_port)
    zp1=tcp://127.0.0.1:$(free_port)
    ALERTD_ZMQ=tcp://127.0.0.1:$(free_port) ALERTD_PUB=tcp://127.0.0.1:$(free_port)
    bench_route_config "$sink" > "$dir/am.yml"
    "$bin/notifyd" --log.level=warn --web.listen-address="127.0.0.1:$nhttp" \
        --zmq.notify-address="$zn" --zmq.pub-address="$zp1" > "$dir/notifyd.log" 2>&1 &
    NOTIFYD_PID=$!
    "$bin/alertd" --log.level=warn --config.file="$dir/am.yml" --storage.path="$dir/alertd" \
        --web.listen-address="127.0.0.1:$ALERTD_HTTP" --zmq.alerts-address="$ALERTD_ZMQ" \
        --zmq.notifyd-address="$zn" --zmq.pub-address="$ALERTD_PUB" \
        --zmq.notifyd-pub-address="$zp1" > "$dir/alertd.log" 2>&1 &
    ALERTD_PID=$!
    bench_wait_ready "http://127.0.0.1:$ALERTD_HTTP/-/ready"
}
