#!/usr/bin/env bash
# ruled_same_eval.sh — a rule that reads another rule's output in the same group sees this
# evaluation's value, as in Prometheus (ruled(8) CONCURRENCY, "Rules of one group").
#
# A real tsdb and ruled. Group `chain` records a = vector(time()) (an input that changes at
# every evaluation) and then b = a * 2, every second. Before this worked, ruled sent the
# group's samples after the whole group, so b's query saw the previous evaluation's a and
# every b was 2 x (a one interval earlier). Now ruled stores a (tsdb acknowledges it)
# before b's query runs: over 5 s, every b sample equals 2 x the a sample of the same
# timestamp (tsdb commits them at once on ruled's SAMPLES_SYNC). Group `indep` (two rules that read no record of the group) must not wait:
# its rules are not marked (fw_ruled_rule_group_syncs_total stays 0 for it).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
it_need_cmds jq curl
BUILD=${BUILD:-build}
it_need_bins ruled tsdb
BIN=$(cd "$BUILD/bin" && pwd)
it_tmpdir
echo 'rule_files: [groups.yml]' >"$IT_DIR/prometheus.yml"
cat >"$IT_DIR/groups.yml" <<'YML'
groups:
  - name: chain
    interval: 1s
    rules:
      - record: a
        expr: vector(time())
      - record: b
        expr: a * 2
  - name: indep
    interval: 1s
    rules:
      - record: c
        expr: vector(time())
      - record: d
        expr: vector(time()) * 2
YML
# tsdb commits only every 30 s here: ruled's SAMPLES_SYNC (docs/wire.md) makes it commit the
# records a worker waits for at once. Without it b's wait would outlast ruled's query
# timeout (10 s) and b would fail at every evaluation.
TSDB_ARGS=(--storage.tsdb.commit-interval=30s)
it_start_tsdb_and_alertd

port=$(it_free_port)
"$BIN/ruled" --storage.path= --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=127.0.0.1:$port \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) \
    >"$IT_DIR/ruled.log" 2>&1 &
pid=$!
IT_PIDS+=($pid)
it_wait_for "ruled ready" curl -sf "http://127.0.0.1:$port/-/ready"
sleep 6

# samples NAME: "timestamp value" lines of NAME over the last minute, from tsdb.
samples() {
    curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1[1m]" |
        jq -r '.data.result[0].values[]? | "\(.[0]) \(.[1])"'
}
samples a >"$IT_DIR/a.txt"
samples b >"$IT_DIR/b.txt"
n=$(wc -l <"$IT_DIR/b.txt")
[ "$n" -ge 4 ] || it_die "only $n samples of b after 6 s: $(cat "$IT_DIR/b.txt")"
bad=$(awk 'NR == FNR { a[$1] = $2; next }
           !($1 in a) || $2 != 2 * a[$1] { print "t=" $1 " b=" $2 " a=" (($1 in a) ? a[$1] : "none") }' \
    "$IT_DIR/a.txt" "$IT_DIR/b.txt")
[ -z "$bad" ] || it_die "b is not 2 x a of the same evaluation: $bad"
it_ok "b = 2 x a of the same evaluation at each of $n evaluations"

curl -sf "http://127.0.0.1:$port/metrics" >"$IT_DIR/metrics.txt"
grep -q '^fw_ruled_rule_group_syncs_total{rule_group=".*;chain"} [1-9]' "$IT_DIR/metrics.txt" ||
    it_die "no sync counted for chain: $(grep syncs "$IT_DIR/metrics.txt")"
! grep -q '^fw_ruled_rule_group_syncs_total{rule_group=".*;indep"} [1-9]' "$IT_DIR/metrics.txt" ||
    it_die "indep waited for tsdb: $(grep syncs "$IT_DIR/metrics.txt")"
it_ok "chain waits for tsdb before b; indep (no rule reads a record of its group) never waits"
syncs=$(curl -sf "http://127.0.0.1:$T_HTTP/metrics" | awk '$1 == "fw_tsdb_syncs_total" { print $2 }')
[ "${syncs:-0}" != 0 ] || it_die "tsdb counted no SAMPLES_SYNC"
it_ok "tsdb committed ruled's records on its SAMPLES_SYNC ($syncs), not at its 30 s interval"
it_term "$pid"
! grep -lE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$IT_DIR"/ruled.log ||
    it_die "sanitizer report in ruled.log"
echo "ruled_same_eval.sh: ${IT_PASSES} passed"
