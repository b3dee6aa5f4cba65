#!/usr/bin/env python3
"""free_port.py — print (or return) a TCP port on 127.0.0.1 that nobody listens on now.

The port is picked outside the kernel's ephemeral range (net.ipv4.ip_local_port_range):
a port the kernel hands out for bind(0) is one it may also give, a moment later, to an
outgoing connection as its source port. A daemon that connects to a peer not bound yet
can then hold (or even self-connect on) the very port the peer was about to bind, and
the test fails with "Address already in use". Tests and benchmarks pick ports here.
"""
import random
import socket


def _ephemeral():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    lo, hi = _ephemeral()
    ranges = [r for r in ((10000, lo - 1), (hi + 1, 65535)) if r[1] - r[0] > 100]
    for _ in range(200):
        a, b = random.choice(ranges) if ranges else (lo, hi)
        port = random.randint(a, b)
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
    print(free_port())
