/*  alertd_cfgcheck.c — integration credential checks and null-regex checks over the YAML
    document (libyaml's document API; the file is small and loaded once per reload).
*/
#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#include "alertd_cfg_fields.h"
#include "alertd_cfgcheck.h"

struct s_walk {
    yaml_document_t *doc;
    const char *file;
    const struct alertd_cfg_global *g;
    struct fw_cfg_errors *errs;
    size_t added;
    long budget; // routes left to visit: aliases can repeat a subtree exponentially
};

static struct fw_cfg_pos
s_pos(const yaml_node_t *n)
{
    return (struct fw_cfg_pos){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static const yaml_node_t *
s_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static bool
s_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
            strcmp(v, "NULL") == 0);
}

// A key present with a non-empty value (a mapping counts, e.g. a secret reference).
static bool
s_has(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    const yaml_node_t *v = s_get(doc, map, key);
    if (s_null(v))
        return false;
    return v->type != YAML_SCALAR_NODE || *(const char *)v->data.scalar.value;
}

static void
s_err(struct s_walk *w, const yaml_node_t *n, const char *msg, const char *what)
{
    fw_cfg_errors_add(w->errs, w->file, s_pos(n), "%s (%s)", msg, what);
    w->added++;
}

static void
s_integration(struct s_walk *w, const char *kind, const yaml_node_t *c)
{
    yaml_document_t *d = w->doc;
    const struct alertd_cfg_global *g = w->g;
#define HAS(k) s_has(d, c, k)
    if (strcmp(kind, "slack_configs") == 0) {
        if (!HAS("api_url") && !HAS("api_url_file") && !HAS("app_token") &&
            !HAS("app_token_file") && !alertd_cfg_set(g->slack_api_url) &&
            !alertd_cfg_set(g->slack_api_url_file) && !alertd_cfg_set(g->slack_app_token) &&
            !alertd_cfg_set(g->slack_app_token_file))
            s_err(w, c, "no Slack API URL nor App token set either inline or in a file", kind);
        const yaml_node_t *um = s_get(d, c, "update_message");
        if (um && um->type == YAML_SCALAR_NODE &&
            strcmp((const char *)um->data.scalar.value, "true") == 0) {
            const yaml_node_t *u = s_get(d, c, "api_url");
            const char *url = u && u->type == YAML_SCALAR_NODE ? (const char *)u->data.scalar.value
                                                               : g->slack_api_url;
            if (!url || !strstr(url, "chat.postMessage"))
                s_err(w, c, "update_message requires the chat.postMessage API with an app token",
                      kind);
        }
    } else if (strcmp(kind, "victorops_configs") == 0) {
        if (!HAS("api_key") && !HAS("api_key_file") && !alertd_cfg_set(g->victorops_api_key) &&
            !alertd_cfg_set(g->victorops_api_key_file))
            s_err(w, c, "no global VictorOps API Key set", kind);
    } else if (strcmp(kind, "wechat_configs") == 0) {
        if (!HAS("api_secret") && !HAS("api_secret_file") &&
            !alertd_cfg_set(g->wechat_api_secret) && !alertd_cfg_set(g->wechat_api_secret_file))
            s_err(w, c, "no global Wechat ApiSecret set either inline or in a file", kind);
    } else if (strcmp(kind, "telegram_configs") == 0) {
        if (!HAS("bot_token") && !HAS("bot_token_file") && !alertd_cfg_set(g->telegram_bot_token) &&
            !alertd_cfg_set(g->telegram_bot_token_file))
            s_err(w, c, "missing bot_token or bot_token_file on telegram_config", kind);
    } else if (strcmp(kind, "rocketchat_configs") == 0) {
        if (!HAS("token") && !HAS("token_file") && !alertd_cfg_set(g->rocketchat_token) &&
            !alertd_cfg_set(g->rocketchat_token_file))
            s_err(w, c, "no global Rocketchat Token set either inline or in a file", kind);
        if (!HAS("token_id") && !HAS("token_id_file") && !alertd_cfg_set(g->rocketchat_token_id) &&
            !alertd_cfg_set(g->rocketchat_token_id_file))
            s_err(w, c, "no global Rocketchat TokenID set either inline or in a file", kind);
    } else if (strcmp(kind, "mattermost_configs") == 0) {
        if (!HAS("webhook_url") && !HAS("webhook_url_file") &&
            !alertd_cfg_set(g->mattermost_webhook_url) &&
            !alertd_cfg_set(g->mattermost_webhook_url_file))
            s_err(w, c, "no Mattermost webhook URL set either inline or in a file", kind);
    } else if (strcmp(kind, "sns_configs") == 0) {
        if (!HAS("target_arn") && !HAS("topic_arn") && !HAS("phone_number"))
            s_err(w, c,
                  "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
                  kind);
    }
#undef HAS
}

