#!/usr/bin/env bash
# zmq_limits.sh — a frame over --zmq.max-msg-size is refused before it is read, counted and
# logged, and the daemon carries on.
#
# A real alertd is started with the default limit (64MiB). A hand-written ZMTP 3.0 client
# (python3, no ZeroMQ binding needed) connects to its PULL socket as a PUSH, waits so that
# the oversize guard has seen the connection, and sends an ALERTS message whose body frame
# is 80 MiB. Without the limit alertd reads it all (its peak RSS, VmHWM, grows by 80 MiB);
# with it, libzmq refuses the frame at its length header. Then: VmHWM grew by less than
# 16 MiB, fw_msg_rejected_total{type="oversize"} is 1, the log has event=msg.reject
# type=oversize, and a normal ALERTS message from a new connection is taken. Last, a limit
# set with the flag (1KiB here) is obeyed, and a limit that makes no sense exits 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_tmpdir

# zmtp.py PORT MODE: send one ALERTS message to tcp://127.0.0.1:PORT as a ZMTP 3.0 PUSH.
# MODE big: an 80 MiB body frame; MODE NAME: a valid alert named NAME.
cat > "$IT_DIR/zmtp.py" <<'PY'
import json, socket, struct, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
greeting = b"\xff" + b"\0" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\0") + b"\0" * 32
s.sendall(greeting)
got = b""
while len(got) < 64:
    chunk = s.recv(64 - len(got))
    if not chunk:
        sys.exit("no greeting")
    got += chunk
ready = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 4) + b"PUSH"
s.sendall(bytes([0x04, len(ready)]) + ready)  # short command frame

def frame(body, more):
    if len(body) < 256:
        return bytes([0x01 if more else 0x00, len(body)]) + body
    return bytes([0x03 if more else 0x02]) + struct.pack(">Q", len(body)) + body

s.sendall(frame(b"ALERTS", True) + frame(b"1", True))
time.sleep(0.3)  # the guard sees the connection open before libzmq may drop it
if mode == "big":
    size = 80 << 20
    s.sendall(bytes([0x02]) + struct.pack(">Q", size))
    sent, block = 0, b"x" * (1 << 20)
    try:
        while sent < size:
            s.sendall(block)
            sent += len(block)
    except OSError as e:  # the daemon hangs up: what we want
        print("dropped after %d MiB: %s" % (sent >> 20, e))
        sys.exit(0)
    print("sent all %d MiB" % (sent >> 20))
else:
    body = {"source": "zmq_limits", "alerts": [{"labels": {"alertname": mode}}]}
    s.sendall(frame(json.dumps(body).encode(), False))
    time.sleep(0.5)  # let it be read before we hang up
s.close()
PY

vmhwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
oversize() { # HTTP_PORT: fw_msg_rejected_total{type="oversize"}, or nothing
    curl -fsS "http://127.0.0.1:$1/metrics" |
        awk '/^fw_msg_rejected_total\{type="oversize"\}/ {print $2}'
}
oversize_is() { [ "$(oversize "$1")" = "$2" ]; }
has_alert() {
    curl -fsS "http://127.0.0.1:$1/api/v2/alerts" | jq -e --arg n "$2" \
        'map(select(.labels.alertname == $n)) | length == 1' >/dev/null
}
start_alertd() { # NAME HTTP ZMQ [FLAG...]
    local name=$1 http=$2 zmq=$3; shift 3
    it_start "$name" "$BIN/alertd" --web.listen-address=127.0.0.1:$http \
        --storage.path="$IT_DIR/$name" --zmq.alerts-address=tcp://127.0.0.1:$zmq \
        --zmq.notifyd-address=tcp://127.0.0.1:$(it_free_port) \
        --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) "$@"
    it_wait_http "http://127.0.0.1:$http/-/ready"
}

# --- the default limit against an 80 MiB frame ------------------------------------------
AM=$(it_free_port); Z=$(it_free_port)
start_alertd alertd "$AM" "$Z"
it_check "alertd --help documents --zmq.max-msg-size (default 64MiB)" \
    it_has 'zmq.max-msg-size.*default: 64MiB' "$BIN/alertd" --help
before=$(vmhwm_kb "$PID_alertd")
python3 "$IT_DIR/zmtp.py" "$Z" big > "$IT_DIR/big.out" 2>&1 || true
it_until 50 0.1 oversize_is "$AM" 1 || true
after=$(vmhwm_kb "$PID_alertd")
echo "  ..   VmHWM ${before} kB -> ${after} kB; client: $(cat "$IT_DIR/big.out")"
it_check "alertd's peak RSS grew by less than 16 MiB (80 MiB frame refused)" \
    test $((after - before)) -lt $((16 * 1024))
it_check "fw_msg_rejected_total{type=\"oversize\"} is 1" oversize_is "$AM" 1
it_check "alertd logged event=msg.reject type=oversize" \
    grep -q 'event=msg.reject type=oversize socket=alerts' "$IT_DIR/alertd.log"
python3 "$IT_DIR/zmtp.py" "$Z" AfterOversize
it_check "a normal ALERTS message is still taken" it_until 50 0.1 has_alert "$AM" AfterOversize
it_check "alertd is still running" kill -0 "$PID_alertd"

# --- a limit set by flag ----------------------------------------------------------------
AM2=$(it_free_port); Z2=$(it_free_port)
start_alertd small "$AM2" "$Z2" --zmq.max-msg-size=1KiB
python3 "$IT_DIR/zmtp.py" "$Z2" "$(printf 'Long%.0s' $(seq 300))" || true
python3 "$IT_DIR/zmtp.py" "$Z2" Short
it_check "--zmq.max-msg-size=1KiB: a 1 KiB alert is refused, a short one taken" \
    it_until 50 0.1 has_alert "$AM2" Short
it_check "--zmq.max-msg-size=1KiB: the refused one is counted" oversize_is "$AM2" 1
it_check "alertd --zmq.max-msg-size=12 (below 1KiB) exits 2" \
    sh -c "'$BIN/alertd' --zmq.max-msg-size=12 --check-config >/dev/null 2>&1; [ \$? = 2 ]"
it_check "alertd --zmq.max-msg-size=lots exits 2" \
    sh -c "'$BIN/alertd' --zmq.max-msg-size=lots --check-config >/dev/null 2>&1; [ \$? = 2 ]"

it_finish
