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

Served: pods of namespace default (and of all namespaces), nodes, namespaces; and, for
the other roles (scraper_sd_kube_roles.sh), services, endpoints, endpointslices
(discovery.k8s.io/v1) and ingresses (networking.k8s.io/v1), in every namespace or one
(/api/v1/namespaces/NS/..., /apis/GROUP/VERSION/namespaces/NS/...): a namespaced request
gets only that namespace's objects, a labelSelector of k=v, k!=v, k and !k terms only the
matching ones (lists and watch events alike; fieldSelector is not played). Seeded besides
the pods: Services web (ClusterIP), ext (ExternalName) and edge (LoadBalancer), the
Endpoints web (two ready pod addresses, one not ready, one address without a pod), the
EndpointSlice web-abc12 of Service web, the Ingress web (TLS host, plain host, a rule
without paths), and in namespace other the pod other-a (own_namespace tests).

The test drives it over /control/... (POST): add?name=N&ip=I&port=P, delete?name=N,
label_node?name=N&key=K&value=V (a MODIFIED node), gone (an ERROR event with a 410 Status
ends every open watch, so the client must list again), expire (the next request with a
continue token is answered 410 Gone, reason Expired, as once etcd compacted past the
list's version). GET /control/stats says what it saw: lists (pod lists begun: requests
without a continue token), pages (all pod list requests),
unpaged (pod lists without limit), expired (410s answered to continue tokens), watches,
node_lists, namespace_lists, the last Authorization header of a pod request, and the
query strings of the pod watches (watch_queries). For every resource, stats.res[RESOURCE]
counts lists (begun), watches, and holds the last Authorization header and the paths with
query of its requests (requests, the last 50).

More controls (POST) for the other roles: put?resource=R with a JSON object as the body
(ADDED if no object of its namespace and name exists, else MODIFIED; resourceVersion set
here), remove?resource=R&name=N[&namespace=NS] (DELETED), label_pod?name=N&key=K&value=V
[&namespace=NS] (a MODIFIED pod, as the endpoints roles cross-watch), add?...&namespace=NS
(a pod of another namespace), add_node?name=N&ip=I&zone=Z, delete_node?name=N,
bookmark?resource=R (the version moves on by 1000 and R's open watches get a BOOKMARK of it;
answers {"rv": N}).

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
         "client_cn": "", "watch_log": [], "res": {}}
TLS = {"name": None, "client_ca": None}
WATCH_MAX_S = 60  # a watch never outlives this, whatever the client asks
PAGE = 2
PATHS = {
    "/api/v1/namespaces/default/pods": ("pods", "Pod"),
    "/api/v1/pods": ("pods", "Pod"),
    "/api/v1/nodes": ("nodes", "Node"),
    "/api/v1/namespaces": ("namespaces", "Namespace"),
}


NAMESPACED = {  # resource -> (API group path, kind, apiVersion)
    "pods": ("/api/v1", "Pod", "v1"),
    "services": ("/api/v1", "Service", "v1"),
    "endpoints": ("/api/v1", "Endpoints", "v1"),
    "endpointslices": ("/apis/discovery.k8s.io/v1", "EndpointSlice", "discovery.k8s.io/v1"),
    "ingresses": ("/apis/networking.k8s.io/v1", "Ingress", "networking.k8s.io/v1"),
}


def route(path):
    """(resource, kind, namespace or None) of an API path, or None if it is not one."""
    if path in PATHS:
        return PATHS[path] + (None if path != "/api/v1/namespaces/default/pods" else "default",)
    for res, (group, kind, _) in NAMESPACED.items():
        if path == group + "/" + res:
            return res, kind, None
        pre = group + "/namespaces/"
        if path.startswith(pre) and path.endswith("/" + res):
            ns = path[len(pre):-len(res) - 1]
            if ns and "/" not in ns:
                return res, kind, ns
    return None


def selected(obj, ns, selector):
    """Whether obj is in namespace ns (None: any) and matches the labelSelector (equality
    and existence terms only, as the scraper's tests use)."""
    md = obj.get("metadata", {})
    if ns is not None and md.get("namespace") != ns:
        return False
    labels = md.get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            ok = labels.get(k) != v
        elif "=" in term:
            k, v = term.split("=", 1)
            ok = labels.get(k) == v.lstrip("=")
        elif term.startswith("!"):
            ok = term[1:] not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def obj_key(obj):
    md = obj["metadata"]
    return md["namespace"] + "/" + md["name"] if md.get("namespace") else md["name"]


def res_stats(resource):
    return STATS["res"].setdefault(resource, {"lists": 0, "watches": 0, "auth": "",
                                              "requests": []})


def meta(name, namespace=None):
    m = {"name": name, "uid": "uid-" + name, "resourceVersion": str(STATE["rv"])}
    if namespace:
        m["namespace"] = namespace
    return m


def pod(name, ip, port, node="node-1", namespace="default"):
    m = meta(name, namespace)
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


