#!/usr/bin/env bash
# reload.sh — scraper, ruled and slod survive reloads that add and remove targets, groups
# and SLOs while scrapes, evaluations and queries are in flight (issue 5, item 1).
#
# A real stack on loopback: three small HTTP exporters (one path answers 150 ms late, so
# scrapes are in flight when a reload lands), a few closed ports (scrapes that fail at
# once; one job of them is scraped every 10 ms), tsdb fed by the scraper, and ruled and
# slod querying that tsdb with short query timeouts (late answers arrive on the DEALER
# socket after their group was replaced). Scrape and evaluation intervals are 10-200 ms,
# so timers are due at every reload.
#
# Each round rewrites all three configurations — every round some jobs, groups and SLOs
# go and others come back, one job and one group change labels every round (replaced, not
# kept), one of each stays (kept across reloads) — reloads all three daemons at once and
# waits until each has applied it. The first half of the rounds reload through POST
# /-/reload only: czmq defers zloop_timer_end() to the end of the loop iteration only until
# a signal has interrupted zloop_start once, so the SIGHUP rounds (every other round of the
# second half) come last. Asserts: every daemon stays alive and answers /-/healthy; after
# the last reload /api/v1/targets, /api/v1/rules and /api/v1/slos list exactly the final
# configuration; SIGTERM then exits 0 (under ASan: no use-after-free, no leak).
#
# BUILD=build-asan runs it against the sanitizer build. Runs in about 35 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb ruled slod
it_tmpdir
ROUNDS=${RELOAD_ROUNDS:-24}

# --- exporters: /metrics answers at once, /slow after 150 ms ---
cat > "$IT_DIR/exporter.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(0.15)
        n = int(time.time() * 10)
        lines = ["# TYPE e_requests_total counter",
                 'e_requests_total{code="200"} %d' % (n * 99),
                 'e_requests_total{code="500"} %d' % n,
                 "# TYPE e_gauge gauge"]
        lines += ['e_gauge{i="%d"} %d' % (i, i) for i in range(200)]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # the scraper hung up (scrape timeout): expected here
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
E=()
for n in 1 2 3; do
    E+=("127.0.0.1:$(it_free_port)")
    it_start "exporter$n" python3 "$IT_DIR/exporter.py" "${E[-1]##*:}"
done
R=() # closed ports: connection refused at once
for _ in 1 2 3 4 5 6; do R+=("127.0.0.1:$(it_free_port)"); done
for e in "${E[@]}"; do it_wait_http "http://$e/metrics"; done

# --- tsdb ---
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" \
    --storage.tsdb.path="$IT_DIR/tsdb" --storage.tsdb.map-size=64MiB \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.query-address="tcp://127.0.0.1:$T_QUERY" --zmq.pub-address="tcp://127.0.0.1:$T_PUB"
it_wait_http "http://127.0.0.1:$T_HTTP/-/ready" 200

# --- the configurations of round $1 ---
# Job/group/SLO k (1-4) is present in round i unless (i + k) % 3 == 0, so every round some
# leave and others come back.
present() { [ $((($1 + $2) % 3)) != 0 ]; }
list() { local IFS=,; echo "[\"$*\"]" | sed 's/,/","/g'; }

scraper_yml() {
    local i=$1 k
    echo "global: {scrape_interval: 100ms, scrape_timeout: 90ms}"
    echo "scrape_configs:"
    echo "  - {job_name: steady, static_configs: [{targets: $(list "${E[@]}")}]}"
    echo "  - {job_name: churn, static_configs: [{targets: $(list "${E[@]}")," \
        "labels: {round: \"r$i\"}}]}"
    echo "  - {job_name: flap, scrape_interval: 10ms, scrape_timeout: 10ms," \
        "static_configs: [{targets: $(list "${R[@]}"), labels: {round: \"r$i\"}}]}"
    present "$i" 1 && echo "  - {job_name: fast, scrape_interval: 50ms, scrape_timeout: 40ms," \
        "static_configs: [{targets: $(list "${E[@]}")}]}"
    present "$i" 2 && echo "  - {job_name: slow, metrics_path: /slow, scrape_interval: 200ms," \
        "scrape_timeout: 190ms, static_configs: [{targets: $(list "${E[@]}")}]}"
    present "$i" 3 && echo "  - {job_name: refused, scrape_interval: 30ms, scrape_timeout: 20ms," \
        "static_configs: [{targets: $(list "${R[@]}")}]}"
    present "$i" 4 && echo "  - {job_name: mixed, scrape_interval: 110ms, scrape_timeout: 100ms," \
        "static_configs: [{targets: $(list "${E[0]}" "${R[0]}" "${E[1]}"), labels: {k: v}}]}"
    return 0
}
# "job instance" of every target scraper_yml $1 configures, sorted.
scraper_want() {
    local i=$1 e
    for e in "${E[@]}"; do echo "steady $e"; echo "churn $e"; done
    for e in "${R[@]}"; do echo "flap $e"; done
    present "$i" 1 && for e in "${E[@]}"; do echo "fast $e"; done
    present "$i" 2 && for e in "${E[@]}"; do echo "slow $e"; done
    present "$i" 3 && for e in "${R[@]}"; do echo "refused $e"; done
    present "$i" 4 && for e in "${E[0]}" "${R[0]}" "${E[1]}"; do echo "mixed $e"; done
    return 0
}

