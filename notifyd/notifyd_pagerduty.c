/*  notifyd_pagerduty.c — see notifyd_pagerduty.h. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_tmpl.h"
#include "notifyd_pagerduty.h"
#include "notifyd_body.h"
#include "notifyd_tmpl.h"

#define S_MAX_SUMMARY_RUNES 1024

void
notifyd_pagerduty_dedup_key(const char *group_key, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)group_key, strlen(group_key), md);
    for (size_t i = 0; i < sizeof md; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

// custom_details: the four defaults, overridden or extended by the config's details.
static json_t *
s_details(const json_t *config, const json_t *data)
{
    json_t *d = json_object();
    static const char *const keys[] = {"firing", "num_firing", "num_resolved", "resolved"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "details.%s", keys[i]);
        char *t = notifyd_tmpl_default(fw_tmpl_am_key_default("pagerduty_configs", name), data);
        json_object_set_new(d, keys[i], json_string(t));
        free(t);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(config, "details"), k, v)
    {
        if (json_is_string(v)) {
            char *t = notifyd_tmpl_text(k, json_string_value(v), data, NULL);
            json_object_set_new(d, k, json_string(t));
            free(t);
        }
    }
    return d;
}

static json_t *
s_list(const json_t *items, const char *const *keys, size_t n, const json_t *data)
{
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *first = json_string_value(json_object_get(it, keys[0]));
        if (!first || !*first)
            continue;
        json_t *o = json_object();
        for (size_t k = 0; k < n; k++)
            notifyd_body_set(o, keys[k], notifyd_tmpl_key(it, NULL, keys[k], data), true);
        json_array_append_new(out, o);
    }
    return out;
}

int
notifyd_pagerduty_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *key = json_string_value(json_object_get(config, "routing_key"));
    const char *gk = json_string_value(json_object_get(data, "groupKey"));
    if (!key || !*key) {
        fw_err_set(err, "pagerduty_config without routing_key");
        return -1;
    }
    if (!gk) {
        fw_err_set(err, "notification without groupKey");
        return -1;
    }
    const char *url = json_string_value(json_object_get(config, "url"));
    char dedup[65];
    notifyd_pagerduty_dedup_key(gk, dedup);
    const char *status = json_string_value(json_object_get(data, "status"));
    bool resolved = status && strcmp(status, "resolved") == 0;
    json_t *msg = json_object();
    json_object_set_new(msg, "routing_key", json_string(key));
    json_object_set_new(msg, "dedup_key", json_string(dedup));
    json_object_set_new(msg, "event_action", json_string(resolved ? "resolve" : "trigger"));
    json_t *p = json_object();
    bool cut = false;
    char *desc = notifyd_tmpl_key(config, "pagerduty_configs", "description", data);
    char *summary = notifyd_tmpl_truncate_runes(desc, S_MAX_SUMMARY_RUNES, &cut);
    free(desc);
    if (cut)
        fw_warn("pagerduty.summary.truncated", "max_runes=%d", S_MAX_SUMMARY_RUNES);
    notifyd_body_set(p, "summary", summary, true);
    char *client = notifyd_tmpl_key(config, "pagerduty_configs", "client", data);
    const char *src = json_string_value(json_object_get(config, "source"));
    notifyd_body_set(p, "source", fw_strdup(src && *src ? src : client), true);
    const char *sev = json_string_value(json_object_get(config, "severity"));
    notifyd_body_set(p, "severity", fw_strdup(sev && *sev ? sev : "error"), true);
    notifyd_body_set(p, "class", notifyd_tmpl_key(config, "pagerduty_configs", "class", data),
                     false);
    notifyd_body_set(p, "component",
                     notifyd_tmpl_key(config, "pagerduty_configs", "component", data), false);
    notifyd_body_set(p, "group", notifyd_tmpl_key(config, "pagerduty_configs", "group", data),
                     false);
    json_object_set_new(p, "custom_details", s_details(config, data));
    json_object_set_new(msg, "payload", p);
    notifyd_body_set(msg, "client", client, false);
    notifyd_body_set(msg, "client_url",
                     notifyd_tmpl_key(config, "pagerduty_configs", "client_url", data), false);
    static const char *const ik[] = {"src", "alt", "href"};
    static const char *const lk[] = {"href", "text"};
    json_t *images = s_list(json_object_get(config, "images"), ik, 3, data);
    json_t *links = s_list(json_object_get(config, "links"), lk, 2, data);
    if (json_array_size(images))
        json_object_set(msg, "images", images);
    if (json_array_size(links))
        json_object_set(msg, "links", links);
    json_decref(images);
    json_decref(links);
    char *body = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(msg);
    out->url = fw_strdup(url && *url ? url : NOTIFYD_PAGERDUTY_URL);
    out->body = fw_strdup(body);
    free(body);
    return 0;
}
