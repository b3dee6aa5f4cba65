/*  fw_query.c — synchronous, bounded PromQL queries to tsdb over DEALER/ROUTER.

    Each request carries a fresh id; replies to older, timed-out requests can still arrive
    and are discarded by id, so a slow tsdb never makes us attribute one query's answer to
    another.
*/
#include "fw_query.h"

#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"

struct fw_query_client {
    char *endpoint;          // owned
    int64_t max_msg_size;    // bytes per inbound part
    fw_metrics_t *metrics;   // borrowed, may be NULL
    zsock_t *dealer;         // owned
    fw_zsock_guard_t *guard; // owned: watches dealer for oversized answers
    zpoller_t *poller;       // owned: dealer and the guard's events
    uint64_t next_id;
};

static void
s_disconnect(fw_query_client_t *self)
{
    zpoller_destroy(&self->poller);
    fw_zsock_guard_destroy(&self->guard);
    zsock_destroy(&self->dealer);
}

static int
s_connect(fw_query_client_t *self)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return -1;
    zsock_set_linger(dealer, 0);
    zsock_set_sndtimeo(dealer, 1000);
    if (fw_zsock_set_max_msg_size(dealer, self->max_msg_size) < 0) {
        zsock_destroy(&dealer);
        return -1;
    }
    // The guard first, so that it sees the connection being made.
    self->guard = fw_zsock_guard_new(dealer, "query", self->metrics);
    if (zsock_attach(dealer, self->endpoint, false) < 0) {
        fw_zsock_guard_destroy(&self->guard);
        zsock_destroy(&dealer);
        return -1;
    }
    self->dealer = dealer;
    self->poller =
        zpoller_new(dealer, self->guard ? fw_zsock_guard_events(self->guard) : NULL, NULL);
    return 0;
}

fw_query_client_t *
fw_query_client_new(const char *endpoint, int64_t max_msg_size, fw_metrics_t *metrics)
{
    if (!endpoint)
        return NULL;
    fw_query_client_t *self = fw_calloc(1, sizeof(*self));
    self->endpoint = fw_strdup(endpoint);
    self->max_msg_size = max_msg_size;
    self->metrics = metrics;
    self->next_id = 1;
    if (s_connect(self) < 0)
        fw_query_client_destroy(&self);
    return self;
}

void
fw_query_client_destroy(fw_query_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_disconnect(*self_p);
    free((*self_p)->endpoint);
    free(*self_p);
    *self_p = NULL;
}

// Handle the guard's events; after an oversized answer the DEALER is dead (libzmq does not
// reconnect after a protocol error), so make a new one. true when that happened.
static bool
s_check_guard(fw_query_client_t *self)
{
    if (!self->guard || fw_zsock_guard_read(self->guard) == 0)
        return false;
    s_disconnect(self);
    if (s_connect(self) < 0)
        fw_error("query.reconnect.fail", "endpoint=%s", self->endpoint);
    return true;
}

