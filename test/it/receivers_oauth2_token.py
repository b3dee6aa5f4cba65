#!/usr/bin/python3
"""receivers_oauth2_token.py PORT OUT CLIENT_ID CLIENT_SECRET — plays an OAuth 2.0 token
endpoint for test/it/receivers_oauth2.sh. No real authorization server runs here, so this
one plays the exchange RFC 6749 documents for the client credentials grant (section 4.4.2
the request, 4.4.3 / 5.1 the answer, 5.2 the error; client authentication per section
2.3.1: HTTP Basic with the form-urlencoded id and secret, or both in the body).

Each request is appended to OUT as one JSON line {method, path, headers, body (the form,
each name's first value), status, err, t}; err names what RFC 6749 does not allow (a
method other than POST, a Content-Type other than application/x-www-form-urlencoded, a
grant_type other than client_credentials, wrong or missing client credentials: answered
400 or 401 {"error": ...} as section 5.2 says). Paths:
  .../ok     a good request is answered 200 {"access_token": "TOKEN-<n>", "token_type":
             "bearer", "expires_in": EXPIRES_IN} (n counts the tokens given under the path's
             first segment, so each side of a comparison gets TOKEN-1, TOKEN-2, ...)
  .../401    always 401 {"error": "invalid_client"}
  .../500    always 500 {"error": "server_error"}
EXPIRES_IN is 14 (seconds) unless the environment sets TOKEN_EXPIRES_IN.
"""
import base64
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, OUT, CLIENT_ID, CLIENT_SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
EXPIRES_IN = int(os.environ.get("TOKEN_EXPIRES_IN", "14"))
LOCK = threading.Lock()
COUNTS = {}


def client_of(headers, form):
    """The client credentials the request carries (RFC 6749 2.3.1), or None."""
    auth = headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(pw)
    if "client_id" in form:
        return form["client_id"], form.get("client_secret", "")
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        if self.command == "GET" and self.path == "/":  # the harness waiting for it
            self.answer(200, {})
            return
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        rec = {"method": self.command, "path": self.path, "headers": dict(self.headers),
               "body": form, "raw": raw, "err": None, "t": time.time()}
        status, obj = 200, None
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if self.command != "POST":
            rec["err"], status, obj = "method", 400, {"error": "invalid_request"}
        elif ctype != "application/x-www-form-urlencoded":
            rec["err"], status, obj = "content type", 400, {"error": "invalid_request"}
        elif form.get("grant_type") != "client_credentials":
            rec["err"], status, obj = "grant_type", 400, {"error": "unsupported_grant_type"}
        elif client_of(self.headers, form) != (CLIENT_ID, CLIENT_SECRET):
            rec["err"], status, obj = "client", 401, {"error": "invalid_client"}
        elif self.path.endswith("/401"):
            status, obj = 401, {"error": "invalid_client"}
        elif self.path.endswith("/500"):
            status, obj = 500, {"error": "server_error"}
        else:
            side = self.path.split("/")[1]
            with LOCK:
                COUNTS[side] = COUNTS.get(side, 0) + 1
                obj = {"access_token": "TOKEN-%d" % COUNTS[side], "token_type": "bearer",
                       "expires_in": EXPIRES_IN}
        rec["status"] = status
        with LOCK, open(OUT, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.answer(status, obj)

    do_POST = handle_any
    do_GET = handle_any
    do_PUT = handle_any


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