def node(name, zone, ip="192.0.2.1"):
    m = meta(name)
    m.update({"labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone},
              "annotations": {"node.alpha.kubernetes.io/ttl": "0"}})
    return {"apiVersion": "v1", "kind": "Node", "metadata": m,
            "spec": {"providerID": "kind://" + name},
            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                     {"type": "Hostname", "address": name}],
                       "conditions": [{"type": "Ready", "status": "True"},
                                      {"type": "MemoryPressure", "status": "False"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}


def namespace(name):
    m = meta(name)
    m.update({"labels": {"kubernetes.io/metadata.name": name, "team": "shop"},
              "annotations": {"owner": "ops@example.com"}})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": m,
            "status": {"phase": "Active"}}


def typed(resource, m, **body):
    """An object of a NAMESPACED resource with metadata m and the fields body."""
    _, kind, api_version = NAMESPACED[resource]
    obj = {"apiVersion": api_version, "kind": kind, "metadata": m}
    obj.update(body)
    return obj


def service(name, svc_type, ports, labels, cluster_ip="None", **spec):
    m = meta(name, "default")
    m.update({"labels": labels, "annotations": {"prometheus.io/scrape": "true"}})
    spec.update({"type": svc_type, "ports": ports})
    if svc_type != "ExternalName":
        spec["clusterIP"] = cluster_ip
    status = {"loadBalancer": {}}
    if svc_type == "LoadBalancer":
        status["loadBalancer"]["ingress"] = [{"ip": "203.0.113.5"}, {"hostname": "lb.test"},
                                             {"ip": "203.0.113.6"}]
    return typed("services", m, spec=spec, status=status)


def pod_ref(name):
    return {"kind": "Pod", "name": name, "namespace": "default", "uid": "uid-" + name}


def endpoints_web():
    # Ready: web-a and web-c (pods, on node-1) and 127.0.0.9 (no pod: an external address
    # with a hostname); not ready: web-d (on node-2). One port, as the Service's.
    m = meta("web", "default")
    m.update({"labels": {"app": "web"}, "annotations": {"team": "shop"}})
    return typed("endpoints", m, subsets=[{
        "addresses": [
            {"ip": "127.0.0.2", "nodeName": "node-1", "targetRef": pod_ref("web-a")},
            {"ip": "127.0.0.4", "nodeName": "node-1", "targetRef": pod_ref("web-c")},
            {"ip": "127.0.0.9", "hostname": "ext-1"},
        ],
        "notReadyAddresses": [
            {"ip": "127.0.0.5", "nodeName": "node-2", "targetRef": pod_ref("web-d")},
        ],
        "ports": [{"name": "metrics", "port": 9100, "protocol": "TCP"}],
    }])


def endpointslice_web():
    m = meta("web-abc12", "default")
    m.update({"labels": {"kubernetes.io/service-name": "web",
                         "endpointslice.kubernetes.io/managed-by":
                             "endpointslice-controller.k8s.io"},
              "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                   "uid": "uid-web", "controller": True}]})
    return typed("endpointslices", m, addressType="IPv4", endpoints=[
        {"addresses": ["127.0.0.2"], "nodeName": "node-1", "zone": "z1",
         "conditions": {"ready": True, "serving": True, "terminating": False},
         "targetRef": pod_ref("web-a")},
        {"addresses": ["127.0.0.4"], "nodeName": "node-1", "hostname": "web-c",
         "conditions": {"ready": False, "serving": True, "terminating": True},
         "targetRef": pod_ref("web-c")},
    ], ports=[{"name": "metrics", "port": 9100, "protocol": "TCP", "appProtocol": "http"}])


def ingress_web():
    m = meta("web", "default")
    m.update({"labels": {"app": "web"}, "annotations": {"ingress.example/rewrite": "/"}})
    backend = {"service": {"name": "web", "port": {"number": 9100}}}
    return typed("ingresses", m, spec={
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["*.secure.test"], "secretName": "tls"}],
        "rules": [
            {"host": "shop.secure.test", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": backend},
                {"path": "/api", "pathType": "Prefix", "backend": backend}]}},
            {"host": "plain.test", "http": {"paths": [
                {"path": "/metrics", "pathType": "Exact", "backend": backend}]}},
            {"host": "nopaths.test"},
        ]}, status={"loadBalancer": {}})


def seed_roles():
    """The objects of the other roles (caller holds LOCK)."""
    svcs = [
        service("web", "ClusterIP", [{"name": "metrics", "port": 9100, "protocol": "TCP",
                                      "targetPort": 9100}], {"app": "web"}, "10.0.0.10",
                selector={"app": "web"}),
        service("ext", "ExternalName", [{"name": "pg", "port": 5432, "protocol": "TCP"}],
                {"app": "db"}, externalName="db.example.com"),
        service("edge", "LoadBalancer", [{"name": "http", "port": 80, "protocol": "TCP"},
                                         {"name": "dns", "port": 53, "protocol": "UDP"}],
                {"app": "edge"}, "10.0.0.12"),
    ]
    for obj in svcs + [endpoints_web(), endpointslice_web(), ingress_web()]:
        STATE.setdefault(obj_resource(obj), {})[obj_key(obj)] = obj
    STATE["pods"]["other/other-a"] = pod("other-a", "127.0.0.8", 9100, namespace="other")
    STATE["namespaces"]["other"] = namespace("other")


