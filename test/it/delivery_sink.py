#!/usr/bin/python3
"""delivery_sink.py PORT DIR - a webhook receiver for test/it/delivery*.sh.

Answers 500 to every POST until the file DIR/ok exists, then 200; a POST to a path ending in
/fail is always answered 500. While the file DIR/hold exists (at most 30 s) a POST is held
unanswered; its path is appended to DIR/held.log when the hold starts. Each POST answered is
appended to DIR/posts.jsonl as {"code": <answered>, "path": <path>, "host": <its Host header>,
"body": <the JSON body>}.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"null")
        if os.path.exists(os.path.join(DIR, "hold")):
            with open(os.path.join(DIR, "held.log"), "a") as f:
                f.write(self.path + "\n")
            deadline = time.monotonic() + 30
            while os.path.exists(os.path.join(DIR, "hold")) and time.monotonic() < deadline:
                time.sleep(0.05)
        code = 200 if os.path.exists(os.path.join(DIR, "ok")) else 500
        if self.path.endswith("/fail"):
            code = 500
        with open(os.path.join(DIR, "posts.jsonl"), "a") as f:
            f.write(json.dumps({"code": code, "path": self.path, "host": self.headers.get("Host"), "body": body}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
