# tools/bench-lib.sh — helpers shared by the `make bench` sections (tools/bench-*.sh).
# Source it after the kit's lib.sh.

free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
now() { date +%s.%N; }

# bench_tmp NAME: TMP, a temp dir removed at exit, and RUN_PIDS, the processes a section
# started, stopped by PID at exit (the kit's stop_pid, bounded).
bench_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/fw-bench-$1.XXXXXX")
    RUN_PIDS=()
    trap bench_cleanup EXIT
}
bench_cleanup() {
    local p
    for p in "${RUN_PIDS[@]}"; do stop_pid "$p" 30; done
    [ -z "${EXP_PID:-}" ] || stop_pid "$EXP_PID" 10 # bench_exporter's
    rm -rf "$TMP"
}

# free_range N: the first of N consecutive free loopback ports (bounded search)
free_range() {
    python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); sys.exit(0)
sys.exit(1)
PY
}

# bench_exporter KIT TARGETS SERIES SECONDS DIR: build the kit's synth-exporter and start it
# for SECONDS on TARGETS consecutive free ports; sets EXP_PID (stop it by PID) and writes
# DIR/targets.txt (host:port lines). Non-zero when it did not start (DIR/exporter.log).
bench_exporter() {
    local kit=$1 nt=$2 ns=$3 secs=$4 dir=$5 base
    ( cd "$kit" && cc -O2 -o synth-exporter synth-exporter.c -lm ) || return 1
    base=$(free_range "$nt") || return 1
    "$kit/synth-exporter" -t "$nt" -s "$ns" -p "$base" -d "$secs" -w "$dir/targets.txt" \
        2>"$dir/exporter.log" &
    EXP_PID=$!
    for _ in $(seq 50); do [ -s "$dir/targets.txt" ] && break; sleep 0.1; done
    kill -0 "$EXP_PID" 2>/dev/null && [ -s "$dir/targets.txt" ]
}
