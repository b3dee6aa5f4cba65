/*  alertd_api_silences.c — Alertmanager's HTTP API v2 for silences (HTTP thread): GET and
    POST /api/v2/silences, GET and DELETE /api/v2/silence/{id}, with go-swagger's schema
    answers before the handler runs. A silence is durable before the client hears of it.
*/
#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "alertd_api.h"
#include "alertd_api_order.h"
#include "alertd_api_silences.h"
#include "alertd_int.h"
#include "alertd_matcher.h"
#include "alertd_silence.h"
#include "fw_gotime.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_time.h"

// A field of a postable silence: its JSON type, and whether the schema requires it.
struct s_field {
    const char *key;
    json_type type;
    bool required;
};

// Check one object against fields as go-swagger does: a wrong type answers 400 (the body
// does not unmarshal), then a missing required field 422. 0, or -1 once answered.
static int
s_schema(const json_t *j, const struct s_field *fields, const char *prefix,
         struct fw_http_response *resp)
{
    char msg[256];
    for (const struct s_field *f = fields; f->key; f++) {
        const json_t *v = json_object_get(j, f->key);
        bool ok = !v || json_is_null(v) || json_typeof(v) == f->type ||
                  (f->type == JSON_TRUE && json_is_boolean(v));
        if (!ok) {
            snprintf(msg, sizeof msg,
                     "parsing silence body from \"\" failed, because %s%s has the wrong type",
                     prefix, f->key);
            alertd_api_error(resp, 400, 400, msg);
            return -1;
        }
    }
    for (const struct s_field *f = fields; f->key; f++) {
        const json_t *v = json_object_get(j, f->key);
        if (f->required && (!v || json_is_null(v))) {
            snprintf(msg, sizeof msg, "%s%s in body is required", prefix, f->key);
            alertd_api_error(resp, 422, 602, msg);
            return -1;
        }
    }
    return 0;
}

// Alertmanager's API schema for a postable silence (before its handler runs). 0, or -1
// once answered.
static int
s_silence_schema(const json_t *j, struct fw_http_response *resp)
{
    static const struct s_field silence[] = {
        {"comment", JSON_STRING, true},  {"createdBy", JSON_STRING, true},
        {"endsAt", JSON_STRING, true},   {"matchers", JSON_ARRAY, true},
        {"startsAt", JSON_STRING, true}, {"id", JSON_STRING, false},
        {NULL, JSON_NULL, false},
    };
    static const struct s_field matcher[] = {
        {"name", JSON_STRING, true},   {"value", JSON_STRING, true},
        {"isRegex", JSON_TRUE, true}, // JSON_TRUE stands for either boolean
        {"isEqual", JSON_TRUE, false}, {NULL, JSON_NULL, false},
    };
    if (!json_is_object(j)) {
        alertd_api_error(resp, 400, 400,
                         "parsing silence body from \"\" failed, because the body is not a JSON "
                         "object");
        return -1;
    }
    if (s_schema(j, silence, "", resp) < 0)
        return -1;
    static const char *const times[] = {"endsAt", "startsAt"};
    for (size_t i = 0; i < 2; i++) {
        const char *t = json_string_value(json_object_get(j, times[i]));
        int64_t ms;
        char err[400];
        if (!t || fw_gotime_parse_strfmt(t, &ms, err, sizeof err) < 0) {
            char msg[480];
            snprintf(msg, sizeof msg, "parsing silence body from \"\" failed, because %s",
                     t ? err : "a time is missing");
            alertd_api_error(resp, 400, 400, msg);
            return -1;
        }
    }
    const json_t *ms = json_object_get(j, "matchers");
    size_t i;
    const json_t *m;
    json_array_foreach(ms, i, m)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "matchers.%zu.", i);
        if (!json_is_object(m)) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "parsing silence body from \"\" failed, because matchers.%zu is not an "
                     "object",
                     i);
            alertd_api_error(resp, 400, 400, msg);
            return -1;
        }
        if (s_schema(m, matcher, prefix, resp) < 0)
            return -1;
    }
    if (json_array_size(ms) == 0) {
        alertd_api_error(resp, 422, 612, "matchers in body should have at least 1 items");
        return -1;
    }
    return 0;
}

// Count a POST /api/v2/silences that was refused, by reason (fw_alertd_silences_refused_total;
// Alertmanager has no such counter): "invalid" (schema or silence rules), "not_found" (an
// unknown id), "max_silences" or "max_size" (the limits; texts from alertd_silences_put).
static void
s_refused(alertd_t *self, const char *msg)
{
    const char *reason = "invalid";
    if (!msg)
        ; // the schema
    else if (strcmp(msg, ALERTD_SILENCE_NOT_FOUND) == 0)
        reason = "not_found";
    else if (strncmp(msg, "exceeded maximum number of silences", 35) == 0)
        reason = "max_silences";
    else if (strncmp(msg, "silence exceeded maximum size", 29) == 0)
        reason = "max_size";
    char labels[32];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    fw_metrics_add(self->metrics, "fw_alertd_silences_refused_total", labels, 1);
}

