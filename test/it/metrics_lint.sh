#!/usr/bin/env bash
# metrics_lint.sh — every daemon's /metrics passes `promtool check metrics` (issue 9 item 5),
# and its histograms are real histograms: each `# TYPE x histogram` family has cumulative
# x_bucket lines ending in le="+Inf" equal to x_count, and no other family is named like
# one's parts (a counter x_sum or x_count, which promtool refuses).
#
# tsdb, scraper, ruled, alertd, notifyd and slod run wired together on free loopback ports
# with their embedded example configs; each gets a few HTTP requests first, so that the
# per-route series (fw_http_requests_total, fw_http_request_duration_seconds) exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb scraper ruled alertd notifyd slod
it_need_cmds promtool curl python3
it_tmpdir
L=127.0.0.1

it_start_tsdb_and_alertd
N_NOTIFY=$(it_free_port) N_PUB=$(it_free_port) N_HTTP=$(it_free_port)
S_HTTP=$(it_free_port) R_HTTP=$(it_free_port) O_HTTP=$(it_free_port)
it_start notifyd "$BIN/notifyd" --web.listen-address=$L:$N_HTTP \
    --zmq.notify-address=tcp://$L:$N_NOTIFY --zmq.pub-address=tcp://$L:$N_PUB
it_start scraper "$BIN/scraper" --web.listen-address=$L:$S_HTTP \
    --zmq.tsdb-address=tcp://$L:$T_SAMPLES --zmq.pub-address=tcp://$L:$(it_free_port)
it_start ruled "$BIN/ruled" --storage.path="$IT_DIR/ruled-state" --web.listen-address=$L:$R_HTTP \
    --zmq.tsdb-address=tcp://$L:$T_SAMPLES --zmq.query-address=tcp://$L:$T_QUERY \
    --zmq.alertd-address=tcp://$L:$A_ALERTS --zmq.pub-address=tcp://$L:$(it_free_port)
it_start slod "$BIN/slod" --web.listen-address=$L:$O_HTTP --storage.path="$IT_DIR/slod" \
    --zmq.tsdb-address=tcp://$L:$T_SAMPLES --zmq.query-address=tcp://$L:$T_QUERY \
    --zmq.alertd-address=tcp://$L:$A_ALERTS --zmq.pub-address=tcp://$L:$(it_free_port)
for p in $N_HTTP $S_HTTP $R_HTTP $O_HTTP; do
    it_wait_http "http://$L:$p/-/healthy" || it_die "a daemon on :$p did not come up"
done

check() { # NAME PORT
    local name=$1 port=$2 f="$IT_DIR/$1.metrics"
    for _ in 1 2 3; do curl -s -o /dev/null "http://$L:$port/-/healthy"; done
    curl -s -o /dev/null "http://$L:$port/no/such/path"
    curl -fsS "http://$L:$port/metrics" >"$f" || it_die "$name: no /metrics"
    if promtool check metrics <"$f" >"$IT_DIR/$name.lint" 2>&1; then
        it_ok "$name: promtool check metrics accepts its /metrics"
    else
        cat "$IT_DIR/$name.lint"
        it_die "$name: promtool check metrics refuses its /metrics"
    fi
    python3 - "$f" "$name" <<'PY' || it_die "$name: a histogram is not a real histogram"
import re, sys
path, name = sys.argv[1], sys.argv[2]
types, samples = {}, []
for line in open(path):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        types[m.group(1)] = m.group(2)
    elif line.strip() and not line.startswith("#"):
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)", line)
        samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
hists = [f for f, t in types.items() if t == "histogram"]
if "fw_http_request_duration_seconds" not in hists:
    sys.exit("%s: fw_http_request_duration_seconds is not a histogram" % name)
for f, t in types.items():
    if t != "histogram" and (f.endswith("_sum") or f.endswith("_count") or f.endswith("_bucket")) \
            and f.rsplit("_", 1)[0] in types:
        sys.exit("%s: %s (%s) is a part of another family" % (name, f, t))
for h in hists:
    series = {}
    for n, lab, v in samples:
        if n == h + "_bucket":
            le = re.search(r'le="([^"]*)"', lab).group(1)
            key = re.sub(r',?le="[^"]*"', "", lab)
            series.setdefault(key, []).append((float(le), v))
    counts = {lab: v for n, lab, v in samples if n == h + "_count"}
    if not series:
        sys.exit("%s: histogram %s has no buckets" % (name, h))
    for key, bs in series.items():
        les = [le for le, _ in bs]
        vals = [v for _, v in bs]
        if les != sorted(les) or les[-1] != float("inf") or vals != sorted(vals):
            sys.exit("%s: %s%s buckets not cumulative up to +Inf: %s" % (name, h, key, bs))
        if counts.get(key.replace("{}", "")) != vals[-1]:
            sys.exit("%s: %s%s +Inf bucket %s != count %s" % (name, h, key, vals[-1],
                                                               counts.get(key)))
print("%s: %d histograms with buckets" % (name, len(hists)))
PY
    it_ok "$name: its histograms have cumulative buckets up to +Inf = count"
}
check tsdb "$T_HTTP"
check alertd "$A_HTTP"
check notifyd "$N_HTTP"
check scraper "$S_HTTP"
check ruled "$R_HTTP"
check slod "$O_HTTP"
echo "metrics_lint.sh: $IT_PASSES passed"
