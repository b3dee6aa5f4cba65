#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server (Debian python3-aiosmtpd) that records every message it
accepts, for test/it/email.sh. Run with /usr/bin/python3 (a pyenv python may lack aiosmtpd).

  smtp_sink.py --port P --out FILE [--host ADDR] [--cert C --key K [--implicit]]
               [--auth USER:PASS]... [--exclude MECHANISM]...

Listens on ADDR (default 127.0.0.1). With --cert/--key it offers STARTTLS and refuses mail
before it (or, --implicit, speaks TLS from the first byte and never offers STARTTLS);
without them it speaks in clear and offers no STARTTLS. With --auth (repeatable: any of the
pairs is accepted) it offers AUTH PLAIN and LOGIN (after STARTTLS only when STARTTLS is
offered) and refuses mail from an unauthenticated session (--exclude PLAIN or LOGIN: not
offered). Each accepted message is one JSON line: mail_from, rcpt_tos, data (the message
text), login (the authenticated user or null), mechanism (the AUTH mechanism used),
password (the one that was accepted), plain (for AUTH PLAIN: authzid, authcid and whether
the response came inline with the command), ehlo (the name the client gave in EHLO/HELO),
tls (whether the session was encrypted), starttls (whether by STARTTLS). Failed AUTH
attempts are JSON lines with "auth_failed": the login. Runs until SIGTERM.
"""
import argparse
import json
import signal
import ssl
import sys
import threading

from base64 import b64decode, b64encode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--implicit", action="store_true")
ap.add_argument("--auth", action="append", default=[])
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
                "password": getattr(session, "fw_password", None),
                "plain": getattr(session, "fw_plain", None), "ehlo": session.host_name,
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "starttls": session.ssl is not None})
        return "250 OK"


class Server(SMTP):
    """Keeps what the client sent in AUTH PLAIN (RFC 4616: authzid NUL authcid NUL passwd)."""

    async def auth_PLAIN(self, server, args):
        inline = len(args) > 1
        res = await super().auth_PLAIN(server, args)
        blob = getattr(self, "fw_blob", None) if not inline else args[1]
        try:
            z, c, _ = b64decode(blob).split(b"\x00")
            self.session.fw_plain = {"authzid": z.decode(), "authcid": c.decode(),
                                     "inline": inline}
        except Exception:
            pass
        return res

    async def challenge_auth(self, challenge, encode_to_b64=True, log_client_response=False):
        r = await super().challenge_auth(challenge, encode_to_b64, log_client_response)
        if isinstance(r, bytes):
            self.fw_blob = b64encode(r).decode()
        return r


class Sink(Controller):
    def factory(self):
        return Server(self.handler, **self.SMTP_kwargs)


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    pair = (auth_data.login.decode(), auth_data.password.decode())
    ok = any(tuple(a.split(":", 1)) == pair for a in args.auth)
    if ok:
        session.fw_mechanism = mechanism
        session.fw_password = pair[1]
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
    kw["auth_require_tls"] = ctx is not None and not args.implicit
    kw["auth_exclude_mechanism"] = args.exclude
controller = Sink(Handler(), hostname=args.host, port=args.port, **kw)
controller.start()
print("ready", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
signal.signal(signal.SIGINT, lambda *a: done.set())
done.wait()
controller.stop()
sys.exit(0)
