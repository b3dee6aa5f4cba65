/*  notifyd_opsgenie.c — see notifyd_opsgenie.h. Keys in the order of Alertmanager's structs
    (opsGenieCreateMessage, ...), details' keys sorted as encoding/json sorts a map's.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_body.h"
#include "notifyd_opsgenie.h"
#include "notifyd_pagerduty.h"
#include "notifyd_tmpl.h"
#include "notifyd_secret.h"

#define S_MAX_MESSAGE_RUNES 130 // the Alert API's limit on message
#define S_ARRAY "opsgenie_configs"

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The common labels, then the config's details rendered over them, keys sorted.
static json_t *
s_details(const json_t *config, const json_t *data)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(data, "commonLabels"), k, v)
    {
        if (json_is_string(v))
            json_object_set(d, k, v);
    }
    json_object_foreach((json_t *)json_object_get(config, "details"), k, v)
    {
        if (json_is_string(v)) {
            char name[160];
            snprintf(name, sizeof name, "details.%s", k);
            char *t = notifyd_tmpl_text(name, json_string_value(v), data, NULL);
            json_object_set_new(d, k, json_string(t));
            free(t);
        }
    }
    size_t n = json_object_size(d), i = 0;
    const char **keys = fw_calloc(n ? n : 1, sizeof *keys);
    json_object_foreach(d, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, s_cmp);
    json_t *sorted = json_object();
    for (i = 0; i < n; i++)
        json_object_set(sorted, keys[i], json_object_get(d, keys[i]));
    free(keys);
    json_decref(d);
    return sorted;
}

// Alertmanager's safeSplit: blanks around s trimmed, split at sep, empty items dropped. A new
// array (maybe empty).
static json_t *
s_split(const char *s)
{
    json_t *a = json_array();
    if (!s)
        return a;
    const char *b = s, *e = s + strlen(s);
    while (b < e && strchr(" \t\n\r\v\f", *b))
        b++;
    while (e > b && strchr(" \t\n\r\v\f", e[-1]))
        e--;
    while (b < e) {
        const char *c = memchr(b, ',', (size_t)(e - b));
        const char *end = c ? c : e;
        if (end > b)
            json_array_append_new(a, json_stringn(b, (size_t)(end - b)));
        b = c ? c + 1 : e;
    }
    return a;
}

static void
s_set_list(json_t *msg, const char *key, char *text)
{
    json_t *a = s_split(text);
    free(text);
    if (json_array_size(a))
        json_object_set_new(msg, key, a);
    else
        json_decref(a);
}

static char *
s_text(const json_t *obj, const char *key, const char *name, const json_t *data)
{
    const char *t = json_string_value(json_object_get(obj, key));
    return notifyd_tmpl_text(name, t, data, NULL);
}

static json_t *
s_responders(const json_t *config, const json_t *data)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(config, "responders"), i, r)
    {
        char *id = s_text(r, "id", "responders.id", data);
        char *name = s_text(r, "name", "responders.name", data);
        char *user = s_text(r, "username", "responders.username", data);
        char *type = s_text(r, "type", "responders.type", data);
        if (!*id && !*name && !*user && !*type) {
            // dropped, so responders can come from labels that may be empty
        } else if (strcmp(type, "teams") == 0) {
            json_t *teams = s_split(name);
            size_t k;
            json_t *t;
            json_array_foreach(teams, k, t)
            {
                json_array_append_new(out, json_pack("{s:O, s:s}", "name", t, "type", "team"));
            }
            json_decref(teams);
        } else {
            json_t *o = json_object();
            notifyd_body_set(o, "id", id, false);
            notifyd_body_set(o, "name", name, false);
            notifyd_body_set(o, "username", user, false);
            notifyd_body_set(o, "type", type, true);
            json_array_append_new(out, o);
            continue;
        }
        free(id);
        free(name);
        free(user);
        free(type);
    }
    return out;
}

// json + "\n", as json.Encoder.Encode writes it; msg is consumed.
static char *
s_encode(json_t *msg)
{
    char *j = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(msg);
    char *out = fw_asprintf("%s\n", j);
    free(j);
    return out;
}

static struct notifyd_req *
s_update(const char *base, const char *alias, const char *what, const char *value)
{
    struct notifyd_req *r = fw_calloc(1, sizeof *r);
    r->method = "PUT";
    r->url = fw_asprintf("%sv2/alerts/%s/%s?identifierType=alias", base, alias, what);
    json_t *m = json_object();
    if (*value)
        json_object_set_new(m, what, json_string(value));
    r->body = s_encode(m);
    return r;
}

static void
s_create(const json_t *config, const json_t *data, const char *base, const char *alias,
         struct notifyd_req *out)
{
    bool cut = false;
    char *full = notifyd_tmpl_key(config, S_ARRAY, "message", data);
    char *message = notifyd_tmpl_truncate_runes(full, S_MAX_MESSAGE_RUNES, &cut);
    free(full);
    if (cut)
        fw_warn("opsgenie.message.truncated", "max_runes=%d", S_MAX_MESSAGE_RUNES);
    char *desc = notifyd_tmpl_key(config, S_ARRAY, "description", data);
    json_t *m = json_object();
    json_object_set_new(m, "alias", json_string(alias));
    json_object_set_new(m, "message", json_string(message));
    notifyd_body_set(m, "description", fw_strdup(desc), false);
    json_object_set_new(m, "details", s_details(config, data));
    notifyd_body_set(m, "source", notifyd_tmpl_key(config, S_ARRAY, "source", data), true);
    json_t *rs = s_responders(config, data);
    if (json_array_size(rs))
        json_object_set_new(m, "responders", rs);
    else
        json_decref(rs);
    s_set_list(m, "tags", notifyd_tmpl_key(config, S_ARRAY, "tags", data));
    notifyd_body_set(m, "note", notifyd_tmpl_key(config, S_ARRAY, "note", data), false);
    notifyd_body_set(m, "priority", notifyd_tmpl_key(config, S_ARRAY, "priority", data), false);
    notifyd_body_set(m, "entity", notifyd_tmpl_key(config, S_ARRAY, "entity", data), false);
    s_set_list(m, "actions", notifyd_tmpl_key(config, S_ARRAY, "actions", data));
    out->url = fw_asprintf("%sv2/alerts", base);
    out->body = s_encode(m);
    if (json_is_true(json_object_get(config, "update_alerts"))) {
        out->then = s_update(base, alias, "message", message);
        out->then->then = s_update(base, alias, "description", desc);
    }
    free(message);
    free(desc);
}

int
notifyd_opsgenie_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                       fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *base = json_string_value(json_object_get(config, "api_url"));
    const char *gk = json_string_value(json_object_get(data, "groupKey"));
    if (!base || !*base) {
        fw_err_set(err, "opsgenie_config without api_url");
        return -1;
    }
    if (!gk) {
        fw_err_set(err, "notification without groupKey");
        return -1;
    }
    char *from_file = NULL;
    const char *key = notifyd_secret(config, "opsgenie", "api_key", &from_file, err);
    if (!key)
        return -1;
    char alias[65];
    notifyd_pagerduty_dedup_key(gk, alias);
    const char *status = json_string_value(json_object_get(data, "status"));
    if (status && strcmp(status, "resolved") == 0) {
        out->url = fw_asprintf("%sv2/alerts/%s/close?identifierType=alias", base, alias);
        json_t *m = json_object();
        notifyd_body_set(m, "source", notifyd_tmpl_key(config, S_ARRAY, "source", data), true);
        out->body = s_encode(m);
    } else {
        s_create(config, data, base, alias, out);
    }
    char *auth = fw_asprintf("GenieKey %s", key);
    (void)notifyd_req_header(out, "Authorization", auth);
    memset(auth, 0, strlen(auth));
    free(auth);
    if (from_file)
        memset(from_file, 0, strlen(from_file));
    free(from_file);
    return 0;
}
