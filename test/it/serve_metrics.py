#!/usr/bin/env python3
"""serve_metrics.py PORT PATH=FILE[@CONTENT-TYPE] ...: a scrape target for the integration
tests, on 127.0.0.1:PORT. GET PATH answers FILE's bytes as they are on disk at that moment
(a test may change the file between scrapes) with the content type (default OpenMetrics
1.0.0); any other path is 404. With ACCEPT_LOG=FILE in the environment, each request appends
"PATH ACCEPT-HEADER" to FILE. Quiet; one thread per request."""
import http.server
import os
import sys

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
routes = {}
for arg in sys.argv[2:]:
    path, rest = arg.split("=", 1)
    file, _, ctype = rest.partition("@")
    routes[path] = (file, ctype or OM)


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.environ.get("ACCEPT_LOG"):
            with open(os.environ["ACCEPT_LOG"], "a") as f:
                f.write("%s %s\n" % (self.path, self.headers.get("Accept", "")))
        route = routes.get(self.path.split("?", 1)[0])
        if not route:
            self.send_error(404)
            return
        with open(route[0], "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", route[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
