/*  alertd_cfg_receivers.c — slack_configs and pagerduty_configs (see alertd_cfg_receivers.h):
    tables after Alertmanager's config/notifiers.go, checks after its UnmarshalYAML methods.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_tmpl.h"
#include "alertd_cfg_teams.h"
#include "alertd_cfg_discord.h"
#include "alertd_cfg_webex.h"
#include "alertd_cfg_opsgenie.h"
#include "alertd_cfg_wechat.h"
#include "alertd_cfg_victorops.h"
#include "alertd_cfg_pushover.h"
#include "alertd_cfg_rocketchat.h"
#include "alertd_cfg_sns.h"
#include "alertd_cfg_mattermost.h"
#include "alertd_cfg_telegram.h"
#include "alertd_cfg_fields.h"
#include "fw_mem.h"
#include "fw_promcfg_http.h"
#define F_LIST(k, T, m, E, child_)                                                                 \
    {                                                                                              \
        .key = k, .type = FW_CFG_LIST, .off = offsetof(T, m), .count_off = offsetof(T, m##_len),   \
        .elem_size = sizeof(E), .child = child_                                                    \
    }

#define T struct alertd_cfg_slack_field
static const struct fw_cfg_field s_slack_field_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("title", T, title),
    F_STR("value", T, value),
    F_STR("short", T, short_),
    {NULL},
};
#undef T

#define T struct alertd_cfg_slack_confirm
static const struct fw_cfg_field s_slack_confirm_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("text", T, text),
    F_STR("title", T, title),
    F_STR("ok_text", T, ok_text),
    F_STR("dismiss_text", T, dismiss_text),
    {NULL},
};
#undef T

#define T struct alertd_cfg_slack_action
static const struct fw_cfg_field s_slack_action_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("type", T, type),
    F_STR("text", T, text),
    F_STR("url", T, url),
    F_STR("style", T, style),
    F_STR("name", T, name),
    F_STR("value", T, value),
    {.key = "confirm",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, confirm),
     .child = s_slack_confirm_fields},
    {NULL},
};
#undef T

#define T struct alertd_cfg_slack
const struct fw_cfg_field alertd_cfg_slack_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "false"),
    F_STR("api_url", T, api_url),
    F_STR("api_url_file", T, api_url_file),
    F_STR("channel", T, channel),
    F_STR("username", T, username),
    F_STR("color", T, color),
    F_STR("title", T, title),
    F_STR("title_link", T, title_link),
    F_STR("pretext", T, pretext),
    F_STR("text", T, text),
    F_STR("footer", T, footer),
    F_STR("fallback", T, fallback),
    F_STR("callback_id", T, callback_id),
    F_STR("icon_emoji", T, icon_emoji),
    F_STR("icon_url", T, icon_url),
    F_STR("image_url", T, image_url),
    F_STR("thumb_url", T, thumb_url),
    F_LIST("fields", T, fields, struct alertd_cfg_slack_field, s_slack_field_fields),
    F_BOOL("short_fields", T, short_fields, "false"),
    F_BOOL("link_names", T, link_names, "false"),
    {.key = "mrkdwn_in",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(T, mrkdwn_in),
     .count_off = offsetof(T, mrkdwn_in_len)},
    F_LIST("actions", T, actions, struct alertd_cfg_slack_action, s_slack_action_fields),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    F_STR("app_token", T, app_token),
    F_STR("app_token_file", T, app_token_file),
    F_STR("app_url", T, app_url),
    F_WHY("timeout", "notifyd's timeout applies"),
    F_WHY("message_text", "not supported yet"),
    {NULL},
};
#undef T

#define T struct alertd_cfg_pd_image
static const struct fw_cfg_field s_pd_image_fields[] = {
    F_POS(T, pos),        F_VPOS(T, vpos),        F_STR("src", T, src),
    F_STR("alt", T, alt), F_STR("href", T, href), {NULL},
};
#undef T

#define T struct alertd_cfg_pd_link
static const struct fw_cfg_field s_pd_link_fields[] = {
    F_POS(T, pos), F_VPOS(T, vpos), F_STR("href", T, href), F_STR("text", T, text), {NULL},
};
#undef T

#define T struct alertd_cfg_pagerduty
const struct fw_cfg_field alertd_cfg_pagerduty_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("routing_key", T, routing_key),
    F_STR("routing_key_file", T, routing_key_file),
    F_STR("url", T, url),
    F_STR("client", T, client),
    F_STR("client_url", T, client_url),
    F_STR("description", T, description),
    F_STR("source", T, source),
    F_STR("severity", T, severity),
    F_STR("class", T, class_),
    F_STR("component", T, component),
    F_STR("group", T, group),
    {.key = "details", .type = FW_CFG_STR_MAP, .off = offsetof(T, details)},
    F_LIST("images", T, images, struct alertd_cfg_pd_image, s_pd_image_fields),
    F_LIST("links", T, links, struct alertd_cfg_pd_link, s_pd_link_fields),
    F_WHY("service_key", "the Events API v1 is not supported: use routing_key (Events API v2)"),
    F_WHY("service_key_file", "the Events API v1 is not supported: use routing_key_file"),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    F_WHY("timeout", "notifyd's timeout applies"),
    {NULL},
};
#undef T

// --- checks ---

struct s_ctx {
    const char *file;
    struct fw_cfg_errors *errs;
};

// value with every blank removed equals want (a default template expression)?
static bool
s_same_expr(const char *value, const char *want)
{
    const char *v = value, *w = want;
    for (;;) {
        while (*v == ' ' || *v == '\t' || *v == '\n')
            v++;
        while (*w == ' ')
            w++;
        if (!*v || !*w)
            return !*v && !*w;
        if (*v++ != *w++)
            return false;
    }
}

// A text key: NULL stays NULL (default); the default expression becomes NULL; a literal is
// kept; any other template is parsed (alertd_cfg_tmpl_check_text), a parse error refused.
static void
s_text(struct s_ctx *c, char **value, const char *def_expr, struct fw_cfg_pos pos,
       const struct fw_cfg_vpos *at, const char *what)
{
    if (!*value)
        return;
    if (def_expr && s_same_expr(*value, def_expr)) {
        free(*value);
        *value = NULL;
        return;
    }
    alertd_cfg_tmpl_check_text(*value, c->file, pos, at, what, c->errs);
}

static char *
s_secret(struct s_ctx *c, const char *inline_value, const char *file_name, struct fw_cfg_pos pos,
         const char *what)
{
    if (inline_value && *inline_value && file_name && *file_name) {
        fw_cfg_errors_add(c->errs, c->file, pos, "at most one of %s & %s_file must be configured",
                          what, what);
        return NULL;
    }
    if (inline_value && *inline_value)
        return fw_strdup(inline_value);
    if (file_name && *file_name) {
        char *v = NULL;
        fw_err_t err;
        if (fw_promcfg_http_read_secret(file_name, &v, &err) < 0)
            fw_cfg_errors_add(c->errs, c->file, pos, "cannot read %s_file \"%s\"", what, file_name);
        return v;
    }
    return NULL;
}

static bool
s_http_url(const char *u)
{
    return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

bool
alertd_cfg_receivers_http_url(const char *file, struct fw_cfg_errors *errs, struct fw_cfg_pos pos,
                              const char *url, const char *where)
{
    if (s_http_url(url))
        return true;
    fw_cfg_errors_add(errs, file, pos, "unsupported scheme \"%.*s\" %s",
                      url ? (int)strcspn(url, ":/") : 0, url ? url : "", where);
    return false;
}

bool
alertd_cfg_receivers_pick(const char *file, struct fw_cfg_errors *errs, struct fw_cfg_pos pos,
                          const char *name, const char *own, const char *own_file,
                          const char *global, const char *global_file, char **value,
                          char **value_file)
{
    *value = *value_file = NULL;
    if (alertd_cfg_set(own) && alertd_cfg_set(own_file))
        fw_cfg_errors_add(errs, file, pos, "at most one of %s & %s_file must be configured", name,
                          name);
    else if (alertd_cfg_set(own))
        *value = fw_strdup(own);
    else if (alertd_cfg_set(own_file))
        *value_file = fw_strdup(own_file);
    else if (alertd_cfg_set(global))
        *value = fw_strdup(global);
    else if (alertd_cfg_set(global_file))
        *value_file = fw_strdup(global_file);
    else
        return false;
    return true;
}

// The bot token this slack_config uses, as Alertmanager's config.go picks it: its own
// app_token or app_token_file, else the global ones, unless the config has its own
// authorization in http_config or its own api_url (the old workaround: a bot token in
// http_config and the chat.postMessage URL as api_url). *inline_value and *file_name are
// borrowed from s or g (NULL when none).
static void
s_slack_token(const struct alertd_cfg_slack *s, const struct alertd_cfg_global *g,
              const char **inline_value, const char **file_name)
{
    *inline_value = s->app_token;
    *file_name = s->app_token_file;
    if (alertd_cfg_set(s->app_token) || alertd_cfg_set(s->app_token_file))
        return;
    *inline_value = *file_name = NULL;
    if (!alertd_cfg_http_has_authorization(&s->http, s->pos) && !alertd_cfg_set(s->api_url)) {
        *inline_value = g->slack_app_token;
        *file_name = g->slack_app_token_file;
    }
}

static bool
s_slack_token_given(const struct alertd_cfg_slack *s, const struct alertd_cfg_global *g)
{
    const char *v, *f;
    s_slack_token(s, g, &v, &f);
    return alertd_cfg_set(v) || alertd_cfg_set(f);
}

// With a bot token: the request goes to app_url (its own, else global.slack_app_url, else
// chat.postMessage) with the token as a Bearer Authorization, which must then not come from
// http_config too (config.go: "http authorization can't be set when using Slack App
// tokens"). The token file is read now, as alertd reads every http_config file (notifyd
// runs in its own pod): a new token takes a reload.
static void
s_slack_app(struct s_ctx *c, struct alertd_cfg_slack *s, const struct alertd_cfg_global *g)
{
    const char *v, *f;
    s_slack_token(s, g, &v, &f);
    if (!alertd_cfg_set(v) && !alertd_cfg_set(f))
        return;
    char *token = alertd_cfg_receivers_secret(c->file, c->errs, v, f, s->pos, "app_token");
    if (!token || !s->http_json) {
        free(token);
        return; // an error is reported already
    }
    if (json_object_get(s->http_json, "authorization")) {
        fw_cfg_errors_add(c->errs, c->file, s->pos,
                          "http authorization can't be set when using Slack App tokens");
        free(token);
        return;
    }
    const char *app_url = alertd_cfg_set(s->app_url)         ? s->app_url
                          : alertd_cfg_set(g->slack_app_url) ? g->slack_app_url
                                                             : ALERTD_CFG_SLACK_APP_URL;
    free(s->url);
    free(s->url_file);
    s->url_file = NULL;
    s->url = alertd_cfg_receivers_http_url(c->file, c->errs, s->pos, app_url, "in slack app_url")
                 ? fw_strdup(app_url)
                 : NULL;
    // A copy: the global http_config's object is shared by every integration without one.
    json_t *h = json_deep_copy(s->http_json);
    char *auth = fw_asprintf("Bearer %s", token);
    json_object_set_new(h, "authorization", json_string(auth));
    memset(auth, 0, strlen(auth));
    memset(token, 0, strlen(token));
    free(auth);
    free(token);
    json_decref(s->http_json);
    s->http_json = h;
}

static void
s_check_slack(struct s_ctx *c, struct alertd_cfg_slack *s, const struct alertd_cfg_global *g)
{
    free(s->url);
    free(s->url_file);
    s->url = s->url_file = NULL;
    // As Alertmanager: the receiver's own api_url or api_url_file, else the global ones; a
    // file is read when a notification is sent (a file that is not there yet at load is
    // fine, and a rotated URL is picked up at once). A bot token (s_slack_app) replaces the
    // URL with app_url.
    bool own_url = alertd_cfg_set(s->api_url) || alertd_cfg_set(s->api_url_file);
    bool own_token = alertd_cfg_set(s->app_token) || alertd_cfg_set(s->app_token_file);
    if (own_url && own_token)
        fw_cfg_errors_add(c->errs, c->file, s->pos,
                          "at most one of api_url/api_url_file & app_token/app_token_file must be "
                          "configured");
    bool picked =
        alertd_cfg_receivers_pick(c->file, c->errs, s->pos, "api_url", s->api_url, s->api_url_file,
                                  g->slack_api_url, g->slack_api_url_file, &s->url, &s->url_file);
    if (!picked && !s_slack_token_given(s, g))
        fw_cfg_errors_add(c->errs, c->file, s->pos, "no global Slack API URL set");
    if (s->url)
        alertd_cfg_receivers_http_url(c->file, c->errs, s->pos, s->url, "in slack api_url");
#define TEXT(m, def)                                                                               \
    s_text(c, &s->m, def, s->pos, fw_cfg_vpos_find(&s->vpos, #m), "slack_configs." #m)
    TEXT(channel, NULL);
    TEXT(username, "{{ template \"slack.default.username\" . }}");
    TEXT(color, "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}");
    TEXT(title, "{{ template \"slack.default.title\" . }}");
    TEXT(title_link, "{{ template \"slack.default.titlelink\" . }}");
    TEXT(pretext, "{{ template \"slack.default.pretext\" . }}");
    TEXT(text, "{{ template \"slack.default.text\" . }}");
    TEXT(footer, "{{ template \"slack.default.footer\" . }}");
    TEXT(fallback, "{{ template \"slack.default.fallback\" . }}");
    TEXT(callback_id, "{{ template \"slack.default.callbackid\" . }}");
    TEXT(icon_emoji, "{{ template \"slack.default.iconemoji\" . }}");
    TEXT(icon_url, "{{ template \"slack.default.iconurl\" . }}");
    TEXT(image_url, NULL);
    TEXT(thumb_url, NULL);
#undef TEXT
    for (size_t i = 0; i < s->fields_len; i++) {
        struct alertd_cfg_slack_field *f = &s->fields[i];
        s_text(c, &f->title, NULL, f->pos, fw_cfg_vpos_find(&f->vpos, "title"),
               "slack_configs.fields.title");
        s_text(c, &f->value, NULL, f->pos, fw_cfg_vpos_find(&f->vpos, "value"),
               "slack_configs.fields.value");
        if (f->short_ && strcmp(f->short_, "true") != 0 && strcmp(f->short_, "false") != 0)
            fw_cfg_errors_add(c->errs, c->file, f->pos, "short: not a boolean: \"%s\"", f->short_);
        if (!f->title || !*f->title)
            fw_cfg_errors_add(c->errs, c->file, f->pos,
                              "missing title in Slack field configuration");
        if (!f->value || !*f->value)
            fw_cfg_errors_add(c->errs, c->file, f->pos,
                              "missing value in Slack field configuration");
    }
    for (size_t i = 0; i < s->actions_len; i++) {
        struct alertd_cfg_slack_action *a = &s->actions[i];
        char **t[] = {&a->type,
                      &a->text,
                      &a->url,
                      &a->style,
                      &a->name,
                      &a->value,
                      &a->confirm.text,
                      &a->confirm.title,
                      &a->confirm.ok_text,
                      &a->confirm.dismiss_text};
        static const char *const keys[] = {"type",  "text", "url",   "style",   "name",
                                           "value", "text", "title", "ok_text", "dismiss_text"};
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
            s_text(c, t[k], NULL, a->pos,
                   fw_cfg_vpos_find(k < 6 ? &a->vpos : &a->confirm.vpos, keys[k]),
                   "slack_configs.actions");
        if (!a->type || !*a->type)
            fw_cfg_errors_add(c->errs, c->file, a->pos,
                              "missing type in Slack action configuration");
        if (!a->text || !*a->text)
            fw_cfg_errors_add(c->errs, c->file, a->pos,
                              "missing text in Slack action configuration");
        if ((!a->url || !*a->url) && (!a->name || !*a->name))
            fw_cfg_errors_add(c->errs, c->file, a->pos,
                              "missing name or url in Slack action configuration");
        // As Alertmanager's SlackAction.UnmarshalYAML: a url (a link button) clears the
        // message-button fields, else a name clears the url.
        if (a->url && *a->url) {
            char **clear[] = {&a->name,          &a->value,           &a->confirm.text,
                              &a->confirm.title, &a->confirm.ok_text, &a->confirm.dismiss_text};
            for (size_t k = 0; k < sizeof clear / sizeof clear[0]; k++) {
                free(*clear[k]);
                *clear[k] = NULL;
            }
            a->confirm.pos = a->pos;
        } else if (a->url) {
            free(a->url);
            a->url = NULL;
        }
    }
}

static const char *const s_pd_detail_defaults[][2] = {
    {"firing", "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}"},
    {"resolved", "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}"},
    {"num_firing", "{{ .Alerts.Firing | len }}"},
    {"num_resolved", "{{ .Alerts.Resolved | len }}"},
};

static void
s_check_pagerduty(struct s_ctx *c, struct alertd_cfg_pagerduty *p,
                  const struct alertd_cfg_global *g)
{
    free(p->key);
    p->key = s_secret(c, p->routing_key, p->routing_key_file, p->pos, "routing_key");
    if (!p->key && !(p->routing_key_file && *p->routing_key_file))
        fw_cfg_errors_add(c->errs, c->file, p->pos,
                          "missing service or routing key in PagerDuty config");
    else if (p->key && strstr(p->key, "{{"))
        fw_cfg_errors_add(c->errs, c->file, p->pos, "routing_key: a template is not supported yet");
    // Its own url, else global.pagerduty_url (config.go), else notifyd's default (Events API
    // v2). Set in the table's own member, which fw_cfg frees with the table.
    if (!alertd_cfg_set(p->url) && alertd_cfg_set(g->pagerduty_url)) {
        free(p->url);
        p->url = fw_strdup(g->pagerduty_url);
    }
    if (p->url && !s_http_url(p->url))
        fw_cfg_errors_add(c->errs, c->file, p->pos, "unsupported scheme in pagerduty url");
#define TEXT(m, def)                                                                               \
    s_text(c, &p->m, def, p->pos, fw_cfg_vpos_find(&p->vpos, #m), "pagerduty_configs." #m)
    TEXT(client, "{{ template \"pagerduty.default.client\" . }}");
    TEXT(client_url, "{{ template \"pagerduty.default.clientURL\" . }}");
    TEXT(description, "{{ template \"pagerduty.default.description\" .}}");
    TEXT(source, "{{ template \"pagerduty.default.client\" . }}");
    TEXT(severity, NULL);
    s_text(c, &p->class_, NULL, p->pos, fw_cfg_vpos_find(&p->vpos, "class"),
           "pagerduty_configs.class");
    TEXT(component, NULL);
    TEXT(group, NULL);
#undef TEXT
    for (size_t i = 0; i < p->details.len; i++) {
        struct fw_label *l = &p->details.items[i];
        const char *def = NULL;
        for (size_t k = 0; k < 4; k++)
            if (strcmp(l->name, s_pd_detail_defaults[k][0]) == 0)
                def = s_pd_detail_defaults[k][1];
        if (def && s_same_expr(l->value, def)) {
            fw_labels_del(&p->details, l->name);
            i--;
        } else {
            char what[160];
            snprintf(what, sizeof what, "pagerduty_configs.details.%s", l->name);
            char key[160];
            snprintf(key, sizeof key, "details.%s", l->name);
            alertd_cfg_tmpl_check_text(l->value, c->file, p->pos, fw_cfg_vpos_find(&p->vpos, key),
                                       what, c->errs);
        }
    }
    for (size_t i = 0; i < p->images_len; i++) {
        struct alertd_cfg_pd_image *im = &p->images[i];
        s_text(c, &im->src, NULL, im->pos, fw_cfg_vpos_find(&im->vpos, "src"),
               "pagerduty_configs.images.src");
        s_text(c, &im->alt, NULL, im->pos, fw_cfg_vpos_find(&im->vpos, "alt"),
               "pagerduty_configs.images.alt");
        s_text(c, &im->href, NULL, im->pos, fw_cfg_vpos_find(&im->vpos, "href"),
               "pagerduty_configs.images.href");
    }
    for (size_t i = 0; i < p->links_len; i++) {
        struct alertd_cfg_pd_link *ln = &p->links[i];
        s_text(c, &ln->href, NULL, ln->pos, fw_cfg_vpos_find(&ln->vpos, "href"),
               "pagerduty_configs.links.href");
        s_text(c, &ln->text, NULL, ln->pos, fw_cfg_vpos_find(&ln->vpos, "text"),
               "pagerduty_configs.links.text");
    }
}

void
alertd_cfg_receivers_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                           const char *file, struct fw_cfg_errors *errs)
{
    struct s_ctx c = {file, errs};
    for (size_t i = 0; i < r->slack_len; i++) {
        struct alertd_cfg_slack *s = &r->slack[i];
        s_check_slack(&c, s, g);
        json_decref(s->http_json);
        s->http_json = alertd_cfg_http_effective(&s->http, s->pos, g->http_json, file, errs);
        s_slack_app(&c, s, g);
    }
    for (size_t i = 0; i < r->pagerduty_len; i++) {
        struct alertd_cfg_pagerduty *p = &r->pagerduty[i];
        s_check_pagerduty(&c, p, g);
        json_decref(p->http_json);
        p->http_json = alertd_cfg_http_effective(&p->http, p->pos, g->http_json, file, errs);
    }
    alertd_cfg_teams_check(r, g->http_json, file, errs);
    alertd_cfg_discord_check(r, g->http_json, file, errs);
    alertd_cfg_webex_check(r, g, file, errs);
    alertd_cfg_opsgenie_check(r, g, file, errs);
    alertd_cfg_wechat_check(r, g, file, errs);
    alertd_cfg_victorops_check(r, g, file, errs);
    alertd_cfg_pushover_check(r, g->http_json, file, errs);
    alertd_cfg_rocketchat_check(r, g, file, errs);
    alertd_cfg_sns_check(r, g->http_json, file, errs);
    alertd_cfg_mattermost_check(r, g, file, errs);
    alertd_cfg_telegram_check(r, g, file, errs);
}

void
alertd_cfg_receivers_text(const char *file, struct fw_cfg_errors *errs, char **value,
                          const char *def_expr, struct fw_cfg_pos pos, const struct fw_cfg_vpos *at,
                          const char *what)
{
    struct s_ctx c = {file, errs};
    s_text(&c, value, def_expr, pos, at, what);
}

char *
alertd_cfg_receivers_secret(const char *file, struct fw_cfg_errors *errs, const char *inline_value,
                            const char *file_name, struct fw_cfg_pos pos, const char *what)
{
    struct s_ctx c = {file, errs};
    return s_secret(&c, inline_value, file_name, pos, what);
}

void
alertd_cfg_receivers_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->slack_len; i++) {
        free(r->slack[i].url);
        free(r->slack[i].url_file);
        r->slack[i].url = NULL;
        r->slack[i].url_file = NULL;
        json_decref(r->slack[i].http_json);
        r->slack[i].http_json = NULL;
    }
    for (size_t i = 0; i < r->pagerduty_len; i++) {
        free(r->pagerduty[i].key);
        r->pagerduty[i].key = NULL;
        json_decref(r->pagerduty[i].http_json);
        r->pagerduty[i].http_json = NULL;
    }
    alertd_cfg_teams_clear(r);
    alertd_cfg_discord_clear(r);
    alertd_cfg_webex_clear(r);
    alertd_cfg_opsgenie_clear(r);
    alertd_cfg_wechat_clear(r);
    alertd_cfg_victorops_clear(r);
    alertd_cfg_pushover_clear(r);
    alertd_cfg_rocketchat_clear(r);
    alertd_cfg_sns_clear(r);
    alertd_cfg_mattermost_clear(r);
    alertd_cfg_telegram_clear(r);
}

// --- NOTIFY ---

static json_t *
s_slack_json(const struct alertd_cfg_slack *s)
{
    json_t *o = json_pack("{s:b, s:b, s:b}", "send_resolved", s->send_resolved, "short_fields",
                          s->short_fields, "link_names", s->link_names);
    alertd_cfg_put(o, "api_url", s->url);
    alertd_cfg_put(o, "api_url_file", s->url_file);
    alertd_cfg_put(o, "channel", s->channel);
    alertd_cfg_put(o, "username", s->username);
    alertd_cfg_put(o, "color", s->color);
    alertd_cfg_put(o, "title", s->title);
    alertd_cfg_put(o, "title_link", s->title_link);
    alertd_cfg_put(o, "pretext", s->pretext);
    alertd_cfg_put(o, "text", s->text);
    alertd_cfg_put(o, "footer", s->footer);
    alertd_cfg_put(o, "fallback", s->fallback);
    alertd_cfg_put(o, "callback_id", s->callback_id);
    alertd_cfg_put(o, "icon_emoji", s->icon_emoji);
    alertd_cfg_put(o, "icon_url", s->icon_url);
    alertd_cfg_put(o, "image_url", s->image_url);
    alertd_cfg_put(o, "thumb_url", s->thumb_url);
    if (s->fields_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->fields_len; i++) {
            json_t *f = json_object();
            alertd_cfg_put(f, "title", s->fields[i].title);
            alertd_cfg_put(f, "value", s->fields[i].value);
            if (s->fields[i].short_)
                json_object_set_new(f, "short",
                                    json_boolean(strcmp(s->fields[i].short_, "true") == 0));
            json_array_append_new(a, f);
        }
        json_object_set_new(o, "fields", a);
    }
    if (s->mrkdwn_in_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->mrkdwn_in_len; i++)
            json_array_append_new(a, json_string(s->mrkdwn_in[i]));
        json_object_set_new(o, "mrkdwn_in", a);
    }
    if (s->actions_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->actions_len; i++) {
            const struct alertd_cfg_slack_action *x = &s->actions[i];
            json_t *j = json_object();
            alertd_cfg_put(j, "type", x->type);
            alertd_cfg_put(j, "text", x->text);
            alertd_cfg_put(j, "url", x->url);
            alertd_cfg_put(j, "style", x->style);
            alertd_cfg_put(j, "name", x->name);
            alertd_cfg_put(j, "value", x->value);
            if (x->confirm.pos.line != x->pos.line || x->confirm.pos.col != x->pos.col) {
                json_t *cf = json_object();
                alertd_cfg_put(cf, "text", x->confirm.text);
                alertd_cfg_put(cf, "title", x->confirm.title);
                alertd_cfg_put(cf, "ok_text", x->confirm.ok_text);
                alertd_cfg_put(cf, "dismiss_text", x->confirm.dismiss_text);
                json_object_set_new(j, "confirm", cf);
            }
            json_array_append_new(a, j);
        }
        json_object_set_new(o, "actions", a);
    }
    alertd_cfg_http_put(o, s->http_json);
    return o;
}

static json_t *
s_pagerduty_json(const struct alertd_cfg_pagerduty *p)
{
    json_t *o = json_pack("{s:b, s:s}", "send_resolved", p->send_resolved, "routing_key",
                          p->key ? p->key : "");
    alertd_cfg_put(o, "url", p->url);
    alertd_cfg_put(o, "client", p->client);
    alertd_cfg_put(o, "client_url", p->client_url);
    alertd_cfg_put(o, "description", p->description);
    alertd_cfg_put(o, "source", p->source);
    alertd_cfg_put(o, "severity", p->severity);
    alertd_cfg_put(o, "class", p->class_);
    alertd_cfg_put(o, "component", p->component);
    alertd_cfg_put(o, "group", p->group);
    if (p->details.len)
        json_object_set_new(o, "details", fw_labels_json(&p->details));
    if (p->images_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->images_len; i++) {
            json_t *j = json_object();
            alertd_cfg_put(j, "src", p->images[i].src);
            alertd_cfg_put(j, "alt", p->images[i].alt);
            alertd_cfg_put(j, "href", p->images[i].href);
            json_array_append_new(a, j);
        }
        json_object_set_new(o, "images", a);
    }
    if (p->links_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->links_len; i++) {
            json_t *j = json_object();
            alertd_cfg_put(j, "href", p->links[i].href);
            alertd_cfg_put(j, "text", p->links[i].text);
            json_array_append_new(a, j);
        }
        json_object_set_new(o, "links", a);
    }
    alertd_cfg_http_put(o, p->http_json);
    return o;
}

void
alertd_cfg_receivers_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r)
        return;
    if (r->slack_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->slack_len; i++)
            json_array_append_new(a, s_slack_json(&r->slack[i]));
        json_object_set_new(notify, "slack_configs", a);
    }
    if (r->pagerduty_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->pagerduty_len; i++)
            json_array_append_new(a, s_pagerduty_json(&r->pagerduty[i]));
        json_object_set_new(notify, "pagerduty_configs", a);
    }
    alertd_cfg_teams_notify(r, notify);
    alertd_cfg_discord_notify(r, notify);
    alertd_cfg_webex_notify(r, notify);
    alertd_cfg_opsgenie_notify(r, notify);
    alertd_cfg_wechat_notify(r, notify);
    alertd_cfg_victorops_notify(r, notify);
    alertd_cfg_pushover_notify(r, notify);
    alertd_cfg_rocketchat_notify(r, notify);
    alertd_cfg_sns_notify(r, notify);
    alertd_cfg_mattermost_notify(r, notify);
    alertd_cfg_telegram_notify(r, notify);
    alertd_cfg_delivery_notify(r, notify);
}
