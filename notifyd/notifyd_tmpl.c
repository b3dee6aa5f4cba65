/*  notifyd_tmpl.c — see notifyd_tmpl.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_tmpl.h"
#include "notifyd_text.h"
#include "notifyd_tmpl.h"

#define S_CACHE 8

static struct {
    uint64_t hash;
    fw_tmpl_set_t *set;
} s_cache[S_CACHE];
static size_t s_next;
static fw_tmpl_set_t *s_current;

static uint64_t
s_fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; // a separator, so "ab","c" differs from "a","bc"
}

void
notifyd_tmpl_use(const json_t *templates)
{
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

char *
notifyd_tmpl_text(const char *name, const char *text, const json_t *data, const char *def)
{
    if (!strstr(text, "{{"))
        return fw_strdup(text);
    if (!s_current)
        notifyd_tmpl_use(NULL);
    json_t *am = fw_tmpl_am_data(data);
    char *out = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    int rc = fw_tmpl_exec_text(s_current, name, text, am, &out, &err);
    json_decref(am);
    if (rc == 0)
        return out;
    fw_warn("notify.template", "template=%s err=%s (sending the default text)", name, err.msg);
    char *d = def ? notifyd_text_default(def, data) : NULL;
    return d ? d : fw_strdup("");
}

void
notifyd_tmpl_shutdown(void)
{
    for (size_t k = 0; k < S_CACHE; k++)
        fw_tmpl_set_destroy(&s_cache[k].set);
    s_current = NULL;
}
