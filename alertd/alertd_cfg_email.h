/*  alertd_cfg_email.h — alertmanager.yml's email_configs and the global smtp_* defaults: the
    field tables, the load-time checks and defaults (Alertmanager's config.go: smarthost,
    from, hello, auth_*, require_tls, tls_config and force_implicit_tls from `global` when a
    config leaves them out; a password or secret from *_file is sent as the file's path,
    which notifyd reads at each delivery, as Alertmanager does) and their JSON for NOTIFY's
   `email_configs` (docs/wire.md), delivered by notifyd_email.

    Texts: `html` absent or exactly `{{ template "email.default.html" . }}` and the Subject
    header absent or exactly `{{ template "email.default.subject" . }}` are sent absent and
    notifyd renders the default; any other html, text, header value, to or from is a
    template, parsed at load (a parse error is reported at the email config) and rendered by
    notifyd (notifyd_tmpl) with the `templates:` files.
*/
#ifndef ALERTD_CFG_EMAIL_H
#define ALERTD_CFG_EMAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_cfg.h"
#include "fw_labels.h"

// A TLS client config for SMTP (prometheus/common's TLSConfig, the parts libcurl takes).
struct alertd_cfg_smtp_tls {
    struct fw_cfg_pos pos;
    char *ca_file, *cert_file, *key_file; // owned
    bool insecure_skip_verify;
};

struct alertd_cfg_email {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;             // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                       // default false
    char *to, *from, *hello, *smarthost;      // owned
    char *auth_username, *auth_identity;      // owned
    char *auth_password, *auth_password_file; // owned
    char *auth_secret, *auth_secret_file;     // owned
    struct fw_labels headers;                 // owned: as written
    char *html, *text;                        // owned; NULL: absent
    char *require_tls;                        // owned "true"/"false"; NULL: global's
    char *force_implicit_tls;                 // owned "true"/"false"; NULL: global's
    struct alertd_cfg_smtp_tls tls;           // given when tls.pos differs from pos
    // Derived at load: the password and secret (inline, file or global), the JSON for NOTIFY.
    json_t *json; // owned
};

// The global smtp_* keys (members of struct alertd_cfg_global's `smtp`).
struct alertd_cfg_smtp_global {
    char *from, *hello, *smarthost, *auth_username, *auth_identity; // owned
    bool require_tls;                                               // default true
    char *force_implicit_tls;                                       // owned, NULL: by port
    struct alertd_cfg_smtp_tls tls;                                 // owned members
};

// The list entry for struct alertd_cfg_receiver's table (members email, email_len) and the
// global smtp_* entries (offset into struct alertd_cfg_global by `base`).
extern const struct fw_cfg_field alertd_cfg_email_fields[];
extern const struct fw_cfg_field alertd_cfg_smtp_tls_fields[];

// Check one email config against Alertmanager's rules and resolve it with the globals into
// e->json. g_* are global.smtp_auth_password(_file) and smtp_auth_secret(_file), NULL when
// unset. Errors into errs with file:line:col.
void alertd_cfg_email_check(struct alertd_cfg_email *e, const struct alertd_cfg_smtp_global *g,
                            const char *g_password, const char *g_password_file,
                            const char *g_secret, const char *g_secret_file, const char *file,
                            struct fw_cfg_errors *errs);

// Add "email_configs" (the checked configs' JSON) to a NOTIFY body when r has any.
struct alertd_cfg_receiver;
void alertd_cfg_email_notify(const struct alertd_cfg_receiver *r, json_t *notify);

// fw_cfg check: "true" or "false" (a bool whose absence means something else).
int alertd_cfg_check_bool_text(const char *value, const char *file, struct fw_cfg_pos pos,
                               struct fw_cfg_errors *errs);

// Release what alertd_cfg_email_check derived (the table's members are fw_cfg_free's).
void alertd_cfg_email_clear(struct alertd_cfg_email *e);

#endif
