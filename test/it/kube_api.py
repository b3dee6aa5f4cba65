#!/usr/bin/python3
"""kube_api.py — plays a Kubernetes API server's list and watch responses for the scraper.

No cluster can run here, so this script answers the requests kubernetes_sd_configs makes,
shaped as the Kubernetes API documents them (API Concepts: "Efficient detection of
changes", "Watch bookmarks", "Retrieving large results sets in chunks", "410 Gone"):

- a LIST returns a PodList (NodeList, NamespaceList) with metadata.resourceVersion; with
  ?limit=N it returns at most min(N, PAGE) items (PAGE is this server's own page size, the
  third argument, small so that a handful of pods takes several pages) and, while more
  remain, metadata.continue: an opaque token the next request passes back (&continue=).
  Unlike a real server the pages are not one consistent snapshot: the test changes nothing
  while a list is paged.
- a request with ?watch=true streams one JSON watch event per line ({"type": "ADDED" |
  "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR", "object": ...}) over a chunked response
  that stays open, starting with a BOOKMARK of the client's resourceVersion.

Served: pods of namespace default (and of all namespaces), nodes, namespaces.

The test drives it over /control/... (POST): add?name=N&ip=I&port=P, delete?name=N,
label_node?name=N&key=K&value=V (a MODIFIED node), gone (an ERROR event with a 410 Status
ends every open watch, so the client must list again), expire (the next request with a
continue token is answered 410 Gone, reason Expired, as once etcd compacted past the
list's version). GET /control/stats says what it saw: lists (pod lists begun: requests
without a continue token), pages (all pod list requests),
unpaged (pod lists without limit), expired (410s answered to continue tokens), watches,
node_lists, namespace_lists, the last Authorization header of a pod request, and the
query strings of the pod watches (watch_queries).

With --tls DIR/NAME it serves HTTPS, as an API server does, with the certificate DIR/NAME.pem
and key DIR/NAME.key read again for every connection (so a test can replace them while it
runs); with --client-ca FILE as well, it requires a client certificate that FILE's CA
signed (the API server's --client-ca-file). Stats then also say, per connection (by the
client's port), the SHA-256 of the certificate served (conns: {port: sha256 hex}),
handshakes refused (tls_refused), the client certificate's CN of the last pod request
(client_cn), and each pod watch (watch_log: [{port, cert, start, end, closed_by_client}]:
its connection's port and certificate's SHA-256, when it began and ended, end null while
it runs): a watch notices within half a second that its client closed the connection.

Usage: kube_api.py PORT TOKEN_FILE [PAGE] [--tls DIR/NAME [--client-ca FILE]]
[--watch-max S] (TOKEN_FILE: the Bearer token it requires, read per request; PAGE default 2;
S: the longest a watch lasts, whatever the client asks, default 60)
"""
import argparse
import base64
import hashlib
import json
import select
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Condition()
STATE = {"rv": 100, "pods": {}, "nodes": {}, "namespaces": {}, "events": [],
         "expire_next": False}
STATS = {"lists": 0, "pages": 0, "unpaged": 0, "expired": 0, "watches": 0, "node_lists": 0,
         "namespace_lists": 0, "auth": "", "watch_queries": [], "conns": {}, "tls_refused": 0,
         "client_cn": "", "watch_log": []}
TLS = {"name": None, "client_ca": None}
WATCH_MAX_S = 60  # a watch never outlives this, whatever the client asks
PAGE = 2
PATHS = {
    "/api/v1/namespaces/default/pods": ("pods", "Pod"),
    "/api/v1/pods": ("pods", "Pod"),
    "/api/v1/nodes": ("nodes", "Node"),
    "/api/v1/namespaces": ("namespaces", "Namespace"),
}


def meta(name, namespace=None):
    m = {"name": name, "uid": "uid-" + name, "resourceVersion": str(STATE["rv"])}
    if namespace:
        m["namespace"] = namespace
    return m


