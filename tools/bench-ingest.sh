#!/usr/bin/env bash
# bench-ingest.sh KIT_DIR BIN_DIR — the ingestion half of `make bench` (called by bench.sh).
#
# One synth-exporter (from the peer kit copy KIT_DIR) serves N targets x M series on
# 127.0.0.1. The Debian prometheus scrapes them for DURATION seconds, then floorwatch's
# scraper + tsdb (from BIN_DIR) scrape the same targets for the same time, one after the
# other, never concurrently; that is a round, and there are ROUNDS of them, each with fresh
# processes, and the figures are the medians over the rounds (one round's figures moved by
# half from run to run: see "the rounds" below). Both are measured by the same code: window
# CPU (the threads' nanoseconds from /proc/PID/task/*/schedstat, per process and summed over
# scraper and tsdb for floorwatch; whole-run CPU from utime+stime in /proc/PID/stat), samples
# appended (the storage's own counter on /metrics), resident memory (VmRSS at the end of
# the window, the median of 9 reads 1 s apart, per process and per series in storage; VmHWM, the peak), and the bytes the
# data directory holds on disk after a clean stop (du). "Window" figures exclude the first
# WARMUP seconds (start-up, discovery, series creation); "total" figures include them.
#
# Environment (defaults): INGEST_TARGETS (20), INGEST_SERIES (1000), INGEST_INTERVAL (1),
# INGEST_DURATION (60), INGEST_WARMUP (15), INGEST_TITLE ("ingestion"), INGEST_RESTART (0; 1:
# at the end of each side's window, SIGKILL the storage process - prometheus, tsdb - and time
# its restart on the same data to /-/ready: Prometheus replays its WAL, tsdb its log),
# INGEST_METRIC_RELABEL (1: the job has 10 metric_relabel_configs that keep every series; 0:
# none), INGEST_ROUNDS (3; restarts happen in the last round only). Prints key=value
# figures for each side and round, a table of the medians with ratios, and each round's
# scraper-alone / Prometheus ratio (higher ratio = floorwatch better). Ports
# are free loopback ports; every process is started and stopped by PID; every wait is
# bounded; the temp dir is removed. bench.sh runs it twice: the ingestion section
# (20 x 1000) and the memory section (50 x 2000 = 100,000 active series).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
NT=${INGEST_TARGETS:-20} NS=${INGEST_SERIES:-1000} IV=${INGEST_INTERVAL:-1}
DUR=${INGEST_DURATION:-60} WARM=${INGEST_WARMUP:-15} TITLE=${INGEST_TITLE:-ingestion}
ROUNDS=${INGEST_ROUNDS:-3}
[ "$DUR" -gt "$WARM" ] || { echo "bench-ingest: INGEST_DURATION must exceed INGEST_WARMUP" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "bench-ingest: INGEST_ROUNDS must be 1 or more" >&2; exit 2; }
. "$KIT/lib.sh"
. "$(dirname "$0")/bench-lib.sh"

bench_tmp ingest
EXP_PID=""

