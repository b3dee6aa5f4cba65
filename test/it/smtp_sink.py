#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server (Debian python3-aiosmtpd) that records every message it
accepts, for test/it/email.sh. Run with /usr/bin/python3 (a pyenv python may lack aiosmtpd).

  smtp_sink.py --port P --out FILE [--cert C --key K [--implicit]] [--auth USER:PASS]
               [--exclude MECHANISM]...

With --cert/--key it offers STARTTLS and refuses mail before it (or, --implicit, speaks TLS
from the first byte); with --auth it offers AUTH PLAIN and LOGIN (after TLS only when TLS is
configured) and refuses mail from an unauthenticated session (--exclude PLAIN or LOGIN: not offered). Each accepted message is one
JSON line: mail_from, rcpt_tos, data (the message text), login (the authenticated user or
null), mechanism (the AUTH mechanism used), tls (whether the session was encrypted). Failed AUTH attempts are JSON lines with
"auth_failed": the login. Runs until SIGTERM.
"""
import argparse
import json
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--implicit", action="store_true")
ap.add_argument("--auth")
ap.add_argument("--exclude", action="append", default=[], help="an AUTH mechanism not offered")
args = ap.parse_args()
lock = threading.Lock()


def record(obj):
    with lock, open(args.out, "a") as f:
        f.write(json.dumps(obj) + "\n")


class Handler:
    async def handle_DATA(self, server, session, envelope):
        ad = session.auth_data
        login = ad.decode() if isinstance(ad, bytes) else None
        record({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"), "login": login,
                "mechanism": getattr(session, "fw_mechanism", None),
                "tls": session.ssl is not None})
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    user, pw = args.auth.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == pw
    if ok:
        session.fw_mechanism = mechanism
    else:
        record({"auth_failed": auth_data.login.decode(), "mechanism": mechanism})
    return AuthResult(success=ok, auth_data=auth_data.login)


kw = {}
ctx = None
if args.cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
if ctx and args.implicit:
    kw["ssl_context"] = ctx
elif ctx:
    kw["tls_context"] = ctx
    kw["require_starttls"] = True
if args.auth:
    kw["authenticator"] = authenticator
    kw["auth_required"] = True
    kw["auth_require_tls"] = ctx is not None
    kw["auth_exclude_mechanism"] = args.exclude
controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **kw)
controller.start()
print("ready", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
signal.signal(signal.SIGINT, lambda *a: done.set())
done.wait()
controller.stop()
sys.exit(0)
