/*  notifyd_tmpl.c — see notifyd_tmpl.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_tmpl.h"
#include "notifyd_tmpl.h"

#define S_CACHE 8

static struct {
    uint64_t hash;
    fw_tmpl_set_t *set;
} s_cache[S_CACHE];
static size_t s_next;
static fw_tmpl_set_t *s_current;
// The last payload notifyd_tmpl_data returned and its template data, converted once for all
// the texts of one integration. The payload is held (a reference), so its address cannot be
// reused by another while it is the key; any other data is converted at each text.
static json_t *s_data_key, *s_data_am;

static uint64_t
s_fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; // a separator, so "ab","c" differs from "a","bc"
}

static void
s_data_drop(void)
{
    json_decref(s_data_key);
    json_decref(s_data_am);
    s_data_key = s_data_am = NULL;
}

void
notifyd_tmpl_use(const json_t *templates)
{
    s_data_drop();
    uint64_t h = 14695981039346656037ull;
    size_t i;
    json_t *t;
    json_array_foreach(templates, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *text = json_string_value(json_object_get(t, "text"));
        h = s_fnv(s_fnv(h, name ? name : ""), text ? text : "");
    }
    for (size_t k = 0; k < S_CACHE; k++)
        if (s_cache[k].set && s_cache[k].hash == h) {
            s_current = s_cache[k].set;
            return;
        }
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_use_am_defaults(set);
    json_array_foreach(templates, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *text = json_string_value(json_object_get(t, "text"));
        fw_err_t err;
        fw_err_clear(&err);
        if (name && text && fw_tmpl_parse(set, name, text, &err) < 0)
            fw_warn("notify.template", "template=%s err=%s", name, err.msg);
    }
    fw_tmpl_set_destroy(&s_cache[s_next].set);
    s_cache[s_next].hash = h;
    s_cache[s_next].set = set;
    s_next = (s_next + 1) % S_CACHE;
    s_current = set;
}

// Alertmanager's template data for data: a new reference.
static json_t *
s_am(const json_t *data)
{
    if (!s_current)
        notifyd_tmpl_use(NULL);
    if (data == s_data_key)
        return json_incref(s_data_am);
    return fw_tmpl_am_data(data);
}

// Render text (NULL: template def) in the given mode; on failure the default, logged.
static char *
s_render(const char *name, const char *text, const json_t *data, const char *def, bool html)
{
    if (text && !strstr(text, "{{"))
        return fw_strdup(text);
    json_t *am = s_am(data);
    char *out = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    if (text) {
        int rc = html ? fw_tmpl_exec_html(s_current, name, text, am, &out, &err)
                      : fw_tmpl_exec_text(s_current, name, text, am, &out, &err);
        if (rc == 0) {
            json_decref(am);
            return out;
        }
        fw_warn("notify.template", "template=%s err=%s sent=default", name, err.msg);
        fw_err_clear(&err);
    }
    int rc = -1;
    if (def) {
        rc = html ? fw_tmpl_exec_html(s_current, def, NULL, am, &out, &err)
                  : fw_tmpl_exec(s_current, def, am, &out, &err);
        if (rc < 0)
            fw_warn("notify.template", "template=%s err=%s", def, err.msg);
    }
    json_decref(am);
    return rc == 0 ? out : fw_strdup("");
}

char *
notifyd_tmpl_default(const char *def, const json_t *data)
{
    return s_render(def, NULL, data, def, false);
}

char *
notifyd_tmpl_text(const char *name, const char *text, const json_t *data, const char *def)
{
    return s_render(name, text, data, def, false);
}

char *
notifyd_tmpl_key(const json_t *config, const char *array, const char *key, const json_t *data)
{
    return s_render(key, json_string_value(json_object_get(config, key)), data,
                    fw_tmpl_am_key_default(array, key), false);
}

char *
notifyd_tmpl_html(const char *name, const char *text, const json_t *data, const char *def)
{
    return s_render(name, text, data, def, true);
}

char *
notifyd_tmpl_truncate_runes(const char *s, size_t max, bool *truncated)
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

// data becomes the converted payload (see s_data_key); returned.
static json_t *
s_data_keep(json_t *data)
{
    s_data_drop();
    s_data_key = json_incref(data);
    s_data_am = fw_tmpl_am_data(data);
    return data;
}

// The labels (or annotations, key) every alert has with the same value.
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
notifyd_tmpl_firing(const json_t *alerts)
{
    json_t *firing = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        const char *st = json_string_value(json_object_get(a, "status"));
        if (!st || strcmp(st, "resolved") != 0)
            json_array_append(firing, a);
    }
    return firing;
}

void
notifyd_tmpl_common_set(json_t *payload)
{
    const json_t *alerts = json_object_get(payload, "alerts");
    bool firing = false;
    size_t i;
    const json_t *a;
    json_array_foreach(alerts, i, a)
    {
        const char *st = json_string_value(json_object_get(a, "status"));
        firing = firing || !st || strcmp(st, "resolved") != 0;
    }
    json_object_set_new(payload, "status", json_string(firing ? "firing" : "resolved")); // steals
    json_object_set_new(payload, "commonLabels", s_common(alerts, "labels"));            // steals
    json_object_set_new(payload, "commonAnnotations", s_common(alerts, "annotations"));  // steals
}

json_t *
notifyd_tmpl_data(const json_t *payload, bool send_resolved)
{
    const json_t *alerts = json_object_get(payload, "alerts");
    if (!json_is_array(alerts))
        return NULL;
    json_t *data = json_deep_copy(payload);
    if (send_resolved)
        return json_array_size(alerts) ? s_data_keep(data) : (json_decref(data), NULL);
    json_t *firing = notifyd_tmpl_firing(alerts);
    if (json_array_size(firing) == 0) {
        json_decref(firing);
        json_decref(data);
        return NULL;
    }
    bool dropped = json_array_size(firing) != json_array_size(alerts);
    json_object_set_new(data, "alerts", firing); // steals
    if (dropped)
        notifyd_tmpl_common_set(data);
    return s_data_keep(data);
}

void
notifyd_tmpl_shutdown(void)
{
    s_data_drop();
    for (size_t k = 0; k < S_CACHE; k++)
        fw_tmpl_set_destroy(&s_cache[k].set);
    s_current = NULL;
}
