#!/usr/bin/python3
"""delivery_sink.py PORT DIR - a webhook receiver for test/it/delivery.sh.

Answers 500 to every POST until the file DIR/ok exists, then 200. Each POST is appended to
DIR/posts.jsonl as {"code": <answered>, "body": <the JSON body>}.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"null")
        code = 200 if os.path.exists(os.path.join(DIR, "ok")) else 500
        with open(os.path.join(DIR, "posts.jsonl"), "a") as f:
            f.write(json.dumps({"code": code, "body": body}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), H).serve_forever()
