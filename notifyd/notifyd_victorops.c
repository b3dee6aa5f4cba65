/*  notifyd_victorops.c — see notifyd_victorops.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_pagerduty.h"
#include "notifyd_tmpl.h"
#include "notifyd_victorops.h"
#include "notifyd_secret.h"

#define S_ARRAY "victorops_configs"

int
notifyd_victorops_escape_path(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-_.~$&+,/:;=@", *p);
        size_t need = keep ? 1 : 3;
        if (n + need + 1 > cap)
            return -1;
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

// The message type Alertmanager sends: RECOVERY when resolved, the rendered type when it is
// one VictorOps knows for a firing incident, else CRITICAL.
static const char *
s_message_type(const char *rendered, bool resolved)
{
    if (resolved)
        return "RECOVERY";
    if (strcmp(rendered, "INFO") == 0 || strcmp(rendered, "WARNING") == 0 ||
        strcmp(rendered, "CRITICAL") == 0)
        return rendered;
    return "CRITICAL";
}

static void
s_set(json_t *o, const char *key, char *value)
{
    json_object_set_new(o, key, json_string(value ? value : ""));
    free(value);
}

int
notifyd_victorops_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "api_url"));
    const char *gk = json_string_value(json_object_get(data, "groupKey"));
    if (!url || !*url) {
        fw_err_set(err, "victorops_config without api_url");
        return -1;
    }
    if (!gk) {
        fw_err_set(err, "notification without groupKey");
        return -1;
    }
    char *from_file = NULL;
    const char *key = notifyd_secret(config, "victorops", "api_key", &from_file, err);
    if (!key)
        return -1;
    char *routing = notifyd_tmpl_key(config, S_ARRAY, "routing_key", data);
    if (!routing || !*routing) {
        free(routing);
        free(from_file);
        fw_err_set(err, "victorops_config: routing_key renders empty");
        return -1;
    }
    size_t cap = strlen(url) + 3 * (strlen(key) + strlen(routing)) + 2;
    char *full = fw_calloc(1, cap);
    memcpy(full, url, strlen(url));
    int rc = notifyd_victorops_escape_path(key, full, cap);
    strcat(full, "/");
    rc |= notifyd_victorops_escape_path(routing, full, cap);
    free(routing);
    free(from_file);
    if (rc != 0) { // cannot happen: cap holds every byte escaped
        free(full);
        fw_err_set(err, "victorops_config: URL too long");
        return -1;
    }

    const char *status = json_string_value(json_object_get(data, "status"));
    bool resolved = status && strcmp(status, "resolved") == 0;
    json_t *msg = json_object();
    const char *mt_text = json_string_value(json_object_get(config, "message_type"));
    char *mt = notifyd_tmpl_text("message_type", mt_text ? mt_text : "CRITICAL", data, NULL);
    json_object_set_new(msg, "message_type", json_string(s_message_type(mt, resolved)));
    free(mt);
    char entity[65];
    notifyd_pagerduty_dedup_key(gk, entity); // notify.Key.Hash: the same SHA-256 hex
    json_object_set_new(msg, "entity_id", json_string(entity));
    s_set(msg, "entity_display_name",
          notifyd_tmpl_key(config, S_ARRAY, "entity_display_name", data));
    bool cut = false;
    char *sm = notifyd_tmpl_key(config, S_ARRAY, "state_message", data);
    char *state =
        notifyd_tmpl_truncate_runes(sm ? sm : "", NOTIFYD_VICTOROPS_MAX_MESSAGE_RUNES, &cut);
    free(sm);
    if (cut)
        fw_warn("victorops.state_message.truncated", "max_runes=%d",
                NOTIFYD_VICTOROPS_MAX_MESSAGE_RUNES);
    s_set(msg, "state_message", state);
    s_set(msg, "monitoring_tool", notifyd_tmpl_key(config, S_ARRAY, "monitoring_tool", data));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(config, "custom_fields"), k, v)
    {
        if (json_is_string(v))
            s_set(msg, k, notifyd_tmpl_text(k, json_string_value(v), data, NULL));
    }
    // Sorted keys and a final newline: what Go's json.Encoder writes for the map.
    char *body = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(msg);
    out->url = full;
    out->body = fw_asprintf("%s\n", body);
    free(body);
    return 0;
}