def pod(name, ip, port, node="node-1"):
    m = meta(name, "default")
    m.update({
        "labels": {"app": "web", "app.kubernetes.io/name": name},
        "annotations": {"prometheus.io/scrape": "true"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9",
             "uid": "rs", "controller": True}
        ],
    })
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": m,
        "spec": {
            "nodeName": node,
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


def node(name, zone):
    m = meta(name)
    m.update({"labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone},
              "annotations": {"node.alpha.kubernetes.io/ttl": "0"}})
    return {"apiVersion": "v1", "kind": "Node", "metadata": m,
            "spec": {"providerID": "kind://" + name},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.1"},
                                     {"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}


def namespace(name):
    m = meta(name)
    m.update({"labels": {"kubernetes.io/metadata.name": name, "team": "shop"},
              "annotations": {"owner": "ops@example.com"}})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": m,
            "status": {"phase": "Active"}}


def push(resource, ev_type, obj):
    """Record an event for open watches of resource ("*": all) (caller holds LOCK)."""
    STATE["events"].append((STATE["rv"], resource, {"type": ev_type, "object": obj}))
    LOCK.notify_all()


def gone_status(message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": "Expired", "code": 410}


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
                push("pods", "ADDED", p)
            elif u.path == "/control/delete":
                p = STATE["pods"].pop(q["name"])
                p["metadata"]["resourceVersion"] = str(STATE["rv"])
                push("pods", "DELETED", p)
            elif u.path == "/control/label_node":
                n = STATE["nodes"][q["name"]]
                n["metadata"]["labels"][q["key"]] = q["value"]
                n["metadata"]["resourceVersion"] = str(STATE["rv"])
                push("nodes", "MODIFIED", n)
            elif u.path == "/control/gone":
                push("*", "ERROR", gone_status("too old resource version"))
            elif u.path == "/control/expire":
                STATE["expire_next"] = True
            else:
                return self.reply(404, {"error": "unknown control"})
        self.reply(200, {"ok": True})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/control/stats":
            with LOCK:
                return self.reply(200, dict(STATS))
        if u.path not in PATHS:
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})
        resource, kind = PATHS[u.path]
        auth = self.headers.get("Authorization", "")
        with LOCK:
            if resource == "pods":
                STATS["auth"] = auth
                if TLS["client_ca"]:
                    subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
                    STATS["client_cn"] = subject.get("commonName", "")
                if q.get("watch"):
                    STATS["watch_queries"].append(u.query)
        if auth != "Bearer " + open(TOKEN_FILE).read().strip():
            return self.reply(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
        if q.get("watch") not in ("true", "1"):
            return self.list(resource, kind, q)
        return self.watch(resource, kind, q)

    def list(self, resource, kind, q):
        limit = int(q.get("limit", "0") or "0")
        cont = q.get("continue")
        with LOCK:
            if resource == "pods":
                STATS["pages"] += 1
                STATS["lists"] += 0 if cont else 1
                STATS["unpaged"] += 0 if limit else 1
            elif not cont:
                STATS["node_lists" if resource == "nodes" else "namespace_lists"] += 1
            start, rv = 0, str(STATE["rv"])
            if cont:
                if STATE["expire_next"]:
                    STATE["expire_next"] = False
                    STATS["expired"] += 1
                    return self.reply(410, gone_status(
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue "
                        "parameter."))
                tok = json.loads(base64.b64decode(cont))
                start, rv = tok["start"], tok["rv"]
            items = [STATE[resource][k] for k in sorted(STATE[resource])]
            size = min(limit, PAGE) if limit else len(items)
            page = items[start:start + size]
            md = {"resourceVersion": rv}
            if start + size < len(items):
                md["continue"] = base64.b64encode(json.dumps(
                    {"rv": rv, "start": start + size}).encode()).decode()
                md["remainingItemCount"] = len(items) - start - size
            body = {"kind": kind + "List", "apiVersion": "v1", "metadata": md, "items": page}
        return self.reply(200, body)

    def watch(self, resource, kind, q):
        # Events after the client's resourceVersion, as they come.
        with LOCK:
            STATS["watches"] += 1
            since = int(q.get("resourceVersion", "0") or "0")
            seen = len([e for e in STATE["events"] if e[0] <= since])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunk({"type": "BOOKMARK",
                    "object": {"kind": kind, "apiVersion": "v1",
                               "metadata": {"resourceVersion": str(since)}}})
        start = time.time()
        deadline = start + min(WATCH_MAX_S, int(q.get("timeoutSeconds", "60")))
        entry = {"port": self.client_address[1], "start": start, "end": None,
                 "closed_by_client": False,
                 "cert": STATS["conns"].get(str(self.client_address[1]), "")}
        if resource == "pods":
            with LOCK:
                STATS["watch_log"].append(entry)
        closed = False
        try:
            while time.time() < deadline and not closed:
                with LOCK:
                    LOCK.wait(timeout=0.5)
                    new = STATE["events"][seen:]
                    seen = len(STATE["events"])
                for _, res, ev in new:
                    if res not in (resource, "*"):
                        continue
                    self.chunk(ev)
                    if ev["type"] == "ERROR":
                        raise StopIteration
                closed = self.client_closed()
            if not closed:
                self.wfile.write(b"0\r\n\r\n")
        except (StopIteration, BrokenPipeError, ConnectionResetError):
            try:
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                closed = True
        with LOCK:
            entry.update({"end": time.time(), "closed_by_client": closed})
        self.close_connection = True

    def client_closed(self):
        """Whether the client closed the connection: a watch's client sends nothing more,
        so a readable socket that reads end of file (or fails) means it went."""
        if not select.select([self.connection], [], [], 0)[0]:
            return False
        try:
            return self.connection.recv(1) == b""
        except (OSError, ValueError):
            return True


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The TLS handshake in the connection's own thread, with the certificate as it is
        # on disk now.
        if TLS["name"]:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with open(TLS["name"] + ".pem", "rb") as f:
                served = hashlib.sha256(f.read()).hexdigest()
            ctx.load_cert_chain(TLS["name"] + ".pem", TLS["name"] + ".key")
            if TLS["client_ca"]:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(TLS["client_ca"])
            request.settimeout(10)
            try:
                request = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("kube_api: handshake refused from %s: %s\n" % (client_address, e))
                with LOCK:
                    STATS["tls_refused"] += 1
                return
            request.settimeout(None)
            with LOCK:
                STATS["conns"][str(client_address[1])] = served
        super().finish_request(request, client_address)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("token_file")
    ap.add_argument("page", type=int, nargs="?", default=2)
    ap.add_argument("--tls")
    ap.add_argument("--client-ca")
    ap.add_argument("--watch-max", type=int, default=60)
    args = ap.parse_args()
    TOKEN_FILE, PAGE, WATCH_MAX_S = args.token_file, args.page, args.watch_max
    TLS["name"], TLS["client_ca"] = args.tls, args.client_ca
    with LOCK:
        # Five pods (three pages of 2): web-a and web-c on node-1, web-d and web-e on node-2,
        # web-f on a node the server does not know; the two nodes; the namespace.
        STATE["pods"]["web-a"] = pod("web-a", "127.0.0.2", 9100)
        STATE["pods"]["web-c"] = pod("web-c", "127.0.0.4", 9100)
        STATE["pods"]["web-d"] = pod("web-d", "127.0.0.5", 9100, node="node-2")
        STATE["pods"]["web-e"] = pod("web-e", "127.0.0.6", 9100, node="node-2")
        STATE["pods"]["web-f"] = pod("web-f", "127.0.0.7", 9100, node="node-9")  # no such node
        STATE["nodes"]["node-1"] = node("node-1", "z1")
        STATE["nodes"]["node-2"] = node("node-2", "z2")
        STATE["namespaces"]["default"] = namespace("default")
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.serve_forever()
