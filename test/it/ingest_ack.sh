#!/usr/bin/env bash
# ingest_ack.sh — acknowledged ingest survives tsdb being SIGKILLed: every sample the
# scraper scraped is stored exactly once.
#
# A tiny exporter (python3) serves 20 series whose values are the time of the scrape, so
# every scrape is distinct. The scraper scrapes it every 200 ms into tsdb; fwtail records
# the scraper's PUB tap (each batch once, when first sent). During steady ingest tsdb is
# SIGKILLed twice and restarted on the same data directory and ports. After the scraper is
# stopped (SIGTERM: it waits for tsdb to acknowledge what it holds), every series' raw
# samples in tsdb (/api/v1/query of `{job="ingest"}[1h]`) must equal what the tap saw:
# the same timestamps and values, none missing, none twice. The scraper must have resent
# (the kills lost batches in flight), sent its series refs' labels again after each restart
# (tsdb keeps refs in memory only) and dropped nothing. Then a restart that replays a log
# whose commits sealed chunks (the scrapes above seal none) is queried before anything else
# is committed: count_over_time must count each sample once.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb scraper fwtail
it_need_cmds python3
it_tmpdir

EXP_PORT=$(it_free_port)
TSDB_WEB=$(it_free_port)
SAMPLES=$(it_free_port)
QUERY=$(it_free_port)
TSDB_PUB=$(it_free_port)
SCRAPER_WEB=$(it_free_port)
SCRAPER_PUB=$(it_free_port)

cat > "$IT_DIR/exporter.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        now = int(time.time() * 1000)
        body = "# TYPE ingest_value gauge\n" + "".join(
            'ingest_value{i="%d"} %d\n' % (i, now * 100 + i) for i in range(20))
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 200ms
  scrape_timeout: 200ms
scrape_configs:
  - job_name: ingest
    static_configs:
      - targets: ["127.0.0.1:$EXP_PORT"]
YML

it_start exporter python3 "$IT_DIR/exporter.py" "$EXP_PORT"
it_wait_http "http://127.0.0.1:$EXP_PORT/metrics"

TSDB_RUNS=0
start_tsdb() { # extra tsdb flags in "$@"
    TSDB_RUNS=$((TSDB_RUNS + 1))
    local tries
    # The ports were just freed by a SIGKILL: retry a start that cannot bind yet.
    for tries in 1 2 3 4 5; do
        it_start "tsdb$TSDB_RUNS" "$BIN/tsdb" --storage.tsdb.path="$IT_DIR/data" \
            --storage.tsdb.map-size=256MiB \
            --storage.tsdb.commit-interval=2s \
            --web.listen-address="127.0.0.1:$TSDB_WEB" \
            --zmq.samples-address="tcp://127.0.0.1:$SAMPLES" \
            --zmq.query-address="tcp://127.0.0.1:$QUERY" \
            --zmq.pub-address="tcp://127.0.0.1:$TSDB_PUB" "$@"
        if it_wait_http "http://127.0.0.1:$TSDB_WEB/-/ready" 50 >/dev/null; then return 0; fi
        local pid_var="PID_tsdb$TSDB_RUNS"
        kill "${!pid_var}" 2>/dev/null || true
        sleep 0.5
    done
    echo "ingest_ack.sh: tsdb did not start"; return 1
}
kill_tsdb() {
    local pid_var="PID_tsdb$TSDB_RUNS"
    kill -9 "${!pid_var}"
    wait "${!pid_var}" 2>/dev/null || true
}

start_tsdb
"$BIN/fwtail" --type=SAMPLES "tcp://127.0.0.1:$SCRAPER_PUB" >"$IT_DIR/tap.jsonl" 2>"$IT_DIR/tap.log" &
PID_tap=$!
IT_PIDS+=("$PID_tap")
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$SCRAPER_WEB" \
    --zmq.tsdb-address="tcp://127.0.0.1:$SAMPLES" \
    --zmq.pub-address="tcp://127.0.0.1:$SCRAPER_PUB" \
    --zmq.resend-timeout=1s
it_wait_http "http://127.0.0.1:$SCRAPER_WEB/-/ready"

# steady ingest, then two SIGKILLs of tsdb, each followed by a restart on the same data.
# Commits come every 2 s and a kill 3 s after a start, so each kill loses about a second
# of received, unacknowledged batches that the scraper must resend.
sleep 3
kill_tsdb
sleep 1.5 # the scraper holds what it scrapes meanwhile
start_tsdb
sleep 3
kill_tsdb
sleep 1
start_tsdb
sleep 3

SCRAPER_METRICS=$(curl -fsS --max-time 5 "http://127.0.0.1:$SCRAPER_WEB/metrics")
kill -TERM "$PID_scraper"
for _ in $(seq 1 100); do kill -0 "$PID_scraper" 2>/dev/null || break; sleep 0.1; done
it_check "scraper exits on SIGTERM" bash -c "! kill -0 $PID_scraper 2>/dev/null"
it_check "scraper stopped with nothing unacknowledged" \
    grep -q 'event=scraper.stop .*unacked=0' "$IT_DIR/scraper.log"
sleep 1 # the tap's last messages
kill -TERM "$PID_tap" 2>/dev/null || true

resent=$(awk '/^fw_sender_batches_resent_total /{print $2}' <<<"$SCRAPER_METRICS")
dropped=$(awk '/^fw_sender_dropped_batches_total /{print $2}' <<<"$SCRAPER_METRICS")
it_check "the kills made the scraper resend (resent=${resent:-?})" \
    python3 -c "import sys; sys.exit(0 if float('${resent:-0}') > 0 else 1)"
