#!/usr/bin/env bash
# run-stack.sh — what `make run` starts: the whole stack on its fixed default ports with the
# embedded default configs (no config file anywhere). Asserts that every daemon comes up,
# that the default scrape config reaches all seven targets, that the default rules and SLOs
# are loaded, and that SIGTERM (what Ctrl-C does through make) stops every daemon. Skipped,
# with one line, when a default port is already taken on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BIN=${BUILD:-build}/bin
for port in 9090 9093 9201 9202 9203 9204 9210 9211 5560 5561 5562 5563 5564 5565 5566 5567 5568 5569; do
    if it_has . ss -ltnH "( sport = :$port )" 2>/dev/null; then
        it_skip "default port $port is in use on this machine"
    fi
done
it_tmpdir
DATA="$IT_DIR/data" BUILD=${BUILD:-build} it_start stack sh tools/run-stack.sh
it_check "make run's launcher prints where to look" it_until 100 0.1 grep -q 'Press Ctrl-C' "$IT_DIR/stack.log"

up_count() { promtool query instant http://127.0.0.1:9090 'sum(up)' 2>/dev/null | sed -n 's/.*=> \([0-9]*\) @.*/\1/p'; }
all_up() { [ "$(up_count)" = 7 ]; }
it_check "the embedded scrape config reaches all 7 targets (up == 1, <= 30 s)" it_until 150 0.2 all_up
it_check "the embedded OEE rules and LineOEELow alert are loaded" \
    bash -c "curl -fsS http://127.0.0.1:9202/api/v1/rules | jq -e '[.data.groups[].rules[].name] | index(\"LineOEELow\") and index(\"line:oee:ratio\")' >/dev/null"
oee() { [ "$(curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=line:oee:ratio' | jq '.data.result | length')" = 3 ]; }
it_check "line:oee:ratio is recorded for 3 lines (<= 40 s)" it_until 200 0.2 oee
slo() { [ "$(curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=slo:objective:ratio' | jq '.data.result | length')" -ge 1 ]; }
it_check "slod writes its SLO series (<= 40 s)" it_until 200 0.2 slo
it_check "alertd serves amtool with the embedded route" \
    it_has factory-webhook amtool --alertmanager.url=http://127.0.0.1:9093 config routes

kill -TERM "$PID_stack"
stopped() { it_lacks . ss -ltnH '( sport = :9090 or sport = :9093 or sport = :9201 or sport = :9210 )'; }
it_check "SIGTERM stops every daemon the launcher started (<= 10 s)" it_until 100 0.1 stopped
it_finish
