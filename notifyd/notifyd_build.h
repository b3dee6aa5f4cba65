/*  notifyd_build.h — the requests a NOTIFY asks for, besides its webhooks: each config of
    each integration array (slack_configs, pagerduty_configs, ..., email_configs) made into
    one notifyd_req by that integration's builder, with the data its templates see.

    Kept apart from notifyd.c's loop so that what builds the requests can be driven without
    a daemon (test/fuzz/fuzz_notifyd_build.c feeds it whatever a NOTIFY may carry).
*/
#ifndef NOTIFYD_BUILD_H
#define NOTIFYD_BUILD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "notifyd_req.h"

// One config of `array` (its metrics label `integration`, its position pos in the array):
// req is the request built (fn takes it: notifyd_req_move or notifyd_req_clear), or NULL
// and `why` says why it could not be built (a bad config: never delivered).
typedef void (*notifyd_build_fn)(void *arg, const char *array, const char *integration, size_t pos,
                                 const json_t *config, struct notifyd_req *req, const char *why);

// Build every integration config of NOTIFY body `body` in order, calling fn for each; a
// config whose alerts are all resolved while it does not send resolved ones is skipped.
// hostname and now_ms are email's (its Message-Id and Date).
void notifyd_build_each(const json_t *body, const char *hostname, int64_t now_ms,
                        notifyd_build_fn fn, void *arg);

#endif
