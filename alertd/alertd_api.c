/*  alertd_api.c — Alertmanager's HTTP API v2: alerts, alert groups, status, receivers, and
    the answers every handler shares; the silences are in alertd_api_silences.c.

    Handlers run on HTTP threads and take self->lock for short sections only (alertd.c's
    rule), except the alert POST, which runs on alertd's loop when alertd serves HTTP from it
    (without --web.config.file): it then flushes due groups itself.
*/
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "alertd.h"
#include "alertd_api.h"
#include "alertd_api_notifications.h"
#include "alertd_api_order.h"
#include "alertd_api_tmpl.h"
#include "alertd_api_silences.h"
#include "alertd_buildinfo.h"
#include "alertd_dispatch.h"
#include "alertd_inhibit.h"
#include "alertd_int.h"
#include "alertd_matcher.h"
#include "alertd_silence.h"
#include "alertd_store.h"
#include "fw_gojson.h"
#include "fw_gotime.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"

void
alertd_api_json_respond(struct fw_http_response *resp, int status, json_t *j)
{
    // JSON_ENCODE_ANY: error bodies are bare JSON strings.
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    resp->status = status;
    resp->body = fw_strdup(text ? text : "null");
    free(text);
    resp->content_type = "application/json";
}

void
alertd_api_json_error(struct fw_http_response *resp, int status, const char *msg)
{
    // Alertmanager's handlers answer errors as a JSON string.
    alertd_api_json_respond(resp, status, json_string(msg));
}

// The answer Alertmanager's generated API layer (go-swagger) gives before a handler runs: a
// body that does not parse (400, code 400) or breaks the schema (422, code 6xx).
void
alertd_api_error(struct fw_http_response *resp, int status, int code, const char *msg)
{
    alertd_api_json_respond(resp, status, json_pack("{s:i, s:s}", "code", code, "message", msg));
}

// Parse a request body as JSON as go-swagger's json.Decoder reads it (the first value; what
// follows it is not looked at); on failure answer as go-swagger does, with Go's words where
// Go would refuse it too (fw_gojson.h), and return NULL.
json_t *
alertd_api_body_json(const fw_http_request_t *req, const char *what, struct fw_http_response *resp)
{
    size_t len = 0;
    const char *body = fw_http_body(req, &len);
    json_error_t jerr;
    json_t *j = body ? json_loadb(body, len, JSON_DISABLE_EOF_CHECK, &jerr) : NULL;
    // Go's scanner is asked only where its verdict matters: a body jansson refused (for the
    // words), or one with a NUL byte, which jansson passes over between tokens and Go does not.
    char go[160];
    bool go_refuses =
        body && (!j || memchr(body, '\0', len)) && fw_gojson_decode_error(body, len, go, sizeof go);
    if (j && go_refuses) {
        json_decref(j);
        j = NULL;
    }
    if (!j) {
        char msg[512];
        const char *why = !body ? "the body is empty" : go_refuses ? go : jerr.text;
        snprintf(msg, sizeof msg, "parsing %s body from \"\" failed, because %s", what, why);
        alertd_api_error(resp, 400, 400, msg);
    }
    return j;
}

struct s_render {
    alertd_t *self;
    int64_t now;
    bool active, silenced, inhibited, unprocessed;
    struct alertd_matchers filter;
    struct alertd_matchers receiver;
};

