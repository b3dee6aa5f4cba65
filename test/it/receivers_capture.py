#!/usr/bin/python3
"""receivers_capture.py PORT OUT [ACS_KEY [TLS]] — plays a webhook receiver and the Slack, PagerDuty (Events API v2),
Microsoft Teams (Office 365 connector MessageCard, Workflows Adaptive Card) and Azure
Communication Services SMS endpoints for test/it/receivers.sh and receivers_teams.sh. None of these services can run here, so this server checks each request
against the shape their documentation gives and answers as they do: 200 "ok" (Slack) or 202
(PagerDuty) for a good request, 400 for a bad one. Every request is appended to OUT as one JSON
line {path, headers, body, status}. Paths: /hook/... (Alertmanager's webhook v4 payload, as
its docs/configuration.md "<webhook_config>" shows it), /slack/..., /pd/...; a path holding "/fail400" is
answered 400 (a 4xx must count as failed), one holding "/flaky503" 503 on the first request
to anything under its prefix.
/teams/... answers 200 "1" as a connector does, /teamsv2/... 202 as a Workflow does. /acs/...
checks the HMAC-SHA256 signature with ACS_KEY (base64, as the ACS resource's access key) and
answers 202 with the per-recipient result, or 401 when the signature does not match. The
per-recipient result is as the SMS API documents it (value[] of to, messageId,
httpStatusCode, successful, errorMessage): +15555550199 always fails with 400 "Invalid To
phone number format.", +15555550198 fails with 500 the first time it is sent to, every other
number succeeds. /og/... plays the Opsgenie Alert API v2 (https://docs.opsgenie.com/docs/alert-api): POST
.../v2/alerts (create: message 1..130 characters, alias at most 512), POST
.../v2/alerts/{alias}/close?identifierType=alias, PUT .../v2/alerts/{alias}/message and
.../description?identifierType=alias, each with "Authorization: GenieKey <key>"; answers 202
{"result":"Request will be processed",...} as the API does, 422 for a bad body, 401 without
the key; "/fail422" always 422, "/flakyput" 503 to the first PUT. /vo/... plays VictorOps' REST endpoint (POST .../{api_key}/{routing_key}, a JSON
object with message_type and entity_id; 200 {"result":"success","entity_id":...}, 400
{"result":"failure","message":...} for a bad one). /rocketchat/... plays Rocket.Chat's REST chat.postMessage
(developer.rocket.chat, "Post Message"): the path must end /api/v1/chat.postMessage, the
X-Auth-Token and X-User-Id headers must be RC_TOKEN and RC_USER (else 401 {"status": "error",
"message": "You must be logged in to do this."}), the body needs a channel or roomId
(else 400 {"success": false, "error": ...}); a good one is answered 200 {"success": true, ...};
a path holding "/sayfalse" is answered 200 {"success": false, "error": "error-not-allowed"},
as Rocket.Chat reports some failures. /mattermost/... plays a Mattermost incoming webhook
(developers.mattermost.com/integrate/webhooks/incoming: a JSON body with text or attachments,
answered 200 "ok", 400 {"id": "web.incoming_webhook.text.app_error", ...} without either).
/tg/... plays the Telegram Bot API's
sendMessage (https://core.telegram.org/bots/api#sendmessage: POST .../bot<token>/sendMessage,
chat_id and text, text at most 4096 characters, parse_mode HTML/Markdown/MarkdownV2): 200
{"ok":true,"result":{message}}; chat_id -400 answers 400 {"ok":false,"error_code":400,
"description":"Bad Request: chat not found"} as the API does, chat_id -200 answers 200 with
"ok": false (not documented: it checks that only "ok": true counts). A path holding "/hang" is recorded, then never answered (the connection
stays open for 60 s), as a receiver that hangs. Each line also has "t", the time it came.
Discord (/discord/...: an execute-webhook body of content and embeds, answered 204 as Discord
does without ?wait), Webex (/webex/...: markdown and roomId with a Bearer token, answered 200
with the created message) and Pushover (POST https://api.pushover.net/1/messages.json, whose
host cannot be changed in Alertmanager 0.25: the sender is given this server as its
http_config proxy_url, this server answers CONNECT api.pushover.net:443 and speaks TLS inside
it with TLS.pem / TLS.key; the parameters arrive in the query string as Alertmanager 0.25
sends them, recorded as "body" {name: value}; answered 200 {"status":1,...}, or 400
{"status":0,...} when token or user is missing or the message empty). A Pushover token
"fail400" is answered 400, "flaky503" 503 on its first request.
/slackapi/... plays Slack's Web API method chat.postMessage (api.slack.com/methods/chat.postMessage)
as a bot token uses it: "Authorization: Bearer xoxb-good" and a channel give 200 {"ok": true,
"channel", "ts", "message"}; another token 200 {"ok": false, "error": "invalid_auth"}, none
200 {"ok": false, "error": "not_authed"}, no channel 200 {"ok": false, "error":
"channel_not_found"}: the API answers its errors with 200 and "ok": false.
/wechat/NAME/... plays WeChat Work's API (developer.work.weixin.qq.com, "gettoken" and
"message/send"): GET .../gettoken?corpid=wx-corp&corpsecret=wx-secret answers
{"errcode":0,"errmsg":"ok","access_token":"TOKEN-<n>","expires_in":7200} (any other corpid or
secret: errcode 40001, no token); POST .../message/send?access_token=T answers errcode 0 when T
is a token it gave and the body is a valid text or markdown message, else 40014 (invalid
access_token) or 44004 (empty content); NAME holding "expire" answers the first message/send
with 42001 (access_token expired), "fail81013" always 81013, "flaky503" the first with 503.
/sns/... plays Amazon SNS's Query API (Publish, docs.aws.amazon.com/sns/latest/api): it
recomputes the AWS Signature Version 4 of the request (AWS's published algorithm: the
canonical request from the method, path, query, the headers the Authorization header says it
signed and the body's SHA-256; the HMAC-SHA256 key chain from the secret of the access key
in SNS_KEYS) and answers 403 SignatureDoesNotMatch (ErrorResponse XML) when it differs or
X-Amz-Date is more than 15 minutes off; else a PublishResponse with a MessageId, or for a
form without Action=Publish, Version=2010-03-31, a Message and exactly one of TopicArn,
PhoneNumber, TargetArn, 400 InvalidParameter. A path holding "flaky500" answers the first
Publish 500 InternalError, "notfound" always 404 NotFound (topic does not exist).
"""
import base64
import email.utils
import hashlib
import hmac
import json
import sys
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, OUT = int(sys.argv[1]), sys.argv[2]
ACS_KEY = sys.argv[3] if len(sys.argv) > 3 else ""
TLS = sys.argv[4] if len(sys.argv) > 4 else ""
seen = set()
tokens = []  # WeChat access tokens given out
SNS_KEYS = {"AKIDFLOORWATCH": "floorwatch/Test+Secret/Key0123456789abcdefghij"}