rules_yml() {
    local i=$1 k
    echo "groups:"
    echo "  - {name: steady, interval: 100ms,"
    echo "     rules: [{record: 'job:up:sum', expr: 'sum by (job) (up)'}]}"
    echo "  - {name: churn, interval: 150ms,"
    echo "     rules: [{record: 'job:e_gauge:count_r$i', expr: 'count by (job) (e_gauge)'}]}"
    for k in 1 2 3 4; do
        present "$i" "$k" || continue
        echo "  - name: g$k"
        echo "    interval: $((80 + 20 * k))ms"
        echo "    rules:"
        echo "      - record: 'job:e_requests:rate$k'"
        echo "        expr: 'sum by (job) (rate(e_requests_total[5s]))'"
        echo "      - {alert: TargetDown$k, expr: 'up == 0', labels: {severity: page}}"
        echo "      - {record: 'instance:e_gauge:sum$k', expr: 'sum by (instance) (e_gauge)'}"
    done
}
# "group rule" of every rule rules_yml $1 configures, sorted.
rules_want() {
    local i=$1 k
    echo "steady job:up:sum"
    echo "churn job:e_gauge:count_r$i"
    for k in 1 2 3 4; do
        present "$i" "$k" || continue
        echo "g$k job:e_requests:rate$k"; echo "g$k TargetDown$k"; echo "g$k instance:e_gauge:sum$k"
    done
}

slod_yml() {
    local i=$1 k
    echo "evaluation_interval: 1s"
    echo "slos:"
    for k in 0 1 2 3 4; do
        [ "$k" = 0 ] || present "$i" "$k" || continue
        echo "  - name: slo$k"
        echo "    service: s$k"
        echo "    objective: 99.$k"
        echo "    window: 1d"
        echo "    sli:"
        echo "      good: 'sum(rate(e_requests_total{code=\"200\"}[{{.window}}]))'"
        echo "      total: 'sum(rate(e_requests_total[{{.window}}]))'"
    done
}
slod_want() {
    local i=$1 k
    for k in 0 1 2 3 4; do [ "$k" = 0 ] || present "$i" "$k" || continue; echo "slo$k"; done
}

# Each file is replaced whole (rename), so a daemon never reads half of one.
write_configs() {
    local i=$1 f
    for f in scraper rules slod; do
        "${f}_yml" "$i" > "$IT_DIR/$f.yml.new"
        mv "$IT_DIR/$f.yml.new" "$IT_DIR/$f.yml"
    done
}

# --- the three daemons ---
write_configs 0
printf 'global: {evaluation_interval: 100ms}\nrule_files: [rules.yml]\n' > "$IT_DIR/ruled.yml"
S_HTTP=$(it_free_port); R_HTTP=$(it_free_port); L_HTTP=$(it_free_port)
ALERTD=$(it_free_port) # nobody listens: alerts are dropped, which is fine here
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/scraper.yml" \
    --web.listen-address="127.0.0.1:$S_HTTP" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)"
it_start ruled "$BIN/ruled" --storage.path="$IT_DIR/ruled-state" --config.file="$IT_DIR/ruled.yml" \
    --web.listen-address="127.0.0.1:$R_HTTP" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.query-address="tcp://127.0.0.1:$T_QUERY" --zmq.alertd-address="tcp://127.0.0.1:$ALERTD" \
    --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" --query.timeout=50ms
it_start slod "$BIN/slod" --config.file="$IT_DIR/slod.yml" --storage.path="$IT_DIR/slod" \
    --web.listen-address="127.0.0.1:$L_HTTP" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.query-address="tcp://127.0.0.1:$T_QUERY" --zmq.alertd-address="tcp://127.0.0.1:$ALERTD" \
    --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" --query.timeout=50ms
DAEMONS=(scraper ruled slod)
declare -A PORT=([scraper]=$S_HTTP [ruled]=$R_HTTP [slod]=$L_HTTP)
for d in "${DAEMONS[@]}"; do it_wait_http "http://127.0.0.1:${PORT[$d]}/-/ready" 200; done
up_job() { it_has '"value"' curl -fsS "http://127.0.0.1:$T_HTTP/api/v1/query?query=up%7Bjob%3D%22steady%22%7D"; }
it_check "scraped samples reach tsdb (ruled and slod queries have data)" it_until 50 0.1 up_job
sleep 1 # scrapes, evaluations and queries under way

