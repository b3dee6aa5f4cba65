#!/usr/bin/python3
"""tls_sink.py https PORT OUT CA CERT KEY | tls_sink.py proxy PORT OUT — the two loopback
servers of test/it/delivery_tls.sh, each appending one JSON line per request to OUT.

https: an HTTPS server on 127.0.0.1:PORT with CERT/KEY that requires a client certificate
signed by CA (a handshake without one fails, nothing recorded). Records {path, host, sni,
client_cn, tls, len} and answers 200 "ok" (Slack's answer; any 2xx is a webhook delivery).

proxy: an HTTP proxy on 127.0.0.1:PORT. Records {line, headers} of every request. CONNECT
to 127.0.0.1 is tunnelled (other hosts answered 403; the tunnel lives at most 30 s); a
request in absolute form (POST http://host/path) is answered 200 "ok" by the proxy itself,
so no name needs to resolve. Nothing leaves the loopback interface.
"""
import json
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, PORT, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
sni_of = {}  # socket fileno -> the SNI name its client sent


def record(obj):
    with lock, open(OUT, "a") as f:
        f.write(json.dumps(obj) + "\n")


class HTTPS(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        cert = self.connection.getpeercert() or {}
        cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
        record({"path": self.path, "host": self.headers.get("Host"),
                "sni": sni_of.get(self.connection.fileno()),
                "client_cn": cn[0] if cn else None, "tls": self.connection.version(),
                "len": n})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_CONNECT(self):
        record({"line": self.requestline, "headers": dict(self.headers)})
        host, _, port = self.path.rpartition(":")
        if host != "127.0.0.1":
            self.send_error(403)
            return
        up = socket.create_connection((host, int(port)), timeout=5)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        socks, end = [self.connection, up], time.monotonic() + 30
        try:
            while time.monotonic() < end:
                r, _, _ = select.select(socks, [], [], 1)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is self.connection else self.connection).sendall(data)
        finally:
            up.close()
            self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        record({"line": self.requestline, "headers": dict(self.headers)})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


if MODE == "https":
    ca, cert, key = sys.argv[4:7]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED

    def on_sni(sock, name, _ctx):
        sni_of[sock.fileno()] = name
    ctx.sni_callback = on_sni

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            conn, addr = self.socket.accept()
            return conn, addr

        def finish_request(self, request, client_address):
            request.settimeout(10)
            try:
                tls = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()  # no or a bad client certificate: nothing recorded
                return
            self.RequestHandlerClass(tls, client_address, self)

    srv = Server(("127.0.0.1", PORT), HTTPS)
else:
    srv = ThreadingHTTPServer(("127.0.0.1", PORT), Proxy)
    srv.daemon_threads = True
srv.serve_forever()