cpu_sum() { local p t=0; for p in "$@"; do t=$(awk -v a="$t" -v b="$(cpu_seconds "$p")" 'BEGIN{print a+b}'); done; echo "$t"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# cpu_ns PID: the CPU time PID's threads have used, in ns (/proc/PID/task/*/schedstat, the
# scheduler's own count). Window CPU is read from it on both sides: cpu_seconds (utime+stime
# from /proc/PID/stat) is in ticks of 10 ms, and the scraper uses about 0.3 s in a 45 s window,
# so one tick at each end moved its figure by up to 6%. A thread that ends inside the window
# takes its time away with it: measure() compares with the ticks and says so.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
RSS_SAMPLES=${INGEST_RSS_SAMPLES:-9}
hwm_sum() { local p t=0; for p in "$@"; do t=$((t + $(hwm_kb "$p"))); done; echo "$t"; }

# --- the exporter, shared by all the rounds (it ends on its own after the given seconds: a
# side takes DUR and up to two minutes to start, restart and stop; the cleanup stops it) ---
bench_exporter "$KIT" "$NT" "$NS" $((ROUNDS * (2 * DUR + 240) + 300)) "$TMP" ||
    { echo "bench-ingest: synth-exporter did not start: $(cat "$TMP/exporter.log" 2>/dev/null)" >&2; exit 1; }
{
    echo "global:"
    echo "  scrape_interval: ${IV}s"
    echo "  scrape_timeout: ${IV}s"
    echo "scrape_configs:"
    echo "  - job_name: synth"
    echo "    static_configs:"
    echo "      - targets:"
    sed 's/.*/          - "&"/' "$TMP/targets.txt"
    # Ten metric_relabel_configs that keep every series the exporter serves (so both sides
    # store the same samples) but make each side apply them to every sample: a copy of the
    # name into __tmp_, a lowercase of it, a hashmod, a keep matching every name, a drop,
    # labelmap, labeldrop and a replace matching nothing, one label added, the __tmp_ ones
    # dropped.
    if [ "${INGEST_METRIC_RELABEL:-1}" = 1 ]; then
        cat <<'YML'
    metric_relabel_configs:
      - {source_labels: [__name__], regex: "(.*)", target_label: __tmp_name, replacement: "$1"}
      - {action: lowercase, source_labels: [__tmp_name], target_label: __tmp_lower}
      - {action: hashmod, source_labels: [instance], modulus: 8, target_label: __tmp_hash}
      - {action: keep, source_labels: [__name__], regex: ".+"}
      - {action: drop, source_labels: [__name__], regex: "bench_never_.*"}
      - {action: labelmap, regex: "bench_absent_(.*)", replacement: "$1"}
      - {action: labeldrop, regex: "bench_absent_label"}
      - {source_labels: [__name__], regex: "bench_nomatch_(.*)", target_label: nomatch, replacement: "$1"}
      - {target_label: bench, replacement: relabeled}
      - {action: labeldrop, regex: "__tmp_.*"}
YML
    fi
} >"$TMP/prometheus.yml"

# measure SIDE READY_URL METRICS_URL SAMPLES_METRIC SERIES_METRIC PID...: run the window on
# already started PIDs and write $TMP/SIDE.env (shell assignments; cpu_win_K and rss_kb_K
# are the window CPU and end-of-window VmRSS of the K-th PID, from 1: the median of
# RSS_SAMPLES reads)
measure() {
    local side=$1 ready=$2 murl=$3 smetric=$4 sermetric=$5; shift 5
    local t0 c1 s1 e1 t1 c2 s2 e2 t2 rem p k
    local -a pc1=() pn1=()
    wait_http "$ready" 60 || { echo "bench-ingest: $side not ready" >&2; return 1; }
    t0=$(now)
    sleep "$WARM"
    for p in "$@"; do pc1+=("$(cpu_seconds "$p")") pn1+=("$(cpu_ns "$p")"); done
    c1=$(cpu_sum "$@") s1=$(metric_sum "$murl" "$smetric") e1=$(cpu_seconds "$EXP_PID") t1=$(now)
    rem=$(awk -v s="$t0" -v n="$(now)" -v d="$DUR" 'BEGIN{r=d-(n-s); print (r>0?r:0)}')
    # Resident memory: the median of RSS_SAMPLES reads 1 s apart at the window's end, per
    # process, on both sides. One read could land on a transient: tsdb's checkpoint maps
    # the data file's pages it copies (up to 20 MB of clean page cache at 100,000 series)
    # and unmaps them when it ends, a second later.
    sleep "$(awk -v r="$rem" -v n="$RSS_SAMPLES" 'BEGIN{x=r-(n-1); print (x>0?x:0)}')"
    local -a rs=()
    local j
    for ((j = 0; j < RSS_SAMPLES; j++)); do
        k=0
        for p in "$@"; do rs[$k]="${rs[$k]:-} $(rss_kb "$p")"; k=$((k + 1)); done
        if [ "$j" -lt $((RSS_SAMPLES - 1)) ]; then sleep 1; fi
    done
    c2=$(cpu_sum "$@") s2=$(metric_sum "$murl" "$smetric") e2=$(cpu_seconds "$EXP_PID") t2=$(now)
    k=0
    for p in "$@"; do
        echo "cpu_win_$((k + 1))=$(awk -v a="${pn1[$k]}" -v b="$(cpu_ns "$p")" 'BEGIN{printf "%.6f", (b-a)/1e9}')"
        echo "cpu_ticks_win_$((k + 1))=$(awk -v a="${pc1[$k]}" -v b="$(cpu_seconds "$p")" 'BEGIN{print b-a}')"
        echo "rss_kb_$((k + 1))=$(median ${rs[$k]})"
        k=$((k + 1))
    done >"$TMP/$side.perpid"
    {
        cat "$TMP/$side.perpid"
        echo "rss_kb=$(awk -F= '/^rss_kb_/ { t += $2 } END { print t }' "$TMP/$side.perpid")"
        echo "win_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b-a}')"
        echo "cpu_total=$c2 cpu_win=$(awk -F= '/^cpu_win_/ { t += $2 } END { printf "%.6f", t }' "$TMP/$side.perpid")"
        echo "cpu_ticks_win=$(awk -v a="$c1" -v b="$c2" 'BEGIN{print b-a}')"
        echo "samples_total=$s2 samples_win=$((s2 - s1))"
        echo "exp_cpu_win=$(awk -v a="$e1" -v b="$e2" 'BEGIN{print b-a}')"
        echo "hwm_kb=$(hwm_sum "$@")"
        echo "series=$(metric_sum "$murl" "$sermetric")"
    } >"$TMP/$side.env"
    # The threads' nanoseconds leave out a thread that ended inside the window; the ticks
    # count it. Say so when they disagree by more than their rounding (a tick a read).
    (
        . "$TMP/$side.env"
        awk -v n="$cpu_win" -v t="$cpu_ticks_win" -v side="$side" 'BEGIN { if (t - n > 0.02 + 0.02 * n)
            printf "bench-ingest: %s: a thread ended in the window? CPU %.3f s from the threads, %.2f s in ticks\n", side, n, t > "/dev/stderr" }'
    )
}

