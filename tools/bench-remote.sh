#!/usr/bin/env bash
# bench-remote.sh KIT_DIR BIN_DIR — the remote-write section of `make bench` (called by
# bench.sh with BENCH_SECTIONS=remote).
#
# The same data for every pair: one synth-exporter (from the peer kit) serves N targets x M
# series every INTERVAL s. Two receivers run throughout: the Debian prometheus with
# --web.enable-remote-write-receiver (no scrape of its own) and a floorwatch tsdb
# (POST /api/v1/write). Then each sender in turn scrapes the exporter and remote-writes:
#   1. prometheus scraping alone (window 0: its baseline), then, after a reload (SIGHUP)
#      that adds remote_write, to the prometheus receiver (window 1), then to tsdb (window 2);
#   2. scraper + tsdb scraping alone (window 3), then tsdb's remote_write (a reload) to the
#      prometheus receiver (window 4), then to the tsdb receiver (window 5).
# Per window (after WARMUP seconds): CPU (utime+stime from /proc/PID/stat) of the sender and
# of the receiver, samples sent (the sender's counter: prometheus_remote_storage_samples_total,
# fw_tsdb_remote_storage_samples_total) and received (prometheus_tsdb_head_samples_appended_total
# of the receiver, which scrapes nothing; fw_tsdb_remote_write_samples_total). A sender's cost
# is its CPU in a sending window less its CPU in the baseline window of the same length,
# per sample sent; a receiver's is its CPU per sample received. The machine's load average
# is printed before and after. Environment (defaults): REMOTE_TARGETS (20), REMOTE_SERIES
# (1000), REMOTE_INTERVAL (1), REMOTE_WINDOW (30), REMOTE_WARMUP (30: a Prometheus sender
# reshards every 10 s). Every process is started and stopped by PID, every wait is bounded,
# the temp dir is removed.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NT=${REMOTE_TARGETS:-20} NS=${REMOTE_SERIES:-1000} IV=${REMOTE_INTERVAL:-1}
WIN=${REMOTE_WINDOW:-30} WARM=${REMOTE_WARMUP:-30}
. "$KIT/lib.sh"
. "$HERE/bench-lib.sh"

bench_tmp remote
EXP_PID=""

echo "   remote: $NT targets x $NS series every ${IV}s; windows of ${WIN}s after ${WARM}s;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
bench_exporter "$KIT" "$NT" "$NS" $((8 * (WIN + WARM) + 300)) "$TMP" ||
    { echo "bench-remote: synth-exporter did not start" >&2; exit 1; }

# --- the receivers ---
RP=$(free_port) RT=$(free_port)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$TMP/receiver.yml"
prometheus --config.file="$TMP/receiver.yml" --storage.tsdb.path="$TMP/recv-prom" \
    --web.listen-address="127.0.0.1:$RP" --web.enable-remote-write-receiver \
    >"$TMP/recv-prom.log" 2>&1 &
RPROM_PID=$!
"$BIN/tsdb" --log.level=warn --config.file="$TMP/receiver.yml" --web.listen-address="127.0.0.1:$RT" \
    --storage.tsdb.path="$TMP/recv-tsdb" --scraper.url= --ruled.url= \
    --zmq.samples-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.query-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.pub-address="tcp://127.0.0.1:$(free_port)" >"$TMP/recv-tsdb.log" 2>&1 &
RTSDB_PID=$!
RUN_PIDS=("$RPROM_PID" "$RTSDB_PID")
wait_http "http://127.0.0.1:$RP/-/ready" 60 && wait_http "http://127.0.0.1:$RT/-/ready" 60 ||
    { echo "bench-remote: a receiver did not start" >&2; exit 1; }

