#!/usr/bin/python3
"""kube_api.py — plays a Kubernetes API server's list and watch responses for the scraper.

No cluster can run here, so this script answers the requests kubernetes_sd_configs makes,
shaped as the Kubernetes API documents them (API Concepts: "Efficient detection of
changes", "Watch bookmarks", "410 Gone"): a LIST returns a PodList with
metadata.resourceVersion; a request with ?watch=true streams one JSON watch event per line
({"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": ...}) over a chunked
response that stays open. Only pods are served (role: pod).

The test drives it over /control/... (POST): add?name=N&ip=I&port=P, delete?name=N, gone
(an ERROR event with a 410 Status ends every open watch, so the client must list again),
and reads what it saw from GET /control/stats (lists, watches, the last Authorization
header, the last query string).

Usage: kube_api.py PORT TOKEN_FILE (the Bearer token it requires, read per request)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Condition()
STATE = {"rv": 100, "pods": {}, "events": [], "lists": 0, "watches": 0, "auth": "", "query": ""}
WATCH_MAX_S = 60  # a watch never outlives this, whatever the client asks


def pod(name, ip, port):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": "uid-" + name,
            "resourceVersion": str(STATE["rv"]),
            "labels": {"app": "web", "app.kubernetes.io/name": name},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9",
                 "uid": "rs", "controller": True}
            ],
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "app", "image": "example/app:1",
                 "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]}
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "hostIP": "192.0.2.1",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "containerID": "containerd://abc" + name}],
        },
    }


def push(ev_type, obj):
    """Record an event for open watches (caller holds LOCK)."""
    STATE["events"].append((STATE["rv"], {"type": ev_type, "object": obj}))
    LOCK.notify_all()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("kube_api: " + fmt % args + "\n")

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, obj):
        line = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()

    def do_POST(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        with LOCK:
            STATE["rv"] += 1
            if u.path == "/control/add":
                p = pod(q["name"], q["ip"], int(q["port"]))
                STATE["pods"][q["name"]] = p
                push("ADDED", p)
            elif u.path == "/control/delete":
                p = STATE["pods"].pop(q["name"])
                p["metadata"]["resourceVersion"] = str(STATE["rv"])
                push("DELETED", p)
            elif u.path == "/control/gone":
                push("ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "message": "too old resource version", "reason": "Expired",
                               "code": 410})
            else:
                return self.reply(404, {"error": "unknown control"})
        self.reply(200, {"ok": True})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/control/stats":
            with LOCK:
                return self.reply(200, {k: STATE[k] for k in ("lists", "watches", "auth", "query")})
        if u.path not in ("/api/v1/namespaces/default/pods", "/api/v1/pods"):
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})
        with LOCK:
            STATE["auth"] = self.headers.get("Authorization", "")
            STATE["query"] = u.query
        if STATE["auth"] != "Bearer " + open(TOKEN_FILE).read().strip():
            return self.reply(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
        if q.get("watch") != "true":
            with LOCK:
                STATE["lists"] += 1
                body = {"kind": "PodList", "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(STATE["rv"])},
                        "items": list(STATE["pods"].values())}
            return self.reply(200, body)
        # A watch: events after the client's resourceVersion, as they come.
        with LOCK:
            STATE["watches"] += 1
            since = int(q.get("resourceVersion", "0"))
            seen = len([e for e in STATE["events"] if e[0] <= since])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunk({"type": "BOOKMARK",
                    "object": {"kind": "Pod", "apiVersion": "v1",
                               "metadata": {"resourceVersion": str(since)}}})
        deadline = time.time() + min(WATCH_MAX_S, int(q.get("timeoutSeconds", "60")))
        try:
            while time.time() < deadline:
                with LOCK:
                    LOCK.wait(timeout=0.5)
                    new = STATE["events"][seen:]
                    seen = len(STATE["events"])
                for _, ev in new:
                    self.chunk(ev)
                    if ev["type"] == "ERROR":
                        raise StopIteration
            self.wfile.write(b"0\r\n\r\n")
        except (StopIteration, BrokenPipeError, ConnectionResetError):
            try:
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        self.close_connection = True


if __name__ == "__main__":
    TOKEN_FILE = sys.argv[2]
    with LOCK:
        STATE["pods"]["web-a"] = pod("web-a", "127.0.0.2", 9100)
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    srv.serve_forever()
