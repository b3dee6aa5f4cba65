# test/it/lib.sh — shared helpers for the integration tests (sourced, bash).
# Every wait is bounded; every process is started by us, remembered by PID and stopped by PID.

IT_PIDS=()
IT_FAILS=0
IT_PASSES=0
IT_KNOWN=0 # it_known's failures

it_tmpdir() {
    mkdir -p test/tmp
    IT_DIR=$(mktemp -d "$PWD/test/tmp/it.XXXXXX")
    trap it_cleanup EXIT
}

it_cleanup() {
    local pid
    for pid in "${IT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${IT_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "${IT_KEEP:-0}" != 1 ] && [ -n "${IT_DIR:-}" ]; then rm -rf "$IT_DIR"; fi
    rmdir test/tmp 2>/dev/null || true
}

# it_free_port: print a TCP port on 127.0.0.1 that nobody listens on right now, outside the
# ephemeral range so no outgoing connection can take it first (tools/free_port.py).
it_free_port() {
    # FW_PORTS_FILE: never the same port twice to one script (tools/free_port.py)
    FW_PORTS_FILE=${IT_DIR:+$IT_DIR/.ports} python3 "$(dirname "${BASH_SOURCE[0]}")/../../tools/free_port.py"
}

# it_start NAME CMD...: start CMD in the background, stderr+stdout to $IT_DIR/NAME.log.
it_start() {
    local name=$1; shift
    "$@" >"$IT_DIR/$name.log" 2>&1 &
    IT_PIDS+=($!)
    eval "PID_$name=$!"
}

# it_wait_http URL [TRIES]: wait until URL answers 2xx (TRIES x 0.1 s, default 100).
it_wait_http() {
    local url=$1 tries=${2:-100}
    for _ in $(seq 1 "$tries"); do
        curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "it: $url did not come up"; return 1
}

# it_until TRIES SLEEP CMD...: run CMD until it succeeds, at most TRIES times.
it_until() {
    local tries=$1 pause=$2; shift 2
    for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep "$pause"; done
    return 1
}

# it_has [GREP-OPTION...] PATTERN CMD...: true when CMD exits 0 and a line of its standard
# output matches PATTERN (grep with the GREP-OPTIONs, e.g. -x, -F, -E, -w, -v); 1 when no
# line does, 2 when CMD fails (a failed CMD is never a match nor a miss). CMD may be a shell
# function. For `CMD | grep -q PATTERN`, which under pipefail fails at random: grep -q quits
# at its first match, and a CMD still writing then dies of SIGPIPE (status 141), so a check
# that matched failed. Here CMD's output is read whole, then grep looks at it.
it_has() {
    local opts=() pat out
    while [[ ${1:-} == -?* ]]; do opts+=("$1"); shift; done
    pat=$1; shift
    out=$("$@" && echo .) || return 2 # the . keeps CMD's trailing empty lines
    out=${out%.}
    [ -n "$out" ] || return 1 # no line at all: nothing matches, not even with -v
    grep -q ${opts[@]+"${opts[@]}"} -e "$pat" <<<"${out%$'\n'}"
}
# it_lacks [GREP-OPTION...] PATTERN CMD...: true when CMD exits 0 and no line of its output
# matches PATTERN (it_has's 1). A CMD that fails fails this too: an error is not an absence.
it_lacks() { local rc=0; it_has "$@" || rc=$?; [ "$rc" = 1 ]; }

it_pass() { IT_PASSES=$((IT_PASSES + 1)); echo "  ok   $*"; }
it_fail() { IT_FAILS=$((IT_FAILS + 1)); echo "  FAIL $*"; }
# it_check DESC CMD...: pass when CMD succeeds.
it_check() { local d=$1; shift; if "$@"; then it_pass "$d"; else it_fail "$d"; fi; }
# it_known ISSUE DESC CMD...: a check of a requirement floorwatch does not meet yet, an open
# limit named in ISSUE and the README: a pass counts as a pass; a failure is printed as KNOWN
# and counted apart (it_finish says how many), neither passed nor failing the script, until
# the fix turns it back into it_check.
it_known() {
    local i=$1 d=$2; shift 2
    if "$@"; then it_pass "$d"; else IT_KNOWN=$((IT_KNOWN + 1)); echo "  KNOWN $d (open limit: $i)"; fi
}