static json_t *
s_render_alert(const struct alertd_alert *a, void *arg)
{
    struct s_render *r = arg;
    if (alertd_alert_resolved(a, r->now))
        return NULL;
    if (!alertd_matchers_match(&r->filter, &a->labels))
        return NULL;
    json_t *silenced_by = alertd_silences_muting(r->self->silences, &a->labels, r->now);
    bool silenced = json_array_size(silenced_by) > 0;
    uint64_t by = 0;
    bool inhibited = alertd_inhibit_mutes_by(r->self->inhibit, &a->labels, r->now, &by);
    bool suppressed = silenced || inhibited;
    if ((silenced && !r->silenced) || (inhibited && !r->inhibited) || (!suppressed && !r->active)) {
        json_decref(silenced_by);
        return NULL;
    }
    json_t *receivers = alertd_dispatch_receivers_of(r->self->dispatch, &a->labels);
    if (r->receiver.len > 0) {
        bool any = false;
        size_t i;
        json_t *rv;
        json_array_foreach(receivers, i, rv)
        {
            any = any || fw_matcher_matches(&r->receiver.items[0],
                                            json_string_value(json_object_get(rv, "name")));
        }
        if (!any) {
            json_decref(silenced_by);
            json_decref(receivers);
            return NULL;
        }
    }
    char sb[40], eb[40], ub[40], fp[17], byfp[17];
    json_t *inhibited_by = json_array();
    if (inhibited)
        json_array_append_new(inhibited_by, json_string(alertd_fp_str(by, byfp))); // steals
    json_t *labels = json_object();
    for (size_t i = 0; i < a->labels.len; i++)
        json_object_set_new(labels, a->labels.items[i].name, // steals
                            json_string(a->labels.items[i].value));
    // json_pack "o" steals each object.
    json_t *j = json_pack(
        "{s:o, s:s, s:s, s:o, s:s, s:{s:o, s:o, s:s}, s:s, s:o}", "annotations",
        json_deep_copy(a->annotations), "endsAt", alertd_time_str(a->ends_at, eb, sizeof eb),
        "fingerprint", alertd_fp_str(a->fp, fp), "receivers", receivers, "startsAt",
        alertd_time_str(a->starts_at, sb, sizeof sb), "status", "inhibitedBy", inhibited_by,
        "silencedBy", silenced_by, "state", suppressed ? "suppressed" : "active", "updatedAt",
        alertd_time_str(a->updated_at, ub, sizeof ub), "labels", labels);
    // Alertmanager's generatorURL is omitempty: no key at all for an alert without one.
    if (a->generator_url && *a->generator_url)
        json_object_set_new(j, "generatorURL", json_string(a->generator_url)); // steals
    return j;
}

static bool
s_bool_arg(const fw_http_request_t *req, const char *name, bool def)
{
    const char *v = fw_http_arg(req, name);
    if (!v)
        return def;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

// A filter holding a NUL byte (%00) would be cut short and match more than asked: refuse it.
static bool
s_filter_has_nul(const char *filter, size_t len, fw_err_t *err)
{
    if (strlen(filter) == len)
        return false;
    fw_err_set(err, "bad matcher format: %s: unexpected character: '\\x00'", filter);
    return true;
}

// Whether c is in Go regexp's \s ([\t\n\f\r ]).
static bool
s_go_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// An unbraced filter with a classic label name, read as 0.25's labels.ParseMatcher reads it
// (0.27+ falls back to it): everything after the operator, spaces trimmed, is the value,
// unquoted and unescaped when it starts with a quote, so `a=b,c=d` is a="b,c=d" in both
// (a matcher list is refused only in braces). 1 when filter is not of that shape (the caller
// parses it), else 0 or -1 with err in Alertmanager's words.
static int
s_filter_classic(struct alertd_matchers *m, const char *filter, fw_err_t *err)
{
    const char *p = filter;
    while (s_go_space(*p))
        p++;
    const char *name = p;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return 1;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':')
        p++;
    size_t name_len = (size_t)(p - name);
    while (s_go_space(*p))
        p++;
    fw_match_op_t op;
    if (strncmp(p, "=~", 2) == 0 || strncmp(p, "!~", 2) == 0 || strncmp(p, "!=", 2) == 0) {
        op = p[1] == '~' ? (p[0] == '=' ? FW_MATCH_RE : FW_MATCH_NRE) : FW_MATCH_NE;
        p += 2;
    } else if (*p == '=') {
        op = FW_MATCH_EQ;
        p++;
    } else {
        return 1; // no operator: the caller's "bad matcher format"
    }
    while (s_go_space(*p))
        p++;
    size_t raw_len = strlen(p);
    while (raw_len > 0 && s_go_space(p[raw_len - 1]))
        raw_len--;
    char *raw = fw_strndup(p, raw_len), *value = fw_malloc(raw_len + 2), *v = value;
    bool quoted = raw[0] == '"';
    const char *why = fw_utf8_valid(raw, raw_len) ? NULL : "matcher value not valid UTF-8";
    for (size_t i = quoted; !why && i < raw_len; i++) {
        char c = raw[i];
        if (c == '\\' && i + 1 < raw_len) { // a last backslash stays one
            c = raw[++i];
            if (c == 'n') {
                *v++ = '\n';
            } else {
                if (c != '"' && c != '\\')
                    *v++ = '\\';
                *v++ = c;
            }
        } else if (c == '"') {
            if (!quoted || i != raw_len - 1) // only the closing quote may be unescaped
                why = "matcher value contains unescaped double quote";
            quoted = false;
        } else {
            *v++ = c;
        }
    }
    if (!why && quoted)
        why = "matcher value contains unescaped double quote"; // never closed
    if (why)
        fw_err_set(err, "%s: %s", why, raw);
    *v = '\0';
    char *label = fw_strndup(name, name_len);
    int rc = why ? -1 : alertd_matchers_add(m, op, label, value, err);
    free(label);
    free(value);
    free(raw);
    return rc;
}

