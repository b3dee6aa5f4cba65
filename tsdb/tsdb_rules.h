/*  tsdb_rules.h — /api/v1/rules and /api/v1/alerts on tsdb's :9090, asked of ruled.

    Grafana looks for rules and alerts where it queries (the Prometheus data source's URL),
    so tsdb answers them too, from the ruled instances named by --ruled.url (comma-separated
    base URLs; default the local ruled, http://127.0.0.1:9202; empty: none), each asked at
    most --ruled.timeout (2s), all at once, on the HTTP request's own thread (tsdb_fanout).
    The filters (type, rule_name[], rule_group[], file[], match[], exclude_alerts,
    group_limit, group_next_token) are passed on. The answers are merged: data.groups (or
    data.alerts) is the concatenation of every ruled's, in --ruled.url order. A ruled that
    does not answer in time, or answers something else than a success, is named in the
    standard "warnings" list and the others' groups are still shown; when one answers a 4xx
    error (a bad filter: every ruled would say the same), that error is the answer.
*/
#ifndef TSDB_RULES_H
#define TSDB_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_http.h"

typedef struct tsdb_rules tsdb_rules_t;

// A proxy to the ruled instances in `urls` (comma-separated; "host:port" means
// http://host:port; empty: none, the lists are empty), each asked for at most timeout_ms.
// NULL with err on a malformed list.
tsdb_rules_t *tsdb_rules_new(const char *urls, int64_t timeout_ms, fw_err_t *err);
void tsdb_rules_destroy(tsdb_rules_t **self_p);

// Add GET and POST /api/v1/rules and /api/v1/alerts to http (before it starts; they win
// over routes added before).
void tsdb_rules_routes(tsdb_rules_t *self, fw_http_t *http);

// One ruled's answer: its URL, HTTP status (0: none), body (may be NULL) and why it failed
// ("" when an answer came); all borrowed.
struct tsdb_rules_answer {
    const char *url;
    long status;
    const char *body;
    const char *error;
};

// The merged answer of n answers for list "groups" or "alerts" (see above); *status gets
// the HTTP status. Caller frees.
char *tsdb_rules_merge(const struct tsdb_rules_answer *answers, size_t n, const char *list,
                       int *status);

#endif
