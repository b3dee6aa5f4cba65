# test/it/harness.bash — shared set-up for the integration scripts that run a daemon
# against a real tsdb and alertd (ruled.sh, slod.sh). Sourced, not run: the .bash suffix
# keeps it out of check-it's test/it/*.sh loop.
#
# Gives: BUILD, BIN, ROOT, TMP (removed at exit), PIDS (stopped at exit by PID), and
# fail/ok/port/wait_for; start_tsdb_and_alertd starts both on the ports in T_* and A_*.

BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
ok() { echo "ok: $*"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for DESC CMD...: retry CMD for up to 10 s.
wait_for() {
    local desc=$1; shift
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "timed out waiting for: $desc"
}

# start_tsdb_and_alertd: tsdb on T_HTTP/T_SAMPLES/T_QUERY/T_PUB, and alertd on
# A_HTTP/A_ALERTS/A_NOTIFY/A_PUB when it is built (have_alertd says which).
start_tsdb_and_alertd() {
    "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP --storage.tsdb.path="$TMP/tsdb" \
        --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
        --zmq.pub-address=tcp://127.0.0.1:$T_PUB --storage.tsdb.map-size=64MiB > "$TMP/tsdb.log" 2>&1 &
    PIDS+=($!)
    wait_for "tsdb ready" curl -sf "http://127.0.0.1:$T_HTTP/-/ready"
    ok "tsdb up on :$T_HTTP"

    have_alertd=0
    if [ -x "$BIN/alertd" ]; then
        "$BIN/alertd" --web.listen-address=127.0.0.1:$A_HTTP --storage.path="$TMP/alertd" \
            --zmq.alerts-address=tcp://127.0.0.1:$A_ALERTS \
            --zmq.notifyd-address=tcp://127.0.0.1:$A_NOTIFY \
            --zmq.pub-address=tcp://127.0.0.1:$A_PUB > "$TMP/alertd.log" 2>&1 &
        PIDS+=($!)
        wait_for "alertd ready" curl -sf "http://127.0.0.1:$A_HTTP/-/ready"
        have_alertd=1
        ok "alertd up on :$A_HTTP"
    fi
}
