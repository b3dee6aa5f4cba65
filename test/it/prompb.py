"""prompb.py — protobuf and snappy bytes written by hand for the remote-write and remote-read
integration tests (test/it/remote_write_in.sh, remote_read.sh), so that a request can be
made wrong on purpose. Standard library only; import with PYTHONPATH=test/it."""
import struct


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def snappy(raw):  # literal-only snappy block: valid, uncompressed
    out, i = varint(len(raw)), 0
    while i < len(raw):
        chunk = raw[i:i + 65536]
        out += bytes([61 << 2]) + struct.pack("<H", len(chunk) - 1) + chunk
        i += len(chunk)
    return out


def field(n, wt, payload):
    return varint(n << 3 | wt) + (varint(len(payload)) + payload if wt == 2 else payload)
