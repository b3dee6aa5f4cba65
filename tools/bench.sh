#!/usr/bin/env bash
# bench.sh — `make bench`: side-by-side benchmarks against the real peers, measured in the
# same run on the same machine, printed as ratios (never asserted in tests).
#
# Uses the shared peer kit ($SHARED/bench, read-only: it is copied to a temp dir so its
# results files land there). Four sections, chosen with BENCH_SECTIONS (default
# "storage ingest memory alerting"; about 6 minutes in all):
# - storage (tools/bench-storage.sh): the kit's OpenMetrics history (1000 series x 2 h at
#   15 s) backfilled by promtool and by `tsdb import` (disk bytes per sample, import speed),
#   then the 15 queries of the kit's queries.txt timed against prometheus on promtool's
#   blocks and tsdb on the import, answers checked equal; sized by STORAGE_SERIES/HOURS/STEP
#   and QUERY_RUNS.
# - ingest (tools/bench-ingest.sh): the Debian prometheus and floorwatch's scraper+tsdb scrape
#   the same synth-exporter targets one after the other (CPU per sample, scraper and tsdb
#   each and together, samples/s, RSS, disk bytes per sample); sized by
#   INGEST_TARGETS/SERIES/INTERVAL/DURATION/WARMUP.
# - memory: bench-ingest.sh again at 100,000 active series (MEMORY_TARGETS x MEMORY_SERIES,
#   default 50 x 2000, every 1 s for MEMORY_DURATION 60 s): resident memory per series.
# - alerting: the Debian Alertmanager and floorwatch's alertd+notifyd take the same load from
#   am-load.py (new-group first notification latency, batched and one-per-request
#   POST /api/v2/alerts throughput, CPU and peak RSS of the daemon under test, amtool checks).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SECTIONS=${BENCH_SECTIONS:-storage ingest memory alerting}
BIN=$(cd "${BUILD:-build}/bin" && pwd)
SHARED=${SHARED:-../shared}
K=${K_ALERTS:-10000} BATCH=${BATCH:-100} SINGLE=${SINGLE:-2000}
if [ ! -d "$SHARED/bench" ]; then
    echo "bench: skipped, the shared peer kit ($SHARED/bench) is not here (set SHARED=...)"
    exit 0
fi
need="python3 jq curl"
case " $SECTIONS " in *" ingest "* | *" memory "*) need="$need prometheus cc" ;; esac
case " $SECTIONS " in *" storage "*) need="$need prometheus promtool" ;; esac
case " $SECTIONS " in *" alerting "*) need="$need prometheus-alertmanager amtool" ;; esac
for t in $need; do
    command -v "$t" >/dev/null || { echo "bench: skipped, $t is not installed"; exit 0; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
cp -r "$SHARED/bench" "$TMP/kit"
chmod -R u+w "$TMP/kit"
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
echo "command: BUILD=${BUILD:-build} SHARED=$SHARED BENCH_SECTIONS=\"$SECTIONS\" bash tools/bench.sh" \
    "(INGEST_TARGETS=${INGEST_TARGETS:-20} INGEST_SERIES=${INGEST_SERIES:-1000}" \
    "INGEST_INTERVAL=${INGEST_INTERVAL:-1} INGEST_DURATION=${INGEST_DURATION:-60}" \
    "INGEST_WARMUP=${INGEST_WARMUP:-15} MEMORY_TARGETS=${MEMORY_TARGETS:-50}" \
    "MEMORY_SERIES=${MEMORY_SERIES:-2000} MEMORY_DURATION=${MEMORY_DURATION:-60}" \
    "QUERY_RUNS=${QUERY_RUNS:-7} K_ALERTS=$K BATCH=$BATCH SINGLE=$SINGLE)"
T_START=$(date +%s)

if [[ " $SECTIONS " == *" storage "* ]]; then
    echo "== storage: promtool tsdb create-blocks-from openmetrics + prometheus" \
        "($(prometheus --version 2>&1 | head -1)) vs tsdb import + tsdb"
    bash "$HERE/bench-storage.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the storage comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " == *" ingest "* ]]; then
    echo "== ingestion: prometheus ($(prometheus --version 2>&1 | head -1)) vs scraper + tsdb"
    bash "$HERE/bench-ingest.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the ingestion comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " == *" memory "* ]]; then
    echo "== memory: prometheus vs scraper + tsdb at" \
        "$((${MEMORY_TARGETS:-50} * ${MEMORY_SERIES:-2000})) active series"
    INGEST_TITLE=memory INGEST_TARGETS=${MEMORY_TARGETS:-50} INGEST_SERIES=${MEMORY_SERIES:-2000} \
        INGEST_INTERVAL=1 INGEST_DURATION=${MEMORY_DURATION:-60} INGEST_WARMUP=20 INGEST_RESTART=1 \
        bash "$HERE/bench-ingest.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the memory comparison failed"; exit 1; }
    echo