# config OUT [URL]: the sender's prometheus.yml, remote-writing to URL when given
config() {
    {
        echo "global: {scrape_interval: ${IV}s, scrape_timeout: ${IV}s}"
        echo "scrape_configs:"
        echo "  - job_name: synth"
        echo "    static_configs:"
        echo "      - targets:"
        sed 's/.*/          - "&"/' "$TMP/targets.txt"
        if [ -n "${2:-}" ]; then
            echo "remote_write:"
            echo "  - url: $2"
            echo "    queue_config: {batch_send_deadline: 1s}"
        fi
    } >"$1"
}
# window NAME SENDER_PID SENT_URL SENT_METRIC [RECEIVER_PID RECV_URL RECV_METRIC]: sleep the
# warm-up, then measure a window into $TMP/NAME.env
window() {
    local name=$1 spid=$2 surl=$3 smetric=$4 rpid=${5:-} rurl=${6:-} rmetric=${7:-}
    local t1 t2 sc1 sc2 s1 s2 rc1=0 rc2=0 r1=0 r2=0
    sleep "$WARM"
    t1=$(now) sc1=$(cpu_seconds "$spid") s1=$(metric_sum "$surl" "$smetric")
    if [ -n "$rpid" ]; then rc1=$(cpu_seconds "$rpid") r1=$(metric_sum "$rurl" "$rmetric"); fi
    sleep "$WIN"
    t2=$(now) sc2=$(cpu_seconds "$spid") s2=$(metric_sum "$surl" "$smetric")
    if [ -n "$rpid" ]; then rc2=$(cpu_seconds "$rpid") r2=$(metric_sum "$rurl" "$rmetric"); fi
    {
        echo "secs=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b-a}')"
        echo "scpu=$(awk -v a="$sc1" -v b="$sc2" 'BEGIN{print b-a}') sent=$((s2 - s1))"
        echo "rcpu=$(awk -v a="$rc1" -v b="$rc2" 'BEGIN{print b-a}') recv=$((r2 - r1))"
    } >"$TMP/$name.env"
}

# sends PID METRICS_URL SCRAPED_METRIC SENT_METRIC W_ALONE W_PROM W_TSDB: the sender PID
# scraping alone, then (reloads) remote-writing to each receiver, a window each
sends() {
    local pid=$1 url=$2
    window "$5" "$pid" "$url" "$3"
    config "$TMP/sender.yml" "http://127.0.0.1:$RP/api/v1/write"
    kill -HUP "$pid"
    window "$6" "$pid" "$url" "$4" \
        "$RPROM_PID" "http://127.0.0.1:$RP/metrics" prometheus_tsdb_head_samples_appended_total
    config "$TMP/sender.yml" "http://127.0.0.1:$RT/api/v1/write"
    kill -HUP "$pid"
    window "$7" "$pid" "$url" "$4" \
        "$RTSDB_PID" "http://127.0.0.1:$RT/metrics" fw_tsdb_remote_write_samples_total
}

# --- 1. prometheus's sender ---
SP=$(free_port)
config "$TMP/sender.yml"
prometheus --config.file="$TMP/sender.yml" --storage.tsdb.path="$TMP/send-prom" \
    --web.listen-address="127.0.0.1:$SP" >"$TMP/send-prom.log" 2>&1 &
SPROM_PID=$!
RUN_PIDS+=("$SPROM_PID")
wait_http "http://127.0.0.1:$SP/-/ready" 60 || { echo "bench-remote: prometheus did not start" >&2; exit 1; }
S=http://127.0.0.1:$SP/metrics
sends "$SPROM_PID" "$S" prometheus_tsdb_head_samples_appended_total \
    prometheus_remote_storage_samples_total w0 w1 w2
p_failed=$(metric_sum "$S" prometheus_remote_storage_samples_failed_total)
stop_pid "$SPROM_PID" 60

# --- 2. tsdb's sender (scraper + tsdb) ---
TH=$(free_port) ZS=$(free_port) SH=$(free_port)
config "$TMP/sender.yml"
"$BIN/tsdb" --log.level=warn --config.file="$TMP/sender.yml" --web.listen-address="127.0.0.1:$TH" \
    --storage.tsdb.path="$TMP/send-tsdb" --scraper.url= --ruled.url= \
    --zmq.samples-address="tcp://127.0.0.1:$ZS" --zmq.query-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.pub-address="tcp://127.0.0.1:$(free_port)" >"$TMP/send-tsdb.log" 2>&1 &
STSDB_PID=$!
RUN_PIDS+=("$STSDB_PID")
wait_http "http://127.0.0.1:$TH/-/ready" 60 || { echo "bench-remote: tsdb did not start" >&2; exit 1; }
"$BIN/scraper" --log.level=warn --config.file="$TMP/sender.yml" \
    --web.listen-address="127.0.0.1:$SH" --zmq.tsdb-address="tcp://127.0.0.1:$ZS" \
    --zmq.pub-address="tcp://127.0.0.1:$(free_port)" >"$TMP/scraper.log" 2>&1 &