# it_dump_logs: show the tail of every log (on failure).
it_dump_logs() {
    local f
    for f in "$IT_DIR"/*.log; do [ -e "$f" ] || continue; echo "--- $f"; tail -n 20 "$f"; done
}

it_finish() {
    echo "$(basename "$0"): ${IT_PASSES} passed, ${IT_FAILS} failed$([ "$IT_KNOWN" = 0 ] ||
        echo ", $IT_KNOWN known limits not met")"
    if [ "$IT_FAILS" != 0 ]; then it_dump_logs; return 1; fi
    return 0
}

# --- scripts that stop at the first failure (fail fast, no it_finish) ---------------------

# it_skip REASON: this script cannot run here; say why and exit 77, which check-it counts as
# skipped (never as passed).
it_skip() { echo "$(basename "$0"): skipped: $*"; exit 77; }
# it_asan_build BINARY: true when BINARY is linked with AddressSanitizer (make asan). ldd's
# output is read whole (it_has): `ldd | grep -q` under pipefail failed whenever grep quit
# before ldd had written its last line (SIGPIPE), and an ASan build then ran as a release one.
it_asan_build() { it_has libasan ldd "$1" 2>/dev/null; }
# it_need_bins NAME...: it_skip unless $BUILD/bin/NAME is built, for each NAME.
it_need_bins() {
    local b
    for b in "$@"; do [ -x "${BUILD:-build}/bin/$b" ] || it_skip "${BUILD:-build}/bin/$b is not built"; done
}
# it_need_cmds CMD...: it_skip unless each CMD is on PATH.
it_need_cmds() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null || it_skip "$c is not installed"; done
}
# it_die MSG: print FAIL MSG and the tail of every log, then exit 1.
it_die() { echo "FAIL: $*"; it_dump_logs; exit 1; }
# it_ok MSG: one passed step.
it_ok() { IT_PASSES=$((IT_PASSES + 1)); echo "ok: $*"; }
# it_wait_for DESC CMD...: retry CMD every 0.1 s for up to 10 s, else it_die.
it_wait_for() {
    local desc=$1; shift
    it_until 100 0.1 "$@" || it_die "timed out waiting for: $desc"
}

# it_term PID: SIGTERM PID (one this script started), wait up to 10 s for it to exit (then
# SIGKILL it), and leave its exit status in IT_RC (137 after a SIGKILL).
it_term() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    IT_RC=0
    wait "$pid" || IT_RC=$?
    local p keep=()
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"}) # stopped: it_cleanup leaves it alone
}

# it_start_scraper CONFIG WEB [TSDB [PUB]]: start $BIN/scraper on CONFIG with its web API on
# 127.0.0.1:WEB, its samples to tcp://127.0.0.1:TSDB and its PUB on tcp://127.0.0.1:PUB
# (TSDB and PUB picked free when not given: nobody listens there), wait until it is ready
# and set API to its /api/v1/targets. 1 when it did not come up.
it_start_scraper() {
    local cfg=$1 web=$2 tsdb=${3:-$(it_free_port)} pub=${4:-$(it_free_port)}
    it_start scraper "$BIN/scraper" --config.file="$cfg" --web.listen-address="127.0.0.1:$web" \
        --zmq.tsdb-address="tcp://127.0.0.1:$tsdb" --zmq.pub-address="tcp://127.0.0.1:$pub"
    it_wait_http "http://127.0.0.1:$web/-/ready" || return 1
    API="http://127.0.0.1:$web/api/v1/targets"
}

# it_start_tsdb_and_alertd: tsdb on T_HTTP/T_SAMPLES/T_QUERY/T_PUB (storage in
# $IT_DIR/tsdb; more flags in the array TSDB_ARGS, may be unset), and alertd on
# A_HTTP/A_ALERTS/A_NOTIFY/A_PUB when $BIN/alertd is built (IT_HAVE_ALERTD says which);
# ports not set are picked free. Needs BIN and it_tmpdir.
it_start_tsdb_and_alertd() {
    local v
    for v in T_HTTP T_SAMPLES T_QUERY T_PUB A_HTTP A_ALERTS A_NOTIFY A_PUB; do
        [ -n "${!v:-}" ] || printf -v "$v" '%s' "$(it_free_port)"
    done
    it_start tsdb "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP --storage.tsdb.path="$IT_DIR/tsdb" \
        --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
        --zmq.pub-address=tcp://127.0.0.1:$T_PUB --storage.tsdb.map-size=64MiB \
        ${TSDB_ARGS[@]+"${TSDB_ARGS[@]}"}
    it_wait_for "tsdb ready" curl -sf "http://127.0.0.1:$T_HTTP/-/ready"
    it_ok "tsdb up on :$T_HTTP"
    IT_HAVE_ALERTD=0
    if [ -x "$BIN/alertd" ]; then
        it_start alertd "$BIN/alertd" --web.listen-address=127.0.0.1:$A_HTTP --storage.path="$IT_DIR/alertd" \
            --zmq.alerts-address=tcp://127.0.0.1:$A_ALERTS \
            --zmq.notifyd-address=tcp://127.0.0.1:$A_NOTIFY \
            --zmq.pub-address=tcp://127.0.0.1:$A_PUB
        it_wait_for "alertd ready" curl -sf "http://127.0.0.1:$A_HTTP/-/ready"
        IT_HAVE_ALERTD=1
        it_ok "alertd up on :$A_HTTP"
    fi
}

# it_start_notifyd_alertd CONFIG [ALERTD-ARG...]: notifyd (its web on NOTIFYD, its PUB on
# NOTIFYD_PUB) and alertd on CONFIG (its web on AM, storage in $IT_DIR/alertd, extra flags
# ALERTD-ARG) wired PUSH->PULL on free ports; NOTIFYD, NOTIFYD_PUB and AM are picked free when
# not set (pass --zmq.notifyd-pub-address=tcp://127.0.0.1:$NOTIFYD_PUB, with NOTIFYD_PUB set
# first, for alertd to hear notifyd's outcomes). Waits until both are ready (it_die
# otherwise). NOTIFYD_ARGS (an array, may be unset) adds notifyd flags.
it_start_notifyd_alertd() {
    local cfg=$1; shift
    local z1 z2 z3 z4
    z1=$(it_free_port); z2=${NOTIFYD_PUB:-$(it_free_port)}; z3=$(it_free_port); z4=$(it_free_port)
    [ -n "${NOTIFYD:-}" ] || NOTIFYD=$(it_free_port)
    [ -n "${AM:-}" ] || AM=$(it_free_port)
    it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
        --zmq.notify-address=tcp://127.0.0.1:$z1 --zmq.pub-address=tcp://127.0.0.1:$z2 \
        ${NOTIFYD_ARGS[@]+"${NOTIFYD_ARGS[@]}"}
    it_start alertd "$BIN/alertd" --config.file="$cfg" --web.listen-address=127.0.0.1:$AM \
        --storage.path="$IT_DIR/alertd" --zmq.alerts-address=tcp://127.0.0.1:$z3 \
        --zmq.notifyd-address=tcp://127.0.0.1:$z1 --zmq.pub-address=tcp://127.0.0.1:$z4 "$@"
    it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not come up"
    it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not come up"
}

# --- test certificates (openssl) -----------------------------------------------------------
# Certificates for the TLS peers a script plays, made afresh in $IT_DIR (after it_tmpdir)
# on every run: RSA 2048, valid 2 days, keys unencrypted. NAME.pem is the certificate and
# NAME.key its key. openssl's output goes to $IT_DIR/openssl.out; a failure stops the
# script (it_die with its last lines).

# it_tls_ca NAME: a self-signed CA NAME (signs with it_tls_cert).
it_tls_ca() {
    s_it_ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$IT_DIR/$1.key" -out "$IT_DIR/$1.pem"
}

# it_tls_cert NAME CA [SAN]: a certificate CN=NAME signed by CA (an it_tls_ca). With SAN
# (subjectAltName entries, e.g. "IP:127.0.0.1,DNS:node.test") a server's; without, a
# client's.
it_tls_cert() {
    local name=$1 ca=$2 san=${3:-}
    s_it_ossl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$IT_DIR/$name.key" \
        -out "$IT_DIR/$name.csr"
    local ext=()
    if [ -n "$san" ]; then
        printf 'subjectAltName=%s\n' "$san" >"$IT_DIR/$name.ext"
        ext=(-extfile "$IT_DIR/$name.ext")
    fi
    s_it_ossl x509 -req -in "$IT_DIR/$name.csr" -CA "$IT_DIR/$ca.pem" -CAkey "$IT_DIR/$ca.key" \
        -CAcreateserial -days 2 ${ext[@]+"${ext[@]}"} -out "$IT_DIR/$name.pem"
}

s_it_ossl() {
    openssl "$@" >>"$IT_DIR/openssl.out" 2>&1 ||
        it_die "openssl $1 failed: $(tail -n 3 "$IT_DIR/openssl.out")"
}