echo "   $TITLE: $NT targets x $NS series every ${IV}s, ${DUR}s per side, $ROUNDS round(s) (window after ${WARM}s)"

# The scraper's own parse throughput and per-sample work on one target's body, with the
# job's metric_relabel_configs (scraper --bench-parse, single-threaded, nothing sent).
curl -fsS --max-time 10 -o "$TMP/body.txt" "http://$(head -1 "$TMP/targets.txt")/metrics" &&
    "$BIN/scraper" --log.level=warn --config.file="$TMP/prometheus.yml" \
        --bench-parse="$TMP/body.txt" | sed 's/^/   scraper --bench-parse: /' ||
    echo "   scraper --bench-parse: failed"

# --- the rounds: Prometheus, then floorwatch, ROUNDS times ---
# One window a side gave figures that moved by half between runs of one build (our scraper
# 0.30-0.45 us a sample, Prometheus 1.6-3.1, on a quiet machine). The scraper's instructions
# a sample are fixed (callgrind), but its time for them is not: this 2-core VM has no
# hardware counters, and `--bench-parse`'s fixed work took 35-96 ns a sample from run to
# run; 10 s windows of one scraper process moved by a quarter (0.36-0.45 us a sample) under
# load, and the medians of five processes 0.34-0.43. So each side is measured ROUNDS times,
# each round a fresh Prometheus and then a fresh scraper + tsdb (fresh data directories, new
# ports), a side's figures are the medians over the rounds, and each round's
# scraper/Prometheus ratio is printed (its two sides run a minute apart, so a slow minute
# weighs on both).

# peer_round R: Prometheus's window of round R into $TMP/peer.R.env
peer_round() {
    local r=$1 pp
    pp=$(free_port)
    prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data.$r" \
        --web.listen-address="127.0.0.1:$pp" >>"$TMP/prometheus.log" 2>&1 &
    PROM_PID=$!
    RUN_PIDS=("$PROM_PID")
    measure "peer.$r" "http://127.0.0.1:$pp/-/ready" "http://127.0.0.1:$pp/metrics" \
        prometheus_tsdb_head_samples_appended_total prometheus_tsdb_head_series "$PROM_PID" ||
        { tail -5 "$TMP/prometheus.log" >&2; return 1; }
    {
        echo "peer_scraped_per_cycle=$(prom_scalar "http://127.0.0.1:$pp" 'sum(scrape_samples_scraped)')"
        echo "peer_up=$(prom_scalar "http://127.0.0.1:$pp" 'sum(up)')"
    } >>"$TMP/peer.$r.env"
    if [ "${INGEST_RESTART:-0}" = 1 ] && [ "$r" = "$ROUNDS" ]; then
        restart_after_kill PROM_PID "http://127.0.0.1:$pp/-/ready" prometheus \
            --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data.$r" \
            --web.listen-address="127.0.0.1:$pp" 2>>"$TMP/prometheus.log" || return 1
        echo "restart_s=$RESTART_S" >>"$TMP/peer.$r.env"
    fi
    stop_pid "$PROM_PID" 60
    RUN_PIDS=()
    echo "disk_bytes=$(du -s --block-size=1 "$TMP/prom-data.$r" | cut -f1)" >>"$TMP/peer.$r.env"
    rm -rf "$TMP/prom-data.$r"
}

