/*  tsdb_gate.h — the limit on queries evaluated at once (--query.max-concurrency).

    Every query, from HTTP or ZeroMQ, enters the gate before it is evaluated and leaves it
    after, as Prometheus's ActiveQueryTracker does: past the limit a query waits (in no
    particular order: a condition variable) until another leaves, its deadline passes, or
    its cancel flag is set. Thread-safe; the waiting is on the caller's thread (an HTTP
    connection thread or a ZeroMQ query worker), never on the ingest loop.
*/
#ifndef TSDB_GATE_H
#define TSDB_GATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tsdb_gate tsdb_gate_t;

// A gate letting max queries through at once (max >= 1). Cannot fail.
tsdb_gate_t *tsdb_gate_new(int max);
// Free; no query may be inside or waiting. NULL-safe; sets *self_p NULL.
void tsdb_gate_destroy(tsdb_gate_t **self_p);

// Enter, waiting while the gate is full: 0 once inside (then tsdb_gate_leave once), or -1
// when deadline_mono_ms (fw_time_mono_ms() clock; 0: none) passed or *cancel (may be NULL)
// was set first. The cancel flag is looked at every 100 ms while waiting.
int tsdb_gate_enter(tsdb_gate_t *self, int64_t deadline_mono_ms, const atomic_bool *cancel);
void tsdb_gate_leave(tsdb_gate_t *self);

// Queries inside now, and the limit.
size_t tsdb_gate_running(tsdb_gate_t *self);
int tsdb_gate_max(const tsdb_gate_t *self);

#endif
