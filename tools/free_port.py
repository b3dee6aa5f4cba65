#!/usr/bin/env python3
"""free_port.py — print (or return) a TCP port on 127.0.0.1 that nobody listens on now.

The port is picked outside the kernel's ephemeral range (net.ipv4.ip_local_port_range):
a port the kernel hands out for bind(0) is one it may also give, a moment later, to an
outgoing connection as its source port. A daemon that connects to a peer not bound yet
can then hold (or even self-connect on) the very port the peer was about to bind, and
the test fails with "Address already in use". Tests and benchmarks pick ports here.

Nothing holds a port between this pick and the daemon's bind, so a script that picks
twenty ports could be handed one of them twice: with FW_PORTS_FILE set (test/it/lib.sh sets
it to a file in the test's directory), every port handed out is written there and never
handed out again to the same script. Within one process (a runner whose worker threads each
start daemons, as test/conformance/promql.py does) no port is handed out twice either: two
threads could otherwise pick the same port before either daemon binds it, and one daemon's
HTTP client would then talk to the other's ZeroMQ socket.
"""
import os
import random
import socket
import threading

# Ports this process has handed out: process-wide on purpose, since the caller's threads
# are what must not share a port. Guarded by _handed_lock.
_handed = set()
_handed_lock = threading.Lock()


def _ephemeral():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _given(path):
    try:
        with open(path) as f:
            return {int(x) for x in f.read().split() if x.isdigit()}
    except OSError:
        return set()


def free_port():
    with _handed_lock:
        port = _pick(_handed)
        _handed.add(port)
        return port


def _pick(handed):
    lo, hi = _ephemeral()
    ranges = [r for r in ((10000, lo - 1), (hi + 1, 65535)) if r[1] - r[0] > 100]
    # every free port equally likely: weight each range by its size
    weights = [b - a + 1 for a, b in ranges]
    given = _given(os.environ["FW_PORTS_FILE"]) if os.environ.get("FW_PORTS_FILE") else set()
    for _ in range(200):
        a, b = random.choices(ranges, weights)[0] if ranges else (lo, hi)
        port = random.randint(a, b)
        if port in given or port in handed:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything outside was taken: fall back to the kernel's
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    p = free_port()
    if os.environ.get("FW_PORTS_FILE"):
        with open(os.environ["FW_PORTS_FILE"], "a") as f:
            f.write("%d\n" % p)
    print(p)
