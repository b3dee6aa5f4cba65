/*  notifyd_email.c — an email_configs element and a notification into one SMTP delivery
    for the delivery actor (notifyd_deliver): URL, envelope, credentials, TLS settings and
    the message (notifyd_email_msg.c).
*/
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promcfg_http.h"
#include "notifyd_email.h"
#include "notifyd_tmpl.h"

static const char *
s_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static char *
s_dup_or_null(const char *v)
{
    return *v ? fw_strdup(v) : NULL;
}

// The password, else the secret, inline or read from its file at each delivery
// (Alertmanager's way). 0 with *out (NULL when none is set), or -1 with err.
static int
s_password(const json_t *config, char **out, fw_err_t *err)
{
    *out = NULL;
    for (int k = 0; k < 2; k++) {
        const char *v = s_str(config, k ? "auth_secret" : "auth_password");
        const char *f = s_str(config, k ? "auth_secret_file" : "auth_password_file");
        if (*v) {
            *out = fw_strdup(v);
            return 0;
        }
        if (*f)
            return fw_promcfg_http_read_secret(f, out, err);
    }
    return 0;
}

int
notifyd_email_build(const json_t *config, const json_t *data, int64_t now_ms, const char *hostname,
                    struct notifyd_req *out, fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *smarthost = s_str(config, "smarthost");
    const char *colon = strrchr(smarthost, ':');
    if (!colon) {
        fw_err_set(err, "smarthost \"%s\" has no port", smarthost);
        return -1;
    }
    char *from_text = notifyd_tmpl_key(config, "email_configs", "from", data);
    char **from = notifyd_email_addresses(from_text, err);
    free(from_text);
    if (!from)
        return -1;
    if (from[1]) {
        fw_err_set(err, "must be exactly one 'from' address");
        notifyd_email_addresses_free(from);
        return -1;
    }
    char *to_text = notifyd_tmpl_key(config, "email_configs", "to", data);
    char **to = notifyd_email_addresses(to_text, err);
    free(to_text);
    char *msg = to ? notifyd_email_message(config, data, now_ms, hostname, NULL, err) : NULL;
    char *pass = NULL;
    if (!msg || s_password(config, &pass, err) < 0) {
        free(msg);
        notifyd_email_addresses_free(from);
        notifyd_email_addresses_free(to);
        return -1;
    }
    const json_t *fit = json_object_get(config, "force_implicit_tls");
    bool implicit = fit ? json_is_true(fit) : strcmp(colon + 1, "465") == 0;
    out->kind = NOTIFYD_REQ_SMTP;
    out->url =
        fw_asprintf("%s://%s/%s", implicit ? "smtps" : "smtp", smarthost, s_str(config, "hello"));
    out->body = msg;
    struct notifyd_req_smtp *m = &out->smtp;
    m->from = fw_strdup(from[0]);
    notifyd_email_addresses_free(from);
    m->rcpts = to;
    m->username = s_dup_or_null(s_str(config, "auth_username"));
    m->password = pass;
    m->authzid = s_dup_or_null(s_str(config, "auth_identity"));
    m->starttls = !implicit && json_is_true(json_object_get(config, "require_tls"));
    const json_t *tls = json_object_get(config, "tls_config");
    m->ca_file = s_dup_or_null(s_str(tls, "ca_file"));
    m->cert_file = s_dup_or_null(s_str(tls, "cert_file"));
    m->key_file = s_dup_or_null(s_str(tls, "key_file"));
    m->insecure_skip_verify = json_is_true(json_object_get(tls, "insecure_skip_verify"));
    m->smarthost = fw_strdup(smarthost);
    return 0;
}
