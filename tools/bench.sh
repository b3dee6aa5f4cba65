#!/usr/bin/env bash
# bench.sh — `make bench`: side-by-side benchmarks against the real peers, measured in the
# same run on the same machine, printed as ratios (never asserted in tests).
#
# Uses the shared peer kit ($SHARED/bench, read-only: it is copied to a temp dir so its
# results files land there). Seven sections, chosen with BENCH_SECTIONS (default
# "storage ingest memory remote alerting rules slo"; about 30 minutes in all on a loaded
# machine, half of it the slo section's promtool backfill):
# - storage (tools/bench-storage.sh): the kit's OpenMetrics history (1000 series x 2 h at
#   15 s) backfilled by promtool and by `tsdb import` (disk bytes per sample, import speed),
#   then the 15 queries of the kit's queries.txt timed against prometheus on promtool's
#   blocks and tsdb on the import, answers checked equal; sized by STORAGE_SERIES/HOURS/STEP
#   and QUERY_RUNS.
# - rollups (tools/bench-rollups.sh; only when asked, BENCH_SECTIONS=rollups): 30 days of
#   1000 series (the kit's generator at a 120 s step) imported, then range queries at hour
#   steps timed with and without tsdb's rollups, answers checked equal; sized by
#   ROLLUP_SERIES/DAYS/STEP and ROLLUP_RUNS.
# - ingest (tools/bench-ingest.sh): the Debian prometheus and floorwatch's scraper+tsdb scrape
#   the same synth-exporter targets one after the other (CPU per sample, scraper and tsdb
#   each and together, samples/s, RSS, disk bytes per sample), INGEST_ROUNDS times (3; the
#   medians are reported, and each round's scraper/Prometheus ratio); sized by
#   INGEST_TARGETS/SERIES/INTERVAL/DURATION/WARMUP.
# - memory: bench-ingest.sh again at 100,000 active series (MEMORY_TARGETS x MEMORY_SERIES,
#   default 50 x 2000, every 1 s for MEMORY_DURATION 60 s, MEMORY_ROUNDS 1): resident memory
#   per series.
# - remote (tools/bench-remote.sh): remote-write throughput and CPU per sample of the Debian
#   prometheus's sender and receiver against tsdb's, on the same synth-exporter targets
#   (each sender into each receiver); sized by REMOTE_TARGETS/SERIES/INTERVAL/WINDOW/WARMUP.
# - alerting (tools/bench-alerting.sh): the Debian Alertmanager and floorwatch's
#   alertd+notifyd take the same load from am-load.py (new-group first notification latency,
#   batched and one-per-request POST /api/v2/alerts throughput, CPU and peak RSS of the
#   daemon under test, amtool checks); then alertd alone takes batches over ZeroMQ from
#   tools/alertload (ZMQ_ALERTS), alertload rows the median of ROUNDS rounds taken in turn
#   (single POSTs also to tools/post-floor, the ceiling any server has with that client, and
#   from alertload's plain-socket client), and SUSTAIN_PER_MIN updates a minute for
#   SUSTAIN_SECONDS.
# - rules (tools/bench-rules.sh): the Debian prometheus and tsdb + ruled evaluate the same
#   10,000 rules in 100 groups every 15 s on the same backfilled data (CPU, evaluation time
#   per round and slowest group, missed iterations, recorded series); sized by
#   RULES_GROUPS/PER_GROUP/INTERVAL/SERIES/HOURS/WARMUP/WINDOW/WORKERS.
# - slo (tools/bench-slo.sh): 100 SLOs with a 30-day window evaluated by slod + tsdb and by
#   the Debian prometheus on `slod generate`'s rules, on 1, 7 and 30 days of the same
#   history (SLO_HISTORIES): CPU per evaluation of all 100, as history grows; sized by
#   SLO_SERVICES (x 5 SLOs), SLO_SECONDS and SLO_INTERVAL.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SECTIONS=${BENCH_SECTIONS:-storage ingest memory remote alerting rules slo}
BIN=$(cd "${BUILD:-build}/bin" && pwd)
SHARED=${SHARED:-../shared}
K=${K_ALERTS:-10000} BATCH=${BATCH:-100} SINGLE=${SINGLE:-2000}
if [ ! -d "$SHARED/bench" ]; then
    echo "bench: skipped, the shared peer kit ($SHARED/bench) is not here (set SHARED=...)"
    exit 0