void
fw_vector_clear(struct fw_vector *v)
{
    for (size_t i = 0; i < v->len; i++)
        fw_labels_clear(&v->items[i].labels);
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

static struct fw_vsample *
s_vector_add(struct fw_vector *v)
{
    fw_mem_grow((void **)&v->items, &v->cap, v->len + 1, sizeof(*v->items));
    struct fw_vsample *s = &v->items[v->len++];
    memset(s, 0, sizeof(*s));
    return s;
}

// Parse a Prometheus API [t, "v"] pair.
static int
s_parse_point(json_t *pair, int64_t *t_ms, double *v)
{
    json_t *t = json_array_get(pair, 0), *val = json_array_get(pair, 1);
    if (!json_is_number(t) || !json_is_string(val))
        return -1;
    *t_ms = (int64_t)llround(json_number_value(t) * 1000.0);
    const char *s = json_string_value(val);
    if (strcmp(s, "+Inf") == 0)
        *v = INFINITY;
    else if (strcmp(s, "-Inf") == 0)
        *v = -INFINITY;
    else if (strcmp(s, "NaN") == 0)
        *v = NAN;
    else {
        char *end;
        *v = strtod(s, &end);
        if (*end)
            return -1;
    }
    return 0;
}

// The answer's data into out: an instant vector or scalar, or with `range` a matrix.
static int
s_data_to_vector(json_t *data, bool range, struct fw_vector *out, fw_err_t *err)
{
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    if (type && strcmp(type, "scalar") == 0) {
        struct fw_vsample *s = s_vector_add(out);
        if (s_parse_point(result, &s->t_ms, &s->v) < 0)
            goto bad;
        return 0;
    }
    bool matrix = type && strcmp(type, "matrix") == 0;
    if (!type || strcmp(type, range ? "matrix" : "vector") != 0 || !json_is_array(result)) {
        fw_err_set(err, "query result is a %s, not %s", type ? type : "?",
                   range ? "a matrix" : "an instant vector");
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(result, i, item)
    {
        json_t *points = matrix ? json_object_get(item, "values") : NULL;
        size_t n = matrix ? json_array_size(points) : 1;
        for (size_t j = 0; j < n; j++) {
            struct fw_vsample *s = s_vector_add(out);
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(item, "metric"), k, v)
            {
                if (json_is_string(v))
                    fw_labels_set(&s->labels, k, json_string_value(v));
            }
            json_t *pair = matrix ? json_array_get(points, j) : json_object_get(item, "value");
            if (s_parse_point(pair, &s->t_ms, &s->v) < 0)
                goto bad;
        }
    }
    return 0;
bad:
    fw_err_set(err, "malformed query result");
    return -1;
}

// Send body (taken) as a QUERY and wait for its answer (a matrix with `range`) into out.
static int
s_ask(fw_query_client_t *self, json_t *body, const char *id, bool range, int timeout_ms,
      struct fw_vector *out, fw_err_t *err)
{
    fw_vector_clear(out);
    (void)s_check_guard(self); // events since the last query (tsdb restarts, drops)
    if (!self->dealer && s_connect(self) < 0) {
        fw_err_set(err, "cannot connect to %s", self->endpoint);
        return -1;
    }
    struct fw_msg *req = fw_msg_new_json(FW_MSG_QUERY, body); // steals body
    if (fw_msg_send(&req, self->dealer, err) < 0)
        return -1;

    int64_t deadline = fw_time_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - fw_time_mono_ms();
        void *ready = left > 0 ? zpoller_wait(self->poller, (int)left) : NULL;
        if (!ready) {
            fw_err_set(err, "query timed out after %d ms", timeout_ms);
            return -1;
        }
        if (ready != self->dealer) {
            if (s_check_guard(self)) {
                fw_err_set(err, "query result larger than --zmq.max-msg-size (%lld bytes)",
                           (long long)self->max_msg_size);
                return -1;
            }
            continue;
        }
        struct fw_msg *reply;
        if (fw_msg_recv(self->dealer, &reply, err) < 0)
            return -1;
        const char *rid = json_string_value(json_object_get(reply->body, "id"));
        if (reply->type != FW_MSG_QUERY_RESULT || !rid || strcmp(rid, id) != 0) {
            fw_msg_destroy(&reply); // an answer to an earlier, abandoned request
            continue;
        }
        int rc;
        const char *status = json_string_value(json_object_get(reply->body, "status"));
        if (status && strcmp(status, "success") == 0) {
            rc = s_data_to_vector(json_object_get(reply->body, "data"), range, out, err);
        } else {
            const char *etype = json_string_value(json_object_get(reply->body, "errorType"));
            const char *emsg = json_string_value(json_object_get(reply->body, "error"));
            fw_err_set(err, "%s: %s", etype ? etype : "error", emsg ? emsg : "query failed");
            rc = -1;
        }
        fw_msg_destroy(&reply);
        if (rc < 0)
            fw_vector_clear(out);
        return rc;
    }
}

int
fw_query_vector(fw_query_client_t *self, const char *query, int64_t t_ms, int timeout_ms,
                struct fw_vector *out, fw_err_t *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)self->next_id++);
    // timeout_ms: tsdb stops working on it when we stop waiting (docs/wire.md, QUERY v1)
    json_t *body = json_pack("{sssssfsi}", "id", id, "query", query, "time", (double)t_ms / 1000.0,
                             "timeout_ms", timeout_ms > 0 ? timeout_ms : 1);
    return s_ask(self, body, id, false, timeout_ms, out, err);
}

int
fw_query_range(fw_query_client_t *self, const char *query, int64_t start_ms, int64_t end_ms,
               int64_t step_ms, int timeout_ms, struct fw_vector *out, fw_err_t *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)self->next_id++);
    json_t *body =
        json_pack("{sssssfsfsfsi}", "id", id, "query", query, "start", (double)start_ms / 1000.0,
                  "end", (double)end_ms / 1000.0, "step", (double)step_ms / 1000.0, "timeout_ms",
                  timeout_ms > 0 ? timeout_ms : 1);
    return s_ask(self, body, id, true, timeout_ms, out, err);
}
