/*  notifyd_azuresms.h — SMS through Azure Communication Services (floorwatch's own receiver
    type, azuresms_configs): POST {endpoint}/sms?api-version=2021-03-07 with
        {"from":..,"smsRecipients":[{"to":..},..],"message":..,
         "smsSendOptions":{"enableDeliveryReport":false}}
    signed with the resource's access key as the service's access-key authentication
    requires (learn.microsoft.com/rest/api/communication/authentication):
        x-ms-date: <RFC 1123 date, GMT>
        x-ms-content-sha256: base64(SHA-256(body))
        Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=
            base64(HMAC-SHA256(base64decode(key),
                               "POST\n" path_and_query "\n" date ";" host ";" content_hash))
    where host is the endpoint's authority (host, and :port when not the scheme's default).
    The service refuses a date more than 15 minutes off; the request is signed when built
    and signed again whenever it is rebuilt for a retry.

    A 202 answer lists a result per recipient ({"value":[{"to","httpStatusCode",
    "successful","errorMessage",..}]}); notifyd_azuresms_answer reads it (the request's
    answer function, run by the delivery actor). The notification is delivered only when
    every recipient succeeded. A recipient that failed with 429, a 5xx or no result at all
    is sent again (the request is rebuilt for those alone and signed anew, so successful
    recipients are never sent twice); one that failed with another status has failed for
    good, and the notification fails with its errorMessage even if the others go through.

    `config` is one element of NOTIFY's azuresms_configs (alertd_cfg_teams): endpoint,
    access_key (the file's content, read by alertd at load and reload), from, to[], message
    (absent: azuresms.default.message, the default title), send_resolved.
*/
#ifndef NOTIFYD_AZURESMS_H
#define NOTIFYD_AZURESMS_H

#include <jansson.h>
#include <time.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_AZURESMS_API "/sms?api-version=2021-03-07"

// The request for data, signed at now. 0, or -1 with err (no endpoint, bad key, no
// recipient).
int notifyd_azuresms_build_at(const json_t *config, const json_t *data, time_t now,
                              struct notifyd_req *out, fw_err_t *err);
// The same, signed at the current time (s_integrations' builder).
int notifyd_azuresms_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                           fw_err_t *err);

// Read the per-recipient answer to req (see above), signing a rebuilt request at now.
void notifyd_azuresms_answer_at(struct notifyd_req *req, const char *body, time_t now,
                                struct notifyd_answer *out);
// The same at the current time: req's answer function.
void notifyd_azuresms_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out);

// The Authorization header value for one request (a new string), and body's content hash
// (base64, into content_hash). NULL when key_b64 is not base64.
char *notifyd_azuresms_sign(const char *key_b64, const char *host, const char *path_and_query,
                            const char *date, const char *body, char content_hash[45]);

// t as RFC 1123 ("Mon, 30 Nov 2026 10:00:00 GMT"), independent of the locale.
void notifyd_azuresms_date(time_t t, char out[40]);

#endif