// One filter as Alertmanager takes it: a single matcher. Braces around it are taken as
// 0.27+ takes them ({"k8s.io/app"="web"}, alertd's UTF-8 label names); 0.25 refuses them.
// Two or more matchers are refused, as both refuse them. A "bad matcher format" answer names
// the filter and no more (0.25's labels.ParseMatcher, which 0.27+ falls back to); other
// problems (a regex that does not compile) keep their own text.
static int
s_filter_parse(struct alertd_matchers *m, const char *filter, fw_err_t *err)
{
    int classic = s_filter_classic(m, filter, err);
    if (classic != 1)
        return classic;
    // Parsed once, into m: on failure the caller clears m, whatever this added.
    size_t before = m->len;
    int rc = alertd_matchers_parse(m, filter, err);
    if (rc == 0 && m->len == before + 1)
        return 0;
    if (rc == 0 || strncmp(err->msg, "bad matcher format: ", 20) == 0)
        fw_err_set(err, "bad matcher format: %s", filter);
    return -1;
}

// The request's filter=... matchers (at most 32) added to m. 0, or -1 after a 400 answer
// naming the bad one (m is then cleared).
int
alertd_api_filters_parse(const fw_http_request_t *req, struct fw_http_response *resp,
                         struct alertd_matchers *m)
{
    const char *filters[32];
    size_t filter_len[32];
    size_t n = fw_http_args_n(req, "filter", filters, filter_len, 32);
    for (size_t i = 0; i < n && i < 32; i++) {
        fw_err_t err;
        fw_err_clear(&err);
        if (s_filter_has_nul(filters[i], filter_len[i], &err) ||
            s_filter_parse(m, filters[i], &err) < 0) {
            alertd_matchers_clear(m);
            alertd_api_json_error(resp, 400, err.msg);
            return -1;
        }
    }
    return 0;
}

static int
s_render_init(struct s_render *r, alertd_t *self, const fw_http_request_t *req,
              struct fw_http_response *resp)
{
    memset(r, 0, sizeof *r);
    r->self = self;
    r->now = fw_time_now_ms();
    r->active = s_bool_arg(req, "active", true);
    r->silenced = s_bool_arg(req, "silenced", true);
    r->inhibited = s_bool_arg(req, "inhibited", true);
    r->unprocessed = s_bool_arg(req, "unprocessed", true);
    pthread_mutex_lock(&self->lock);
    alertd_refresh_inhibit_locked(self, r->now);
    pthread_mutex_unlock(&self->lock);
    if (alertd_api_filters_parse(req, resp, &r->filter) < 0)
        return -1;
    const char *rcv = fw_http_arg(req, "receiver");
    if (rcv && *rcv) {
        fw_err_t err;
        fw_err_clear(&err);
        if (alertd_matchers_add(&r->receiver, FW_MATCH_RE, "receiver", rcv, &err) < 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "failed to parse receiver param: %s", err.msg);
            alertd_api_json_error(resp, 400, msg);
            alertd_matchers_clear(&r->filter);
            return -1;
        }
    }
    return 0;
}

static void
s_render_fini(struct s_render *r)
{
    alertd_matchers_clear(&r->filter);
    alertd_matchers_clear(&r->receiver);
}

// A group due now (group_wait 0s, or an old alert) is flushed at once, and one due before
// the loop's flush timer gets its own timer (s_arm_flush), not the next 50 ms tick. On the
// loop (fw_http_on_loop) the handler flushes itself, so the NOTIFY leaves before the answer;
// on an HTTP thread it rings the loop's doorbell.
static void
s_wake_if_due(alertd_t *self)
{
    if (fw_http_on_loop(self->http)) {
        alertd_flush(self);
        return;
    }
    pthread_mutex_lock(&self->lock);
    int64_t next = alertd_dispatch_next(self->dispatch);
    uint64_t one = 1;
    if ((next <= fw_time_now_ms() || next < self->flush_at) &&
        write(self->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        fw_warn("alertd.wake.fail", "err=\"%s\"", strerror(errno));
    pthread_mutex_unlock(&self->lock);
}

// Go's name for a JSON value's type in encoding/json's unmarshal errors.
static const char *
s_go_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "number";
    }
}