static void
s_receivers(struct s_walk *w, const yaml_node_t *rs)
{
    if (!rs || rs->type != YAML_SEQUENCE_NODE)
        return;
    for (yaml_node_item_t *i = rs->data.sequence.items.start; i < rs->data.sequence.items.top;
         i++) {
        yaml_node_t *r = yaml_document_get_node(w->doc, *i);
        if (!r || r->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
            if (!k || k->type != YAML_SCALAR_NODE || !v || v->type != YAML_SEQUENCE_NODE)
                continue;
            for (yaml_node_item_t *j = v->data.sequence.items.start; j < v->data.sequence.items.top;
                 j++) {
                yaml_node_t *c = yaml_document_get_node(w->doc, *j);
                if (c && c->type == YAML_MAPPING_NODE)
                    s_integration(w, (const char *)k->data.scalar.value, c);
            }
        }
    }
}

// Global credentials read by Alertmanager's checks (alertd_cfg keeps them as table fields)
// for integrations alertd does not deliver: refused at their key.
static const char *const s_refused_globals[] = {
    NULL,
};

static void
s_globals(struct s_walk *w, const yaml_node_t *g)
{
    if (!g || g->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = g->data.mapping.pairs.start; p < g->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE || s_null(v))
            continue;
        for (size_t i = 0; s_refused_globals[i]; i++)
            if (strcmp((const char *)k->data.scalar.value, s_refused_globals[i]) == 0) {
                fw_cfg_errors_add(w->errs, w->file, s_pos(k),
                                  "global.%s: not supported by floorwatch", s_refused_globals[i]);
                w->added++;
            }
    }
}

static void
s_null_values(struct s_walk *w, const yaml_node_t *map, const char *what)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (k && k->type == YAML_SCALAR_NODE && s_null(v)) {
            fw_cfg_errors_add(w->errs, w->file, s_pos(k), "invalid %s for label \"%s\": null regex",
                              what, (const char *)k->data.scalar.value);
            w->added++;
        }
    }
}

static void
s_route(struct s_walk *w, const yaml_node_t *r, int depth)
{
    if (!r || r->type != YAML_MAPPING_NODE || depth > 100 || w->budget-- <= 0)
        return;
    s_null_values(w, s_get(w->doc, r, "match_re"), "match_re");
    const yaml_node_t *rs = s_get(w->doc, r, "routes");
    if (!rs || rs->type != YAML_SEQUENCE_NODE)
        return;
    for (yaml_node_item_t *i = rs->data.sequence.items.start; i < rs->data.sequence.items.top; i++)
        s_route(w, yaml_document_get_node(w->doc, *i), depth + 1);
}

size_t
alertd_cfgcheck_run(const char *file, const char *text, const struct alertd_cfg_global *g,
                    struct fw_cfg_errors *errs)
{
    // fw_cfg_load() reports a document nested too deeply; loading it again here would only
    // spend libyaml's quadratic time on it.
    if (!text || fw_cfg_too_deep(text, strlen(text), NULL))
        return 0;
    yaml_parser_t parser;
    yaml_document_t doc;
    struct s_walk w = {&doc, file, g, errs, 0, 100000};
    if (!yaml_parser_initialize(&parser))
        return 0;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_parser_delete(&parser);
        return 0; // syntax errors are fw_cfg's to report
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) {
        s_globals(&w, s_get(&doc, root, "global"));
        s_receivers(&w, s_get(&doc, root, "receivers"));
        s_route(&w, s_get(&doc, root, "route"), 0);
        const yaml_node_t *ir = s_get(&doc, root, "inhibit_rules");
        if (ir && ir->type == YAML_SEQUENCE_NODE)
            for (yaml_node_item_t *i = ir->data.sequence.items.start;
                 i < ir->data.sequence.items.top; i++) {
                yaml_node_t *r = yaml_document_get_node(&doc, *i);
                s_null_values(&w, s_get(&doc, r, "source_match_re"), "source_match_re");
                s_null_values(&w, s_get(&doc, r, "target_match_re"), "target_match_re");
            }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return w.added;
}