fi
need="python3 jq curl"
case " $SECTIONS " in *" ingest "* | *" memory "* | *" remote "*) need="$need prometheus cc" ;; esac
case " $SECTIONS " in *" storage "* | *" rules "*) need="$need prometheus promtool" ;; esac
case " $SECTIONS " in *" alerting "*) need="$need prometheus-alertmanager amtool" ;; esac
case " $SECTIONS " in *" slo "*) need="$need prometheus promtool" ;; esac
for t in $need; do
    command -v "$t" >/dev/null || { echo "bench: skipped, $t is not installed"; exit 0; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp -r "$SHARED/bench" "$TMP/kit"
chmod -R u+w "$TMP/kit"
echo "command: BUILD=${BUILD:-build} SHARED=$SHARED BENCH_SECTIONS=\"$SECTIONS\" bash tools/bench.sh" \
    "(INGEST_TARGETS=${INGEST_TARGETS:-20} INGEST_SERIES=${INGEST_SERIES:-1000}" \
    "INGEST_INTERVAL=${INGEST_INTERVAL:-1} INGEST_DURATION=${INGEST_DURATION:-60}" \
    "INGEST_WARMUP=${INGEST_WARMUP:-15} INGEST_ROUNDS=${INGEST_ROUNDS:-3} MEMORY_TARGETS=${MEMORY_TARGETS:-50}" \
    "MEMORY_SERIES=${MEMORY_SERIES:-2000} MEMORY_DURATION=${MEMORY_DURATION:-60} MEMORY_ROUNDS=${MEMORY_ROUNDS:-1}" \
    "QUERY_RUNS=${QUERY_RUNS:-7} ROLLUP_SERIES=${ROLLUP_SERIES:-1000} ROLLUP_DAYS=${ROLLUP_DAYS:-30}" \
    "ROLLUP_STEP=${ROLLUP_STEP:-120} ROLLUP_RUNS=${ROLLUP_RUNS:-3} K_ALERTS=$K BATCH=$BATCH SINGLE=$SINGLE" \
    "ZMQ_ALERTS=${ZMQ_ALERTS:-$((5 * K))} SUSTAIN_PER_MIN=${SUSTAIN_PER_MIN:-100000}" \
    "SUSTAIN_SECONDS=${SUSTAIN_SECONDS:-60} SUSTAIN_DISTINCT=${SUSTAIN_DISTINCT:-10000}" \
    "ROUNDS=${ROUNDS:-5} PROBES=${PROBES:-20} REMOTE_TARGETS=${REMOTE_TARGETS:-20}" \
    "REMOTE_SERIES=${REMOTE_SERIES:-1000} REMOTE_INTERVAL=${REMOTE_INTERVAL:-1}" \
    "REMOTE_WINDOW=${REMOTE_WINDOW:-30} REMOTE_WARMUP=${REMOTE_WARMUP:-30}" \
    "RULES_GROUPS=${RULES_GROUPS:-100} RULES_PER_GROUP=${RULES_PER_GROUP:-100}" \
    "RULES_INTERVAL=${RULES_INTERVAL:-15} RULES_SERIES=${RULES_SERIES:-1000}" \
    "RULES_WARMUP=${RULES_WARMUP:-35} RULES_WINDOW=${RULES_WINDOW:-60} RULES_WORKERS=${RULES_WORKERS:-4}" \
    "SLO_HISTORIES=\"${SLO_HISTORIES:-1 7 30}\" SLO_SERVICES=${SLO_SERVICES:-20}" \
    "SLO_SECONDS=${SLO_SECONDS:-30} SLO_INTERVAL=${SLO_INTERVAL:-5})"
T_START=$(date +%s)

if [[ " $SECTIONS " == *" storage "* ]]; then
    echo "== storage: promtool tsdb create-blocks-from openmetrics + prometheus" \
        "($(prometheus --version 2>&1 | head -1)) vs tsdb import + tsdb"
    bash "$HERE/bench-storage.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the storage comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " == *" rollups "* ]]; then
    echo "== rollups: tsdb's range queries with and without its 5m/1h rollups"
    bash "$HERE/bench-rollups.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the rollups comparison failed"; exit 1; }
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
        INGEST_ROUNDS=${MEMORY_ROUNDS:-1} bash "$HERE/bench-ingest.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the memory comparison failed"; exit 1; }
    echo
fi
if [[ " $SECTIONS " == *" remote "* ]]; then
    echo "== remote write: prometheus's sender and receiver vs tsdb's, on the same data"
    bash "$HERE/bench-remote.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the remote-write comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " == *" rules "* ]]; then
    echo "== rules: prometheus ($(prometheus --version 2>&1 | head -1)) vs tsdb + ruled," \
        "the same rule files on the same data"
    bash "$HERE/bench-rules.sh" "$TMP/kit" "$BIN" ||
        { echo "bench: the rules comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " == *" slo "* ]]; then
    echo "== slo: slod + tsdb vs prometheus ($(prometheus --version 2>&1 | head -1)) on slod" \
        "generate's rules, 100 SLOs at 30 days"
    bash "$HERE/bench-slo.sh" "$TMP/kit" "$BIN" || { echo "bench: the slo comparison failed"; exit 1; }
    echo
fi

if [[ " $SECTIONS " != *" alerting "* ]]; then
    echo "bench: done in $(($(date +%s) - T_START)) s"
    exit 0
fi

bash "$HERE/bench-alerting.sh" "$TMP/kit" "$BIN" ||
    { echo "bench: the alerting comparison failed"; exit 1; }
echo "bench: done in $(($(date +%s) - T_START)) s"
