#!/usr/bin/env bash
# scraper_factorysim.sh — the demo factory exporter, checked by the real Prometheus tools.
#
# Asserts that factorysim's exposition passes `promtool check metrics`, that its counters
# are monotonic, that /trouble, /recover and /state behave, that the real prometheus scrapes
# it (up == 1) and that the lead's OEE formulas over its series give ~0.84 for a healthy
# line and ~0.30 for a troubled one, including a line put in trouble mid-run (rates over a
# few seconds show it), and that floorwatch's scraper scrapes it too. SIGTERM exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_tmpdir

FS_PORT=$(it_free_port)
it_start factorysim "$BIN/factorysim" --web.listen-address="127.0.0.1:$FS_PORT" --trouble=line3
FS="http://127.0.0.1:$FS_PORT"
it_wait_http "$FS/metrics"

# --- exposition and HTTP control ---
curl -fsS "$FS/metrics" > "$IT_DIR/m1.txt"
promtool_metrics() { promtool check metrics < "$1" > "$IT_DIR/promtool.log" 2>&1; }
if command -v promtool >/dev/null; then
    it_check "promtool check metrics accepts the exposition" promtool_metrics "$IT_DIR/m1.txt"
fi
it_check "3 lines x 2 machines of factory_units_produced_total" \
    [ "$(grep -c '^factory_units_produced_total{' "$IT_DIR/m1.txt")" = 6 ]
for fam in factory_units_good_total factory_units_bad_total factory_runtime_planned_seconds_total \
           factory_runtime_actual_seconds_total factory_ideal_cycle_time_seconds \
           factory_andon_events_total factory_andon_active factory_line_up \
           factory_production_target_units_per_hour factory_units_scrap_total factory_andon_open \
           factory_andon_unacknowledged factory_andon_acknowledge_duration_seconds \
           factory_andon_resolve_duration_seconds factory_machine_up factory_machine_uptime_seconds_total \
           factory_machine_downtime_seconds_total factory_machine_failures_total \
           factory_machine_repairs_total factory_tool_wear_ratio kube_pod_container_resource_requests \
           container_cpu_usage_seconds_total container_memory_working_set_bytes \
           node_filesystem_size_bytes node_filesystem_avail_bytes; do
    it_check "$fam has HELP, TYPE and samples" \
        grep -q "^# TYPE $fam " "$IT_DIR/m1.txt"
done
for i in 2 3 4 5 6 7 8; do sleep 0.15; curl -fsS "$FS/metrics" > "$IT_DIR/m$i.txt"; done
# monotonic A B: every counter in B >= in A, and some grew.
monotonic() {
    awk 'NR == FNR { if ($1 !~ /^#/) a[$1] = $2; next }
         $1 !~ /^#/ && $1 ~ /_total/ { if ($2 < a[$1]) bad = 1; if ($2 > a[$1]) up = 1 }
         END { exit bad || !up }' "$1" "$2"
}
all_monotonic() {
    for i in 1 2 3 4 5 6 7; do monotonic "$IT_DIR/m$i.txt" "$IT_DIR/m$((i + 1)).txt" || return 1; done
}
it_check "counters grow and never go back (8 scrapes)" all_monotonic
it_check "line3 starts in trouble with an Andon" \
    grep -q '^factory_andon_active{line="line3"} 1$' "$IT_DIR/m8.txt"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
it_check "POST /trouble?line=nope is 404" [ "$(code -X POST "$FS/trouble?line=nope")" = 404 ]
it_check "POST /trouble without line is 400" [ "$(code -X POST "$FS/trouble")" = 400 ]
it_check "GET /trouble is 405" [ "$(code "$FS/trouble?line=line1")" = 405 ]
it_check "POST /trouble (form body) then /recover works" \
    [ "$(code -X POST -d line=line1 "$FS/trouble")$(code -X POST "$FS/recover?line=line1")" = 200200 ]
it_check "/state is JSON with the OEE model" \
    [ "$(curl -fsS "$FS/state" | jq -c '[.lines[] | [.line, .trouble, .oee]]')" \
      = '[["line1",false,0.8379],["line2",false,0.8379],["line3",true,0.304]]' ]

# --- the real prometheus ---
if command -v prometheus >/dev/null; then
    PROM_PORT=$(it_free_port)
    cat > "$IT_DIR/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: factory
    static_configs:
      - targets: ["127.0.0.1:$FS_PORT"]
YML
    it_start prometheus prometheus --config.file="$IT_DIR/prom.yml" \
        --storage.tsdb.path="$IT_DIR/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT"
    PROM="http://127.0.0.1:$PROM_PORT"
    it_wait_http "$PROM/-/ready" 200
    q() { curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$1"; }
    up_is_1() { [ "$(q 'up{job="factory"}' | jq -r '.data.result[0].value[1]')" = 1 ]; }
    it_check "prometheus scrapes factorysim (up == 1)" it_until 100 0.2 up_is_1
    no_scrape_errors() {
        [ "$(q 'scrape_samples_scraped{job="factory"}' | jq -r '.data.result[0].value[1]')" = "$nsamples" ]
    }
    nsamples=$(grep -vc '^#' "$IT_DIR/m1.txt")
    it_check "prometheus ingests all $nsamples samples" it_until 20 0.2 no_scrape_errors
    # oee W LINE: the lead's three recording-rule formulas over window W, multiplied.
    oee() {
        local w=$1 line=$2 a p qq
        a=$(q "sum by (line)(rate(factory_runtime_actual_seconds_total{line=\"$line\"}[$w])) / sum by (line)(rate(factory_runtime_planned_seconds_total{line=\"$line\"}[$w]))" | jq -r '.data.result[0].value[1]')
        p=$(q "sum by (line)(factory_ideal_cycle_time_seconds{line=\"$line\"}) * sum by (line)(rate(factory_units_produced_total{line=\"$line\"}[$w])) / sum by (line)(rate(factory_runtime_actual_seconds_total{line=\"$line\"}[$w]))" | jq -r '.data.result[0].value[1]')
        qq=$(q "sum by (line)(rate(factory_units_good_total{line=\"$line\"}[$w])) / sum by (line)(rate(factory_units_produced_total{line=\"$line\"}[$w]))" | jq -r '.data.result[0].value[1]')
        echo "    $line over $w: availability=$a performance=$p quality=$qq" >&2
        awk -v a="$a" -v p="$p" -v q="$qq" 'BEGIN { printf "%.4f\n", a * p * q }'
    }
    between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }
    sleep 8
    it_check "healthy line1 OEE ~0.84" between "$(oee 8s line1)" 0.78 0.90
    it_check "troubled line3 OEE ~0.30" between "$(oee 8s line3)" 0.25 0.36
    curl -fsS -X POST "$FS/trouble?line=line2" >/dev/null
    sleep 5
    it_check "line2 OEE over the last 4s drops right after /trouble" \
        between "$(oee 4s line2)" 0.22 0.40
fi

# --- floorwatch's own scraper ---
WEB_PORT=$(it_free_port)
cat > "$IT_DIR/fw.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: factory
    static_configs:
      - targets: ["127.0.0.1:$FS_PORT"]
YML
it_start_scraper "$IT_DIR/fw.yml" "$WEB_PORT"
fw_up() {
    [ "$(curl -fsS "http://127.0.0.1:$WEB_PORT/api/v1/targets" | jq -r '.data.activeTargets[0].health')" = up ]
}
it_check "floorwatch scraper scrapes factorysim (health up)" it_until 50 0.1 fw_up

it_term "$PID_factorysim"
it_check "factorysim exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