# ours_round R: scraper + tsdb's window of round R into $TMP/ours.R.env
ours_round() {
    local r=$1 th zs zq zp sh sp
    th=$(free_port) zs=$(free_port) zq=$(free_port) zp=$(free_port) sh=$(free_port) sp=$(free_port)
    "$BIN/tsdb" --log.level=warn --web.listen-address="127.0.0.1:$th" \
        --storage.tsdb.path="$TMP/fw-data.$r" --zmq.samples-address="tcp://127.0.0.1:$zs" \
        --zmq.query-address="tcp://127.0.0.1:$zq" --zmq.pub-address="tcp://127.0.0.1:$zp" \
        >>"$TMP/tsdb.log" 2>&1 &
    TSDB_PID=$!
    RUN_PIDS=("$TSDB_PID")
    wait_http "http://127.0.0.1:$th/-/ready" 30 || { tail -5 "$TMP/tsdb.log" >&2; return 1; }
    "$BIN/scraper" --log.level=warn --config.file="$TMP/prometheus.yml" \
        --web.listen-address="127.0.0.1:$sh" --zmq.tsdb-address="tcp://127.0.0.1:$zs" \
        --zmq.pub-address="tcp://127.0.0.1:$sp" >>"$TMP/scraper.log" 2>&1 &
    SCRAPER_PID=$!
    RUN_PIDS=("$SCRAPER_PID" "$TSDB_PID")
    measure "ours.$r" "http://127.0.0.1:$sh/-/ready" "http://127.0.0.1:$th/metrics" \
        fw_tsdb_samples_appended_total fw_tsdb_series "$SCRAPER_PID" "$TSDB_PID" ||
        { tail -5 "$TMP/scraper.log" "$TMP/tsdb.log" >&2; return 1; }
    {
        echo "scraped_total=$(metric_sum "http://127.0.0.1:$sh/metrics" fw_scraper_samples_total)"
        echo "batches_dropped=$(metric_sum "http://127.0.0.1:$sh/metrics" fw_sender_dropped_batches_total)"
        echo "scrape_failures=$(metric_sum "http://127.0.0.1:$sh/metrics" fw_scraper_scrape_failures_total)"
        echo "scraper_hwm_kb=$(hwm_kb "$SCRAPER_PID") tsdb_hwm_kb=$(hwm_kb "$TSDB_PID")"
        echo "scraper_cpu=$(cpu_seconds "$SCRAPER_PID") tsdb_cpu=$(cpu_seconds "$TSDB_PID")"
    } >>"$TMP/ours.$r.env"
    if [ "${INGEST_RESTART:-0}" = 1 ] && [ "$r" = "$ROUNDS" ]; then
        restart_after_kill TSDB_PID "http://127.0.0.1:$th/-/ready" "$BIN/tsdb" --log.level=warn \
            --web.listen-address="127.0.0.1:$th" --storage.tsdb.path="$TMP/fw-data.$r" \
            --zmq.samples-address="tcp://127.0.0.1:$zs" --zmq.query-address="tcp://127.0.0.1:$zq" \
            --zmq.pub-address="tcp://127.0.0.1:$zp" 2>>"$TMP/tsdb.log" || return 1
        echo "restart_s=$RESTART_S" >>"$TMP/ours.$r.env"
    fi
    stop_pid "$SCRAPER_PID" 30
    stop_pid "$TSDB_PID" 60
    RUN_PIDS=()
    echo "disk_bytes=$(du -s --block-size=1 "$TMP/fw-data.$r" | cut -f1)" >>"$TMP/ours.$r.env"
    rm -rf "$TMP/fw-data.$r"
}