// go-swagger's 400 for an alerts body encoding/json would not unmarshal: its fixed start,
// then the reason fmt gives (encoding/json's or the time parser's words).
static void s_alerts_body_error(struct fw_http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_alerts_body_error(struct fw_http_response *resp, const char *fmt, ...)
{
    char msg[640];
    int n = snprintf(msg, sizeof msg, "parsing alerts body from \"\" failed, because ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    alertd_api_error(resp, 400, 400, msg);
}

// A label set (labels or annotations) of a postable alert that Go would not unmarshal: 0,
// or -1 after the 400 go-swagger answers, with encoding/json's text.
static int
s_label_set_schema(const json_t *set, const char *field, struct fw_http_response *resp)
{
    if (!set || json_is_null(set))
        return 0;
    if (!json_is_object(set)) {
        s_alerts_body_error(resp,
                            "json: cannot unmarshal %s into Go struct field %s of type "
                            "models.LabelSet",
                            s_go_json_type(set), field);
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)set, k, v)
    {
        if (!json_is_string(v) && !json_is_null(v)) {
            s_alerts_body_error(resp,
                                "json: cannot unmarshal %s into Go struct field %s of type string",
                                s_go_json_type(v), field);
            return -1;
        }
    }
    return 0;
}

// A postable alert's startsAt or endsAt that is a string but no date-time as strfmt.DateTime
// reads it (fw_gotime.h): 0, or -1 after go-swagger's 400 with Go's time parser's text.
static int
s_time_schema(const json_t *a, const char *key, struct fw_http_response *resp)
{
    const char *t = json_string_value(json_object_get(a, key));
    int64_t ms;
    char err[400];
    if (!t || !*t || fw_gotime_parse_strfmt(t, &ms, err, sizeof err) == 0)
        return 0;
    s_alerts_body_error(resp, "%s", err);
    return -1;
}

// go-swagger's checks on a postable alerts array before Alertmanager's handler runs: first
// what does not unmarshal (400, code 400: an item not an object, labels or annotations not
// maps of strings), then what breaks the schema (422, code 602: an item without labels).
// Nothing of a body refused here is stored. 0, or -1 once answered.
static int
s_alerts_schema(const json_t *arr, struct fw_http_response *resp)
{
    char msg[512];
    size_t i;
    const json_t *a;
    json_array_foreach(arr, i, a)
    {
        if (json_is_null(a))
            continue;
        if (!json_is_object(a)) {
            // Go names the anonymous struct PostableAlert's own fields decode into.
            s_alerts_body_error(resp,
                                "json: cannot unmarshal %s into Go value of type struct { "
                                "Annotations models.LabelSet "
                                "\"json:\\\"annotations,omitempty\\\"\"; EndsAt strfmt.DateTime "
                                "\"json:\\\"endsAt,omitempty\\\"\"; StartsAt strfmt.DateTime "
                                "\"json:\\\"startsAt,omitempty\\\"\" }",
                                s_go_json_type(a));
            return -1;
        }
        if (s_label_set_schema(json_object_get(a, "labels"), "Alert.labels", resp) < 0 ||
            s_label_set_schema(json_object_get(a, "annotations"), ".annotations", resp) < 0 ||
            s_time_schema(a, "startsAt", resp) < 0 || s_time_schema(a, "endsAt", resp) < 0)
            return -1;
    }
    json_array_foreach(arr, i, a)
    {
        const json_t *l = json_object_get(a, "labels");
        if (json_is_object(a) && (!l || json_is_null(l))) {
            snprintf(msg, sizeof msg, "%zu.labels in body is required", i);
            alertd_api_error(resp, 422, 602, msg);
            return -1;
        }
    }
    return 0;
}

static int
s_api_alerts(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    if (strcmp(fw_http_method(req), "POST") == 0) {
        size_t len = 0;
        const char *body = fw_http_body(req, &len);
        if (body && alertd_ingest_text(self, body, len, fw_http_on_loop(self->http))) {
            s_wake_if_due(self);
            fw_http_respond(resp, 200, "application/json", "");
            return 0;
        }
        json_t *arr = alertd_api_body_json(req, "alerts", resp);
        if (!arr)
            return 0;
        if (!json_is_array(arr)) {
            s_alerts_body_error(resp,
                                "json: cannot unmarshal %s into Go value of type "
                                "models.PostableAlerts",
                                s_go_json_type(arr));
            json_decref(arr);
            return 0;
        }
        if (s_alerts_schema(arr, resp) < 0) {
            json_decref(arr);
            return 0;
        }
        char *reasons = NULL;
        size_t bad = alertd_ingest_array(self, arr, "api", &reasons);
        json_decref(arr);
        s_wake_if_due(self);
        if (bad > 0)
            alertd_api_json_error(resp, 400, reasons);
        else
            fw_http_respond(resp, 200, "application/json", "");
        free(reasons);
        return 0;
    }
    struct s_render r;
    if (s_render_init(&r, self, req, resp) < 0)
        return 0;
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (const struct alertd_alert *a = alertd_store_first(self->store); a;
         a = alertd_store_next(self->store)) {
        json_t *j = s_render_alert(a, &r);
        if (j)
            json_array_append_new(arr, j); // steals
    }
    pthread_mutex_unlock(&self->lock);
    s_render_fini(&r);
    alertd_api_order_alerts(arr);
    alertd_api_json_respond(resp, 200, arr);
    return 0;
}

static int
s_api_groups(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    struct s_render r;
    if (s_render_init(&r, self, req, resp) < 0)
        return 0;
    // receiver= picks groups by their route's receiver here, not alerts by theirs as in GET
    // /api/v2/alerts (Alertmanager's route filter): the alerts are rendered unfiltered by it.
    struct alertd_matchers receiver = r.receiver;
    memset(&r.receiver, 0, sizeof r.receiver);
    pthread_mutex_lock(&self->lock);
    json_t *arr = alertd_dispatch_groups_json(self->dispatch, s_render_alert, &r);
    pthread_mutex_unlock(&self->lock);
    s_render_fini(&r);
    alertd_api_order_groups(arr, &receiver);
    alertd_matchers_clear(&receiver);
    alertd_api_json_respond(resp, 200, arr);
    return 0;
}

// Alertmanager's status: the cluster (without --cluster.listen-address a node without
// clustering, status "disabled" and no peers; else alertd_cluster_status_json), the config
// re-emitted with secrets as <secret>, and versionInfo saying what this is: floorwatch's
// version (semver build metadata "+floorwatch"), the git revision, branch, user@host and
// date of the build (alertd_buildinfo.h, tools/buildinfo.sh), and no Go at all.
static int
s_api_status(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    alertd_t *self = arg;
    char up[40];
    json_t *cluster = self->cluster
                          ? alertd_cluster_status_json(self->cluster, fw_time_now_ms())
                          : json_pack("{s:[], s:s}", "peers", "status", "disabled"); // no name
    pthread_mutex_lock(&self->lock);
    // json_pack "o" steals cluster.
    json_t *j = json_pack(
        "{s:o, s:{s:s}, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "cluster", cluster, "config",
        "original", self->cfg->original ? self->cfg->original : "", "uptime",
        fw_time_rfc3339(self->started_ms, up, sizeof up), "versionInfo", "branch", FW_BUILD_BRANCH,
        "buildDate", FW_BUILD_DATE, "buildUser", FW_BUILD_USER, "goVersion", "none (C)", "revision",
        FW_BUILD_REVISION, "version", FW_VERSION "+floorwatch");
    pthread_mutex_unlock(&self->lock);
    alertd_api_json_respond(resp, 200, j);
    return 0;
}

static int
s_api_receivers(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    alertd_t *self = arg;
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->cfg->receivers_len; i++)
        json_array_append_new(arr, json_pack("{s:s}", "name", self->cfg->receivers[i].name));
    pthread_mutex_unlock(&self->lock);
    alertd_api_json_respond(resp, 200, arr);
    return 0;
}

