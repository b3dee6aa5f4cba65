#!/usr/bin/env bash
# plant_stack.sh — the plant's rules (ruled/ruled.rules.yml, ruled/ruled.prices.yml) run
# against live data: factorysim (line2 in trouble) scraped by the scraper into tsdb, ruled
# on ruled.example.yml with the two rule files (group intervals shortened to 2 s so the
# test is quick). Every one of the rules evaluates healthy on floorwatch's PromQL, and the
# KPIs come out as factorysim's model says: OEE per line (healthy ~0.84, line2 ~0.30),
# Andon calls open on line2, its broken machine's and its scrap alerts pending, the filling
# data disk's prediction pending, production
# against target, the production namespace's share of its monthly budget.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
BUILD=${BUILD:-build}
it_need_bins factorysim scraper tsdb ruled
it_need_cmds jq curl
BIN=$(cd "$BUILD/bin" && pwd)
it_tmpdir
L=127.0.0.1
FS=$(it_free_port) SC=$(it_free_port) TH=$(it_free_port) TS=$(it_free_port) TQ=$(it_free_port)
RH=$(it_free_port)

mkdir -p "$IT_DIR/cfg"
cp ruled/ruled.example.yml ruled/ruled.prices.yml "$IT_DIR/cfg/"
sed -e 's/^    interval: [0-9]*[sm]$/    interval: 2s/' ruled/ruled.rules.yml >"$IT_DIR/cfg/ruled.rules.yml"
sed -i 's/evaluation_interval: 5s/evaluation_interval: 2s/' "$IT_DIR/cfg/ruled.example.yml"
cat >"$IT_DIR/scrape.yml" <<YML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: factory
    static_configs: [{targets: ["$L:$FS"]}]
YML

it_start factorysim "$BIN/factorysim" --web.listen-address=$L:$FS --trouble=line2
it_start tsdb "$BIN/tsdb" --web.listen-address=$L:$TH --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address=tcp://$L:$TS --zmq.query-address=tcp://$L:$TQ \
    --zmq.pub-address=tcp://$L:$(it_free_port) --storage.tsdb.map-size=64MiB
it_wait_for "tsdb ready" curl -sf "http://$L:$TH/-/ready"
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/scrape.yml" --web.listen-address=$L:$SC \
    --zmq.tsdb-address=tcp://$L:$TS --zmq.pub-address=tcp://$L:$(it_free_port)
q() { curl -sf "http://$L:$TH/api/v1/query" --data-urlencode "query=$1"; }
n() { q "$1" | jq '.data.result | length'; }
# three scrapes in, so every rate has samples
it_wait_for "three scrapes of factorysim" bash -c "[ \"\$(curl -sf 'http://$L:$TH/api/v1/query' \
    --data-urlencode 'query=count_over_time(factory_line_up{line=\"line1\"}[1m])' |
    jq -r '.data.result[0].value[1] // 0')\" -ge 3 ]"
it_start ruled "$BIN/ruled" --config.file="$IT_DIR/cfg/ruled.example.yml" --storage.path= \
    --web.listen-address=$L:$RH --zmq.tsdb-address=tcp://$L:$TS --zmq.query-address=tcp://$L:$TQ \
    --zmq.alertd-address=tcp://$L:$(it_free_port) --zmq.pub-address=tcp://$L:$(it_free_port)
it_wait_for "ruled ready" curl -sf "http://$L:$RH/-/ready"

# Every rule evaluated at least twice (records read records of the same group through tsdb,
# one evaluation late), all healthy.
evaluated() {
    curl -sf "http://$L:$RH/api/v1/rules" >"$IT_DIR/rules.json" &&
        jq -e '[.data.groups[].rules[]] | length == 83 and all(.health != "unknown")' \
            "$IT_DIR/rules.json" >/dev/null
}
it_until 200 0.1 evaluated || it_die "rules not all evaluated: $(jq -c '[.data.groups[].rules[] | select(.health == "unknown") | .name]' "$IT_DIR/rules.json")"
sleep 4.5
curl -sf "http://$L:$RH/api/v1/rules" >"$IT_DIR/rules.json"
bad=$(jq -c '[.data.groups[].rules[] | select(.health != "ok") | {name, lastError}]' "$IT_DIR/rules.json")
[ "$bad" = "[]" ] || it_die "rules failing on floorwatch's PromQL: $bad"
it_ok "all 83 rules of ruled.rules.yml and ruled.prices.yml evaluate healthy on live data"