# restart_after_kill PID_VAR READY_URL CMD...: SIGKILL $PID_VAR's process, start CMD, set
# RESTART_S to the seconds to READY_URL and PID_VAR to the new process (not in a subshell: the
# new PID must reach RUN_PIDS, which the cleanup stops)
restart_after_kill() {
    local var=$1 url=$2 t0 t1; shift 2
    kill -9 "${!var}" 2>/dev/null || true
    wait "${!var}" 2>/dev/null || true
    t0=$(now)
    "$@" &
    printf -v "$var" '%s' "$!"
    RUN_PIDS+=("${!var}")
    wait_http "$url" 120 || { echo "bench-ingest: no restart of $1" >&2; return 1; }
    t1=$(now)
    RESTART_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
}

for ((R = 1; R <= ROUNDS; R++)); do
    peer_round "$R" || exit 1
    ours_round "$R" || exit 1
done

# --- report ---
for ((R = 1; R <= ROUNDS; R++)); do
    for side in peer ours; do
        echo "ingest_${side}_$R: $(tr '\n' ' ' <"$TMP/$side.$R.env")"
    done
done
# figures SIDE: samples/s, CPU us/sample window, CPU us/sample total, peak RSS MiB, disk B/sample,
# samples, series, disk bytes, RSS MiB at the end of the window, RSS bytes per series
figures() {
    (
        . "$TMP/$1.env"
        awk -v w="$win_s" -v cw="$cpu_win" -v ct="$cpu_total" -v sw="$samples_win" \
            -v st="$samples_total" -v h="$hwm_kb" -v d="$disk_bytes" -v se="$series" \
            -v r="$rss_kb" '
            function div(a, b) { return b > 0 ? a / b : 0 }
            BEGIN { printf "%.0f %.3f %.3f %.1f %.2f %d %d %.0f %.1f %.0f\n", div(sw, w),
                    div(cw * 1e6, sw), div(ct * 1e6, st), h / 1024, div(d, st), st, se, d,
                    r / 1024, div(r * 1024, se) }'
    )
}
# floorwatch per process: 1 = scraper, 2 = tsdb (the order measure() got them in)
per_process() {
    (
        . "$TMP/$1.env"
        awk -v sw="$samples_win" -v se="$series" -v c1="$cpu_win_1" -v c2="$cpu_win_2" \
            -v r1="$rss_kb_1" -v r2="$rss_kb_2" '
            function div(a, b) { return b > 0 ? a / b : 0 }
            BEGIN { printf "%.3f %.3f %.1f %.1f %.0f %.0f\n", div(c1 * 1e6, sw), div(c2 * 1e6, sw),
                    r1 / 1024, r2 / 1024, div(r1 * 1024, se), div(r2 * 1024, se) }'
    )
}
# medians FN SIDE: FN's figures for each round's SIDE, and the median of each column
medians() {
    local r
    for ((r = 1; r <= ROUNDS; r++)); do "$1" "$2.$r"; done | awk '
        { for (i = 1; i <= NF; i++) v[i, NR] = $i; if (NF > nf) nf = NF }
        END {
            for (i = 1; i <= nf; i++) {
                for (j = 1; j <= NR; j++) a[j] = v[i, j] + 0
                for (j = 2; j <= NR; j++) for (k = j; k > 1 && a[k - 1] > a[k]; k--) {
                    t = a[k]; a[k] = a[k - 1]; a[k - 1] = t }
                printf "%s%s", (i > 1 ? " " : ""), a[int((NR + 1) / 2)]
            }
            print ""
        }'
}
read -r p_sps p_cw p_ct p_rss p_bps p_st p_se p_d p_res p_rps < <(medians figures peer)
read -r o_sps o_cw o_ct o_rss o_bps o_st o_se o_d o_res o_rps < <(medians figures ours)
read -r s_cw t_cw s_res t_res s_rps t_rps < <(medians per_process ours)
echo
echo "$TITLE, $NT targets x $NS series every ${IV}s, ${DUR}s a side, $ROUNDS round(s), same" \
    "synth-exporter (each figure the median over the rounds; higher ratio = floorwatch better;" \
    "scraper and tsdb rows against Prometheus's whole):"
