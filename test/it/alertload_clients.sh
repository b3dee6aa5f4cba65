#!/usr/bin/env bash
# alertload_clients.sh — the HTTP clients `make bench` measures single POSTs with
# (tools/alertload --client=curl|raw|epoll) count what they should.
#
# Each sends 3,000 single-alert POSTs over 4 keep-alive connections to tools/post-floor and
# must report every one answered 200 and exit 0; to a path post-floor answers 404, every one
# an error and exit 1; to a port nobody listens on, every one an error. The raw and epoll
# clients read answers by Content-Length: a server (python3 http.server, HTTP/1.0) that
# answers 200 without it and closes is an error for each POST, and the next one goes on a
# new connection. A bench whose client miscounted would print a ratio of nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_cmds jq
it_tmpdir

FP=$(it_free_port)
it_start floor "$BIN/post-floor" --web.listen-address=127.0.0.1:$FP
it_wait_http "http://127.0.0.1:$FP/-/ready" || it_die "post-floor did not start"

# load URL CLIENT N: alertload's JSON line; its exit status in $IT_DIR/rc.
load() {
    local rc=0
    timeout 60 "$BIN/alertload" --post-url="$1" --client="$2" --alerts="$3" --batch=1 \
        --connections=4 > "$IT_DIR/out.json" 2> "$IT_DIR/err.log" || rc=$?
    echo "$rc" > "$IT_DIR/rc"
    cat "$IT_DIR/out.json"
}
# want CLIENT WHAT JSON RC ERRORS ALERTS
want() {
    local errors rc
    errors=$(jq -r .errors <<<"$3") rc=$(cat "$IT_DIR/rc")
    it_check "$1: $2 (errors $errors, exit $rc; want $5, $4)" \
        test "$errors" = "$5" -a "$rc" = "$4" -a "$(jq -r .alerts <<<"$3")" = "$6"
}

DEAD=$(it_free_port)
for c in curl raw epoll; do
    out=$(load "http://127.0.0.1:$FP/api/v2/alerts" "$c" 3000)
    want "$c" "3,000 POSTs to post-floor all answered 200" "$out" 0 0 3000
    out=$(load "http://127.0.0.1:$FP/nope" "$c" 200)
    want "$c" "200 POSTs answered 404 are all errors" "$out" 1 200 200
    out=$(load "http://127.0.0.1:$DEAD/api/v2/alerts" "$c" 50)
    want "$c" "50 POSTs to a closed port are all errors" "$out" 1 50 50
done

# An HTTP/1.0 server: 200, no Content-Length, the connection closed after each answer.
CP=$(it_free_port)
cat > "$IT_DIR/close.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "a") as f:
            f.write("x\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
it_start close /usr/bin/python3 "$IT_DIR/close.py" "$CP" "$IT_DIR/requests"
it_until 50 0.1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CP" || it_die "close.py did not start"
for c in raw epoll; do
    out=$(load "http://127.0.0.1:$CP/api/v2/alerts" "$c" 40)
    want "$c" "40 answers without Content-Length are errors" "$out" 1 40 40
    it_check "$c: all 40 reached the server, each on a new connection ($(wc -l < "$IT_DIR/requests"))" \
        test "$(wc -l < "$IT_DIR/requests")" = 40
    rm -f "$IT_DIR/requests"
done
it_finish
