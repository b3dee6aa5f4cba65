/*  notifyd_text.c — Alertmanager's default texts in C (see notifyd_text.h). Each text is one
    static function named after its default.tmpl definition; s_texts maps the names. A small
    growing buffer (s_buf) builds them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "notifyd_text.h"

struct s_buf {
    char *p;
    size_t len, cap;
};

static void
s_put(struct s_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = fw_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static char *
s_done(struct s_buf *b)
{
    if (!b->p)
        return fw_strdup("");
    return b->p;
}

static int
s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The keys of a JSON object, sorted (SortedPairs); free the array only.
static const char **
s_sorted_keys(const json_t *obj, size_t *n)
{
    *n = json_is_object(obj) ? json_object_size(obj) : 0;
    const char **keys = fw_calloc(*n + 1, sizeof *keys);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, *n, sizeof *keys, s_strcmp_p);
    return keys;
}

static const char *
s_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static size_t
s_count(const json_t *data, const char *status)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(json_object_get(data, "alerts"), i, a)
    {
        if (strcmp(s_str(a, "status"), status) == 0)
            n++;
    }
    return n;
}

// {{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing
// | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len
// .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{
// .Values | join " " }}{{ end }}){{ end }}{{ end }}
static char *
s_subject(const json_t *data)
{
    struct s_buf b = {0};
    const char *status = s_str(data, "status");
    char tmp[64];
    s_put(&b, "[");
    for (const char *p = status; *p; p++) {
        char c[2] = {(char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p), 0};
        s_put(&b, c);
    }
    if (strcmp(status, "firing") == 0) {
        snprintf(tmp, sizeof tmp, ":%zu", s_count(data, "firing"));
        s_put(&b, tmp);
    }
    s_put(&b, "] ");
    const json_t *gl = json_object_get(data, "groupLabels");
    const json_t *cl = json_object_get(data, "commonLabels");
    size_t n;
    const char **keys = s_sorted_keys(gl, &n);
    for (size_t i = 0; i < n; i++) {
        if (i)
            s_put(&b, " ");
        s_put(&b, s_str(gl, keys[i]));
    }
    free(keys);
    s_put(&b, " ");
    if (json_object_size(cl) > json_object_size(gl)) {
        s_put(&b, "(");
        keys = s_sorted_keys(cl, &n);
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (json_object_get(gl, keys[i]))
                continue;
            if (!first)
                s_put(&b, " ");
            first = false;
            s_put(&b, s_str(cl, keys[i]));
        }
        free(keys);
        s_put(&b, ")");
    }
    return s_done(&b);
}

// {{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}
static char *
s_alertmanager_url(const json_t *data)
{
    char *q = notifyd_text_urlquery(s_str(data, "receiver"));
    char *out = fw_asprintf("%s/#/alerts?receiver=%s", s_str(data, "externalURL"), q);
    free(q);
    return out;
}

static void
s_pairs(struct s_buf *b, const json_t *obj, const char *indent)
{
    size_t n;
    const char **keys = s_sorted_keys(obj, &n);
    for (size_t i = 0; i < n; i++) {
        s_put(b, indent);
        s_put(b, keys[i]);
        s_put(b, " = ");
        s_put(b, s_str(obj, keys[i]));
        s_put(b, "\n");
    }
    free(keys);
}

// __text_alert_list (markdown false) or __text_alert_list_markdown over the alerts of status.
static char *
s_alert_list(const json_t *data, const char *status, bool markdown)
{
    struct s_buf b = {0};
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(data, "alerts"), i, a)
    {
        if (strcmp(s_str(a, "status"), status) != 0)
            continue;
        s_put(&b, markdown ? "\nLabels:\n" : "Labels:\n");
        s_pairs(&b, json_object_get(a, "labels"), markdown ? "  - " : " - ");
        s_put(&b, markdown ? "\nAnnotations:\n" : "Annotations:\n");
        s_pairs(&b, json_object_get(a, "annotations"), markdown ? "  - " : " - ");
        s_put(&b, markdown ? "\nSource: " : "Source: ");
        s_put(&b, s_str(a, "generatorURL"));
        s_put(&b, "\n");
    }
    if (markdown)
        s_put(&b, "\n");
    return s_done(&b);
}

// msteams.default.text and msteamsv2.default.text (the same template).
static char *
s_teams_text(const json_t *data)
{
    struct s_buf b = {0};
    s_put(&b, "\n");
    static const char *const st[] = {"firing", "resolved"};
    static const char *const head[] = {"\n# Alerts Firing:\n", "\n# Alerts Resolved:\n"};
    for (int k = 0; k < 2; k++) {
        if (s_count(data, st[k]) > 0) {
            s_put(&b, head[k]);
            char *l = s_alert_list(data, st[k], true);
            s_put(&b, l);
            free(l);
            s_put(&b, "\n");
        }
        s_put(&b, "\n");
    }
    return s_done(&b);
}

static char *
s_fallback(const json_t *data)
{
    char *t = s_subject(data), *u = s_alertmanager_url(data);
    char *out = fw_asprintf("%s | %s", t, u);
    free(t);
    free(u);
    return out;
}

// floorwatch's azuresms default message: the default title (__subject) without the
// trailing blank __subject leaves when the common labels are the group's.
static char *
s_sms_message(const json_t *data)
{
    char *s = s_subject(data);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

static char *
s_alertmanager(const json_t *data)
{
    (void)data;
    return fw_strdup("Alertmanager");
}

static char *
s_empty(const json_t *data)
{
    (void)data;
    return fw_strdup("");
}

static char *
s_slack_color(const json_t *data)
{
    return fw_strdup(strcmp(s_str(data, "status"), "firing") == 0 ? "danger" : "good");
}

static char *
s_firing_list(const json_t *data)
{
    return s_alert_list(data, "firing", false);
}

static char *
s_resolved_list(const json_t *data)
{
    return s_alert_list(data, "resolved", false);
}

static char *
s_num_firing(const json_t *data)
{
    return fw_asprintf("%zu", s_count(data, "firing"));
}

static char *
s_num_resolved(const json_t *data)
{
    return fw_asprintf("%zu", s_count(data, "resolved"));
}

static const struct {
    const char *name;
    char *(*fn)(const json_t *data);
} s_texts[] = {
    {"__subject", s_subject},
    {"__alertmanagerURL", s_alertmanager_url},
    {"slack.default.title", s_subject},
    {"slack.default.titlelink", s_alertmanager_url},
    {"slack.default.fallback", s_fallback},
    {"slack.default.username", s_alertmanager},
    {"slack.default.color", s_slack_color},
    {"slack.default.text", s_empty},
    {"slack.default.pretext", s_empty},
    {"slack.default.footer", s_empty},
    {"slack.default.callbackid", s_empty},
    {"slack.default.iconemoji", s_empty},
    {"slack.default.iconurl", s_empty},
    {"pagerduty.default.description", s_subject},
    {"pagerduty.default.client", s_alertmanager},
    {"pagerduty.default.clientURL", s_alertmanager_url},
    {"pagerduty.details.firing", s_firing_list},
    {"pagerduty.details.resolved", s_resolved_list},
    {"pagerduty.details.num_firing", s_num_firing},
    {"pagerduty.details.num_resolved", s_num_resolved},
    {"msteams.default.title", s_subject},
    {"msteams.default.summary", s_subject},
    {"msteams.default.text", s_teams_text},
    {"msteamsv2.default.title", s_subject},
    {"msteamsv2.default.text", s_teams_text},
    {"azuresms.default.message", s_sms_message},
};

char *
notifyd_text_default(const char *name, const json_t *data)
{
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
        if (strcmp(s_texts[i].name, name) == 0)
            return s_texts[i].fn(data);
    return NULL;
}

char *
notifyd_text_urlquery(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = fw_malloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else if (*p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *
notifyd_text_truncate_runes(const char *s, size_t max, bool *truncated)
{
    size_t runes = 0, cut = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (runes == (max > 3 ? max - 1 : max))
                cut = i;
            runes++;
        }
    *truncated = runes > max;
    if (!*truncated)
        return fw_strdup(s);
    return max > 3 ? fw_asprintf("%.*s\xE2\x80\xA6", (int)cut, s)
                   : fw_asprintf("%.*s", (int)cut, s);
}

static json_t *
s_common(const json_t *alerts, const char *key)
{
    json_t *common = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        json_t *kv = json_object_get(a, key);
        if (!common) {
            common = json_is_object(kv) ? json_copy(kv) : json_object();
            continue;
        }
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(common, tmp, k, v)
        {
            json_t *o = json_object_get(kv, k);
            if (!o || !json_equal(o, v))
                json_object_del(common, k);
        }
    }
    return common ? common : json_object();
}

json_t *
notifyd_text_data(const json_t *payload, bool send_resolved)
{
    const json_t *alerts = json_object_get(payload, "alerts");
    if (!json_is_array(alerts))
        return NULL;
    json_t *data = json_deep_copy(payload);
    if (send_resolved)
        return json_array_size(alerts) ? data : (json_decref(data), NULL);
    json_t *firing = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (strcmp(s_str(a, "status"), "resolved") != 0)
            json_array_append(firing, a);
    }
    if (json_array_size(firing) == 0) {
        json_decref(firing);
        json_decref(data);
        return NULL;
    }
    if (json_array_size(firing) != json_array_size(alerts)) {
        json_object_set_new(data, "status", json_string("firing"));
        json_object_set_new(data, "commonLabels", s_common(firing, "labels"));
        json_object_set_new(data, "commonAnnotations", s_common(firing, "annotations"));
    }
    json_object_set_new(data, "alerts", firing); // steals
    return data;
}
