#!/usr/bin/env bash
# alertd_disk_full.sh — alertd on a full disk: a state write larger than its disk
# reservation fails with a logged reason, and alertd keeps serving (issue 8).
#
# alertd reserves disk blocks ahead of LMDB's writes, so a full disk stops a write before it is
# made, with a reason (its state was once a writable map, where the write was SIGBUS). The disk here is a real 140 MiB tmpfs, mounted in this script's own
# mount namespace (unshare -m: it goes away with the script). Four silences carrying a 15 MiB
# comment each are POSTed: the silence table is one record, written whole at each change, so
# the fourth write is 60 MiB, more than the 32-48 MiB alertd reserves ahead, on a disk that
# cannot hold it. alertd must answer, log event=storage.fail "No space left on device",
# keep the four silences in memory and go on serving the API and taking alerts. (Before the
# fix, with the writable map, the reservation was checked only as a write began: alertd died
# of SIGBUS here.)
# alertd's default silence size limit (32 KiB, --silences.max-silence-size-bytes) refuses
# such silences at the API; it is turned off here (0, as Alertmanager's default) so that the
# table outgrows the reservation: the disk, not the limit, is what this script tests.
# Needs root (mount namespaces); skipped otherwise. Every wait is bounded.
set -euo pipefail
if [ "${FW_IT_MOUNTNS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null ||
        { echo "$(basename "$0"): skipped: no mount namespace here (needs root)"; exit 77; }
    FW_IT_MOUNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_bins alertd
it_need_cmds jq curl python3
it_tmpdir
mkdir "$IT_DIR/fs"
mount -t tmpfs -o size=140m tmpfs "$IT_DIR/fs" || it_skip "cannot mount a tmpfs"
finish() {
    local pid
    for pid in "${IT_PIDS[@]}"; do it_term "$pid"; done
    umount "$IT_DIR/fs" 2>/dev/null || true
    it_cleanup
}
trap finish EXIT

AM=$(it_free_port); Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/hook
YML
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" \
    --web.listen-address=127.0.0.1:$AM --storage.path="$IT_DIR/fs/state" \
    --zmq.alerts-address=tcp://127.0.0.1:$Z1 --zmq.notifyd-address=tcp://127.0.0.1:$Z2 \
    --zmq.pub-address=tcp://127.0.0.1:$Z3 --silences.max-silence-size-bytes=0
APID=$!
AMURL=http://127.0.0.1:$AM
it_wait_http "$AMURL/-/ready" || it_die "alertd did not start"
it_ok "alertd up, state on a 140 MiB tmpfs"

# silence N: a silence whose comment is 15 MiB of N (the API's body limit is 16 MiB).
python3 - "$IT_DIR" <<'PY'
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
for n in range(1, 5):
    body = {"matchers": [{"name": "alertname", "value": "Full%d" % n, "isRegex": False}],
            "startsAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endsAt": (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "createdBy": "it", "comment": str(n) * (15 << 20)}
    with open("%s/silence%d.json" % (sys.argv[1], n), "w") as f:
        json.dump(body, f)
PY
for n in 1 2 3 4; do
    code=$(curl -sS -o "$IT_DIR/post$n.out" -w '%{http_code}' --max-time 30 -XPOST \
        -H 'Content-Type: application/json' --data-binary "@$IT_DIR/silence$n.json" \
        "$AMURL/api/v2/silences" || true)
    kill -0 "$APID" 2>/dev/null || it_die "alertd died on silence $n (table of $((n * 15)) MiB)"
    echo "  silence $n ($((n * 15)) MiB table): HTTP $code"
    [ "$code" = 200 ] || it_die "silence $n: HTTP $code, want 200 (kept in memory)"
done
it_ok "alertd alive after a 60 MiB state write on a full disk"
it_wait_for "storage.fail logged" grep -q 'event=storage.fail what=silences err=.*No space left on device' "$IT_DIR/alertd.log"
it_ok "the failed write logged: $(grep -o 'event=storage.fail what=silences err=.*' "$IT_DIR/alertd.log" | head -1 | cut -c1-160)"
grep -q 'storage.overrun' "$IT_DIR/alertd.log" && it_die "a transaction overran its charge"
n=$(curl -fsS --max-time 120 "$AMURL/api/v2/silences" | jq length)
[ "$n" = 4 ] || it_die "GET /api/v2/silences: $n silences, want 4"
it_ok "the four silences served from memory"
curl -fsS -o /dev/null --max-time 10 -XPOST -H 'Content-Type: application/json' \
    "$AMURL/api/v2/alerts" -d '[{"labels":{"alertname":"AfterFull"}}]' ||
    it_die "POST /api/v2/alerts after the failure"
n=$(curl -fsS --max-time 10 "$AMURL/api/v2/alerts?filter=alertname%3D%22AfterFull%22" | jq 'length')
[ "$n" = 1 ] || it_die "the alert posted after the failure: $n, want 1"
curl -fsS -o /dev/null --max-time 10 "$AMURL/-/healthy" || it_die "/-/healthy"
it_ok "alertd goes on taking alerts and answering"
it_term "$APID"
[ "$IT_RC" = 0 ] || it_die "alertd exit $IT_RC on SIGTERM, want 0"
it_ok "alertd stops cleanly"
echo "$(basename "$0"): $IT_PASSES passed"
