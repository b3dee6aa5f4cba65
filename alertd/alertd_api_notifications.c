/*  alertd_api_notifications.c — GET /api/v2/notifications: the notification log, queried
    (a floorwatch extension; Alertmanager has no such endpoint).

    Parameters, each optional: receiver (a regex, anchored, as /api/v2/alerts' receiver),
    groupKey (exact), filter (repeatable matchers on the group labels, as /api/v2/alerts'
    filter), since and until (RFC 3339, inclusive), result (one of the values a record's
    result takes: sent, dropped, delivered or failed; alertd_nflog.h) and status (firing or
    resolved). A bad value answers 400 with a JSON string, as Alertmanager's handlers do. The answer
   is a JSON array, oldest first (alertd_nflog.h gives the shape).
*/
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alertd_api.h"
#include "alertd_api_notifications.h"
#include "alertd_int.h"
#include "alertd_matcher.h"
#include "alertd_nflog.h"
#include "fw_http.h"
#include "fw_time.h"

// The time parameter name into *ms (unchanged when absent). 0, or -1 once answered 400.
static int
s_time_arg(const fw_http_request_t *req, const char *name, int64_t *ms,
           struct fw_http_response *resp)
{
    const char *v = fw_http_arg(req, name);
    if (!v)
        return 0;
    if (fw_time_parse_rfc3339(v, ms) < 0) {
        char msg[320];
        snprintf(msg, sizeof msg,
                 "failed to parse %s param: \"%.200s\" is not an RFC 3339 date-time", name, v);
        alertd_api_json_error(resp, 400, msg);
        return -1;
    }
    return 0;
}

// The values a record's "result" takes (alertd_nflog_record, alertd_nflog_result), each a
// filter value: sent (handed to notifyd, no outcome yet), dropped (could not be queued),
// delivered and failed (notifyd's outcome).
static const char *const s_results[] = {"sent", "dropped", "delivered", "failed", NULL};
static const char *const s_statuses[] = {"firing", "resolved", NULL};

// The parameter name when it is one of the NULL-terminated values (else answered 400, and
// -1).
static int
s_enum_arg(const fw_http_request_t *req, const char *name, const char *const *values,
           const char **out, struct fw_http_response *resp)
{
    const char *v = fw_http_arg(req, name);
    *out = NULL;
    if (!v)
        return 0;
    char list[160] = "";
    for (size_t i = 0; values[i]; i++) {
        if (strcmp(v, values[i]) == 0) {
            *out = v;
            return 0;
        }
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s",
                 i == 0          ? ""
                 : values[i + 1] ? ", "
                                 : " or ",
                 values[i]);
    }
    char msg[400];
    snprintf(msg, sizeof msg, "failed to parse %s param: \"%.200s\" is not one of %s", name, v,
             list);
    alertd_api_json_error(resp, 400, msg);
    return -1;
}

static int
s_api_notifications(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    struct alertd_matchers receiver = {0}, group = {0};
    struct alertd_nflog_filter f = {.receiver = &receiver, .group = &group};
    f.group_key = fw_http_arg(req, "groupKey");
    if (s_time_arg(req, "since", &f.since, resp) < 0 ||
        s_time_arg(req, "until", &f.until, resp) < 0 ||
        s_enum_arg(req, "result", s_results, &f.result, resp) < 0 ||
        s_enum_arg(req, "status", s_statuses, &f.status, resp) < 0 ||
        alertd_api_filters_parse(req, resp, &group) < 0)
        return 0;
    const char *rcv = fw_http_arg(req, "receiver");
    if (rcv && *rcv) {
        fw_err_t err;
        fw_err_clear(&err);
        if (alertd_matchers_add(&receiver, FW_MATCH_RE, "receiver", rcv, &err) < 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "failed to parse receiver param: %s", err.msg);
            alertd_api_json_error(resp, 400, msg);
            alertd_matchers_clear(&group);
            return 0;
        }
    }
    pthread_mutex_lock(&self->lock);
    if (zlist_size(self->unlogged) > 0) { // what was sent in the last S_LOG_DELAY_MS
        alertd_log_sent_locked(self);
        alertd_commit_locked(self, false);
    }
    json_t *arr = alertd_nflog_query(self->nflog, &f);
    pthread_mutex_unlock(&self->lock);
    alertd_matchers_clear(&receiver);
    alertd_matchers_clear(&group);
    alertd_api_json_respond(resp, 200, arr);
    return 0;
}

void
alertd_api_notifications_routes(fw_http_t *http, alertd_t *self)
{
    fw_http_route(http, "GET", "/api/v2/notifications", s_api_notifications, self);
}