val() { q "$1" | jq -r '.data.result[0].value[1] // "none"'; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "none" && v >= lo && v <= hi) }'; }
[ "$(n ms5:line_oee:ratio_5m)" = 3 ] || it_die "ms5:line_oee:ratio_5m: $(n ms5:line_oee:ratio_5m) lines"
l1=$(val 'ms5:line_oee:ratio_5m{line="line1"}') l2=$(val 'ms5:line_oee:ratio_5m{line="line2"}')
within "$l1" 0.78 0.90 && within "$l2" 0.25 0.36 || it_die "OEE line1 $l1 (want ~0.84), line2 $l2 (~0.30)"
it_ok "ms5:line_oee:ratio_5m for 3 lines: line1 $l1, line2 (in trouble) $l2"
p=$(val 'ms5:plant_oee:ratio_5m')
within "$p" 0.5 0.8 || it_die "plant OEE $p"
it_ok "ms5:plant_oee:ratio_5m $p"
[ "$(val 'ms5:line_andon_open:count{line="line2"}')" = 2 ] || it_die "line2 Andon calls open: $(val 'ms5:line_andon_open:count{line="line2"}')"
it_ok "line2 has 2 Andon calls open (quality, maintenance)"
# rate() over [5m] divides by the whole window, so minutes after a start it reads low: the
# checks below compare lines, or hold whatever part of the window is filled.
# Read over up to 5 evaluations (2 s each): twice in one CI run (20:33 and 20:37, then not
# in 9 runs) one evaluation gave 2.16-2.18, as if line1's newest sample was left out and
# line2's was not (2.76 x 7/9 at the ninth second). A query that saw part of one scrape's
# batch did that: tsdb now reads whole batches only, as of the query's start (755e663,
# shown by test/check_tsdb_iso.c); the retries stay, and an evaluation must give 2.76.
attainment() {
    a1=$(val 'ms5:line_production_attainment:ratio_5m{line="line1"}')
    a2=$(val 'ms5:line_production_attainment:ratio_5m{line="line2"}')
    r=$(awk -v a="$a1" -v b="$a2" 'BEGIN { print (b > 0 ? a / b : 0) }')
    echo "attainment line1 $a1 / line2 $a2 = $r" >>"$IT_DIR/attainment.log"
    within "$r" 2.4 3.1
}
attainment || it_until 10 1 attainment ||
    it_die "production attainment: $(tr '\n' ';' <"$IT_DIR/attainment.log") (want ~2.76)"
it_ok "production against target: line1 makes $r times what line2 (in trouble) makes"
# records that read records of their group come one evaluation later per step of the chain
# (usage, hourly, projected, share): wait for the last
has_share() { [ "$(val 'ms5:namespace_cost_budget:ratio{namespace="production"}')" != none ]; }
it_until 200 0.1 has_share || it_die "ms5:namespace_cost_budget:ratio never recorded"
c=$(val 'ms5:namespace_cost_budget:ratio{namespace="production"}')
within "$c" 0.72 0.95 || it_die "production's budget share $c (want 0.73 on requests to 0.90 on usage)"
it_ok "the production namespace is on course for $c of its monthly budget"
alerts=$(curl -sf "http://$L:$RH/api/v1/alerts")
for a in 'MachineDown line2' 'AndonUnacknowledged line2' 'ScrapRateHigh line2' 'DiskWillFillIn24Hours -'; do
    set -- $a
    echo "$alerts" | jq -e --arg n "$1" --arg l "$2" '[.data.alerts[] | select(.labels.alertname == $n
        and ($l == "-" or .labels.line == $l)
        and (.labels.business_impact | IN("critical","high","medium","low")))] | length > 0' \
        >/dev/null || it_die "no $1 alert for $2: $alerts"
done
it_ok "MachineDown, AndonUnacknowledged, ScrapRateHigh (line2) and DiskWillFillIn24Hours active, with business_impact"
echo "plant_stack.sh: ${IT_PASSES} passed"