fi
if [[ " $SECTIONS " != *" alerting "* ]]; then
    echo "bench: done in $(($(date +%s) - T_START)) s"
    exit 0
fi

echo "== peer: Alertmanager ($(prometheus-alertmanager --version 2>&1 | head -1))"
AM_PORT=$(free_port) SINK_PORT=$(free_port) \
    bash "$TMP/kit/run-alertmanager.sh" "$K" 0s "$BATCH" "$SINGLE" > "$TMP/peer.out" 2>&1
peer=$(sed -n 's/^summary: //p' "$TMP/peer.out")
[ -n "$peer" ] || { echo "bench: the peer run failed:"; tail -20 "$TMP/peer.out"; exit 1; }

echo "== floorwatch: alertd + notifyd"
SINK=$(free_port) HTTP=$(free_port) NHTTP=$(free_port) ZA=$(free_port) ZN=$(free_port) \
    ZP1=$(free_port) ZP2=$(free_port)
cat > "$TMP/am.yml" <<EOT
route:
  receiver: sink
  group_by: ['alertname', 'line']
  group_wait: 0s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
        send_resolved: false
EOT
"$BIN/notifyd" --log.level=warn --web.listen-address=127.0.0.1:$NHTTP \
    --zmq.notify-address=tcp://127.0.0.1:$ZN --zmq.pub-address=tcp://127.0.0.1:$ZP1 \
    > "$TMP/notifyd.log" 2>&1 &
PIDS+=($!)
"$BIN/alertd" --log.level=warn --config.file="$TMP/am.yml" --storage.path="$TMP/alertd" \
    --web.listen-address=127.0.0.1:$HTTP --zmq.alerts-address=tcp://127.0.0.1:$ZA \
    --zmq.notifyd-address=tcp://127.0.0.1:$ZN --zmq.pub-address=tcp://127.0.0.1:$ZP2 \
    > "$TMP/alertd.log" 2>&1 &
ALERTD_PID=$!
PIDS+=($ALERTD_PID)
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$HTTP/-/ready" && break; sleep 0.1; done
AM_URL=http://127.0.0.1:$HTTP AM_PID=$ALERTD_PID SINK_PORT=$SINK \
    bash "$TMP/kit/run-alertmanager.sh" "$K" 0s "$BATCH" "$SINGLE" > "$TMP/ours.out" 2>&1
ours=$(sed -n 's/^summary: //p' "$TMP/ours.out")
[ -n "$ours" ] || { echo "bench: the floorwatch run failed:"; tail -20 "$TMP/ours.out"; exit 1; }

echo
echo "alerting, $K alerts in batches of $BATCH, $SINGLE one per request (higher ratio = floorwatch better):"
jq -rn --argjson p "$peer" --argjson o "$ours" '
  def r(a; b): if b == 0 or b == null or a == null then "n/a" else ((a / b * 100 | round) / 100 | tostring) + "x" end;
  [
   ["batch POST alerts/s",          $p.batch_alerts_per_s,      $o.batch_alerts_per_s,      r($o.batch_alerts_per_s; $p.batch_alerts_per_s)],
   ["single POST alerts/s",         $p.single_alerts_per_s,     $o.single_alerts_per_s,     r($o.single_alerts_per_s; $p.single_alerts_per_s)],
   ["first notification ms (median)", $p.first_notify_ms_median, $o.first_notify_ms_median, r($p.first_notify_ms_median; $o.first_notify_ms_median)],
   ["CPU us per alert (batch)",     $p.am_cpu_us_per_alert_batch_post, $o.am_cpu_us_per_alert_batch_post, r($p.am_cpu_us_per_alert_batch_post; $o.am_cpu_us_per_alert_batch_post)],
   ["peak RSS MiB",                 $p.am_peak_rss_mib,         $o.am_peak_rss_mib,         r($p.am_peak_rss_mib; $o.am_peak_rss_mib)],
   ["groups notified",              $p.batch_groups_notified,   $o.batch_groups_notified,   "-"],
   ["amtool checks ok",             $p.amtool_ok,               $o.amtool_ok,               "-"]
  ] | (["metric", "alertmanager", "floorwatch", "ratio"] | @tsv), (.[] | map(if type == "number" then (. * 100 | round / 100) else . end) | @tsv)' |
  column -t -s $'\t'
echo "(alertd's figures are the alertd process alone; notifyd delivers the webhooks)"
echo "bench: done in $(($(date +%s) - T_START)) s"
