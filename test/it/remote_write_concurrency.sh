#!/usr/bin/env bash
# remote_write_concurrency.sh — tsdb's remote-write receiver holds as many requests at once
# as a Prometheus sender sends when it reshards against a receiver that answers after its
# group commit.
#
# A request is answered 204 only after the commit that stores it (tsdb_rwrite.h), so every
# request of a sender waits up to one commit interval, and a Prometheus sender keeping up
# with 20,000 samples/s runs about 50 shards (requests) at once (make bench,
# BENCH_SECTIONS=remote). Here tsdb commits every 5 s and 100 requests (one series each,
# written by python3 through test/it/prompb.py) are posted at once: every one must be
# answered 204 within 15 s, i.e. within the first commits. A receiver holding fewer
# requests at once than that (16, before) answers them a batch per commit, 30 s and more,
# and refuses those that wait over 20 s for a slot with 503.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds curl python3
it_tmpdir
D=$IT_DIR

TPORT=$(it_free_port)
T=http://127.0.0.1:$TPORT
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/tsdb.yml"
it_start tsdb "$TSDB" --config.file="$D/tsdb.yml" --storage.tsdb.path="$D/tsdb" \
    --storage.tsdb.map-size=64MiB --storage.tsdb.commit-interval=5s \
    --web.listen-address=127.0.0.1:"$TPORT" --scraper.url= --ruled.url= \
    --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
it_wait_http "$T/-/ready" || it_die "tsdb did not start"

PYTHONPATH=test/it python3 - "$D" <<'PY'
import struct, sys, time
from prompb import field, snappy, varint
now = int(time.time() * 1000)
for k in range(100):
    labels = [("__name__", "rw_concurrent"), ("k", str(k))]
    b = b"".join(field(1, 2, field(1, 2, n.encode()) + field(2, 2, v.encode())) for n, v in labels)
    b += field(2, 2, field(1, 1, struct.pack("<d", k)) + field(2, 0, varint(now)))
    open("%s/body%d.bin" % (sys.argv[1], k), "wb").write(snappy(field(1, 2, b)))
PY
t0=$(date +%s)
for k in $(seq 0 99); do
    curl -sS -o /dev/null -w '%{http_code}\n' --max-time 60 -X POST \
        --data-binary "@$D/body$k.bin" -H 'Content-Type: application/x-protobuf' \
        -H 'Content-Encoding: snappy' "$T/api/v1/write" >"$D/code$k" 2>&1 &
done
wait_all() { local p; for p in $(jobs -p); do [ "$p" = "$PID_tsdb" ] || wait "$p" || true; done; }
wait_all
t1=$(date +%s)
ok=$(cat "$D"/code* | grep -c '^204$' || true)
it_check "100 requests at once all answered 204 ($ok)" [ "$ok" = 100 ]
it_check "within 15 s with 5 s commits ($((t1 - t0)) s)" [ $((t1 - t0)) -le 15 ]
stored=$(curl -fsS "$T/api/v1/query" --data-urlencode 'query=count(rw_concurrent)' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
it_check "the 100 series are stored ($stored)" [ "$stored" = 100 ]
it_term "$PID_tsdb"
it_finish
