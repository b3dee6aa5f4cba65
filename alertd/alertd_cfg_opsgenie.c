/*  alertd_cfg_opsgenie.c — opsgenie_configs (see alertd_cfg_opsgenie.h). Messages are
    Alertmanager 0.25's where it has one (config/notifiers.go, config/config.go).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_opsgenie.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_tmpl.h"
#include "alertd_cfg_fields.h"
#include "fw_mem.h"

#define T struct alertd_cfg_og_responder
static const struct fw_cfg_field s_responder_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("id", T, id),
    F_STR("name", T, name),
    F_STR("username", T, username),
    F_STR("type", T, type),
    {NULL},
};
#undef T

#define T struct alertd_cfg_opsgenie
const struct fw_cfg_field alertd_cfg_opsgenie_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("api_key", T, api_key),
    F_STR("api_key_file", T, api_key_file),
    F_STR("api_url", T, api_url),
    F_STR("message", T, message),
    F_STR("description", T, description),
    F_STR("source", T, source),
    {.key = "details", .type = FW_CFG_STR_MAP, .off = offsetof(T, details)},
    F_STR("entity", T, entity),
    {.key = "responders",
     .type = FW_CFG_LIST,
     .off = offsetof(T, responders),
     .count_off = offsetof(T, responders_len),
     .elem_size = sizeof(struct alertd_cfg_og_responder),
     .child = s_responder_fields},
    F_STR("actions", T, actions),
    F_STR("tags", T, tags),
    F_STR("note", T, note),
    F_STR("priority", T, priority),
    F_BOOL("update_alerts", T, update_alerts, "false"),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

// Alertmanager's config.URL: an absolute http(s) URL with a host. A query or fragment is
// refused: Alertmanager appends the API paths to the URL's path and keeps them in ways no
// Opsgenie endpoint documents.
static bool
s_url_ok(const char *u, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs,
         const char *what)
{
    size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
    if (!skip) {
        fw_cfg_errors_add(errs, file, pos, "%s: unsupported scheme \"%.*s\" for URL", what,
                          (int)strcspn(u, ":/"), u);
        return false;
    }
    if (!u[skip] || u[skip] == '/') {
        fw_cfg_errors_add(errs, file, pos, "%s: URL \"%s\" has no host", what, u);
        return false;
    }
    if (strpbrk(u, "?#")) {
        fw_cfg_errors_add(errs, file, pos,
                          "%s: a query or fragment in the Opsgenie URL is not supported by "
                          "floorwatch",
                          what);
        return false;
    }
    return true;
}

// The URL with "/" after its path (config.go: "if !strings.HasSuffix(ogc.APIURL.Path, "/")").
static char *
s_slash(const char *u)
{
    size_t n = strlen(u);
    return n && u[n - 1] == '/' ? fw_strdup(u) : fw_asprintf("%s/", u);
}

// ^(team|teams|user|escalation|schedule)$ over the lower-cased type.
static bool
s_type_ok(const char *t)
{
    static const char *const ok[] = {"team", "teams", "user", "escalation", "schedule"};
    char low[16];
    size_t n = strlen(t);
    if (n >= sizeof low)
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)t[i]);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(low, ok[i]) == 0)
            return true;
    return false;
}

static void
s_check_responder(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_og_responder *r)
{
    if (!alertd_cfg_set(r->id) && !alertd_cfg_set(r->username) && !alertd_cfg_set(r->name))
        fw_cfg_errors_add(errs, file, r->pos,
                          "opsGenieConfig responder has to have at least one of id, username "
                          "or name specified");
    if (r->type && strstr(r->type, "{{"))
        alertd_cfg_tmpl_check_text(r->type, file, r->pos, fw_cfg_vpos_find(&r->vpos, "type"),
                                   "opsgenie_configs.responders.type", errs);
    else if (!s_type_ok(r->type ? r->type : ""))
        fw_cfg_errors_add(errs, file, r->pos,
                          "opsGenieConfig responder type \"%s\" does not match valid options "
                          "^(team|teams|user|escalation|schedule)$",
                          r->type ? r->type : "");
    static const char *const keys[] = {"id", "name", "username"};
    char **vals[] = {&r->id, &r->name, &r->username};
    for (size_t k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "opsgenie_configs.responders.%s", keys[k]);
        alertd_cfg_receivers_text(file, errs, vals[k], NULL, r->pos,
                                  fw_cfg_vpos_find(&r->vpos, keys[k]), what);
    }
}

static void
s_check_one(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_opsgenie *o,
            const struct alertd_cfg_global *g)
{
    free(o->key);
    free(o->key_file);
    free(o->url);
    o->key = o->key_file = o->url = NULL;
    // config.go: the receiver's own pair, else the global one; a file is read per notification.
    if (!alertd_cfg_receivers_pick(file, errs, o->pos, "api_key", o->api_key, o->api_key_file,
                                   g->opsgenie_api_key, g->opsgenie_api_key_file, &o->key,
                                   &o->key_file))
        fw_cfg_errors_add(errs, file, o->pos,
                          "no global OpsGenie API Key set either inline or in a file "
                          "(opsgenie_configs)");
    if (o->key && strstr(o->key, "{{"))
        // The key is a secret: never shown.
        fw_cfg_errors_add(errs, file, o->pos,
                          "opsgenie_configs: api_key as a template is not supported by "
                          "floorwatch");
    const char *u = alertd_cfg_set(o->api_url)            ? o->api_url
                    : alertd_cfg_set(g->opsgenie_api_url) ? g->opsgenie_api_url
                                                          : ALERTD_CFG_OPSGENIE_URL;
    if (s_url_ok(u, file, o->pos, errs,
                 alertd_cfg_set(o->api_url) ? "api_url" : "opsgenie_api_url"))
        o->url = s_slash(u);
#define TEXT(m, def)                                                                               \
    alertd_cfg_receivers_text(file, errs, &o->m, def, o->pos, fw_cfg_vpos_find(&o->vpos, #m),      \
                              "opsgenie_configs." #m)
    TEXT(message, "{{ template \"opsgenie.default.message\" . }}");
    TEXT(description, "{{ template \"opsgenie.default.description\" . }}");
    TEXT(source, "{{ template \"opsgenie.default.source\" . }}");
    TEXT(entity, NULL);
    TEXT(actions, NULL);
    TEXT(tags, NULL);
    TEXT(note, NULL);
    TEXT(priority, NULL);
#undef TEXT
    for (size_t i = 0; i < o->details.len; i++) {
        const struct fw_label *l = &o->details.items[i];
        char what[160], key[160];
        snprintf(what, sizeof what, "opsgenie_configs.details.%s", l->name);
        snprintf(key, sizeof key, "details.%s", l->name);
        alertd_cfg_tmpl_check_text(l->value, file, o->pos, fw_cfg_vpos_find(&o->vpos, key), what,
                                   errs);
    }
    for (size_t i = 0; i < o->responders_len; i++)
        s_check_responder(file, errs, &o->responders[i]);
}

void
alertd_cfg_opsgenie_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                          const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->opsgenie_len; i++) {
        struct alertd_cfg_opsgenie *o = &r->opsgenie[i];
        s_check_one(file, errs, o, g);
        json_decref(o->http_json);
        o->http_json = alertd_cfg_http_effective(&o->http, o->pos, g->http_json, file, errs);
        // Alertmanager sets Authorization: GenieKey itself, and http_config's credentials
        // then never reach Opsgenie: the integration's own are refused, global's left out.
        if (o->http_json && json_object_get(o->http_json, "authorization")) {
            if (o->http.pos.line != o->pos.line || o->http.pos.col != o->pos.col)
                fw_cfg_errors_add(errs, file, o->http.pos,
                                  "opsgenie_configs: http_config credentials are not supported "
                                  "by floorwatch, the API key is the Authorization header");
            json_t *copy = json_deep_copy(o->http_json);
            json_object_del(copy, "authorization");
            json_decref(o->http_json);
            o->http_json = copy;
        }
    }
}

void
alertd_cfg_opsgenie_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->opsgenie_len; i++) {
        struct alertd_cfg_opsgenie *o = &r->opsgenie[i];
        free(o->key);
        free(o->key_file);
        free(o->url);
        o->key = o->key_file = o->url = NULL;
        json_decref(o->http_json);
        o->http_json = NULL;
    }
}

static json_t *
s_json(const struct alertd_cfg_opsgenie *o)
{
    json_t *j = json_pack("{s:b, s:b, s:s}", "send_resolved", o->send_resolved, "update_alerts",
                          o->update_alerts, "api_url", o->url ? o->url : "");
    alertd_cfg_put(j, "api_key", o->key);
    alertd_cfg_put(j, "api_key_file", o->key_file);
    alertd_cfg_put(j, "message", o->message);
    alertd_cfg_put(j, "description", o->description);
    alertd_cfg_put(j, "source", o->source);
    alertd_cfg_put(j, "entity", o->entity);
    alertd_cfg_put(j, "actions", o->actions);
    alertd_cfg_put(j, "tags", o->tags);
    alertd_cfg_put(j, "note", o->note);
    alertd_cfg_put(j, "priority", o->priority);
    if (o->details.len)
        json_object_set_new(j, "details", fw_labels_json(&o->details));
    if (o->responders_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < o->responders_len; i++) {
            const struct alertd_cfg_og_responder *r = &o->responders[i];
            json_t *x = json_object();
            alertd_cfg_put(x, "id", r->id);
            alertd_cfg_put(x, "name", r->name);
            alertd_cfg_put(x, "username", r->username);
            alertd_cfg_put(x, "type", r->type);
            json_array_append_new(a, x);
        }
        json_object_set_new(j, "responders", a);
    }
    alertd_cfg_http_put(j, o->http_json);
    return j;
}

void
alertd_cfg_opsgenie_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->opsgenie_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->opsgenie_len; i++)
        json_array_append_new(a, s_json(&r->opsgenie[i]));
    json_object_set_new(notify, "opsgenie_configs", a);
}
