#!/usr/bin/env bash
# scraper_shards.sh — horizontal scaling: three scraper replicas (shards 0/3, 1/3 and 2/3;
# the last one takes its index from a StatefulSet pod name, HOSTNAME=scraper-2 with
# --shard.count=3) share one config of 12 static targets (a python3 HTTP server on 12
# ports) plus one target that relabel_configs drop, and push to one tsdb, which asks all
# three for /api/v1/targets.
#
# Asserts: each replica's activeTargets is a subset, the three are disjoint and their union
# is the 12 configured targets; the dropped target is listed by exactly one replica and
# counted once; every target's `up` series exists exactly once in tsdb (count by (instance)
# (up) is 1 for each, the instance set is the configured one) and was written by one scraper
# only (count_over_time(up[6s]) about 6 at a 1 s interval, not 12); every target server saw
# about one scrape a second, not two; tsdb's /api/v1/targets is the union (12 active, 1
# dropped, droppedTargetCounts 1, three scrapers up) and serves relabel_steps; with one
# replica stopped tsdb still answers, names it in warnings and data.scrapers, and shows the
# other two shards' targets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds curl /usr/bin/python3
it_tmpdir

PORTS=()
for _ in $(seq 1 12); do PORTS+=("$(it_free_port)"); done
# The targets: one python3 process, one server thread per port, each serving a few fixed
# metrics on /metrics and counting its scrapes on /hits.
cat > "$IT_DIR/targets.py" <<'PY'
import sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
hits = {}
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == "/metrics":
            hits[port] = hits.get(port, 0) + 1
            body = "# TYPE widget_count counter\nwidget_count_total{line=\"a\"} %d\nplant_temp 21.5\n" % hits[port]
        elif self.path == "/hits":
            body = "%d\n" % hits.get(port, 0)
        else:
            self.send_response(404); self.end_headers(); return
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
for p in sys.argv[1:]:
    s = ThreadingHTTPServer(("127.0.0.1", int(p)), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("serving", flush=True)
threading.Event().wait()
PY
it_start targets /usr/bin/python3 "$IT_DIR/targets.py" "${PORTS[@]}"
for p in "${PORTS[@]}"; do it_wait_http "http://127.0.0.1:$p/hits"; done
it_ok "12 targets serving"

TARGETS=$(printf "'127.0.0.1:%s', " "${PORTS[@]}")
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plant
    static_configs:
      - targets: [${TARGETS%, }]
      - targets: ['127.0.0.1:1']
        labels: {retired: 'yes'}
    relabel_configs:
      - source_labels: [retired]
        regex: 'yes'
        action: drop
YML
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml" --shard=1/3)
[ "$out" = "configuration OK" ] || it_die "check-config: $out"

T_HTTP=$(it_free_port)
T_SAMPLES=$(it_free_port)
S_HTTP=("$(it_free_port)" "$(it_free_port)" "$(it_free_port)")
URLS="http://127.0.0.1:${S_HTTP[0]},127.0.0.1:${S_HTTP[1]},http://127.0.0.1:${S_HTTP[2]}"
it_start tsdb "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP \
    --storage.tsdb.path="$IT_DIR/tsdb" --storage.tsdb.map-size=64MiB \
    --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES \
    --zmq.query-address=tcp://127.0.0.1:$(it_free_port) \
    --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) --scraper.url="$URLS"
it_wait_http "http://127.0.0.1:$T_HTTP/-/ready"
for i in 0 1 2; do
    if [ $i = 2 ]; then shard=(--shard.count=3); else shard=(--shard=$i/3); fi
    HOSTNAME=scraper-$i it_start scraper$i "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
        "${shard[@]}" --web.listen-address=127.0.0.1:${S_HTTP[$i]} \
        --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES \
        --zmq.pub-address=tcp://127.0.0.1:$(it_free_port)
done
for i in 0 1 2; do it_wait_http "http://127.0.0.1:${S_HTTP[$i]}/-/ready"; done
it_ok "tsdb and three scraper replicas up"

want=$(printf '127.0.0.1:%s\n' "${PORTS[@]}" | sort | tr '\n' ' ')
for i in 0 1 2; do curl -sf "http://127.0.0.1:${S_HTTP[$i]}/api/v1/targets" > "$IT_DIR/t$i.json"; done
/usr/bin/python3 - "$IT_DIR" "$want" <<'PY' || it_die "replicas' target lists"
import json, sys
d, want = sys.argv[1], sorted(sys.argv[2].split())
sets, dropped, counts = [], [], 0
for i in range(3):
    data = json.load(open("%s/t%d.json" % (d, i)))["data"]
    inst = [t["labels"]["instance"] for t in data["activeTargets"]]
    assert len(inst) == len(set(inst)), inst
    sets.append(set(inst))
    dropped += data["droppedTargets"]
    counts += data["droppedTargetCounts"]["plant"]
    sh = data["shard"]
    assert sh["index"] == i and sh["count"] == 3, sh
    assert sh["otherShardTargets"] == 13 - len(inst) - len(data["droppedTargets"]), sh
    for t in data["activeTargets"]:
        assert t["scrapePool"] == "plant" and t["labels"]["job"] == "plant", t
        assert t["discoveredLabels"]["__address__"] == t["labels"]["instance"], t
    print("  replica %d: %d targets, %d dropped" % (i, len(inst), len(data["droppedTargets"])))
# (a replica may own none: the ports are random, and 3 * (2/3)^12 = 2% of runs leave a
# shard empty, which is correct behaviour)
for a in range(3):
    for b in range(a + 1, 3):
        assert not (sets[a] & sets[b]), (a, b, sets[a] & sets[b])
assert sorted(sets[0] | sets[1] | sets[2]) == want, (sets, want)
assert len(dropped) == 1 and counts == 1, (dropped, counts)
assert dropped[0]["discoveredLabels"]["__address__"] == "127.0.0.1:1", dropped
assert dropped[0]["discoveredLabels"]["retired"] == "yes", dropped
PY
it_ok "each replica lists a disjoint subset; their union is the 12 targets; the dropped one is listed once"

# tsdb: every target's up exactly once, from one scraper.
q() { curl -sf --get "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1"; }
all_up() { [ "$(q 'count(up == 1)' | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')" = 12 ]; }
it_until 150 0.1 all_up || it_die "12 targets up in tsdb"
sleep 7 # six more scrapes of each
q 'count by (instance) (up)' > "$IT_DIR/count.json"
q 'count_over_time(up[6s])' > "$IT_DIR/over.json"
/usr/bin/python3 - "$IT_DIR" "$want" <<'PY' || it_die "up series in tsdb"
import json, sys
d, want = sys.argv[1], sorted(sys.argv[2].split())
r = json.load(open(d + "/count.json"))["data"]["result"]
got = sorted(x["metric"]["instance"] for x in r)
assert got == want, (got, want)
assert all(x["value"][1] == "1" for x in r), r
o = json.load(open(d + "/over.json"))["data"]["result"]
assert len(o) == 12, o
for x in o:
    n = float(x["value"][1])
    assert 4 <= n <= 8, ("up written %g times in 6 s at 1 s: scraped by more than one replica?" % n, x)
PY
it_ok "count by (instance) (up) is 1 for each of the 12 instances; count_over_time(up[6s]) 4..8 each"

h0=()
for p in "${PORTS[@]}"; do h0+=("$(curl -sf "http://127.0.0.1:$p/hits")"); done
sleep 5
k=0
for p in "${PORTS[@]}"; do
    h=$(curl -sf "http://127.0.0.1:$p/hits")
    n=$((h - h0[k]))
    [ $n -ge 3 ] && [ $n -le 7 ] || it_die "target :$p scraped $n times in 5 s at 1 s (once per replica would be ~5)"
    k=$((k + 1))
done
it_ok "every target server saw 3..7 scrapes in 5 s: one replica each"

TAPI="http://127.0.0.1:$T_HTTP/api/v1/targets"
curl -sf "$TAPI" > "$IT_DIR/tsdb.json"
/usr/bin/python3 - "$IT_DIR" "$want" "$URLS" <<'PY' || it_die "tsdb's /api/v1/targets"
import json, sys
d, want, urls = sys.argv[1], sorted(sys.argv[2].split()), sys.argv[3].split(",")
root = json.load(open(d + "/tsdb.json"))
assert root["status"] == "success" and "warnings" not in root, root.get("warnings")
data = root["data"]
inst = sorted(t["labels"]["instance"] for t in data["activeTargets"])
assert inst == want, inst
assert all(t["health"] == "up" for t in data["activeTargets"]), data["activeTargets"]
assert len(data["droppedTargets"]) == 1 and data["droppedTargetCounts"] == {"plant": 1}, data
sc = data["scrapers"]
assert [s["health"] for s in sc] == ["up"] * 3, sc
assert sorted(s["shard"]["index"] for s in sc) == [0, 1, 2], sc
assert sc[1]["url"] == "http://" + urls[1], sc
PY
it_ok "tsdb's /api/v1/targets: the union of the three replicas (12 active up, 1 dropped, 3 scrapers up)"

n=$(curl -sf "$TAPI?state=dropped" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d["activeTargets"]), len(d["droppedTargets"]))')
[ "$n" = "0 1" ] || it_die "tsdb state=dropped: $n"
n=$(curl -sf "$TAPI?scrapePool=nope" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d["activeTargets"]), len(d["droppedTargets"]))')
[ "$n" = "0 0" ] || it_die "tsdb scrapePool=nope: $n"
steps=$(curl -sf --get "$TAPI/relabel_steps" --data-urlencode scrapePool=plant \
    --data-urlencode 'labels={"__address__":"127.0.0.1:1","retired":"yes","job":"plant"}')
