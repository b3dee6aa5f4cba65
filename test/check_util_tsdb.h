/*  check_util_tsdb.h — the tsdb daemon as the Check suites run it: options for a daemon on
    a test directory and fresh loopback ports, its zloop started in a thread and stopped the
    way SIGTERM does, a sender pushing to it with a bounded wait for the acknowledgement, and
    QUERY asked and answered over a DEALER.

    Kept apart from check_util.h because it needs the daemon's header (tsdb.h). Failures the
    test cannot go on from fail it through ck_assert; a bounded wait that ran out is a return
    value the test looks at.
*/
#ifndef CHECK_UTIL_TSDB_H
#define CHECK_UTIL_TSDB_H

#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "fw_sender.h"
#include "../tsdb/tsdb.h"

// A daemon running in a thread.
struct check_util_tsdb {
    tsdb_t *d; // NULL when not running
    pthread_t thread;
};

// Fill o (zeroed first) for a tsdb on dir: web on 127.0.0.1:0, the three ZeroMQ sockets on
// tcp://127.0.0.1:*, a 64MiB map, 15 days' retention, a commit every 100 ms. dir is
// borrowed; the caller changes what its test needs before check_util_tsdb_start.
void check_util_tsdb_opts(struct tsdb_opts *o, const char *dir);

// Start tsdb with o (borrowed; it must outlive the daemon) and the default config, its loop
// in a thread; fails the test when it cannot.
void check_util_tsdb_start(struct check_util_tsdb *t, const struct tsdb_opts *o);

// Stop t's tsdb as SIGTERM does (zsys_interrupted; the loop notices within its 1 s timer),
// join the thread and destroy it. Returns how long that took in ms; 0 when none ran.
int64_t check_util_tsdb_stop(struct check_util_tsdb *t);

// A DEALER connected to endpoint; fails the test when it cannot.
zsock_t *check_util_tsdb_dealer(const char *endpoint);

// An opened fw_sender (the real one scraper, ruled and slod use) to d's samples endpoint,
// named name; fails the test when it cannot open.
fw_sender_t *check_util_tsdb_sender(tsdb_t *d, const char *name);

// Poll s until every batch is acknowledged, for at most timeout_ms. The ms it took, or -1
// when something was still unacknowledged.
int64_t check_util_tsdb_wait_acked(fw_sender_t *s, int64_t timeout_ms);

// Send QUERY body (taken) on dealer; fails the test when it cannot.
void check_util_tsdb_ask(zsock_t *dealer, json_t *body);

// The body of the next QUERY_RESULT on dealer within timeout_ms (caller decrefs), or NULL
// when none came; any other message type fails the test.
json_t *check_util_tsdb_answer(zsock_t *dealer, int timeout_ms);

// The value string of an instant query answer's first result (borrowed from ans), or NULL
// when the result is empty.
const char *check_util_tsdb_value(json_t *ans);

#endif