// Alertmanager's CheckSilenceMatchesFilterLabels: every filter matcher is one of the
// silence's own, same name, same operator, same value as written; a filter does not match
// the silence's matchers as label values (filter instance=~"db.*" finds no silence with
// instance="db4").
static bool
s_silence_has(const json_t *sil, const struct alertd_matchers *filter)
{
    for (size_t f = 0; f < filter->len; f++) {
        const struct fw_matcher *fm = &filter->items[f];
        bool found = false;
        size_t k;
        const json_t *m;
        json_array_foreach(json_object_get(sil, "matchers"), k, m)
        {
            const json_t *eq = json_object_get(m, "isEqual"); // absent: true (API default)
            bool re = json_is_true(json_object_get(m, "isRegex"));
            bool neg = json_is_false(eq);
            fw_match_op_t op =
                re ? (neg ? FW_MATCH_NRE : FW_MATCH_RE) : (neg ? FW_MATCH_NE : FW_MATCH_EQ);
            const char *name = json_string_value(json_object_get(m, "name"));
            const char *value = json_string_value(json_object_get(m, "value"));
            if (op == fm->op && name && value && strcmp(name, fm->name) == 0 &&
                strcmp(value, fm->value) == 0) {
                found = true;
                break;
            }
        }
        if (!found)
            return false;
    }
    return true;
}

static int
s_api_silences(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    int64_t now = fw_time_now_ms();
    if (strcmp(fw_http_method(req), "POST") == 0) {
        json_t *j = alertd_api_body_json(req, "silence", resp);
        if (!j)
            return 0;
        if (s_silence_schema(j, resp) < 0) {
            s_refused(self, NULL);
            json_decref(j);
            return 0;
        }
        fw_err_t err;
        fw_err_clear(&err);
        pthread_mutex_lock(&self->lock);
        char *id = alertd_silences_put(self->silences, j, now, &err);
        if (id)
            alertd_save_silences_locked(self); // durable before the client hears of it
        pthread_mutex_unlock(&self->lock);
        // Alertmanager replaces (new id, old one expired) an update it cannot make in place.
        const char *old = json_string_value(json_object_get(j, "id"));
        if (id && old && *old && strcmp(old, id) != 0)
            fw_info("silence.replace", "old=%s new=%s", old, id);
        json_decref(j);
        if (!id) {
            s_refused(self, err.msg);
            fw_info("silence.reject", "err=%s", err.msg);
            alertd_api_json_error(resp, strcmp(err.msg, ALERTD_SILENCE_NOT_FOUND) == 0 ? 404 : 400,
                                  err.msg);
            return 0;
        }
        alertd_api_json_respond(resp, 200, json_pack("{s:s}", "silenceID", id));
        free(id);
        return 0;
    }
    struct alertd_matchers filter = {0};
    if (alertd_api_filters_parse(req, resp, &filter) < 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    json_t *all = alertd_silences_list_json(self->silences, now);
    pthread_mutex_unlock(&self->lock);
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s)
    {
        if (s_silence_has(s, &filter))
            json_array_append(out, s);
    }
    json_decref(all);
    alertd_matchers_clear(&filter);
    alertd_api_order_silences(out);
    alertd_api_json_respond(resp, 200, out);
    return 0;
}

// A UUID as the API's path parameter must be: 8-4-4-4-12 hex digits.
static bool
s_uuid_valid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, s++)
            if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
                return false;
        if (g < 4 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

static int
s_api_silence(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    const char *id = fw_http_path(req) + strlen("/api/v2/silence/");
    int64_t now = fw_time_now_ms();
    if (!s_uuid_valid(id)) {
        char msg[256];
        snprintf(msg, sizeof msg, "silenceID in path must be of type uuid: \"%.180s\"", id);
        alertd_api_error(resp, 422, 601, msg);
        return 0;
    }
    if (strcmp(fw_http_method(req), "DELETE") == 0) {
        pthread_mutex_lock(&self->lock);
        int rc = alertd_silences_expire(self->silences, id, now);
        if (rc == 0)
            alertd_save_silences_locked(self);
        pthread_mutex_unlock(&self->lock);
        if (rc < 0) // Alertmanager 0.27+'s 404 without a body (0.25 answered 500)
            fw_http_respond(resp, 404, NULL, "");
        else
            fw_http_respond(resp, 200, "application/json", "");
        return 0;
    }
    pthread_mutex_lock(&self->lock);
    json_t *j = alertd_silences_get_json(self->silences, id, now);
    pthread_mutex_unlock(&self->lock);
    if (!j) // Alertmanager's 404 here has no body at all
        fw_http_respond(resp, 404, NULL, "");
    else
        alertd_api_json_respond(resp, 200, j);
    return 0;
}

void
alertd_api_silences_routes(fw_http_t *http, alertd_t *self)
{
    fw_http_route(http, "GET,POST", "/api/v2/silences", s_api_silences, self);
    fw_http_route(http, "GET,DELETE", "/api/v2/silence/", s_api_silence, self);
}
