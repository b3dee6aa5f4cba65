#!/usr/bin/env bash
# backup.sh — integration: backup and restore while ingest goes on (tsdb_backup.h,
# tsdb_api_admin.h). A tsdb ingests from a fwpush loop; /api/v1/admin/tsdb/snapshot answers as
# Prometheus's (503 while --web.enable-admin-api is off); `tsdb backup` writes to a directory
# and, by SAS and by Shared Key, to Azure Blob Storage — played by test/it/azblob_fake.py, a
# local server that answers Azure's documented Put Block / Put Block List / Get Blob requests
# and checks them (headers, block ids, the list XML, the Shared Key signature recomputed with
# the test key), since the real service cannot run here. Each backup is restored into a new
# directory, a second tsdb starts on it, and it must answer a few queries at the backup's time
# exactly as the original does. Backups to a refusing (403), unreachable or hanging endpoint
# fail with a clear error, commit no blob and leave the database's data file as it was.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
FWPUSH=$BUILD/bin/fwpush
it_need_bins tsdb fwpush
it_need_cmds jq curl
it_tmpdir
tmp=$IT_DIR

start_tsdb() { # NAME DIR HTTP EXTRA...
    local name=$1 dir=$2 http=$3; shift 3
    it_start "$name" "$TSDB" --storage.tsdb.path="$dir" --web.listen-address=127.0.0.1:$http \
        --zmq.samples-address=tcp://127.0.0.1:$(it_free_port) \
        --zmq.query-address=tcp://127.0.0.1:$(it_free_port) \
        --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) --storage.tsdb.map-size=256MiB \
        --storage.tsdb.retention.time=0s --storage.tsdb.commit-interval=200ms "$@"
    it_wait_http "http://127.0.0.1:$http/-/ready" 150 || it_die "$name not ready"
}

# --- the original tsdb, with the admin API, and ingest going on -------------------------------
ha=$(it_free_port); zs=$(it_free_port)
it_start tsdb_a "$TSDB" --storage.tsdb.path="$tmp/a" --web.listen-address=127.0.0.1:$ha \
    --zmq.samples-address=tcp://127.0.0.1:$zs --zmq.query-address=tcp://127.0.0.1:$(it_free_port) \
    --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) --storage.tsdb.map-size=256MiB \
    --storage.tsdb.retention.time=0s --storage.tsdb.commit-interval=200ms --web.enable-admin-api
it_wait_http "http://127.0.0.1:$ha/-/ready" 150 || it_die "tsdb_a not ready"
A=http://127.0.0.1:$ha

# Sequential acknowledged pushes: push k's samples carry ts_k; "ts_k done_k" is logged once
# tsdb acknowledged them (committed). ts_{k+1} > done_k, so every push acknowledged before a
# backup starts is in it, and no later push has a timestamp at or before the last such ts.
ingest() {
    local i s ts lines child=
    trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM
    for i in $(seq 1 1500); do
        ts=$(date +%s%3N)
        lines=
        for s in $(seq 0 19); do
            lines+="bk_gauge{series=\"$s\",line=\"l$((s % 3))\"} $((i * 7 % 101 + s)) $ts"$'\n'
            lines+="bk_total{series=\"$s\"} $((i * (s + 1))) $ts"$'\n'
        done
        "$FWPUSH" --endpoint=tcp://127.0.0.1:$zs <<<"$lines" >/dev/null 2>&1 &
        child=$!
        wait "$child" || continue
        echo "$ts $(date +%s%3N)" >>"$tmp/pushed"
        sleep 0.05
    done
}
ingest &
IT_PIDS+=($!)
PID_ingest=$!
it_until 150 0.1 test -s "$tmp/pushed" || it_die "no push acknowledged"
sleep 3 # some history
it_ok "ingest running ($(wc -l <"$tmp/pushed") pushes acknowledged)"

# The fake Azure Blob service.
key=$(head -c 64 /dev/urandom | base64 -w0)
sig=TestSig$RANDOM
az=$(it_free_port)
it_start azblob /usr/bin/python3 "$(dirname "$0")/azblob_fake.py" "$az" fwacct "$key" "$sig"
it_until 100 0.1 curl -fsS "http://127.0.0.1:$az/_stats" || it_die "azblob_fake not up"
echo "$key" >"$tmp/account.key"
AZ=http://127.0.0.1:$az

