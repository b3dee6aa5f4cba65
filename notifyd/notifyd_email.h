/*  notifyd_email.h — email delivery (NOTIFY's email_configs) over SMTP with libcurl, as
    Alertmanager's email notifier sends it (notify/email/email.go).

    notifyd_email_message() builds the message in the zloop thread: the config's headers
    (Alertmanager's defaults To, From and Subject = email.default.subject), Message-Id, Date,
    Content-Type multipart/alternative, MIME-Version, then a text/plain part when `text` is
    set and a text/html part (`html`, else email.default.html), each quoted-printable. Header
    values, `text`, `html`, `to` and `from` are template texts (notifyd_tmpl: `html` in HTML
    mode), rendered with the NOTIFY's `templates:` files as Alertmanager renders them.

    notifyd_email_build() makes it one SMTP delivery for the delivery actor
    (notifyd_deliver): smtps:// when force_implicit_tls or, unset, port 465; else smtp://
    with STARTTLS required when require_tls (an SMTP server that does not offer it fails the
    delivery); EHLO with `hello`; AUTH (libcurl picks PLAIN, LOGIN or CRAM-MD5 among the
    server's) with auth_username and auth_password (auth_secret when no password; the
    *_file forms read now, trimmed), auth_identity as the PLAIN authorisation identity; MAIL
    FROM the `from` address, RCPT TO each `to` address. The actor retries failures and
    counts them (integration="email"); nothing is delivered unless the server accepted the
    DATA.
*/
#ifndef NOTIFYD_EMAIL_H
#define NOTIFYD_EMAIL_H

#include <jansson.h>
#include <stdint.h>

#include "fw_err.h"
#include "notifyd_req.h"

// The whole message (headers CRLF, blank line, MIME body) for config and data, dated now
// (ms since the epoch), with a Message-Id at hostname; boundary fixes the MIME boundary
// (NULL: random). A new string, or NULL with err.
char *notifyd_email_message(const json_t *config, const json_t *data, int64_t now_ms,
                            const char *hostname, const char *boundary, fw_err_t *err);

// The addresses of an RFC 5322 address list ("A <a@x>, b@y"): a new NULL-terminated array
// of new strings, or NULL with err when an element has no address.
char **notifyd_email_addresses(const char *list, fw_err_t *err);
void notifyd_email_addresses_free(char **a);

// The SMTP delivery for config (an email_configs element) and data (borrowed), the message
// dated now_ms with a Message-Id at hostname, into *out (clear with notifyd_req_clear); -1
// with err when it cannot be built (the caller counts it failed).
int notifyd_email_build(const json_t *config, const json_t *data, int64_t now_ms,
                        const char *hostname, struct notifyd_req *out, fw_err_t *err);

#endif