awk -v ps="$p_sps" -v os="$o_sps" -v pcw="$p_cw" -v ocw="$o_cw" -v pct="$p_ct" -v oct="$o_ct" \
    -v pr="$p_rss" -v or="$o_rss" -v pb="$p_bps" -v ob="$o_bps" -v pst="$p_st" -v ost="$o_st" \
    -v pse="$p_se" -v ose="$o_se" -v pd="$p_d" -v od="$o_d" -v scw="$s_cw" -v tcw="$t_cw" \
    -v pres="$p_res" -v ores="$o_res" -v sres="$s_res" -v tres="$t_res" -v prps="$p_rps" \
    -v orps="$o_rps" -v srps="$s_rps" -v trps="$t_rps" '
    function r(a, b) { return (a > 0 && b > 0) ? sprintf("%.2fx", a / b) : "n/a" }
    BEGIN {
        OFS = "\t"
        print "metric", "prometheus", "floorwatch", "ratio"
        print "samples/s ingested (window)", ps, os, r(os, ps)
        print "CPU us per sample (window)", pcw, ocw, r(pcw, ocw)
        print "  scraper alone", pcw, scw, r(pcw, scw)
        print "  tsdb alone", pcw, tcw, r(pcw, tcw)
        print "CPU us per sample (total, incl. start-up)", pct, oct, r(pct, oct)
        print "RSS MiB (end of window)", pres, ores, r(pres, ores)
        print "  scraper alone", pres, sres, r(pres, sres)
        print "  tsdb alone", pres, tres, r(pres, tres)
        print "RSS bytes per active series", prps, orps, r(prps, orps)
        print "  scraper alone", prps, srps, r(prps, srps)
        print "  tsdb alone", prps, trps, r(prps, trps)
        print "peak RSS MiB", pr, or, r(pr, or)
        print "disk bytes per sample (end of run)", pb, ob, r(pb, ob)
        print "disk bytes (data dir, du)", pd, od, r(pd, od)
        print "samples ingested (total)", pst, ost, "-"
        print "active series in storage", pse, ose, "-"
    }' | column -t -s $'\t'
if [ "$ROUNDS" -gt 1 ]; then
    # Each round's own pair (its two sides a minute apart): the goal of issue 7 item 10 is
    # the scraper alone at most a sixth of Prometheus's whole, in every round.
    for ((R = 1; R <= ROUNDS; R++)); do
        read -r _ pc _ < <(figures "peer.$R")
        read -r sc _ < <(per_process "ours.$R")
        echo "$R $pc $sc"
    done | awk '{ r = $3 / $2; printf "%s%d: %.3f / %.3f us (%.3f)", (NR > 1 ? ", " : ""), $1, $3, $2, r
                  if (r > m) m = r } END { printf "; the highest %.3f\n", m }' |
        sed 's/^/rounds, scraper alone \/ Prometheus'"'"'s whole a sample: /'
fi
(
    . "$TMP/ours.$ROUNDS.env"
    echo "(the last round's: floorwatch = scraper + tsdb summed; whole run: CPU scraper ${scraper_cpu}s + tsdb" \
        "${tsdb_cpu}s, peak RSS scraper $((scraper_hwm_kb / 1024)) MiB + tsdb" \
        "$((tsdb_hwm_kb / 1024)) MiB; scraper parsed $scraped_total exposition samples (its" \
        "counter leaves out the 5 health series per target and scrape), tsdb appended" \
        "$samples_total, batches dropped $batches_dropped, scrape failures $scrape_failures)"
)
if [ "${INGEST_RESTART:-0}" = 1 ]; then
    pr=$(. "$TMP/peer.$ROUNDS.env"; echo "$restart_s") or=$(. "$TMP/ours.$ROUNDS.env"; echo "$restart_s")
    echo "restart after SIGKILL at the end of the last round's window, s to /-/ready: prometheus $pr," \
        "tsdb $or ($(awk -v a="$pr" -v b="$or" 'BEGIN{print (b > 0) ? sprintf("%.2fx", a / b) : "n/a"}'))"
fi
echo "(totals differ because Prometheus starts scraping ~5 s after start-up (discovery" \
    "batching); compare the window rows)"
echo "(disk: Prometheus' data dir holds the WAL + head chunks only, its 2 h head is not" \
    "compacted into blocks in ${DUR}s; the storage section compares backfilled blocks;" \
    "floorwatch's figure is the LMDB directory)"