# --- backups during ingest ----------------------------------------------------------------
t_start=$(date +%s%3N)
"$TSDB" backup --storage.tsdb.path="$tmp/a" --to="$tmp/bk-dir" 2>"$tmp/bk-dir.err" ||
    it_die "backup to a directory: $(cat "$tmp/bk-dir.err")"
[ -s "$tmp/bk-dir/data.mdb" ] || it_die "backup directory holds no data.mdb"
it_ok "tsdb backup --to=DIR during ingest"

sas="sv=2021-08-06&sr=b&sp=cw&se=2099-01-01T00%3A00%3A00Z&sig=$sig"
"$TSDB" backup --storage.tsdb.path="$tmp/a" --azure.block-size=4KiB \
    --to="$AZ/fwacct/backups/tsdb-sas?$sas" 2>"$tmp/bk-sas.err" ||
    it_die "backup by SAS: $(cat "$tmp/bk-sas.err")"
grep -q "$sig" "$tmp/bk-sas.err" && it_die "the SAS shows in the output"
"$TSDB" backup --storage.tsdb.path="$tmp/a" --azure.block-size=4KiB \
    --to="$AZ/fwacct/backups/tsdb-key" --azure.account-name=fwacct \
    --azure.account-key-file="$tmp/account.key" 2>"$tmp/bk-key.err" ||
    it_die "backup by Shared Key: $(cat "$tmp/bk-key.err")"
"$TSDB" backup --storage.tsdb.path="$tmp/a" --azure.block-size=4KiB --azure.retries=2 \
    --to="$AZ/fwacct/flaky/tsdb?$sas" 2>"$tmp/bk-flaky.err" ||
    it_die "backup with 503s to retry: $(cat "$tmp/bk-flaky.err")"
t_end=$(date +%s%3N)
stats=$(curl -fsS "$AZ/_stats")
[ "$(jq '.violations | length' <<<"$stats")" = 0 ] || it_die "Azure protocol violations: $stats"
[ "$(jq '.put_block_list' <<<"$stats")" = 3 ] || it_die "want 3 Put Block Lists: $stats"
[ "$(jq '.flaky_503 > 0' <<<"$stats")" = true ] || it_die "flaky never answered 503: $stats"
n=$(jq '.put_block' <<<"$stats")
[ "$n" -gt 3 ] || it_die "want several 4KiB blocks per blob: $stats"
it_ok "backups to Azure by SAS, by Shared Key and through 503s: $n blocks of 4KiB, no violation"

# the query time: the last push acknowledged before the first backup began
tq=$(awk -v s="$t_start" '$2 < s { t = $1 } END { print t }' "$tmp/pushed")
[ -n "$tq" ] || it_die "no push before the backup"
tqs=$(awk -v t="$tq" 'BEGIN { printf "%.3f", t / 1000 }')

# --- restore and compare ------------------------------------------------------------------
# the SAS from a file (--azure.sas-file, as the CronJob mounts its Secret): never on a command line
printf '?%s\n' "$sas" >"$tmp/blob.sas"
"$TSDB" restore --from="$AZ/fwacct/backups/tsdb-sas" --azure.sas-file="$tmp/blob.sas" \
    --storage.tsdb.path="$tmp/r_sas" 2>"$tmp/r_sas.err" ||
    it_die "restore by SAS file: $(cat "$tmp/r_sas.err")"
grep -q "$sig" "$tmp/r_sas.err" && it_die "the SAS file's text shows in the output"
"$TSDB" restore --from="$AZ/fwacct/backups/tsdb-key" --azure.account-name=fwacct \
    --azure.account-key-file="$tmp/account.key" --storage.tsdb.path="$tmp/r_key" \
    2>"$tmp/r_key.err" || it_die "restore by Shared Key: $(cat "$tmp/r_key.err")"
"$TSDB" restore --from="$tmp/bk-dir" --storage.tsdb.path="$tmp/r_dir" 2>"$tmp/r_dir.err" ||
    it_die "restore from a directory: $(cat "$tmp/r_dir.err")"
it_ok "restored from the blob (SAS file, Shared Key) and from the directory"

q() { curl -fsS -G "$1/api/v1/query" --data-urlencode "query=$2" --data-urlencode "time=$3"; }
queries=('count_over_time(bk_gauge[1m])' 'sum by (line) (bk_gauge)' 'rate(bk_total[30s])'
    'count({__name__=~"bk_.*"})' 'max_over_time(timestamp(bk_gauge{series="0"})[5m:1s])')
