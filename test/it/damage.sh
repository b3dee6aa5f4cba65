#!/usr/bin/env bash
# damage.sh — `tsdb check` on damaged data files, and what a running tsdb makes of them.
#
# A data directory is built by `tsdb import` (200 series x 2 h at 15 s: counters, 1-decimal
# gauges, a gauge with NaN). Asserts that `tsdb check` passes it (exit 0, every record
# counted); exits 2 on usage errors and on a directory without storage; reports a truncated
# copy; names the series (id and labels) and chunk start of a chunk whose header byte is
# overwritten. Then 150 seeded random corruptions, one byte each (a random offset of
# data.mdb, a random different byte), each on its own copy: `tsdb check` must end with 0 or 1
# within 60 s and never die of a signal, however LMDB fares in its child; must report damage
# whenever the byte lies in a chunk's 7-byte header (found from `tsdb check --records` of the
# undamaged copy); and the report lists how often a hit in a chunk's sample bits, in the
# index, or elsewhere was found. Not asserted, but measured and printed: a tsdb started on
# each damaged copy and asked for every sample of every series survives, returns wrong or
# partial answers, or dies (and whether it logged event=tsdb.storage.damaged first).
# DAMAGE_N (150) and DAMAGE_SEED (6) change the corruptions; DAMAGE_TSDB=0 skips the daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_tmpdir
D=$IT_DIR

python3 - "$D/h.om" <<'PY'
import math, random, sys
rnd = random.Random(3)
T0, STEP, N = 1767225600, 15, 480
with open(sys.argv[1], "w") as f:
    f.write("# TYPE reqs counter\n")
    for i in range(80):
        v = rnd.randrange(1000)
        for k in range(N):
            v += rnd.randrange(0, 40)
            f.write('reqs_total{path="/p%d"} %d %d\n' % (i, v, T0 + k * STEP))
    f.write("# TYPE temp_celsius gauge\n")
    for i in range(80):
        v = 20.0 + i
        for k in range(N):
            v += rnd.gauss(0, 0.3)
            f.write('temp_celsius{room="r%d"} %r %d\n' % (i, round(v, 1), T0 + k * STEP))
    f.write("# TYPE level gauge\n")
    for i in range(40):
        for k in range(N):
            x = "NaN" if k % 37 == i else repr(k * 0.25 + i + rnd.random())
            f.write('level{tank="t%d"} %s %d\n' % (i, x, T0 + k * STEP))
    f.write("# EOF\n")
PY
"$TSDB" import --storage.tsdb.path="$D/clean" --storage.tsdb.map-size=64MiB "$D/h.om" >/dev/null ||
    it_die "import"

# --- the undamaged directory, usage ---
rc=0
"$TSDB" check --storage.tsdb.path="$D/clean" --records >"$D/records.txt" 2>"$D/check.err" || rc=$?
it_check "an undamaged directory checks clean (exit 0)" [ "$rc" = 0 ]
it_check "every series and chunk is counted" \
    grep -Eq "\(200 series, 800 chunks, 0 open chunks, 0 log records, [1-9][0-9]* rollup records\); 0 damaged" "$D/records.txt"
it_check "--records lists 800 chunks" [ "$(grep -c '^record chunks ' "$D/records.txt")" = 800 ]
rc=0
"$TSDB" check --storage.tsdb.path="$D/clean" --no-such-flag >/dev/null 2>&1 || rc=$?
it_check "an unknown flag exits 2" [ "$rc" = 2 ]
rc=0
"$TSDB" check --storage.tsdb.path="$D/none" >/dev/null 2>"$D/none.err" || rc=$?
it_check "a directory without storage exits 2 and says so" \
    bash -c "[ $rc = 2 ] && grep -q 'no floorwatch storage' '$D/none.err'"

# --- a truncated copy, a chunk header ---
cp -r "$D/clean" "$D/trunc"
truncate -s 32768 "$D/trunc/data.mdb"
rc=0
"$TSDB" check --storage.tsdb.path="$D/trunc" >"$D/trunc.out" 2>&1 || rc=$?
it_check "a truncated copy exits 1: 'the data file is truncated'" \
    bash -c "[ $rc = 1 ] && grep -q 'the data file is truncated' '$D/trunc.out'"