// A body over FW_HTTP_BODY_MAX: 413 in go-swagger's error shape, as Alertmanager's API layer
// answers a body it cannot take ({"code", "message"}). Alertmanager 0.25 itself has no limit
// (it reads any body into memory); floorwatch refuses past 16 MiB, documented in alertd.8.
static int
s_api_too_large(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    char msg[128];
    snprintf(msg, sizeof msg, "request body too large: more than %u bytes", FW_HTTP_BODY_MAX);
    alertd_api_error(resp, 413, 413, msg);
    return 0;
}

void
alertd_api_routes(fw_http_t *http, alertd_t *self)
{
    fw_http_set_too_large(http, s_api_too_large, self);
    fw_http_route(http, "GET", "/api/v2/alerts", s_api_alerts, self);
    // Posting alerts runs on alertd's loop when alertd serves HTTP from it (fw_http.h).
    fw_http_route_loop(http, "POST", "/api/v2/alerts", s_api_alerts, self);
    fw_http_route(http, "GET", "/api/v2/alerts/groups", s_api_groups, self);
    fw_http_route(http, "GET", "/api/v2/status", s_api_status, self);
    fw_http_route(http, "GET", "/api/v2/receivers", s_api_receivers, self);
    alertd_api_silences_routes(http, self);
    alertd_api_notifications_routes(http, self);
    alertd_api_tmpl_routes(http, self);
}
