#!/usr/bin/python3
"""receivers_capture.py PORT OUT — plays the Slack, PagerDuty (Events API v2) endpoints for
test/it/receivers.sh. None of these services can run here, so this server checks each request
against the shape their documentation gives and answers as they do: 200 "ok" (Slack) or 202
(PagerDuty) for a good request, 400 for a bad one. Every request is appended to OUT as one JSON
line {path, headers, body, status}. Paths: /slack/..., /pd/...; a path holding "/fail400" is
answered 400 (a 4xx must count as failed), one holding "/flaky503" 503 on its first request.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, OUT = int(sys.argv[1]), sys.argv[2]
seen = set()


def check_slack(b):
    # https://api.slack.com/messaging/webhooks, legacy attachments
    if not isinstance(b, dict) or not isinstance(b.get("attachments"), list):
        return "attachments missing"
    for a in b["attachments"]:
        if "fallback" not in a:
            return "attachment without fallback"
    return None


def check_pd(b, headers):
    # https://developer.pagerduty.com/docs/send-alert-event (Events API v2)
    if headers.get("Content-Type") != "application/json":
        return "content type"
    if not b.get("routing_key") or b.get("event_action") not in ("trigger", "resolve"):
        return "routing_key / event_action"
    if not b.get("dedup_key") or len(b["dedup_key"]) > 255:
        return "dedup_key"
    p = b.get("payload") or {}
    if b["event_action"] == "trigger":
        if not p.get("summary") or not p.get("source"):
            return "payload.summary / source"
        if p.get("severity") not in ("critical", "error", "warning", "info"):
            return "payload.severity"
    return None


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        err = None
        if body is None:
            err = "not JSON"
        elif self.path.startswith("/slack"):
            err = check_slack(body)
        elif self.path.startswith("/pd"):
            err = check_pd(body, self.headers)
        status = 400 if err else (202 if self.path.startswith("/pd") else 200)
        if "/fail400" in self.path:
            status = 400
        if "/flaky503" in self.path and self.path not in seen:
            seen.add(self.path)
            status = 503
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body,
                                "status": status, "err": err}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"success"}' if status < 300 else b'{"status":"invalid"}')


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