it_check "... and says what to do (mdb_copy backup)" grep -q "restore data.mdb from a backup" \
    "$D/trunc.out"
cp -r "$D/clean" "$D/hdr"
read -r _ _ key off _ < <(grep '^record chunks ' "$D/records.txt" | sed -n 100p)
printf '\x3f' | dd of="$D/hdr/data.mdb" bs=1 seek="$off" conv=notrunc status=none
rc=0
"$TSDB" check --storage.tsdb.path="$D/hdr" >"$D/hdr.out" 2>&1 || rc=$?
id=$((16#${key:0:16}))
it_check "a chunk with a reserved encoding byte exits 1" [ "$rc" = 1 ]
it_check "... reported with its series id, labels, chunk start and the decoder's error" \
    grep -Eq "^damaged: chunks: series $id [a-z_]+\{[a-z]+=\"[^\"]+\"\} chunk mint [0-9]+ \(2026-01-01T[0-9:.]+Z\): chunk header: a reserved or unknown encoding$" \
    "$D/hdr.out"
it_check "... and counted" grep -q "; 1 damaged" "$D/hdr.out"
cp -r "$D/clean" "$D/roll"
read -r _ _ key off _ < <(grep -E '^record rollups [0-9a-f]{34} ' "$D/records.txt" | sed -n 3p)
printf '\x07' | dd of="$D/roll/data.mdb" bs=1 seek="$off" conv=notrunc status=none
rc=0
"$TSDB" check --storage.tsdb.path="$D/roll" >"$D/roll.out" 2>&1 || rc=$?
g=$((16#${key:0:16})) # a group page (64 series a group: tsdb(8) ROLLUPS, Layout)
it_check "a rollup page of an unknown version is reported with its series (exit 1)" \
    bash -c "[ $rc = 1 ] && grep -Eq '^damaged: rollups:.*rollup page of series $((g * 64)) to $((g * 64 + 63)), level [01] starting -?[0-9]+: ' '$D/roll.out'"

# --- seeded random corruptions ---
python3 - "$D" "$TSDB" "${DAMAGE_N:-150}" "${DAMAGE_SEED:-6}" "${DAMAGE_TSDB:-1}" \
    tools/free_port.py <<'PY' >"$D/random.out" || true
import json, os, random, shutil, signal, subprocess, sys, time, urllib.request
d, tsdb, n, seed, daemon, free_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
recs = []
for line in open(d + "/records.txt"):
    p = line.split()
    if p and p[0] == "record":
        recs.append((p[1], int(p[3]), int(p[4])))

def where(off):
    for db, o, ln in recs:
        if o <= off < o + ln:
            if db == "chunks":
                return "chunk header" if off - o < 7 else "chunk samples"
            return "index" if db in ("series", "by_hash", "postings") else db
    return "elsewhere"  # LMDB's page and node headers, free space, meta pages

def port():
    return subprocess.run([sys.executable, free_port], capture_output=True, text=True,
                          check=True).stdout.strip()

def get(url, timeout=20):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)

def daemon_on(c, ref):
    """'ok', 'wrong' (answers differ from the undamaged copy), 'error' (an HTTP error or
    refused at start, alive or exited with a message), 'died' or 'died-logged'."""
    hp = port()
    log = open(c + ".log", "w")
    p = subprocess.Popen([tsdb, "--storage.tsdb.path=" + c, "--storage.tsdb.retention.time=0s",
                          "--storage.tsdb.map-size=64MiB", "--web.listen-address=127.0.0.1:" + hp,
                          "--zmq.samples-address=tcp://127.0.0.1:" + port(),
                          "--zmq.query-address=tcp://127.0.0.1:" + port(),
                          "--zmq.pub-address=tcp://127.0.0.1:" + port()],
                         stdout=log, stderr=subprocess.STDOUT)
    out = "error"
    try:
        base = "http://127.0.0.1:" + hp
        for _ in range(100):
            if p.poll() is not None:
                break
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1).read()
                break
            except Exception:
                time.sleep(0.1)
        if p.poll() is None:
            try:
                got = [get(base + "/api/v1/query?" + q) for q in ref["queries"]]
                out = "ok" if got == ref["answers"] else "wrong"
            except Exception:
                out = "error"
        time.sleep(0.1)
    finally:
        died = p.poll() is not None and p.returncode < 0
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
    if died:
        out = "died-logged" if "tsdb.storage.damaged" in open(c + ".log").read() else "died"
    return out

queries = ["query=count_over_time(%7B__name__%3D~%22.%2B%22%7D%5B3h%5D)&time=1767232800",
           "query=sum_over_time(%7B__name__%3D~%22.%2B%22%7D%5B3h%5D)&time=1767232800"]
ref = None
if daemon:
    ref = {"queries": queries}
    # the undamaged answers
    hp = port()
    p = subprocess.Popen([tsdb, "--storage.tsdb.path=" + d + "/clean",
                          "--storage.tsdb.retention.time=0s", "--storage.tsdb.map-size=64MiB",
                          "--web.listen-address=127.0.0.1:" + hp,
                          "--zmq.samples-address=tcp://127.0.0.1:" + port(),
                          "--zmq.query-address=tcp://127.0.0.1:" + port(),
                          "--zmq.pub-address=tcp://127.0.0.1:" + port()],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%s/-/ready" % hp, timeout=1).read()
                break
            except Exception:
                time.sleep(0.1)
        ref["answers"] = [get("http://127.0.0.1:%s/api/v1/query?%s" % (hp, q)) for q in queries]
    finally:
        p.terminate()
        p.wait(10)
    # the daemon on the clean copy must be "ok" for the comparison to mean anything
    shutil.copytree(d + "/clean", d + "/c0")
    assert daemon_on(d + "/c0", ref) == "ok"
    shutil.rmtree(d + "/c0")

rnd = random.Random(seed)
size = os.path.getsize(d + "/clean/data.mdb")
bad, table, daemon_tally = [], {}, {}
for i in range(n):
    off, b = rnd.randrange(size), rnd.randrange(256)
    c = d + "/c"
    shutil.rmtree(c, ignore_errors=True)
    shutil.copytree(d + "/clean", c)
    with open(c + "/data.mdb", "r+b") as f:
        f.seek(off)
        if f.read(1)[0] == b:
            b ^= 0xFF
        f.seek(off)
        f.write(bytes([b]))
    t0 = time.monotonic()
    try:
        r = subprocess.run([tsdb, "check", "--storage.tsdb.path=" + c], capture_output=True,
                           timeout=60)
        rc, text = r.returncode, r.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, text = "timeout", ""
    w = where(off)
    found = rc == 1
    faulted = "the walk died" in text or "stalled" in text
    if rc not in (0, 1):
        bad.append("offset %d byte 0x%02x: tsdb check ended with %s" % (off, b, rc))
    if w == "chunk header" and not found:
        bad.append("offset %d byte 0x%02x: a chunk header was hit and nothing reported" % (off, b))
    e = table.setdefault(w, [0, 0, 0])
    e[0] += 1
    e[1] += found
    e[2] += faulted
    if daemon:
        k = daemon_on(c, ref)
        daemon_tally[k] = daemon_tally.get(k, 0) + 1
    shutil.rmtree(c, ignore_errors=True)
for line in bad:
    print("BAD " + line)
for w, (hits, found, faulted) in sorted(table.items()):
    print("hit %-14s %3d: tsdb check reported damage in %3d (its child faulted in %d)" %
          (w, hits, found, faulted))
if daemon:
    print("running tsdb on the %d damaged copies, every sample queried: %s" %
          (n, ", ".join("%s %d" % kv for kv in sorted(daemon_tally.items()))))
print("done %d" % n)
PY
cat "$D/random.out"
it_check "${DAMAGE_N:-150} random corruptions checked" grep -q "^done ${DAMAGE_N:-150}$" "$D/random.out"
it_check "tsdb check never died, never hung, exit 0 or 1; every chunk header hit reported" \
    bash -c "! grep -q '^BAD ' '$D/random.out'"
it_finish
