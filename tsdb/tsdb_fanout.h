/*  tsdb_fanout.h — one HTTP GET to each of a list of peers at once, for the APIs tsdb
    answers from other daemons: /api/v1/targets from the scrapers (tsdb_targets), /api/v1/rules
    and /api/v1/alerts from ruled (tsdb_rules).

    Each request runs on the HTTP thread that asks (libmicrohttpd runs one per connection;
    tsdb's loop never waits) through one curl multi handle, every transfer bounded in time
    (timeout_ms, connection included) and in size (TSDB_FANOUT_MAX_BODY). Nothing is shared
    between requests but the URL list, which never changes after start.
*/
#ifndef TSDB_FANOUT_H
#define TSDB_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_http.h"

#define TSDB_FANOUT_MAX_PEERS 64
#define TSDB_FANOUT_MAX_BODY (64u << 20) // bytes of one peer's answer

// One peer's answer.
struct tsdb_fanout_reply {
    char *url;  // owned: the full URL asked
    char *body; // owned, NULL when none
    size_t len, cap;
    long status;     // HTTP status, 0 when none came
    char error[320]; // why it failed (no answer, too big, ...), "" when an answer came
    void *h;         // private
    bool too_big;    // private
};

typedef struct tsdb_fanout tsdb_fanout_t;

// The peers of a comma-separated list of base URLs ("host:port" means http://host:port;
// blanks around entries and trailing slashes dropped; empty entries skipped; empty: no
// peer), each asked for at most timeout_ms (<= 0: 2 s). NULL with err naming flag: an entry
// with blanks, a scheme other than http/https, more than TSDB_FANOUT_MAX_PEERS.
tsdb_fanout_t *tsdb_fanout_new(const char *list, const char *flag, int64_t timeout_ms,
                               fw_err_t *err);
void tsdb_fanout_destroy(tsdb_fanout_t **self_p);
// The number of peers, and peer i's base URL (borrowed for the fanout's life).
size_t tsdb_fanout_count(const tsdb_fanout_t *self);
const char *tsdb_fanout_url(const tsdb_fanout_t *self, size_t i);

// path plus those arguments of req named in args (NULL-terminated; repeated ones each
// time), URL-encoded. Caller frees.
char *tsdb_fanout_path_query(const fw_http_request_t *req, const char *path,
                             const char *const *args);

// GET each peer's URL + path_query, all at once; returns the replies, peer i's in [i] (free
// with tsdb_fanout_replies_free), when all are done or timed out. agent is the User-Agent.
// authorization (NULL: none) is sent as the Authorization header: the asking request's own,
// so that peers behind --web.config.file with the same users answer the same client.
struct tsdb_fanout_reply *tsdb_fanout_ask(const tsdb_fanout_t *self, const char *path_query,
                                          const char *agent, const char *authorization);
// Free the n replies of tsdb_fanout_ask.
void tsdb_fanout_replies_free(struct tsdb_fanout_reply *replies, size_t n);

#endif
