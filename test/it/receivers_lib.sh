# test/it/receivers_lib.sh — the harness the receiver scripts (test/it/receivers*.sh) share
# (sourced, bash, after test/it/lib.sh; not a test itself: check-it skips it as it does lib.sh).
# It offers, on top of lib.sh:
#   BUILD (default build), BIN, HERE (the tree), PY (Debian's python3), EXT (the external URL
#       both sides get);
#   rx_pair_ports, rx_start_pair: side by side, two test/it/receivers_capture.py servers (one
#       per side), notifyd + alertd and the real Debian prometheus-alertmanager, waited for;
#   rx_start_capture: one capture server and notifyd + alertd, for integrations with no peer;
#   rx_fast_retry: notifyd's retry backoff cut to 100-200 ms;
#   rx_alerts, rx_post, rx_post_both: the script's alerts, stamped and posted;
#   rx_q, rx_wait_q, rx_count, rx_wait_count: captured requests counted by a jq filter;
#   rx_check_shapes: no floorwatch request refused by the capture server;
#   rx_compare: both sides' requests, field by field (test/it/receivers_compare.py);
#   rx_status: the config an alerts API shows in /api/v2/status;
#   rx_metrics, rx_wait_metric: notifyd's /metrics.
# Only logic lives here: configs, alerts, filters and every assertion stay in the scripts.
# Every wait is bounded; every process is started with it_start (stopped by PID at exit).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "$0: sourced by test/it/receivers*.sh, not run" >&2
    exit 1
fi

BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
EXT=http://alerts.example:9093

# rx_pair_ports: CAP_FW and CAP_AM (floorwatch's and Alertmanager's capture servers) and
# AMREF (Alertmanager's web) picked free, for the configs to name. After it_tmpdir.
rx_pair_ports() {
    CAP_FW=$(it_free_port); CAP_AM=$(it_free_port)
    AMREF=$(it_free_port)
}

# rx_start_pair FW-CONFIG AM-CONFIG PLAYS [CAPTURE-ARG...]: the capture servers on CAP_FW and
# CAP_AM recording to $IT_DIR/fw.jsonl and $IT_DIR/am.jsonl (CAPTURE-ARGs follow those),
# notifyd + alertd on FW-CONFIG (it_start_notifyd_alertd: AM, NOTIFYD, NOTIFYD_ARGS) and
# Alertmanager on AM-CONFIG on AMREF (AMREF_ENV, an array that may be unset, goes before its
# command: an env(1) prefix), both with --web.external-url=$EXT. Waits for all of them
# (it_die otherwise), then one it_ok naming PLAYS (what the capture servers play, may be "").
rx_start_pair() {
    local fw=$1 am=$2 plays=$3 u v; shift 3
    it_start cap_fw "$PY" "$HERE/test/it/receivers_capture.py" "$CAP_FW" "$IT_DIR/fw.jsonl" "$@"
    it_start cap_am "$PY" "$HERE/test/it/receivers_capture.py" "$CAP_AM" "$IT_DIR/am.jsonl" "$@"
    it_start_notifyd_alertd "$fw" --web.external-url=$EXT
    it_start amref ${AMREF_ENV[@]+"${AMREF_ENV[@]}"} prometheus-alertmanager --config.file="$am" \
        --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF \
        --cluster.listen-address= --web.external-url=$EXT
    for u in "http://127.0.0.1:$CAP_FW/" "http://127.0.0.1:$CAP_AM/" "http://127.0.0.1:$AMREF/-/ready"; do
        it_wait_http "$u" || it_die "$u did not come up"
    done
    v=$(prometheus-alertmanager --version 2>&1 | awk 'NR == 1 {print $3}') # awk reads it all: no SIGPIPE
    it_ok "capture servers${plays:+ ($plays)}, notifyd, alertd and Alertmanager $v up"
}

# rx_start_capture CONFIG PLAYS [CAPTURE-ARG...]: one capture server on CAP (picked by the
# script, which its config names) recording to CAPF=$IT_DIR/cap.jsonl (CAPTURE-ARGs follow),
# notifyd + alertd on CONFIG with --web.external-url=$EXT; waits for them (it_die
# otherwise), then one it_ok naming PLAYS.
rx_start_capture() {
    local cfg=$1 plays=$2; shift 2
    CAPF=$IT_DIR/cap.jsonl
    it_start cap "$PY" "$HERE/test/it/receivers_capture.py" "$CAP" "$CAPF" "$@"
    it_start_notifyd_alertd "$cfg" --web.external-url=$EXT
    it_wait_http "http://127.0.0.1:$CAP/" || it_die "the capture server did not come up"
    it_ok "capture server ($plays), notifyd and alertd up"
}

# rx_fast_retry: notifyd retries after 100 ms, at most 200 ms apart ($IT_DIR/notifyd.yml,
# through NOTIFYD_ARGS), so a retry is seen in well under a wait's bound. Before
# rx_start_pair or rx_start_capture.
rx_fast_retry() {
    NOTIFYD_ARGS=(--config.file="$IT_DIR/notifyd.yml")
    printf 'retry:\n  initial_backoff: 100ms\n  max_backoff: 200ms\n' > "$IT_DIR/notifyd.yml"
}