[ "$steps" = '{"status":"success","data":{"steps":[{"rule":{"source_labels":["retired"],"separator":";","regex":"yes","replacement":"$1","action":"drop"},"output":{},"keep":false}]}}' ] ||
    it_die "relabel_steps through tsdb: $steps"
code=$(curl -s -o "$IT_DIR/err.json" -w '%{http_code}' "$TAPI/relabel_steps?scrapePool=nope&labels=%7B%7D")
[ "$code" = 400 ] && grep -q 'scrape pool \\"nope\\" not found' "$IT_DIR/err.json" ||
    it_die "relabel_steps of an unknown pool: $code $(cat "$IT_DIR/err.json")"
it_ok "tsdb passes state/scrapePool on and serves relabel_steps (a drop step; 400 for an unknown pool)"

n1=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]["activeTargets"]))' "$IT_DIR/t1.json")
it_term "$PID_scraper1"
curl -sf "$TAPI" > "$IT_DIR/tsdb2.json"
/usr/bin/python3 - "$IT_DIR" "$n1" "${S_HTTP[1]}" <<'PY' || it_die "tsdb with one replica stopped"
import json, sys
d, n1, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
root = json.load(open(d + "/tsdb2.json"))
assert root["status"] == "success", root
w = root.get("warnings", [])
assert len(w) == 1 and ("127.0.0.1:" + port) in w[0], w
data = root["data"]
assert len(data["activeTargets"]) == 12 - n1, (len(data["activeTargets"]), n1)
assert [s["health"] for s in data["scrapers"]] == ["up", "down", "up"], data["scrapers"]
assert data["scrapers"][1]["lastError"], data["scrapers"]
PY
it_ok "one replica stopped: tsdb still answers, names it in warnings and data.scrapers, shows the other shards' targets"
echo "$(basename "$0"): $IT_PASSES passed"
