/*  alertd_cfg_pushover.c — pushover_configs (see alertd_cfg_pushover.h), after Alertmanager
    0.25's config/notifiers.go (PushoverConfig, DefaultPushoverConfig, "missing user key in
    Pushover config", "missing token in Pushover config"; retry and expire parsed by Go's
    time.ParseDuration, so "1d" is refused as Go refuses it).
*/
#include <stdio.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_pushover.h"
#include "alertd_cfg_receivers.h"

#define S_NEWER "Alertmanager 0.25 has no such key"

#define T struct alertd_cfg_pushover
const struct fw_cfg_field alertd_cfg_pushover_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("user_key", T, user_key),
    F_STR("token", T, token),
    F_STR("title", T, title),
    F_STR("message", T, message),
    F_STR("url", T, url),
    F_STR("url_title", T, url_title),
    F_STR("sound", T, sound),
    F_STR("priority", T, priority),
    F_STR("retry", T, retry),
    F_STR("expire", T, expire),
    F_BOOL("html", T, html, "false"),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    F_WHY("user_key_file", S_NEWER),
    F_WHY("token_file", S_NEWER),
    F_WHY("device", S_NEWER),
    F_WHY("ttl", S_NEWER),
    F_WHY("monospace", S_NEWER),
    {NULL},
};
#undef T

// Nanoseconds of Go's units (time.ParseDuration's unitMap).
static int64_t
s_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1},           {"us", 1000},      {"\xc2\xb5s", 1000}, // U+00B5 micro sign
                 {"\xce\xbcs", 1000},                                         // U+03BC Greek mu
                 {"ms", 1000000},     {"s", 1000000000}, {"m", 60000000000},  {"h", 3600000000000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

int
alertd_cfg_pushover_duration(const char *s, int64_t *ns)
{
    // [-+]? ("0" | (number unit)+), number = digits [. digits] (either part may be empty,
    // not both).
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*p)
        return -1;
    long double total = 0;
    while (*p) {
        const char *start = p;
        long double v = 0, scale = 1;
        bool digits = false;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            digits = true;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                scale /= 10;
                v += (*p++ - '0') * scale;
                digits = true;
            }
        }
        if (!digits || p == start)
            return -1;
        const char *u = p;
        while (*p && *p != '.' && (*p < '0' || *p > '9'))
            p++;
        int64_t unit = s_unit(u, (size_t)(p - u));
        if (!unit)
            return -1;
        total += v * (long double)unit;
        if (total > (long double)INT64_MAX)
            return -1;
    }
    *ns = (int64_t)(neg ? -total : total);
    return 0;
}

static void
s_duration(const char *file, struct fw_cfg_errors *errs, const struct alertd_cfg_pushover *p,
           const char *key, const char *text, int64_t def_s, int64_t *out_s)
{
    *out_s = def_s;
    if (!text)
        return;
    int64_t ns;
    if (alertd_cfg_pushover_duration(text, &ns) < 0) {
        const struct fw_cfg_vpos *at = fw_cfg_vpos_find(&p->vpos, key);
        fw_cfg_errors_add(errs, file, at ? at->pos : p->pos,
                          "pushover_configs.%s: time: invalid duration \"%s\"", key, text);
        return;
    }
    *out_s = ns / 1000000000; // int64(Duration.Seconds()): toward zero
}

static void
s_check(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_pushover *p)
{
    if (!p->user_key || !*p->user_key)
        fw_cfg_errors_add(errs, file, p->pos, "missing user key in Pushover config");
    if (!p->token || !*p->token)
        fw_cfg_errors_add(errs, file, p->pos, "missing token in Pushover config");
    s_duration(file, errs, p, "retry", p->retry, 60, &p->retry_s);
    s_duration(file, errs, p, "expire", p->expire, 3600, &p->expire_s);
    static const struct {
        const char *key, *def;
        size_t off;
    } texts[] = {
        {"title", "{{ template \"pushover.default.title\" . }}",
         offsetof(struct alertd_cfg_pushover, title)},
        {"message", "{{ template \"pushover.default.message\" . }}",
         offsetof(struct alertd_cfg_pushover, message)},
        {"url", "{{ template \"pushover.default.url\" . }}",
         offsetof(struct alertd_cfg_pushover, url)},
        {"url_title", NULL, offsetof(struct alertd_cfg_pushover, url_title)},
        {"sound", NULL, offsetof(struct alertd_cfg_pushover, sound)},
        {"priority", ALERTD_CFG_PUSHOVER_PRIORITY, offsetof(struct alertd_cfg_pushover, priority)},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "pushover_configs.%s", texts[i].key);
        alertd_cfg_receivers_text(file, errs, (char **)((char *)p + texts[i].off), texts[i].def,
                                  p->pos, fw_cfg_vpos_find(&p->vpos, texts[i].key), what);
    }
}

void
alertd_cfg_pushover_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                          struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->pushover_len; i++) {
        struct alertd_cfg_pushover *p = &r->pushover[i];
        s_check(file, errs, p);
        json_decref(p->http_json);
        p->http_json = alertd_cfg_http_effective(&p->http, p->pos, global_http, file, errs);
    }
}

void
alertd_cfg_pushover_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->pushover_len; i++) {
        json_decref(r->pushover[i].http_json);
        r->pushover[i].http_json = NULL;
    }
}

void
alertd_cfg_pushover_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->pushover_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->pushover_len; i++) {
        const struct alertd_cfg_pushover *p = &r->pushover[i];
        json_t *o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:b}", "send_resolved", p->send_resolved,
                              "user_key", p->user_key ? p->user_key : "", "token",
                              p->token ? p->token : "", "retry_s", (json_int_t)p->retry_s,
                              "expire_s", (json_int_t)p->expire_s, "html", p->html);
        alertd_cfg_put(o, "title", p->title);
        alertd_cfg_put(o, "message", p->message);
        alertd_cfg_put(o, "url", p->url);
        alertd_cfg_put(o, "url_title", p->url_title);
        alertd_cfg_put(o, "sound", p->sound);
        alertd_cfg_put(o, "priority", p->priority);
        alertd_cfg_http_put(o, p->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "pushover_configs", a);
}