# rx_now: the time now in UTC, to the millisecond, as alerts' startsAt and endsAt. Alerts start
# now, not in the past: Alertmanager flushes a new group at once for an alert older than
# group_wait, which can happen before a POST's second alert joins the group (flaky compares).
rx_now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# rx_alerts ALERTS [ENDS_AT]: print ALERTS (a JSON array of alerts without times: the
# script's data) with startsAt $START on each and, when ENDS_AT is not empty, endsAt ENDS_AT
# (the alerts resolved).
rx_alerts() {
    jq -c --arg s "$START" --arg e "${2:-}" \
        'map(. + {startsAt: $s} + (if $e == "" then {} else {endsAt: $e} end))' <<<"$1"
}

# rx_post PORT BODY: post BODY to the alerts API on 127.0.0.1:PORT (1 when refused).
rx_post() {
    curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/api/v2/alerts"
}

# rx_post_both BODY: post BODY to alertd (AM), then to Alertmanager (AMREF).
rx_post_both() { rx_post "$AM" "$1" && rx_post "$AMREF" "$1"; }

# rx_q FILE FILTER [JQ-ARG...]: print how many requests captured in FILE the jq FILTER
# selects (0 before any); JQ-ARGs (--arg NAME VALUE...) are passed to jq.
rx_q() {
    local f=$1 filter=$2; shift 2
    [ -s "$f" ] || { echo 0; return; }
    jq -s "$@" "[.[] | select($filter)] | length" "$f"
}

# rx_wait_q FILE FILTER N [JQ-ARG...]: wait until rx_q counts N or more; RX_TRIES x 0.1 s
# (default 150). On a timeout, print the requests captured and return 1.
rx_wait_q() {
    local f=$1 filter=$2 n=$3; shift 3
    for _ in $(seq "${RX_TRIES:-150}"); do
        [ "$(rx_q "$f" "$filter" "$@")" -ge "$n" ] 2>/dev/null && return 0
        sleep 0.1
    done
    [ -s "$f" ] && jq -c '[.method, .path, .status, .err] + (if .answer then [.answer] else [] end)
        + [(.body | tostring | .[0:300])] + (if .raw then [.raw[0:200]] else [] end)' "$f"
    return 1
}

# The requests to a path (starting with $p) whose body at the dotted key $k (numbers index
# arrays: attachments.0.text) contains the text $v.
s_rx_count='(.path | startswith($p)) and (((.body | getpath($k | split(".") | map(tonumber? // .))) // "" | tostring) | contains($v))'

# rx_count FILE PATH-PREFIX KEY TEXT: print how many requests captured in FILE went to a path
# starting with PATH-PREFIX with a body whose KEY (dotted) contains TEXT.
rx_count() { rx_q "$1" "$s_rx_count" --arg p "$2" --arg k "$3" --arg v "$4"; }

# rx_wait_count FILE PATH-PREFIX KEY TEXT N: wait (as rx_wait_q) until rx_count counts N.
rx_wait_count() { rx_wait_q "$1" "$s_rx_count" "$5" --arg p "$2" --arg k "$3" --arg v "$4"; }

# rx_check_shapes [CHECKER]: it_die when the capture server (or CHECKER, as the script names
# what plays the API) refused a request floorwatch sent ($IT_DIR/fw.jsonl, an "err" set),
# else it_ok.
rx_check_shapes() {
    local by=${1:-capture server}
    grep -q '"err": "[a-zA-Z]' "$IT_DIR/fw.jsonl" &&
        it_die "floorwatch sent a request the $by refused: $(grep '"err": "[a-zA-Z]' "$IT_DIR/fw.jsonl" | head -1)"
    it_ok "every floorwatch request has the documented shape ($by checks)"
}

# rx_compare WHAT [OPTION...]: compare the requests captured on floorwatch's side
# ($IT_DIR/fw.jsonl) with Alertmanager's ($IT_DIR/am.jsonl), field by field; OPTIONs say which
# paths, headers and how many (test/it/receivers_compare.py). Prints the differences; 1 on any.
rx_compare() {
    "$PY" "$HERE/test/it/receivers_compare.py" "$IT_DIR/fw.jsonl" "$IT_DIR/am.jsonl" "$@"
}

# rx_status PORT: print the config the alerts API on 127.0.0.1:PORT shows in /api/v2/status
# (config.original: alertd's or Alertmanager's, secrets as <secret>).
rx_status() { curl -fsS "http://127.0.0.1:$1/api/v2/status" | jq -r .config.original; }

# rx_metrics: print notifyd's /metrics (NOTIFYD), 2 s at most.
rx_metrics() { curl -fsS --max-time 2 "http://127.0.0.1:$NOTIFYD/metrics"; }

# rx_wait_metric TEXT [TRIES]: wait until notifyd's /metrics holds the line or text TEXT
# (TRIES x 0.1 s, default 100); 1 on a timeout. (grep on a variable, not a pipe: no SIGPIPE.)
rx_wait_metric() {
    local m
    for _ in $(seq "${2:-100}"); do
        m=$(rx_metrics 2>/dev/null) && grep -qF "$1" <<<"$m" && return 0
        sleep 0.1
    done
    return 1
}
