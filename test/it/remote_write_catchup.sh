#!/usr/bin/env bash
# remote_write_catchup.sh — a remote_write shard catching up reads each stored sample about
# once, not once per window that a cut at queue_config.capacity cut short.
#
# tsdb A holds 50 series x 300 samples (1 s apart, 5 minutes ago up to 20 s ago, pushed
# with fwpush) and a position file saying its queue sent nothing of them; it starts with
# `remote_write` to tsdb B (one shard, capacity 500, 500 samples a request). B must end up
# holding all 15,000 samples, each series' in order (every one the same as A's), and A's
# fw_tsdb_remote_storage_samples_read_total must stay under 1.5 times the samples sent
# (fw_tsdb_remote_storage_samples_total). Before, a catching-up window reached a minute
# past the shard's position (3,000 samples here), was cut at 500 and read again from the
# cut: about 5 samples read per sample sent; now a window reaches as far as capacity's
# worth of samples did in the last one.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds python3 jq curl
it_tmpdir

A_HTTP=$(it_free_port); A_SAMPLES=$(it_free_port)
B_HTTP=$(it_free_port); B_SAMPLES=$(it_free_port)
A_URL="http://127.0.0.1:$A_HTTP"
B_URL="http://127.0.0.1:$B_HTTP"
printf 'global: {}\n' > "$IT_DIR/plain.yml"
cat > "$IT_DIR/sender.yml" <<YML
global: {}
remote_write:
  - url: $B_URL/api/v1/write
    name: catchup
    queue_config: {min_shards: 1, max_shards: 1, capacity: 500, max_samples_per_send: 500,
                   batch_send_deadline: 1s}
    metadata_config: {send: false}
YML
start_tsdb() { # start_tsdb NAME HTTP SAMPLES CONFIG
    it_start "$1" "$BIN/tsdb" --config.file="$4" --web.listen-address="127.0.0.1:$2" \
        --storage.tsdb.path="$IT_DIR/$1" --zmq.samples-address="tcp://127.0.0.1:$3" \
        --zmq.query-address="tcp://127.0.0.1:$(it_free_port)" \
        --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" --storage.tsdb.map-size=64MiB \
        --storage.tsdb.commit-interval=50ms --scraper.url= --ruled.url=
    it_wait_http "http://127.0.0.1:$2/-/ready" 150
}
start_tsdb b "$B_HTTP" "$B_SAMPLES" "$IT_DIR/plain.yml"
start_tsdb a "$A_HTTP" "$A_SAMPLES" "$IT_DIR/plain.yml"

T0=$(( ($(date +%s) - 320) * 1000 ))
python3 - "$T0" > "$IT_DIR/push.txt" <<'PY'
import sys
t0 = int(sys.argv[1])
for k in range(300):
    for s in range(50):
        print('catchup{s="%d"} %d %d' % (s, (k * 7 + s) % 101, t0 + k * 1000))
PY
it_check "fwpush stores 15,000 samples in A" \
    "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$A_SAMPLES" --timeout=30s < "$IT_DIR/push.txt"
count() { # count URL: the samples of catchup stored
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=sum(count_over_time(catchup[10m]))' |
        jq -r '.data.result[0].value[1] // 0'
}
it_check "A holds them" [ "$(count "$A_URL")" = 15000 ]
it_term "$PID_a"
mkdir -p "$IT_DIR/a/remote_write"
printf '1 1\n%s\n' "$((T0 - 1))" > "$IT_DIR/a/remote_write/catchup.pos"
start_tsdb a "$A_HTTP" "$A_SAMPLES" "$IT_DIR/sender.yml"

it_check "B receives all 15,000 (bounded: 90 s)" it_until 180 0.5 bash -c "[ \"\$(curl -fsS '$B_URL/api/v1/query' --data-urlencode 'query=sum(count_over_time(catchup[10m]))' | jq -r '.data.result[0].value[1] // 0')\" = 15000 ]"
raw() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=catchup[10m]' |
        jq -c '.data.result[] | {metric, values}' | sort
}
raw "$A_URL" > "$IT_DIR/a.txt"
raw "$B_URL" > "$IT_DIR/b.txt"
it_check "B holds every sample of A" cmp -s "$IT_DIR/a.txt" "$IT_DIR/b.txt"
metric() { curl -fsS "$A_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sent=$(metric 'fw_tsdb_remote_storage_samples_total{remote_name="catchup"}')
read=$(metric 'fw_tsdb_remote_storage_samples_read_total{remote_name="catchup"}')
it_check "A sent 15,000 (${sent:-none})" [ "${sent:-0}" = 15000 ]
it_check "A read under 1.5 samples a sample sent (${read:-none} read)" \
    awk -v r="${read:-0}" -v s="${sent:-0}" 'BEGIN { exit !(s > 0 && r >= s && r < 1.5 * s) }'

it_term "$PID_a"
it_check "tsdb A exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
