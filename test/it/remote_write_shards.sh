#!/usr/bin/env bash
# remote_write_shards.sh — tsdb's remote_write adds shards, as Prometheus's queue manager
# does, when one shard cannot keep up, and loses nothing while it reshards.
#
# A slow receiver (python3, standing in for a remote-write endpoint: it answers 204 after
# 500 ms, so one shard of 100 samples per request sends at most 200 samples/s) gets what
# fwpush stores: 20 times, 4 samples of 400 series stamped over the last 2 s (at least
# 500 samples/s however loaded the machine is). queue_config has
# min_shards: 1, max_shards: 8. Within 60 s the shards gauge must be above 1 (one shard
# would fall further behind for ever); after the pushes stop, every pushed sample must be
# counted as sent (none failed, none dropped) within 90 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds python3 curl
it_tmpdir

PEER=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
FW_URL="http://127.0.0.1:$T_HTTP"

cat > "$IT_DIR/slow.py" <<'PY'
import http.server, socketserver, sys, time

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(0.5)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat > "$IT_DIR/prometheus.yml" <<YML
remote_write:
  - url: http://127.0.0.1:$PEER/api/v1/write
    name: slow
    queue_config: {min_shards: 1, max_shards: 8, max_samples_per_send: 100,
                   batch_send_deadline: 1s}
YML
it_start peer python3 "$IT_DIR/slow.py" "$PEER"
it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB --log.level=debug
it_wait_http "$FW_URL/-/ready" 150

fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
shards() { fw_metric 'fw_tsdb_remote_storage_shards{remote_name="slow"}'; }
it_check "it starts with min_shards" [ "$(shards)" = 1 ]

pushed=0
for i in $(seq 1 20); do
    t=$(date +%s%3N)
    python3 -c "
import sys
t, v = int(sys.argv[1]), int(sys.argv[2])
for s in range(400):
    for k in range(4):
        print('rw_shards_probe{series=\"%d\"} %d %d' % (s, v + k, t - 1500 + 500 * k))
" "$t" "$i" | "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" >/dev/null
    pushed=$((pushed + 1600))
    sleep 1.5
done
more() { [ "$(shards)" -gt 1 ] 2>/dev/null; }
it_check "more shards than min_shards under the slow receiver (bounded: 20 s more)" \
    it_until 100 0.2 more
echo "shards: $(shards); pushed: $pushed"
sent() { [ "$(fw_metric 'fw_tsdb_remote_storage_samples_total{remote_name="slow"}')" = "$pushed" ]; }
it_check "every pushed sample sent (bounded: 90 s)" it_until 450 0.2 sent
echo "sent: $(fw_metric 'fw_tsdb_remote_storage_samples_total{remote_name="slow"}')"
it_check "none failed nor dropped" \
    [ "$(fw_metric 'fw_tsdb_remote_storage_samples_failed_total{remote_name="slow"}')" = 0 ] && \
    [ "$(fw_metric 'fw_tsdb_remote_storage_samples_dropped_total{remote_name="slow"}')" = 0 ]
it_check "the reshard is logged" grep -q 'remote_write.reshard' "$IT_DIR/tsdb.log"
it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
