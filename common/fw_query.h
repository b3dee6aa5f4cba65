/*  fw_query.h — the ZeroMQ query client that ruled and slod use to ask tsdb.

    A DEALER socket connected to tsdb's ROUTER. fw_query_vector() sends one QUERY and waits
    (bounded) for the QUERY_RESULT with the same id, dropping stale answers to earlier,
    timed-out requests. The wait blocks the caller's thread for at most timeout_ms: rule
    evaluation is the zloop's timer work, and a query that does not answer in time fails
    that rule's evaluation, not the daemon. The QUERY carries timeout_ms too, so tsdb
    answers "timeout" and stops evaluating when the caller stops waiting.

    The DEALER refuses a QUERY_RESULT part longer than max_msg_size (--zmq.max-msg-size).
    libzmq then drops the connection and, on a connecting socket, never makes it again, so
    a guard (fw_zsock_guard) watches the DEALER: the query fails with a clear error, the
    drop is counted, and the next query makes a new DEALER.
*/
#ifndef FW_QUERY_H
#define FW_QUERY_H

#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_metrics.h"

typedef struct fw_query_client fw_query_client_t;

struct fw_vsample {
    struct fw_labels labels; // owned; empty for a scalar result
    int64_t t_ms;
    double v;
};

struct fw_vector {
    struct fw_vsample *items; // owned
    size_t len, cap;
};

// A client connected to endpoint ("tcp://127.0.0.1:5561", copied) that accepts answers of
// up to max_msg_size bytes per part. metrics (borrowed, may be NULL) counts dropped answers
// in fw_msg_rejected_total{type="oversize"}. NULL when the endpoint is invalid.
fw_query_client_t *fw_query_client_new(const char *endpoint, int64_t max_msg_size,
                                       fw_metrics_t *metrics);
void fw_query_client_destroy(fw_query_client_t **self_p);

// Evaluate query at t_ms. On success out (cleared first) holds the instant vector, or one
// unlabelled sample for a scalar result, and 0 is returned. On failure -1, err holds the
// tsdb's error ("bad_data: ..."), FW_ETIMEOUT's text, or says the answer was over the size
// limit.
int fw_query_vector(fw_query_client_t *self, const char *query, int64_t t_ms, int timeout_ms,
                    struct fw_vector *out, fw_err_t *err);

// Evaluate query over [start_ms, end_ms] every step_ms (a range query). On success out
// (cleared first) holds every point of every series of the matrix, series after series,
// each point with its series' labels, and 0 is returned; errors as fw_query_vector().
int fw_query_range(fw_query_client_t *self, const char *query, int64_t start_ms, int64_t end_ms,
                   int64_t step_ms, int timeout_ms, struct fw_vector *out, fw_err_t *err);

void fw_vector_clear(struct fw_vector *v);

#endif