it_check "the scraper dropped nothing (dropped=${dropped:-?})" [ "${dropped:-x}" = 0 ]
# The series go as SAMPLES v3 refs after their first batch; a restarted tsdb knows no refs,
# answers unknown_refs, and the scraper sends its held batches again with labels.
resets=$(awk '/^fw_sender_refs_resets_total /{print $2}' <<<"$SCRAPER_METRICS")
it_check "each restart made the scraper send its refs' labels again (resets=${resets:-?})" \
    python3 -c "import sys; sys.exit(0 if float('${resets:-0}') >= 2 else 1)"

NOW=$(date +%s)
curl -fsS --max-time 10 -G "http://127.0.0.1:$TSDB_WEB/api/v1/query" \
    --data-urlencode 'query={job="ingest"}[1h]' --data-urlencode "time=$NOW" \
    > "$IT_DIR/stored.json"

cat > "$IT_DIR/compare.py" <<'PY'
import json, sys
tap, stored = sys.argv[1], sys.argv[2]
sent = {}  # series -> {t: v}, from the tap: each batch once
first_t = None
for line in open(tap):
    m = json.loads(line)
    for s in m["body"]["series"]:
        key = tuple(sorted(s["labels"].items()))
        for t, v in s["samples"]:
            if v == "stale":
                continue
            first_t = t if first_t is None else min(first_t, t)
            d = sent.setdefault(key, {})
            if t in d:
                sys.exit("tap shows %s at %d twice" % (key, t))
            d[t] = float(v)
got = {}
for r in json.load(open(stored))["data"]["result"]:
    key = tuple(sorted(r["metric"].items()))
    # the tap connects after the scraper starts: compare from its first batch on
    got[key] = [(int(round(float(t) * 1000)), float(v)) for t, v in r["values"]
                if int(round(float(t) * 1000)) >= first_t]
bad = 0
samples = 0
for key, d in sent.items():
    want = sorted(d.items())
    have = got.get(key, [])
    samples += len(want)
    if have != want:
        bad += 1
        missing = sorted(set(want) - set(have))
        extra = [x for x in have if x not in set(want)]
        dup = len(have) - len(set(have))
        print("series %s: %d scraped, %d stored, missing %s extra %s twice %d"
              % (dict(key), len(want), len(have), missing[:3], extra[:3], dup))
for key in got:
    if key not in sent and got[key]:
        bad += 1
        print("series %s stored but never scraped" % (dict(key),))
ingest = [k for k in sent if dict(k).get("__name__") == "ingest_value"]
print("compared %d series, %d samples, %d differ" % (len(sent), samples, bad))
sys.exit(1 if bad or len(ingest) != 20 or samples < 20 * 40 else 0)
PY
it_check "every scraped sample is stored exactly once, per series" \
    python3 "$IT_DIR/compare.py" "$IT_DIR/tap.jsonl" "$IT_DIR/stored.json"
it_check "tsdb was restarted twice" [ "$TSDB_RUNS" -ge 3 ]

# The scrapes above seal no chunk (about 60 samples a series), and every restart was
# followed by commits: a restart that replays a log whose commits sealed chunks, queried
# before any commit, is checked here. One series gets an open chunk on disk (a checkpoint),
# then 300 more samples in one acknowledged batch (2 chunks sealed by a commit between
# checkpoints); tsdb is SIGKILLed, restarted, and asked at once, with nothing ingested since.
# The checkpoint interval leaves the pushes and the kill 15 s between the first checkpoint
# and the second (at 5 s, a run at load 8 let the second come first: nothing to replay).
kill_tsdb
start_tsdb --storage.tsdb.checkpoint-interval=15s
BASE=$(( (NOW - 400) * 1000 ))
push_x() { # samples $1..$2-1 of series replay_check
    python3 -c "import sys
for k in range(int(sys.argv[1]), int(sys.argv[2])):
    print('replay_check{job=\"replay\"} %d %d' % (k, int(sys.argv[3]) + 1000 * k))" "$1" "$2" "$BASE" |
        "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$SAMPLES" --timeout=10s
}
it_check "fwpush: 5 samples acknowledged" push_x 0 5
checkpointed=no
checkpoints() {
    curl -fsS --max-time 2 "http://127.0.0.1:$TSDB_WEB/metrics" |
        awk '/^fw_tsdb_checkpoints_total /{print $2}'
}
for _ in $(seq 1 300); do # the first checkpoint comes 15 s after the start
    c=$(checkpoints)
    if python3 -c "import sys; sys.exit(0 if float('${c:-0}') >= 1 else 1)"; then
        checkpointed=yes; break
    fi
    sleep 0.1
done
it_check "a checkpoint wrote the series' open chunk" [ "$checkpointed" = yes ]
it_check "fwpush: 300 samples acknowledged" push_x 5 305
c2=$(checkpoints)
it_check "no second checkpoint before the kill (checkpoints $c then $c2)" [ "$c2" = "$c" ]
kill_tsdb
start_tsdb
it_check "the restart replayed chunks the log's commits had stored" \
    grep -Eq 'event=tsdb.wal.replay .*chunks_resealed=[1-9]' "$IT_DIR/tsdb$TSDB_RUNS.log"
curl -fsS --max-time 10 -G "http://127.0.0.1:$TSDB_WEB/api/v1/query" \
    --data-urlencode 'query=count_over_time(replay_check[1h])' --data-urlencode "time=$NOW" \
    > "$IT_DIR/replay.json"
replayed=$(python3 -c "import json, sys
r = json.load(open(sys.argv[1]))['data']['result']
print(r[0]['value'][1] if len(r) == 1 else len(r))" "$IT_DIR/replay.json")
it_check "after the replay every sample is counted once (count_over_time=$replayed, want 305)" \
    [ "$replayed" = 305 ]
it_finish