want0=$(q "$A" 'count_over_time(bk_gauge[1m])' "$tqs" | jq -cS .data)
for r in r_sas r_key r_dir; do
    hb=$(it_free_port)
    start_tsdb "tsdb_$r" "$tmp/$r" "$hb"
    B=http://127.0.0.1:$hb
    for e in "${queries[@]}"; do
        want=$(q "$A" "$e" "$tqs" | jq -cS .data)
        got=$(q "$B" "$e" "$tqs" | jq -cS .data)
        [ "$(jq '.result | length' <<<"$want")" -gt 0 ] || it_die "$e at $tqs: empty on the original"
        [ "$want" = "$got" ] || it_die "$r: $e at $tqs: original $want, restored $got"
    done
    # ingest went on: the original has samples after the backups, the restored copy none
    last_b=$(q "$B" 'timestamp(bk_gauge{series="0"})' "$(date +%s)" | jq -r '.data.result[0].value[1]')
    last_a=$(q "$A" 'timestamp(bk_gauge{series="0"})' "$(date +%s)" | jq -r '.data.result[0].value[1]')
    awk -v b="$last_b" -v a="$last_a" -v e="$t_end" 'BEGIN { exit !(b * 1000 <= e && a > b) }' ||
        it_die "$r: restored last sample $last_b, original $last_a, backups ended $t_end"
    it_term "$(eval echo "\$PID_tsdb_$r")"
    it_ok "$r answers ${#queries[@]} queries at $tqs as the original; it ends at $last_b, the original goes on ($last_a)"
done

# --- the snapshot API ---------------------------------------------------------------------
resp=$(curl -sS -X POST "$A/api/v1/admin/tsdb/snapshot")
name=$(jq -r '.data.name' <<<"$resp")
[[ "$name" =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$ ]] || it_die "snapshot answer: $resp"
[ "$(jq -r .status <<<"$resp")" = success ] || it_die "snapshot answer: $resp"
[ -s "$tmp/a/snapshots/$name/data.mdb" ] || it_die "no data.mdb under snapshots/$name"
out=$(curl -sS -w ' %{http_code}' -X PUT "$A/api/v1/admin/tsdb/snapshot?skip_head=maybe")
[ "$out" = '{"status":"error","errorType":"bad_data","error":"invalid parameter \"skip_head\": unable to parse boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax"} 400' ] ||
    it_die "skip_head=maybe: $out"
out=$(curl -sS -w ' %{http_code}' -X POST "$A/api/v1/admin/tsdb/snapshot?skip_head=true")
grep -q 'not supported.* 400$' <<<"$out" || it_die "skip_head=true: $out"
out=$(curl -sS -w '%{http_code}' -X POST "$A/api/v1/admin/tsdb/clean_tombstones")
[ "$out" = 204 ] || it_die "clean_tombstones: $out"
it_ok "POST/PUT /api/v1/admin/tsdb/snapshot: $name; skip_head refused as documented; clean_tombstones 204"
snap=$tmp/a/snapshots/$name

hb=$(it_free_port)
start_tsdb tsdb_off "$tmp/r_sas" "$hb" # admin API off by default
out=$(curl -sS -w ' %{http_code}' -X POST "http://127.0.0.1:$hb/api/v1/admin/tsdb/snapshot")
[ "$out" = '{"status":"error","errorType":"unavailable","error":"admin APIs disabled"} 503' ] ||
    it_die "admin API off: $out"
out=$(curl -sS -w ' %{http_code}' -X PUT "http://127.0.0.1:$hb/api/v1/admin/tsdb/delete_series?match[]=up")
[ "$out" = '{"status":"error","errorType":"unavailable","error":"admin APIs disabled"} 503' ] ||
    it_die "admin API off, delete_series: $out"
it_term "$PID_tsdb_off"
it_ok "without --web.enable-admin-api: 503 admin APIs disabled, as Prometheus"