# --- reload rounds ---
reloads() { grep -c 'event=config.reload ' "$IT_DIR/$1.log" || true; }
# Alive: running and not a zombie (a crashed child stays one until it is waited for).
alive() {
    local st
    st=$(ps -o stat= -p "$(eval echo "\$PID_$1")" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
reload_count_above() { [ "$(reloads "$1")" -gt "$2" ]; }
declare -A CURL_PID BEFORE DIED
start=$(date +%s)
for i in $(seq 1 "$ROUNDS"); do
    write_configs "$i"
    hup=0
    if [ "$i" -gt $((ROUNDS / 2)) ] && [ $((i % 2)) = 1 ]; then hup=1; fi
    live=()
    for d in "${DAEMONS[@]}"; do
        if alive "$d"; then
            live+=("$d")
        elif [ -z "${DIED[$d]:-}" ]; then
            DIED[$d]=" (died after reload round $((i - 1)))"
        fi
    done
    [ ${#live[@]} != 0 ] || break
    for d in "${live[@]}"; do
        BEFORE[$d]=$(reloads "$d")
        if [ $hup = 1 ]; then
            kill -HUP "$(eval echo "\$PID_$d")" 2>/dev/null || true
        else
            curl -fsS -o /dev/null --max-time 10 -X POST "http://127.0.0.1:${PORT[$d]}/-/reload" \
                2>>"$IT_DIR/curl.err" &
            CURL_PID[$d]=$!
        fi
    done
    for d in "${live[@]}"; do
        if [ $hup = 0 ]; then wait "${CURL_PID[$d]}" || true; fi
        # Each daemon reloads on its 1 Hz housekeeping tick: wait until it has.
        it_until 30 0.1 reload_count_above "$d" "${BEFORE[$d]}" || true
    done
done
for d in "${DAEMONS[@]}"; do
    alive "$d" || [ -n "${DIED[$d]:-}" ] || DIED[$d]=" (died after reload round $i)"
done
echo "  $ROUNDS reload rounds in $(($(date +%s) - start)) s"
for d in "${DAEMONS[@]}"; do
    it_check "$d alive after the reloads${DIED[$d]:-}" alive "$d"
    it_check "$d answers /-/healthy" curl -fsS -o /dev/null --max-time 5 \
        "http://127.0.0.1:${PORT[$d]}/-/healthy"
    it_check "$d applied all $ROUNDS reloads" [ "$(reloads "$d")" -ge "$ROUNDS" ]
    it_check "$d: no config.reload.fail" \
        bash -c "! grep -q 'event=config.reload.fail' '$IT_DIR/$d.log'"
done

# --- the APIs list the last configuration ---
got_targets() {
    curl -fsS "http://127.0.0.1:$S_HTTP/api/v1/targets" |
        jq -r '.data.activeTargets[] | "\(.labels.job) \(.labels.instance)"' | sort
}
got_rules() {
    curl -fsS "http://127.0.0.1:$R_HTTP/api/v1/rules" |
        jq -r '.data.groups[] | .name as $g | .rules[] | "\($g) \(.name)"' | sort
}
got_slos() { curl -fsS "http://127.0.0.1:$L_HTTP/api/v1/slos" | jq -r '.data.slos[].name' | sort; }
same() { [ "$("got_$1")" = "$("$2" "$i" | sort)" ]; }
it_check "/api/v1/targets lists exactly the last config's targets" \
    it_until 20 0.1 same targets scraper_want
it_check "/api/v1/rules lists exactly the last config's groups and rules" \
    it_until 20 0.1 same rules rules_want
# slod rebuilds /api/v1/slos after its first evaluation of the new config (0.5 s).
it_check "/api/v1/slos lists exactly the last config's SLOs" it_until 30 0.1 same slos slod_want
churn_round() {
    curl -fsS "http://127.0.0.1:$S_HTTP/api/v1/targets" |
        jq -e --arg r "r$i" '[.data.activeTargets[] | select(.labels.job == "churn")
                              | .labels.round == $r] | length == 3 and all' >/dev/null
}
it_check "replaced targets carry the last round's labels" churn_round
steady_up() {
    curl -fsS "http://127.0.0.1:$S_HTTP/api/v1/targets" |
        jq -e '[.data.activeTargets[] | select(.labels.job == "steady") | .health == "up"]
               | length == 3 and all' >/dev/null
}
it_check "kept targets are still scraped (health up)" it_until 30 0.1 steady_up

# --- clean exit ---
for d in "${DAEMONS[@]}"; do
    pid=$(eval echo "\$PID_$d")
    kill -TERM "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    it_check "$d exits 0 on SIGTERM (got $rc)" [ "$rc" = 0 ]
done
for d in "${DAEMONS[@]}"; do
    it_check "$d: no sanitizer report" \
        bash -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$IT_DIR/$d.log'"
done
if [ "$IT_FAILS" != 0 ]; then
    for d in "${DAEMONS[@]}"; do
        grep -A30 -m1 'ERROR: AddressSanitizer' "$IT_DIR/$d.log" || true
    done
fi
it_finish