SCRAPER_PID=$!
RUN_PIDS+=("$SCRAPER_PID")
wait_http "http://127.0.0.1:$SH/-/ready" 60 || { echo "bench-remote: scraper did not start" >&2; exit 1; }
S=http://127.0.0.1:$TH/metrics
sends "$STSDB_PID" "$S" fw_tsdb_samples_appended_total fw_tsdb_remote_storage_samples_total \
    w3 w4 w5
t_failed=$(metric_sum "$S" fw_tsdb_remote_storage_samples_failed_total)
t_read=$(metric_sum "$S" fw_tsdb_remote_storage_samples_read_total)
t_sent=$(metric_sum "$S" fw_tsdb_remote_storage_samples_total)
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ---
for w in w0 w1 w2 w3 w4 w5; do echo "remote_$w: $(tr '\n' ' ' <"$TMP/$w.env")"; done
# fig W BASE: sent/s, received/s, sender extra CPU us per sample sent, receiver CPU us per
# sample received
fig() {
    (
        . "$TMP/$2.env"
        bsecs=$secs bscpu=$scpu
        . "$TMP/$1.env"
        awk -v s="$secs" -v sc="$scpu" -v se="$sent" -v rc="$rcpu" -v re="$recv" \
            -v bs="$bsecs" -v bc="$bscpu" '
            function div(a, b) { return b > 0 ? a / b : 0 }
            BEGIN { printf "%.0f %.0f %.3f %.3f\n", div(se, s), div(re, s),
                    div((sc - bc * div(s, bs)) * 1e6, se), div(rc * 1e6, re) }'
    )
}
read -r p2p_s p2p_r p2p_sc p2p_rc < <(fig w1 w0)
read -r p2t_s p2t_r p2t_sc p2t_rc < <(fig w2 w0)
read -r t2p_s t2p_r t2p_sc t2p_rc < <(fig w4 w3)
read -r t2t_s t2t_r t2t_sc t2t_rc < <(fig w5 w3)
echo
echo "remote write, $NT targets x $NS series every ${IV}s, ${WIN}s windows, same synth-exporter" \
    "(sender CPU = CPU beyond the same sender's scraping-only window; higher ratio = floorwatch better):"
awk -v a="$p2p_s" -v b="$p2p_r" -v c="$p2p_sc" -v d="$p2p_rc" \
    -v e="$p2t_s" -v f="$p2t_r" -v g="$p2t_sc" -v h="$p2t_rc" \
    -v i="$t2p_s" -v j="$t2p_r" -v k="$t2p_sc" -v l="$t2p_rc" \
    -v m="$t2t_s" -v n="$t2t_r" -v o="$t2t_sc" -v p="$t2t_rc" '
    function r(x, y) { return (x > 0 && y > 0) ? sprintf("%.2fx", x / y) : "n/a" }
    BEGIN {
        OFS = "\t"
        print "sender -> receiver", "sent/s", "received/s", "sender CPU us/sample", "receiver CPU us/sample"
        print "prometheus -> prometheus", a, b, c, d
        print "prometheus -> tsdb", e, f, g, h
        print "tsdb -> prometheus", i, j, k, l
        print "tsdb -> tsdb", m, n, o, p
        print ""
        print "receiver (same prometheus sender)", "prometheus", "tsdb", "ratio"
        print "  CPU us per sample received", d, h, r(d, h)
        print "sender (to the prometheus receiver)", "prometheus", "tsdb", "ratio"
        print "  CPU us per sample sent", c, k, r(c, k)
        print "sender (to the tsdb receiver)", "prometheus", "tsdb", "ratio"
        print "  CPU us per sample sent", g, o, r(g, o)
    }' | column -t -s $'\t'
echo "(samples failed: prometheus sender $p_failed, tsdb sender $t_failed; tsdb's shards read" \
    "$(awk -v r="$t_read" -v s="$t_sent" 'BEGIN { if (s > 0 && r > 0) printf "%.2f", r / s; else printf "n/a" }')" \
    "samples from the store per sample sent)"