# --- bad input: the database stays as it was ----------------------------------------------
sum0=$(sha256sum <"$snap/data.mdb")
fail_backup() { # DESC WANT-REGEX ARGS...
    local desc=$1 want=$2 rc=0 t0; shift 2
    t0=$(date +%s)
    "$TSDB" backup --storage.tsdb.path="$snap" --azure.retries=1 --azure.timeout=2s "$@" \
        2>"$tmp/fail.err" || rc=$?
    [ $rc = 1 ] || it_die "$desc: exit $rc, want 1: $(cat "$tmp/fail.err")"
    grep -Eq "$want" "$tmp/fail.err" || it_die "$desc: error lacks /$want/: $(cat "$tmp/fail.err")"
    grep -q "$sig" "$tmp/fail.err" && it_die "$desc: the SAS shows: $(cat "$tmp/fail.err")"
    [ $(($(date +%s) - t0)) -lt 20 ] || it_die "$desc: took over 20 s"
    [ "$(sha256sum <"$snap/data.mdb")" = "$sum0" ] || it_die "$desc: the data file changed"
    it_ok "$desc: $(head -c 300 "$tmp/fail.err")"
}
fail_backup "refusing endpoint (403)" "Azure answered 403 AuthorizationFailure.*untouched" \
    --to="$AZ/fwacct/refuse/tsdb?$sas"
fail_backup "wrong account key" "403 AuthenticationFailed" --to="$AZ/fwacct/backups/wrongkey" \
    --azure.account-name=fwacct --azure.account-key-file=<(head -c 64 /dev/urandom | base64 -w0)
dead=$(it_free_port)
fail_backup "unreachable endpoint" "Couldn't connect|Could not connect|connect" \
    --to="http://127.0.0.1:$dead/fwacct/c/tsdb?$sas"
fail_backup "hanging endpoint" "[Tt]imeout|timed out" --to="$AZ/fwacct/hang/tsdb?$sas"
stats=$(curl -fsS "$AZ/_stats")
[ "$(jq '.blobs | keys | map(select(test("refuse|hang|wrongkey"))) | length' <<<"$stats")" = 0 ] ||
    it_die "a failed backup committed a blob: $stats"
[ "$(jq '.put_block_list' <<<"$stats")" = 3 ] || it_die "a failed backup committed: $stats"
it_ok "failed backups committed no blob"

# restore refuses a non-empty target, and a missing blob
rc=0; "$TSDB" restore --from="$tmp/bk-dir" --storage.tsdb.path="$tmp/r_dir" 2>"$tmp/e" || rc=$?
[ $rc = 1 ] && grep -q "is not empty" "$tmp/e" || it_die "restore into non-empty: $rc $(cat "$tmp/e")"
rc=0; "$TSDB" restore --from="$AZ/fwacct/backups/nosuch?$sas" --storage.tsdb.path="$tmp/r_none" \
    2>"$tmp/e" || rc=$?
[ $rc = 1 ] && grep -q "404 BlobNotFound" "$tmp/e" && [ ! -e "$tmp/r_none/data.mdb" ] &&
    [ ! -e "$tmp/r_none/data.mdb.part" ] || it_die "restore of a missing blob: $rc $(cat "$tmp/e")"
t0=$(date +%s)
rc=0; "$TSDB" restore --from="$AZ/fwacct/hang/tsdb?$sas" --storage.tsdb.path="$tmp/r_hang" \
    --azure.timeout=2s --azure.retries=0 2>"$tmp/e" || rc=$?
[ $rc = 1 ] && grep -q "Get Blob.*Timeout was reached" "$tmp/e" && [ -z "$(ls -A "$tmp/r_hang")" ] &&
    [ $(($(date +%s) - t0)) -lt 20 ] || it_die "restore from a stalled blob: $rc $(cat "$tmp/e")"
it_ok "restore refuses a non-empty target, reports a missing blob and gives up on a stalled one"

it_term "$PID_ingest"
it_term "$PID_tsdb_a"
[ "$IT_RC" = 0 ] || it_die "tsdb_a exit $IT_RC"
# tsdb starts again on a data directory holding snapshots/
start_tsdb tsdb_a2 "$tmp/a" "$ha"
got=$(q "$A" 'count_over_time(bk_gauge[1m])' "$tqs" | jq -cS .data)
[ "$got" = "$want0" ] ||
    it_die "restarted beside snapshots/: $got"
it_term "$PID_tsdb_a2"
it_ok "tsdb restarts on its data directory beside snapshots/ and answers as before"
echo "backup.sh: $IT_PASSES passed"
