#!/usr/bin/env bash
# free_port.sh — tools/free_port.py never hands the same port to two callers of one process,
# even from threads racing each other (test/conformance/promql.py starts a tsdb from each of
# its workers: two tsdbs given one port made one's HTTP readiness probe read the other's
# ZeroMQ PUB stream, and a CI run failed on it). Fails on the old free_port, which only
# checked that the port was free at the moment of the pick.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
it_tmpdir
TOOLS=$(cd "$(dirname "$0")/../../tools" && pwd)

# 8 threads x 400 picks out of ~27,000 ports: on the old code duplicates are all but certain
# (birthday bound), and no bind holds a port between picks, so only the bookkeeping prevents it
python3 - "$TOOLS" >"$IT_DIR/out" 2>&1 <<'PY' || { cat "$IT_DIR/out"; it_die "free_port gave a port twice"; }
import sys, threading
sys.path.insert(0, sys.argv[1])
from free_port import free_port
picked, lock = [], threading.Lock()
def pick():
    for _ in range(400):
        p = free_port()
        with lock:
            picked.append(p)
threads = [threading.Thread(target=pick) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join(timeout=120)
dups = len(picked) - len(set(picked))
print("picked %d ports, %d given twice" % (len(picked), dups))
sys.exit(1 if dups or len(picked) != 3200 else 0)
PY
it_ok "3,200 ports picked by 8 threads of one process, none given twice"
echo "$(basename "$0"): ${IT_PASSES} passed"