def sns_check(method, path, headers, raw):
    # AWS Signature Version 4, recomputed from the request as received
    import re
    from urllib.parse import urlsplit, parse_qsl, quote
    auth = headers.get("Authorization", "")
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sns/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
    if not m:
        return 403, "IncompleteSignature", "Authorization header is not SigV4"
    ak, day, region, signed, sig = m.groups()
    if ak not in SNS_KEYS:
        return 403, "InvalidClientTokenId", "unknown access key"
    amz = headers.get("X-Amz-Date", "")
    try:
        import calendar
        t = calendar.timegm(time.strptime(amz, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return 403, "IncompleteSignature", "X-Amz-Date"
    if abs(t - time.time()) > 15 * 60 or amz[:8] != day:
        return 403, "SignatureDoesNotMatch", "Signature expired"
    u = urlsplit(path)
    cpath = quote(u.path or "/", safe="/-_.~")
    q = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~"))
               for k, v in parse_qsl(u.query, keep_blank_values=True))
    cq = "&".join(f"{k}={v}" for k, v in q)
    low = {}
    for k, v in headers.items():
        low.setdefault(k.lower(), []).append(" ".join(v.split()))
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names or any(n not in low for n in names):
        return 403, "SignatureDoesNotMatch", "signed headers"
    ch = "".join(f"{n}:{','.join(low[n])}\n" for n in names)
    creq = "\n".join([method, cpath, cq, ch, signed, hashlib.sha256(raw).hexdigest()])
    scope = f"{day}/{region}/sns/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SNS_KEYS[ak]).encode()
    for part in (day, region, "sns", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != sig:
        return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
    return 200, None, None
BAD_NUMBER, FLAKY_NUMBER = "+15555550199", "+15555550198"
RC_TOKEN, RC_USER = "rc-token-SECRET", "rc-user-SECRET"


def acs_result(to):
    if to == BAD_NUMBER:
        return {"to": to, "httpStatusCode": 400, "successful": False,
                "errorMessage": "Invalid To phone number format."}
    if to == FLAKY_NUMBER and to not in seen:
        seen.add(to)
        return {"to": to, "httpStatusCode": 500, "successful": False,
                "errorMessage": "Service temporarily unavailable."}
    return {"to": to, "messageId": "Outgoing_1", "httpStatusCode": 202, "successful": True}


def check_webhook(b):
    # https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
    if b.get("version") != "4":
        return "version"
    for k, t in (("groupKey", str), ("truncatedAlerts", int), ("status", str),
                 ("receiver", str), ("groupLabels", dict), ("commonLabels", dict),
                 ("commonAnnotations", dict), ("externalURL", str), ("alerts", list)):
        if not isinstance(b.get(k), t):
            return k
    for a in b["alerts"]:
        for k, t in (("status", str), ("labels", dict), ("annotations", dict),
                     ("startsAt", str), ("endsAt", str), ("generatorURL", str),
                     ("fingerprint", str)):
            if not isinstance(a.get(k), t):
                return "alerts[]." + k
    return None


def check_slack(b):
    # https://api.slack.com/messaging/webhooks, legacy attachments
    if not isinstance(b, dict) or not isinstance(b.get("attachments"), list):
        return "attachments missing"
    for a in b["attachments"]:
        if "fallback" not in a:
            return "attachment without fallback"
    return None


def slackapi_error(b, headers):
    auth = headers.get("Authorization")
    if not auth:
        return "not_authed"
    if auth != "Bearer xoxb-good":
        return "invalid_auth"
    if not b.get("channel"):
        return "channel_not_found"
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


def check_vo(b, path, headers):
    # https://help.victorops.com/knowledge-base/rest-endpoint-integration-guide/
    if not headers.get("Content-Type", "").startswith("application/json"):
        return "content type"
    if len([p for p in path.split("/") if p]) < 3:
        return "path: want .../{api_key}/{routing_key}"
    if b.get("message_type") not in ("CRITICAL", "WARNING", "ACKNOWLEDGEMENT", "INFO", "RECOVERY"):
        return "message_type"
    if not isinstance(b.get("entity_id"), str) or not b["entity_id"]:
        return "entity_id"
    if any(not isinstance(v, str) for v in b.values()):
        return "every field a string"
    return None


def check_tg(b, path, headers):
    # https://core.telegram.org/bots/api#sendmessage
    if not headers.get("Content-Type", "").startswith("application/json"):
        return "content type"
    parts = path.split("/")
    if len(parts) < 3 or not parts[-2].startswith("bot") or parts[-1] != "sendMessage":
        return "path: want .../bot<token>/sendMessage"
    if not isinstance(b.get("chat_id"), str) or not isinstance(b.get("text"), str) or not b["text"]:
        return "chat_id / text"
    if len(b["text"]) > 4096:
        return "text over 4096 characters"
    if b.get("parse_mode", "HTML") not in ("HTML", "Markdown", "MarkdownV2"):
        return "parse_mode"
    return None


def check_teams(b):
    # Office 365 connector card (what Alertmanager's notify/msteams sends)
    if b.get("@context") != "http://schema.org/extensions" or b.get("type") != "MessageCard":
        return "not a MessageCard"
    for k in ("title", "summary", "text", "themeColor"):
        if not isinstance(b.get(k), str):
            return k
    return None


def check_teamsv2(b):
    # Workflows "post to a channel when a webhook request is received": a message whose one
    # attachment is an Adaptive Card
    a = b.get("attachments")
    if b.get("type") != "message" or not isinstance(a, list) or len(a) != 1:
        return "not a message with one attachment"
    if a[0].get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "contentType"
    c = a[0].get("content") or {}
    if c.get("type") != "AdaptiveCard" or not isinstance(c.get("body"), list) or not c["body"]:
        return "not an AdaptiveCard with a body"
    return None


def check_og(b, path, method, headers):
    # https://docs.opsgenie.com/docs/alert-api (create, close, update message/description)
    if not headers.get("Authorization", "").startswith("GenieKey ") or \
            len(headers["Authorization"]) <= len("GenieKey "):
        return 401, "Authorization: GenieKey missing"
    if not headers.get("Content-Type", "").startswith("application/json"):
        return 422, "content type"
    p = path.split("?")[0]
    q = path.split("?")[1] if "?" in path else ""
    if method == "POST" and p.endswith("/v2/alerts"):
        m = b.get("message")
        if not isinstance(m, str) or not m or len(m) > 130:
            return 422, "message"
        if len(b.get("alias", "")) > 512 or not isinstance(b.get("details", {}), dict):
            return 422, "alias / details"
        for r in b.get("responders", []):
            if r.get("type") not in ("team", "user", "escalation", "schedule") or \
                    not (r.get("id") or r.get("name") or r.get("username")):
                return 422, "responder"
        return 202, None
    if q != "identifierType=alias":
        return 422, "identifierType"
    if method == "POST" and p.endswith("/close"):
        return 202, None
    if method == "PUT" and (p.endswith("/message") or p.endswith("/description")):
        return 202, None
    return 404, "no such endpoint"


def check_rocketchat(b, path, headers):
    # https://developer.rocket.chat/apidocs/post-message (REST API, chat.postMessage)
    if not path.endswith("/api/v1/chat.postMessage"):
        return 404, "path"
    if headers.get("X-Auth-Token") != RC_TOKEN or headers.get("X-User-Id") != RC_USER:
        return 401, "auth"
    if not headers.get("Content-Type", "").startswith("application/json"):
        return 400, "content type"
    if not b.get("channel") and not b.get("roomId"):
        return 400, "channel"
    for a in b.get("attachments") or []:
        for act in a.get("actions") or []:
            if act.get("type") != "button":
                return 400, "action type"
    return 200, None


def check_mattermost(b):
    # https://developers.mattermost.com/integrate/webhooks/incoming/#parameters
    if not b.get("text") and not b.get("attachments"):
        return "text or attachments"
    for a in b.get("attachments") or []:
        if not isinstance(a, dict):
            return "attachment"
    if "priority" in b and b["priority"].get("priority") not in ("urgent", "important", "standard"):
        return "priority"
    return None


def check_acs(b, raw, path, headers):
    # https://learn.microsoft.com/rest/api/communication/authentication (HMAC-SHA256) and
    # .../communication/sms/sms/send: POST {endpoint}/sms?api-version=2021-03-07
    if not path.endswith("/sms?api-version=2021-03-07"):
        return 400, "path"
    if not headers.get("Content-Type", "").startswith("application/json"):
        return 400, "content type"
    if not b.get("from") or not b.get("smsRecipients") or not isinstance(b.get("message"), str):
        return 400, "from / smsRecipients / message"
    date, host = headers.get("x-ms-date", ""), headers.get("Host", "")
    h = base64.b64encode(hashlib.sha256(raw).digest()).decode()
    if headers.get("x-ms-content-sha256") != h:
        return 401, "x-ms-content-sha256 does not match the body"
    try:
        t = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return 401, "x-ms-date"
    if abs(t - time.time()) > 15 * 60:
        return 401, "x-ms-date more than 15 minutes off"
    sts = f"POST\n{path}\n{date};{host};{h}"
    sig = base64.b64encode(hmac.new(base64.b64decode(ACS_KEY), sts.encode(),
                                    hashlib.sha256).digest()).decode()
    want = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}"
    if headers.get("Authorization") != want:
        return 401, "signature"
    return 202, None


def check_discord(b):
    # https://discord.com/developers/docs/resources/webhook#execute-webhook
    e = b.get("embeds")
    if not isinstance(b.get("content"), str) or not isinstance(e, list) or len(e) != 1:
        return "content / one embed"
    if not isinstance(e[0].get("title"), str) or not isinstance(e[0].get("description"), str):
        return "embed title / description"
    if not isinstance(e[0].get("color"), int):
        return "embed color"
    if not b["content"] and not e[0]["title"] and not e[0]["description"]:
        return "empty message"
    return None


def check_webex(b, headers):
    # https://developer.webex.com/docs/api/v1/messages/create-a-message
    if not headers.get("Authorization", "").startswith("Bearer "):
        return 401, "no Bearer token"
    if not b.get("roomId") or not isinstance(b.get("markdown"), str):
        return 400, "roomId / markdown"
    if len(b["markdown"].encode()) > 7439:
        return 400, "markdown over 7439 bytes"
    return 200, None


def check_pushover(q):
    # https://pushover.net/api: token, user and message required; limits 250/1024/512
    if not q.get("token") or not q.get("user"):
        return "token / user"
    if not q.get("message"):
        return "message"
    if len(q.get("title", "")) > 250 or len(q["message"]) > 1024 or len(q.get("url", "")) > 512:
        return "over a limit"
    if q.get("priority") == "2" and (not q.get("retry") or not q.get("expire")):
        return "emergency priority without retry / expire"
    return None


class H(BaseHTTPRequestHandler):
    def do_CONNECT(self):
        # An HTTPS proxy's tunnel, ended here: TLS as the host asked for (Pushover).
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(TLS + ".pem", TLS + ".key")
        try:
            conn = ctx.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        H(conn, self.client_address, self.server)
        self.close_connection = True

    def pushover(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        err = None
        if self.command != "POST" or u.path != "/1/messages.json":
            err = "not POST /1/messages.json"
        elif self.headers.get("Host") != "api.pushover.net":
            err = "Host"
        else:
            err = check_pushover(q)
        status = 400 if err else 200
        tok = q.get("token", "")
        if tok == "fail400":
            status = 400
        if tok == "flaky503" and tok not in seen:
            seen.add(tok)
            status = 503
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": "/pushover" + u.path, "query": u.query,
                                "headers": dict(self.headers), "body": q,
                                "status": status, "err": err, "t": time.time()}) + "\n")
        out = {"status": 1, "request": "5042853c-402d-4a18-abcb-168734a801de"} if status == 200 \
            else {"status": 0, "errors": [err or "failed"], "request": "x"}
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(out).encode())
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/wechat/"):
            return self.wechat(None, None)
        self.send_response(200)
        self.end_headers()

    def do_PUT(self):
        self.do_POST()

    def sns(self, raw):
        # Amazon SNS Publish (Query API), SigV4 checked (see sns_check)
        from urllib.parse import parse_qsl
        import uuid
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        status, code, msg = sns_check("POST", self.path, self.headers, raw)
        if status == 200:
            targets = [k for k in ("TopicArn", "PhoneNumber", "TargetArn") if form.get(k)]
            if form.get("Action") != "Publish" or form.get("Version") != "2010-03-31" \
                    or "Message" not in form or len(targets) != 1 \
                    or not self.headers.get("Content-Type", "").startswith(
                        "application/x-www-form-urlencoded"):
                status, code, msg = 400, "InvalidParameter", "Invalid parameter"
            elif "notfound" in self.path:
                status, code, msg = 404, "NotFound", "Topic does not exist"
            elif "flaky500" in self.path and self.path not in seen:
                seen.add(self.path)
                status, code, msg = 500, "InternalError", "try again"
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "method": "POST", "headers": dict(self.headers),
                                "body": form, "raw": raw.decode("utf-8", "replace"),
                                "status": status, "err": code, "t": time.time()}) + "\n")
        rid = str(uuid.uuid4())
        if status == 200:
            out = ('<PublishResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/">'
                   f"<PublishResult><MessageId>{uuid.uuid4()}</MessageId></PublishResult>"
                   f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
                   "</PublishResponse>")
        else:
            out = ('<ErrorResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><Error>'
                   f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
                   f"<Message>{msg}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-RequestId", rid)
        self.end_headers()
        self.wfile.write(out.encode())

    def wechat(self, raw, body):
        # WeChat Work: gettoken, then message/send (see the module comment)
        from urllib.parse import urlsplit, parse_qs
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        status, ans, err = 200, {"errcode": 0, "errmsg": "ok"}, None
        if u.path.endswith("/gettoken") and self.command == "GET":
            if q.get("corpid") != "wx-corp" or q.get("corpsecret") != "wx-secret":
                ans, err = {"errcode": 40001, "errmsg": "invalid credential"}, "credential"
            else:
                tokens.append("TOKEN-%d" % (len(tokens) + 1))
                ans = dict(ans, access_token=tokens[-1], expires_in=7200)
        elif u.path.endswith("/message/send") and self.command == "POST":
            t = body.get("msgtype") if isinstance(body, dict) else None
            if q.get("access_token") not in tokens:
                ans, err = {"errcode": 40014, "errmsg": "invalid access_token"}, "token"
            elif t not in ("text", "markdown") or not (body.get(t) or {}).get("content") \
                    or body.get("safe") not in ("0", None):
                ans, err = {"errcode": 44004, "errmsg": "text content is empty"}, "content"
            elif "expire" in u.path and u.path not in seen:
                seen.add(u.path)
                ans = {"errcode": 42001, "errmsg": "access_token expired"}
            elif "fail81013" in u.path:
                ans = {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
            elif "flaky503" in u.path and u.path not in seen:
                seen.add(u.path)
                status = 503
        else:
            status, err = 404, "path"
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "method": self.command,
                                "headers": dict(self.headers), "body": body, "status": status,
                                "answer": ans, "err": err, "t": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.end_headers()
        self.wfile.write(json.dumps(ans).encode() if status == 200 else b"busy")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path.startswith("/1/"):
            return self.pushover()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        err = None
        if self.path.startswith("/wechat/"):
            return self.wechat(raw, body)
        if self.path.startswith("/sns"):
            return self.sns(raw)
        if body is None:
            err = "not JSON"
        elif self.path.startswith("/hook/"):
            err = check_webhook(body)
        elif self.path.startswith("/slackapi/"):
            err = check_slack(body) or slackapi_error(body, self.headers)
        elif self.path.startswith("/slack"):
            err = check_slack(body)
        elif self.path.startswith("/pd"):
            err = check_pd(body, self.headers)
        elif self.path.startswith("/vo/"):
            err = check_vo(body, self.path, self.headers)
        elif self.path.startswith("/tg/"):
            err = check_tg(body, self.path, self.headers)
        elif self.path.startswith("/teams/"):
            err = check_teams(body)
        elif self.path.startswith("/teamsv2/"):
            err = check_teamsv2(body)
        elif self.path.startswith("/mattermost/"):
            err = check_mattermost(body)
        elif self.path.startswith("/discord/"):
            err = check_discord(body)
        status = 400 if err else (202 if self.path.startswith(("/pd", "/teamsv2/")) else 200)
        if body is not None and self.path.startswith("/discord/") and not err:
            status = 204
        if self.path.startswith("/slackapi/"):
            status = 200  # the Web API's errors are in its JSON
        if body is not None and self.path.startswith("/webex/"):
            status, err = check_webex(body, self.headers)
        if body is not None and self.path.startswith("/acs/"):
            status, err = check_acs(body, raw, self.path, self.headers)
        if body is not None and self.path.startswith("/og/"):
            status, err = check_og(body, self.path, self.command, self.headers)
        if "/flakyput" in self.path and self.command == "PUT" and "flakyput" not in seen:
            seen.add("flakyput")
            status = 503
        if "/fail422" in self.path:
            status = 422
        if body is not None and self.path.startswith("/rocketchat/"):
            status, err = check_rocketchat(body, self.path, self.headers)
        if "/fail400" in self.path:
            status = 400
        if self.path.startswith("/tg/") and body and body.get("chat_id") == "-400":
            status = 400
        # once per endpoint prefix (an Opsgenie alert's create, update and close share one)
        flaky = self.path.split("/flaky503")[0] + "/flaky503"
        if "/flaky503" in self.path and flaky not in seen:
            seen.add(flaky)
            status = 503
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "method": self.command,
                                "headers": dict(self.headers), "body": body,
                                "status": status, "err": err, "t": time.time()}) + "\n")
        if "/hang" in self.path:
            time.sleep(60)
            return
        self.send_response(status)
        if status == 204:
            self.end_headers()
            return
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.path.startswith("/webex/") and status == 200:
            self.wfile.write(json.dumps({"id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0U", "roomId":
                                         body.get("roomId"), "roomType": "group",
                                         "markdown": body.get("markdown")}).encode())
        elif self.path.startswith("/teams/"):
            self.wfile.write(b"1" if status < 300 else b"Bad payload")
        elif self.path.startswith("/slackapi/"):
            self.wfile.write(json.dumps(
                {"ok": False, "error": err} if err else
                {"ok": True, "channel": "C0123", "ts": "%.6f" % time.time(),
                 "message": {"type": "message", "text": body.get("text", "")}}).encode())
        elif self.path.startswith("/og/"):
            self.wfile.write(json.dumps(
                {"result": "Request will be processed", "took": 0.1, "requestId": "r-1"}
                if status == 202 else {"message": err or "failed", "took": 0.0}).encode())
        elif self.path.startswith("/tg/"):
            chat = body.get("chat_id") if body else None
            if status < 300 and chat in ("-400", "-200"):
                self.wfile.write(json.dumps({"ok": False, "error_code": 400,
                                             "description": "Bad Request: chat not found"}).encode())
            elif status < 300:
                self.wfile.write(json.dumps({"ok": True, "result": {
                    "message_id": 1, "date": int(time.time()),
                    "chat": {"id": int(chat), "type": "group"}, "text": body["text"]}}).encode())
            else:
                self.wfile.write(json.dumps({"ok": False, "error_code": status,
                                             "description": err or "failed"}).encode())
        elif self.path.startswith("/vo/"):
            self.wfile.write(json.dumps(
                {"result": "success", "entity_id": body.get("entity_id")} if status < 300
                else {"result": "failure", "message": err or "refused"}).encode())
        elif self.path.startswith("/mattermost/"):
            self.wfile.write(b"ok" if status < 300 else json.dumps(
                {"id": "web.incoming_webhook.text.app_error", "message": err or "refused",
                 "status_code": status}).encode())
        elif self.path.startswith("/rocketchat/"):
            if status == 401:
                a = {"status": "error", "message": "You must be logged in to do this."}
            elif status >= 300:
                a = {"success": False, "error": err or "error"}
            elif "/sayfalse" in self.path:
                a = {"success": False, "error": "error-not-allowed"}
            else:
                a = {"ts": int(time.time() * 1000), "channel": body.get("channel"),
                     "message": {"_id": "m1", "msg": body.get("text", "")}, "success": True}
            self.wfile.write(json.dumps(a).encode())
        elif self.path.startswith("/acs/"):
            self.wfile.write(json.dumps(
                {"value": [acs_result(r.get("to")) for r in body.get("smsRecipients", [])]}
                if status == 202 else {"error": {"code": "Denied", "message": err}}).encode())
        else:
            self.wfile.write(b'{"status":"success"}' if status < 300 else b'{"status":"invalid"}')


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
