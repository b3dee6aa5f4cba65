/*  notifyd_pushover.c — see notifyd_pushover.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_tmpl.h"
#include "fw_url.h"
#include "notifyd_pushover.h"
#include "notifyd_tmpl.h"

// Alertmanager's default priority (config/notifiers.go DefaultPushoverConfig).
#define S_PRIORITY "{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}"

char *
notifyd_pushover_query_escape(char *out, const char *s)
{
    size_t len = out ? strlen(out) : 0, cap = out ? len + 1 : 0;
    fw_url_query_escape(&out, &len, &cap, s);
    return out;
}

// strings.TrimSpace over ASCII white space: a new string.
static char *
s_trim(const char *s)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
        n--;
    char *out = fw_malloc(n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

// The rendered text of key cut to max runes (max 0: uncut): a new string.
static char *
s_text(const json_t *config, const char *key, const json_t *data, size_t max)
{
    char *t = notifyd_tmpl_key(config, "pushover_configs", key, data);
    if (!max)
        return t;
    bool cut;
    char *c = notifyd_tmpl_truncate_runes(t, max, &cut);
    free(t);
    return c;
}

struct s_param {
    const char *name;
    char *value; // owned
};

static int
s_by_name(const void *a, const void *b)
{
    return strcmp(((const struct s_param *)a)->name, ((const struct s_param *)b)->name);
}

int
notifyd_pushover_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                       fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *user = json_string_value(json_object_get(config, "user_key"));
    const char *token = json_string_value(json_object_get(config, "token"));
    if (!user || !*user || !token || !*token) {
        fw_err_set(err, "pushover_config without %s", !user || !*user ? "user_key" : "token");
        return -1;
    }
    bool html = json_is_true(json_object_get(config, "html"));
    char *msg;
    if (html) {
        const char *def = fw_tmpl_am_key_default("pushover_configs", "message");
        const json_t *m = json_object_get(config, "message");
        msg = notifyd_tmpl_html("pushover_configs.message", json_string_value(m), data, def);
    } else {
        msg = notifyd_tmpl_key(config, "pushover_configs", "message", data);
    }
    bool cut;
    char *c = notifyd_tmpl_truncate_runes(msg, NOTIFYD_PUSHOVER_MAX_MESSAGE, &cut);
    free(msg);
    msg = s_trim(c);
    free(c);
    if (!*msg) { // Pushover refuses an empty message
        free(msg);
        msg = fw_strdup("(no details)");
    }
    const json_t *pr = json_object_get(config, "priority");
    char *priority = notifyd_tmpl_text("pushover_configs.priority",
                                       json_is_string(pr) ? json_string_value(pr) : S_PRIORITY,
                                       data, S_PRIORITY);
    char retry[24], expire[24];
    snprintf(retry, sizeof retry, "%lld",
             (long long)json_integer_value(json_object_get(config, "retry_s")));
    snprintf(expire, sizeof expire, "%lld",
             (long long)json_integer_value(json_object_get(config, "expire_s")));
    struct s_param ps[] = {
        {"token", fw_strdup(token)},
        {"user", fw_strdup(user)},
        {"title", s_text(config, "title", data, NOTIFYD_PUSHOVER_MAX_TITLE)},
        {"html", html ? fw_strdup("1") : NULL},
        {"message", msg},
        {"url", s_text(config, "url", data, NOTIFYD_PUSHOVER_MAX_URL)},
        {"url_title", s_text(config, "url_title", data, 0)},
        {"priority", priority},
        {"retry", fw_strdup(retry)},
        {"expire", fw_strdup(expire)},
        {"sound", s_text(config, "sound", data, 0)},
    };
    size_t n = sizeof ps / sizeof ps[0];
    qsort(ps, n, sizeof ps[0], s_by_name); // url.Values.Encode sorts by key
    char *url = fw_strdup(NOTIFYD_PUSHOVER_URL "?");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!ps[i].value)
            continue;
        size_t len = strlen(url);
        url = fw_realloc(url, len + strlen(ps[i].name) + 3);
        snprintf(url + len, strlen(ps[i].name) + 3, "%s%s=", first ? "" : "&", ps[i].name);
        url = notifyd_pushover_query_escape(url, ps[i].value);
        free(ps[i].value);
        first = false;
    }
    out->url = url;
    out->body = fw_strdup("");
    (void)notifyd_req_header(out, "Content-Type", "text/plain");
    return 0;
}
