/*  notifyd_pushover.h — a Pushover message request as Alertmanager 0.25 builds it
    (notify/pushover/pushover.go): POST https://api.pushover.net/1/messages.json with every
    parameter in the query string (url.Values.Encode: keys sorted, Go's QueryEscape), an
    empty body and Content-Type text/plain. Parameters: token, user, title (cut to 250
    runes), message (rendered with HTML escaping and html=1 when html is set; cut to 1024
    runes, then trimmed of white space, "(no details)" when nothing is left), url (cut to 512
    runes), url_title, priority (the template; by default 2 while firing, 0 resolved), retry
    and expire (whole seconds, always sent), sound. Cuts end in "…" as
    notify.TruncateInRunes. 0.25 also renders token and user as templates; floorwatch sends
    them as written (a Pushover key holds no "{{", and a template error there would log a
    secret).

    The host is Alertmanager's constant; http_config's proxy_url and tls_config reach a
    stand-in. `config` is one element of NOTIFY's pushover_configs (alertd_cfg_pushover).
*/
#ifndef NOTIFYD_PUSHOVER_H
#define NOTIFYD_PUSHOVER_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_PUSHOVER_URL "https://api.pushover.net/1/messages.json"

// Pushover's limits in runes (notify/pushover/pushover.go, https://pushover.net/api#limits).
#define NOTIFYD_PUSHOVER_MAX_TITLE 250
#define NOTIFYD_PUSHOVER_MAX_MESSAGE 1024
#define NOTIFYD_PUSHOVER_MAX_URL 512

// s escaped as Go's url.QueryEscape (unreserved kept, space '+', the rest %XX upper case),
// appended to out (a NUL-terminated heap string, grown): the new string.
char *notifyd_pushover_query_escape(char *out, const char *s);

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no user_key or token).
int notifyd_pushover_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                           fw_err_t *err);

#endif
