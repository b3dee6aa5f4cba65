/*  ruled_test_tsdb.h — a private tsdb for `ruled test`: the real tsdb binary, started on a
    fresh temporary data directory, spoken to over ZeroMQ only.
    ruled may not link tsdb's code (daemons meet on the wire), so a rule unit test runs its
    rules the way the daemon does: SAMPLES pushed through fw_sender and acknowledged, QUERY
    answered by tsdb's own evaluator. The endpoints are ipc:// sockets inside the temporary
    directory, so no TCP port is taken except tsdb's HTTP listener, which binds
    127.0.0.1:0 (any free port; nothing asks it). tsdb runs with retention off (tests live
    in 1970) and a 1 ms commit interval (every push waits for its acknowledgement). Stopping
    it kills it (SIGTERM, then SIGKILL after 5 s) by its PID and removes the directory; the
    child also gets SIGKILL when ruled dies (PR_SET_PDEATHSIG).
*/
#ifndef RULED_TEST_TSDB_H
#define RULED_TEST_TSDB_H

#include <stdint.h>

#include "fw_err.h"
#include "fw_msg.h"
#include "fw_query.h"

typedef struct ruled_test_tsdb ruled_test_tsdb_t;

// The tsdb binary to run: $FW_TSDB when set, else "tsdb" next to the running executable
// (/proc/self/exe), else "tsdb" from PATH. Returns a new string.
char *ruled_test_tsdb_binary(void);

// Start bin on a new directory under $TMPDIR (else /dev/shm, else /tmp) and wait (at most
// 10 s) until it answers a query. NULL with err when it cannot start.
ruled_test_tsdb_t *ruled_test_tsdb_start(const char *bin, fw_err_t *err);

// Send *batch_p (taken; set to NULL) and wait (at most 30 s) until tsdb acknowledges it.
// 0, or -1 with err.
int ruled_test_tsdb_push(ruled_test_tsdb_t *self, struct fw_batch **batch_p, fw_err_t *err);

// ruled_query_fn with arg the tsdb: evaluate expr at t_ms (30 s at most). err holds tsdb's
// message as ruled_test_tsdb_error_text() trims it; a matrix or string result is "rule result
// is not a vector or scalar", as Prometheus says.
int ruled_test_tsdb_query(void *self, const char *expr, int64_t t_ms, struct fw_vector *out,
                          fw_err_t *err);

// Evaluate expr every step_ms over [start_ms, end_ms] (fw_query_range: every point of every
// series). 0, or -1 with err.
int ruled_test_tsdb_range(ruled_test_tsdb_t *self, const char *expr, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, struct fw_vector *out, fw_err_t *err);

// msg without tsdb's error type in front ("bad_data: ", "execution: ") nor the API's
// 'invalid parameter "query": ', as promtool shows errors: a pointer into msg.
const char *ruled_test_tsdb_error_text(const char *msg);

// Stop the process, remove its directory, free (NULL-safe; sets *self_p to NULL).
void ruled_test_tsdb_stop(ruled_test_tsdb_t **self_p);

#endif