def obj_resource(obj):
    return {kind: res for res, (_, kind, _) in NAMESPACED.items()}[obj["kind"]]


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
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or "0"))
        with LOCK:
            STATE["rv"] += 1
            ns = q.get("namespace", "default")
            if u.path == "/control/add":
                p = pod(q["name"], q["ip"], int(q["port"]), namespace=ns)
                STATE["pods"][q["name"] if ns == "default" else ns + "/" + q["name"]] = p
                push("pods", "ADDED", p)
            elif u.path == "/control/put" and q.get("resource") in NAMESPACED:
                obj = json.loads(body)
                obj["metadata"]["resourceVersion"] = str(STATE["rv"])
                objs = STATE.setdefault(q["resource"], {})
                ev = "MODIFIED" if obj_key(obj) in objs else "ADDED"
                objs[obj_key(obj)] = obj
                push(q["resource"], ev, obj)
            elif u.path == "/control/remove" and q.get("resource") in NAMESPACED:
                obj = STATE.get(q["resource"], {}).pop(ns + "/" + q["name"], None)
                if obj is None:
                    return self.reply(404, {"error": "no such object"})
                obj["metadata"]["resourceVersion"] = str(STATE["rv"])
                push(q["resource"], "DELETED", obj)
            elif u.path == "/control/label_pod":
                p = STATE["pods"][q["name"] if ns == "default" else ns + "/" + q["name"]]
                p["metadata"]["labels"][q["key"]] = q["value"]
                p["metadata"]["resourceVersion"] = str(STATE["rv"])
                push("pods", "MODIFIED", p)
            elif u.path == "/control/add_node":
                n = node(q["name"], q["zone"], q["ip"])
                STATE["nodes"][q["name"]] = n
                push("nodes", "ADDED", n)
            elif u.path == "/control/bookmark" and q.get("resource") in NAMESPACED:
                # Time passes without changes to this resource (the version moves on by
                # 1000): a BOOKMARK tells its watches the version they are now at.
                STATE["rv"] += 1000
                _, kind, api_version = NAMESPACED[q["resource"]]
                push(q["resource"], "BOOKMARK", {"kind": kind, "apiVersion": api_version,
                                                 "metadata": {"resourceVersion":
                                                              str(STATE["rv"])}})
                return self.reply(200, {"ok": True, "rv": STATE["rv"]})
            elif u.path == "/control/delete_node":
                n = STATE["nodes"].pop(q["name"])
                n["metadata"]["resourceVersion"] = str(STATE["rv"])
                push("nodes", "DELETED", n)
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
        r = route(u.path)
        if r is None:
            return self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})
        resource, kind, ns = r
        auth = self.headers.get("Authorization", "")
        with LOCK:
            rs = res_stats(resource)
            rs["auth"] = auth
            rs["requests"] = (rs["requests"] + [self.path])[-50:]
            if q.get("watch") in ("true", "1"):
                rs["watches"] += 1
            elif not q.get("continue"):
                rs["lists"] += 1
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
            return self.list(resource, kind, q, ns)
        return self.watch(resource, kind, q, ns)

    def list(self, resource, kind, q, ns=None):
        limit = int(q.get("limit", "0") or "0")
        cont = q.get("continue")
        with LOCK:
            if resource == "pods":
                STATS["pages"] += 1
                STATS["lists"] += 0 if cont else 1
                STATS["unpaged"] += 0 if limit else 1
            elif not cont and resource in ("nodes", "namespaces"):
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
            items = [STATE[resource][k] for k in sorted(STATE[resource])
                     if selected(STATE[resource][k], ns, q.get("labelSelector"))]
            size = min(limit, PAGE) if limit else len(items)
            page = items[start:start + size]
            md = {"resourceVersion": rv}
            if start + size < len(items):
                md["continue"] = base64.b64encode(json.dumps(
                    {"rv": rv, "start": start + size}).encode()).decode()
                md["remainingItemCount"] = len(items) - start - size
            api_version = NAMESPACED[resource][2] if resource in NAMESPACED else "v1"
            body = {"kind": kind + "List", "apiVersion": api_version, "metadata": md,
                    "items": page}
        return self.reply(200, body)

    def watch(self, resource, kind, q, ns=None):
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
                    "object": {"kind": kind, "apiVersion": NAMESPACED.get(
                        resource, (0, 0, "v1"))[2],
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
                    if res != "*" and ev["type"] != "BOOKMARK" and not selected(
                            ev["object"], ns, q.get("labelSelector")):
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
        seed_roles()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.serve_forever()
