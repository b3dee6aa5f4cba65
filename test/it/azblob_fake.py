#!/usr/bin/python3
"""azblob_fake.py PORT ACCOUNT KEY_B64 SAS_SIG — a local HTTP server that plays the Azure Blob
service's documented requests and answers (REST API reference: Put Block, Put Block List,
Get Blob; "Authorize with Shared Key"), since the real service cannot run here.

It checks what a client sends, as Azure would: x-ms-version and x-ms-date on every request;
authorisation by SAS (the query's sig= must be SAS_SIG) or by Shared Key (the Authorization
header's signature is recomputed from the documented string-to-sign with KEY_B64, path-style
resource /ACCOUNT/ACCOUNT/container/blob as the storage emulator has it); block ids valid
base64 and of one length per blob; Put Block List's XML naming only uploaded blocks. A failed
check answers Azure's error (400 or 403 with x-ms-error-code) and is counted; GET /_stats
shows the counts and the committed blobs' sizes.
Containers with special behaviour: "refuse" answers 403 AuthorizationFailure to everything;
"hang" never answers (holds the request 30 s); "flaky" answers 503 ServerBusy to every first
attempt of a request (the client must retry).
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ACCOUNT, KEY, SIG = int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3]), sys.argv[4]
LOCK = threading.Lock()
BLOCKS = {}     # blob path -> {block id: bytes}
BLOBS = {}      # blob path -> bytes
STATS = {"violations": [], "put_block": 0, "put_block_list": 0, "get_blob": 0, "refused": 0,
         "flaky_503": 0}
SEEN = set()    # (method, path, query) answered 503 once by "flaky"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("azblob_fake: " + (fmt % args) + "\n")

    def answer(self, status, body=b"", code=None, headers=()):
        self.send_response(status)
        if code:
            self.send_header("x-ms-error-code", code)
            body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s'
                    '</Message></Error>' % (code, body.decode() if body else code)).encode()
            self.send_header("Content-Type", "application/xml")
        self.send_header("x-ms-version", "2021-08-06")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def violation(self, status, code, why):
        with LOCK:
            STATS["violations"].append("%s %s: %s" % (self.command, self.path, why))
        self.answer(status, why.encode(), code)

    def shared_key_ok(self, u, query):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("SharedKey %s:" % ACCOUNT):
            return False
        xms = sorted((k.lower(), v.strip()) for k, v in self.headers.items()
                     if k.lower().startswith("x-ms-"))
        clen = self.headers.get("Content-Length", "")
        sts = "\n".join([self.command, self.headers.get("Content-Encoding", ""),
                         self.headers.get("Content-Language", ""), "" if clen == "0" else clen,
                         self.headers.get("Content-MD5", ""), self.headers.get("Content-Type", ""),
                         "", self.headers.get("If-Modified-Since", ""),
                         self.headers.get("If-Match", ""), self.headers.get("If-None-Match", ""),
                         self.headers.get("If-Unmodified-Since", ""),
                         self.headers.get("Range", "")]) + "\n"
        sts += "".join("%s:%s\n" % kv for kv in xms)
        sts += "/" + ACCOUNT + u.path
        for k in sorted(query):
            sts += "\n%s:%s" % (k.lower(), ",".join(sorted(query[k])))
        want = base64.b64encode(hmac.new(KEY, sts.encode(), hashlib.sha256).digest()).decode()
        return hmac.compare_digest(auth.split(":", 1)[1], want)

    def check(self, u, query):
        """Common checks; returns the blob key or None after answering."""
        parts = u.path.split("/")
        container = parts[2] if len(parts) > 3 and parts[1] == ACCOUNT else parts[1]
        if container == "hang":
            time.sleep(30)
            return None
        if container == "refuse":
            with LOCK:
                STATS["refused"] += 1
            self.answer(403, b"Server failed to authenticate the request.", "AuthorizationFailure")
            return None
        if container == "flaky":
            key = (self.command, u.path, u.query)
            with LOCK:
                first = key not in SEEN
                SEEN.add(key)
                if first:
                    STATS["flaky_503"] += 1
            if first:
                self.answer(503, b"The server is busy.", "ServerBusy")
                return None
        if self.headers.get("x-ms-version") is None or self.headers.get("x-ms-date") is None:
            self.violation(400, "MissingRequiredHeader", "x-ms-version and x-ms-date required")
            return None
        if "sig" in query:
            if query.pop("sig") != [SIG]:
                self.answer(403, b"Signature did not match.", "AuthenticationFailed")
                return None
            for k in ("sv", "sr", "sp", "se"):
                query.pop(k, None)
        elif not self.shared_key_ok(u, dict(query)):
            self.answer(403, b"The MAC signature found in the HTTP request is not the same as "
                        b"any computed signature.", "AuthenticationFailed")
            return None
        return u.path

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_PUT(self):
        u = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        data = self.body()
        blob = self.check(u, query)
        if blob is None:
            return
        comp = query.get("comp", [""])[0]
        if comp == "block":
            bid = query.get("blockid", [""])[0]
            try:
                raw = base64.b64decode(bid, validate=True)
            except Exception:
                raw = b""
            if not raw or len(raw) > 64:
                return self.violation(400, "InvalidQueryParameterValue", "bad blockid %r" % bid)
            with LOCK:
                blocks = BLOCKS.setdefault(blob, {})
                if blocks and len(next(iter(blocks))) != len(bid):
                    return self.violation(400, "InvalidBlobOrBlock",
                                          "block ids of different lengths")
                blocks[bid] = data
                STATS["put_block"] += 1
            return self.answer(201)
        if comp == "blocklist":
            try:
                ids = [e.text for e in ET.fromstring(data) if e.tag in ("Latest", "Uncommitted",
                                                                          "Committed")]
                root = ET.fromstring(data).tag
            except ET.ParseError as e:
                return self.violation(400, "InvalidXmlDocument", "block list XML: %s" % e)
            if root != "BlockList" or not ids:
                return self.violation(400, "InvalidXmlDocument", "no <BlockList> of blocks")
            with LOCK:
                blocks = BLOCKS.get(blob, {})
                missing = [i for i in ids if i not in blocks]
                if missing:
                    return self.violation(400, "InvalidBlockList", "unknown blocks %s" % missing)
                BLOBS[blob] = b"".join(blocks[i] for i in ids)
                BLOCKS.pop(blob, None)
                STATS["put_block_list"] += 1
            return self.answer(201)
        return self.violation(400, "InvalidQueryParameterValue", "comp=%r not played" % comp)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/_stats":
            with LOCK:
                s = dict(STATS, blobs={k: len(v) for k, v in BLOBS.items()})
            return self.answer(200, json.dumps(s).encode())
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        blob = self.check(u, query)
        if blob is None:
            return
        with LOCK:
            data = BLOBS.get(blob)
            STATS["get_blob"] += 1
        if data is None:
            return self.answer(404, b"The specified blob does not exist.", "BlobNotFound")
        return self.answer(200, data, headers=[("x-ms-blob-type", "BlockBlob")])


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
srv.daemon_threads = True
srv.serve_forever()
