/*  alertd_cfg_email.c — email_configs: tables, Alertmanager's checks and defaults, NOTIFY JSON.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertd_cfg_fields.h"
#include "alertd_cfg.h"
#include "alertd_cfg_email.h"
#include "alertd_cfg_tmpl.h"
#include "fw_mem.h"

#define T struct alertd_cfg_smtp_tls
const struct fw_cfg_field alertd_cfg_smtp_tls_fields[] = {
    {.key = "", .type = FW_CFG_POS, .off = offsetof(T, pos)},
    {.key = "ca_file", .type = FW_CFG_STR, .off = offsetof(T, ca_file)},
    {.key = "cert_file", .type = FW_CFG_STR, .off = offsetof(T, cert_file)},
    {.key = "key_file", .type = FW_CFG_STR, .off = offsetof(T, key_file)},
    {.key = "insecure_skip_verify", .type = FW_CFG_BOOL, .off = offsetof(T, insecure_skip_verify)},
    {.key = "ca", .type = FW_CFG_UNSUPPORTED, .note = "use ca_file"},
    {.key = "cert", .type = FW_CFG_UNSUPPORTED, .note = "use cert_file"},
    {.key = "key", .type = FW_CFG_UNSUPPORTED, .note = "use key_file"},
    {.key = "ca_ref", .type = FW_CFG_UNSUPPORTED},
    {.key = "cert_ref", .type = FW_CFG_UNSUPPORTED},
    {.key = "key_ref", .type = FW_CFG_UNSUPPORTED},
    {.key = "server_name", .type = FW_CFG_UNSUPPORTED, .note = "the smarthost's name is used"},
    {.key = "min_version", .type = FW_CFG_UNSUPPORTED},
    {.key = "max_version", .type = FW_CFG_UNSUPPORTED},
    {NULL},
};
#undef T

int
alertd_cfg_check_bool_text(const char *value, const char *file, struct fw_cfg_pos pos,
                           struct fw_cfg_errors *errs)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos, "cannot unmarshal \"%s\" into bool", value);
    return -1;
}

#define T struct alertd_cfg_email
#define S(k, m)                                                                                    \
    {                                                                                              \
        .key = (k), .type = FW_CFG_STR, .off = offsetof(T, m)                                      \
    }
const struct fw_cfg_field alertd_cfg_email_fields[] = {
    {.key = "", .type = FW_CFG_POS, .off = offsetof(T, pos)},
    {.key = "", .type = FW_CFG_VALUE_POS, .off = offsetof(T, vpos)},
    {.key = "send_resolved",
     .type = FW_CFG_BOOL,
     .off = offsetof(T, send_resolved),
     .def = "false"},
    S("to", to),
    S("from", from),
    S("hello", hello),
    S("smarthost", smarthost),
    S("auth_username", auth_username),
    S("auth_password", auth_password),
    S("auth_password_file", auth_password_file),
    S("auth_secret", auth_secret),
    S("auth_secret_file", auth_secret_file),
    S("auth_identity", auth_identity),
    {.key = "headers", .type = FW_CFG_STR_MAP, .off = offsetof(T, headers)},
    S("html", html),
    S("text", text),
    {.key = "require_tls",
     .type = FW_CFG_STR,
     .off = offsetof(T, require_tls),
     .check = alertd_cfg_check_bool_text},
    {.key = "force_implicit_tls",
     .type = FW_CFG_STR,
     .off = offsetof(T, force_implicit_tls),
     .check = alertd_cfg_check_bool_text},
    {.key = "tls_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, tls),
     .child = alertd_cfg_smtp_tls_fields},
    {.key = "threading", .type = FW_CFG_UNSUPPORTED},
    {NULL},
};
#undef S
#undef T

// Go's textproto.CanonicalMIMEHeaderKey for a valid header name: each dash-separated word
// capitalised, the rest lower case. A name with other than letters, digits and '-' is kept.
static void
s_canonical(char *h)
{
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return;
    bool up = true;
    for (char *p = h; *p; p++) {
        *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        up = *p == '-';
    }
}

// A template text (notifyd renders it, Alertmanager's way): NULL for the default (absent or
// exactly the default expression), else the text, parsed now so that a parse error is
// reported at load (inside the value `at` when known, else at the email config; what naming
// the key).
static const char *
s_text(const char *v, const char *def_expr, const char *file, struct fw_cfg_pos pos,
       const struct fw_cfg_vpos *at, const char *what, struct fw_cfg_errors *errs)
{
    if (!v)
        return NULL;
    const char *a = v + strspn(v, " \t\n");
    size_t n = strlen(a);
    while (n && strchr(" \t\n", a[n - 1]))
        n--;
    if (def_expr && strlen(def_expr) == n && strncmp(a, def_expr, n) == 0)
        return NULL;
    alertd_cfg_tmpl_check_text(v, file, pos, at, what, errs);
    return v;
}

static void
s_tls_json(json_t *o, const struct alertd_cfg_smtp_tls *t)
{
    json_t *j = json_object();
    if (alertd_cfg_set(t->ca_file))
        json_object_set_new(j, "ca_file", json_string(t->ca_file));
    if (alertd_cfg_set(t->cert_file))
        json_object_set_new(j, "cert_file", json_string(t->cert_file));
    if (alertd_cfg_set(t->key_file))
        json_object_set_new(j, "key_file", json_string(t->key_file));
    json_object_set_new(j, "insecure_skip_verify", json_boolean(t->insecure_skip_verify));
    json_object_set_new(o, "tls_config", j);
}

static void
s_err_tls(const struct alertd_cfg_smtp_tls *t, const char *file, struct fw_cfg_errors *errs)
{
    if (alertd_cfg_set(t->cert_file) != alertd_cfg_set(t->key_file))
        fw_cfg_errors_add(errs, file, t->pos,
                          "exactly one of key or key_file must be configured when a client "
                          "certificate is configured");
}

void
alertd_cfg_email_check(struct alertd_cfg_email *e, const struct alertd_cfg_smtp_global *g,
                       const char *g_password, const char *g_password_file, const char *g_secret,
                       const char *g_secret_file, const char *file, struct fw_cfg_errors *errs)
{
    alertd_cfg_email_clear(e);
    if (!alertd_cfg_set(e->to)) {
        fw_cfg_errors_add(errs, file, e->pos, "missing to address in email config");
        return;
    }
    json_t *o = json_object();
    // Header names are case-insensitive: canonical, no duplicates.
    json_t *h = json_object();
    for (size_t i = 0; i < e->headers.len; i++) {
        char *name = fw_strdup(e->headers.items[i].name);
        s_canonical(name);
        if (json_object_get(h, name))
            fw_cfg_errors_add(errs, file, e->pos, "duplicate header \"%s\" in email config", name);
        const char *def =
            strcmp(name, "Subject") == 0 ? "{{ template \"email.default.subject\" . }}" : NULL;
        char *what = fw_asprintf("email_configs.headers.%s", name);
        char *key = fw_asprintf("headers.%s", e->headers.items[i].name);
        const char *v = s_text(e->headers.items[i].value, def, file, e->pos,
                               fw_cfg_vpos_find(&e->vpos, key), what, errs);
        if (v)
            json_object_set_new(h, name, json_string(v));
        free(key);
        free(what);
        free(name);
    }
    const char *smarthost = alertd_cfg_set(e->smarthost) ? e->smarthost : g->smarthost;
    const char *from = alertd_cfg_set(e->from) ? e->from : g->from;
    if (!alertd_cfg_set(smarthost)) {
        fw_cfg_errors_add(errs, file, e->pos, "no global SMTP smarthost set");
    } else {
        const char *colon = strrchr(smarthost, ':');
        if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            fw_cfg_errors_add(errs, file, e->pos, "address %s: missing port in address", smarthost);
    }
    if (!alertd_cfg_set(from))
        fw_cfg_errors_add(errs, file, e->pos, "no global SMTP from set");
    if (alertd_cfg_set(e->auth_password) && alertd_cfg_set(e->auth_password_file))
        fw_cfg_errors_add(errs, file, e->pos,
                          "at most one of auth_password & auth_password_file must be configured");
    if (alertd_cfg_set(e->auth_secret) && alertd_cfg_set(e->auth_secret_file))
        fw_cfg_errors_add(errs, file, e->pos,
                          "at most one of auth_secret & auth_secret_file must be configured");
    // A *_file is sent as its path and read by notifyd at each delivery (as Alertmanager
    // reads it), so a file written after the config loads, or rotated, is used.
    for (int k = 0; k < 2; k++) {
        const char *v = k ? e->auth_secret : e->auth_password;
        const char *f = k ? e->auth_secret_file : e->auth_password_file;
        if (!alertd_cfg_set(v) && !alertd_cfg_set(f)) {
            v = k ? g_secret : g_password;
            f = k ? g_secret_file : g_password_file;
        }
        const char *name = k ? "auth_secret" : "auth_password";
        if (alertd_cfg_set(v)) {
            json_object_set_new(o, name, json_string(v));
        } else if (alertd_cfg_set(f)) {
            char *fk = fw_asprintf("%s_file", name);
            json_object_set_new(o, fk, json_string(f));
            free(fk);
        }
    }
    const char *html = s_text(e->html, "{{ template \"email.default.html\" . }}", file, e->pos,
                              fw_cfg_vpos_find(&e->vpos, "html"), "email_configs.html", errs);
    if (html)
        json_object_set_new(o, "html", json_string(html));
    const char *text = s_text(e->text, NULL, file, e->pos, fw_cfg_vpos_find(&e->vpos, "text"),
                              "email_configs.text", errs);
    if (text && *text)
        json_object_set_new(o, "text", json_string(text));
    s_text(e->to, NULL, file, e->pos, fw_cfg_vpos_find(&e->vpos, "to"), "email_configs.to", errs);
    s_text(from, NULL, file, e->pos, fw_cfg_vpos_find(&e->vpos, "from"), "email_configs.from",
           errs);
    // Alertmanager's header defaults.
    if (!json_object_get(h, "To"))
        json_object_set_new(h, "To", json_string(e->to));
    if (!json_object_get(h, "From") && from)
        json_object_set_new(h, "From", json_string(from));
    const struct alertd_cfg_smtp_tls *tls =
        e->tls.pos.line != e->pos.line || e->tls.pos.col != e->pos.col ? &e->tls : &g->tls;
    s_err_tls(tls, file, errs);
    json_object_set_new(o, "send_resolved", json_boolean(e->send_resolved));
    json_object_set_new(o, "to", json_string(e->to));
    json_object_set_new(o, "from", json_string(from ? from : ""));
    json_object_set_new(o, "smarthost", json_string(smarthost ? smarthost : ""));
    json_object_set_new(o, "hello",
                        json_string(alertd_cfg_set(e->hello)   ? e->hello
                                    : alertd_cfg_set(g->hello) ? g->hello
                                                               : "localhost"));
    const char *user = alertd_cfg_set(e->auth_username) ? e->auth_username : g->auth_username;
    if (alertd_cfg_set(user))
        json_object_set_new(o, "auth_username", json_string(user));
    const char *ident = alertd_cfg_set(e->auth_identity) ? e->auth_identity : g->auth_identity;
    if (alertd_cfg_set(ident))
        json_object_set_new(o, "auth_identity", json_string(ident));
    bool require_tls = e->require_tls ? strcmp(e->require_tls, "true") == 0 : g->require_tls;
    json_object_set_new(o, "require_tls", json_boolean(require_tls));
    const char *fit = e->force_implicit_tls ? e->force_implicit_tls : g->force_implicit_tls;
    if (fit)
        json_object_set_new(o, "force_implicit_tls", json_boolean(strcmp(fit, "true") == 0));
    s_tls_json(o, tls);
    json_object_set_new(o, "headers", h);
    e->json = o;
}

void
alertd_cfg_email_clear(struct alertd_cfg_email *e)
{
    json_decref(e->json);
    e->json = NULL;
}

void
alertd_cfg_email_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r || r->email_len == 0)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->email_len; i++)
        if (r->email[i].json)
            json_array_append_new(a, json_deep_copy(r->email[i].json));
    json_object_set_new(notify, "email_configs", a);
}
