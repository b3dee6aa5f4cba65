/*  scraper_work.h — a scrape's CPU work, off the scraper's loop: a pool of worker threads.

    What a scrape costs beyond the network — parsing the body, merging target labels,
    metric_relabel_configs, limits, staleness, building and encoding the SAMPLES batches —
    grows with the target's size: a target of 400,000 series takes the better part of a
    second. On the zloop thread that would hold every other target's timer and the sender's
    acknowledgements, so each fetched body goes to a worker instead (the loop makes and holds
    the job when the scrape starts, the fetch actor hands it over with the body: see
    scraper_work_hold) and the loop gets the finished job back: encoded SAMPLES frames
    (not yet numbered; fw_sender_send_frames does that on the loop, as fw_sender is not
    thread-safe), the exemplars, and the figures for health and metrics.

    Each worker is a zactor with its own parser and label scratch. A target always goes to
    the same worker (a hash of its labels). Jobs travel as pointers: to a worker on its actor
    pipe, back on one PUSH/PULL pair shared by the workers (so the loop polls one socket for
    them all, whatever their number: each polled socket costs every loop iteration); a
    target has at most one job in the pipeline (the loop skips a target's scrape while its
    previous one is fetched or processed, as Prometheus skips overlapping scrapes), so the
    queues are bounded by the number of targets. While a job is out the worker owns the
    target's series memory (scraper_target_track/sweep) and its scrape cache (t->cache,
    scraper_cache.h: what each series text became after the merge and metric relabeling):
    the loop must neither touch them nor free the target until the job is back. The metric
    relabel rules are borrowed from the config of generation `gen`, which the loop keeps
    until every job of that generation is back; a target's cache is emptied when its scrape
    comes with a newer generation. A known series costs a hash of its text and a lookup; its
    encoded labels are copied from the cache straight into the SAMPLES frame, which is sized
    before it is written, so a scrape of known series allocates nothing per sample.

    A SAMPLES batch is encoded in parts of at most SCRAPER_WORK_BATCH_SERIES series or about
    SCRAPER_WORK_BATCH_BYTES of labels, so a large target fits tsdb's --zmq.max-msg-size.
*/
#ifndef SCRAPER_WORK_H
#define SCRAPER_WORK_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_relabel.h"
#include "fw_sender_refs.h"
#include "scraper_fetch.h"
#include "scraper_target.h"

#define SCRAPER_WORK_BATCH_SERIES 20000
#define SCRAPER_WORK_BATCH_BYTES (8 << 20)

// What one scrape's samples came to.
struct scraper_work_tally {
    size_t post;       // samples after metric relabeling
    size_t added;      // series new since the last scrape
    size_t dropped;    // sample_limit_mode drop_excess: samples of series beyond the limit
    const char *limit; // the limit that failed the scrape ("sample_limit", "label"), or NULL
};

struct scraper_work_job {
    // in, set by the loop
    struct scraper_target *target;       // borrowed: kept alive and untouched until the job is back
    struct scraper_fetch_result res;     // owned: the fetch's answer (moved in)
    int64_t ts;                          // the scrape's wall-clock start, ms
    const struct fw_relabel_config *mrc; // borrowed (config generation gen): the job's
    size_t n_mrc;                        // metric_relabel_configs
    size_t job_index;                    // the job's index in the config
    uint64_t gen;                        // the config's generation
    int64_t sample_limit;                // the default when the target sets none
    int64_t label_value_length_limit;    // the default when the target sets none
    size_t worker;                       // set by scraper_work_hold: the target's worker
    const char *sender;                  // borrowed: the SAMPLES sender id
    fw_sender_refs_t *refs;              // borrowed, or NULL: the sender's series refs (the
                                         // same for every job of the scraper)
    // out, set by the worker
    bool failed;     // the scrape failed (up 0)
    char error[256]; // why, when failed
    ssize_t n;       // samples parsed
    struct scraper_work_tally tally;
    size_t stale;             // stale markers added
    size_t exemplars_dropped; // by the parser
    zmsg_t **frames;          // owned: encoded SAMPLES parts, seq not yet set
    size_t *frame_samples;    // samples in each
    unsigned *frame_kinds;    // what each holds: FW_SENDER_REFS_DEFS and/or _USES
    size_t n_frames;
    uint64_t refs_gen; // the refs generation the frames were encoded under
    json_t *exemplars; // owned, or NULL: the scrape's exemplars
    json_t *metadata;  // owned, or NULL: METADATA's list, when it is to be sent (scraper_meta.h)
    double work_s;     // CPU time of the job on its worker (thread clock)
};

typedef struct scraper_work scraper_work_t;

// n worker threads (at least 1). NULL only if czmq fails.
scraper_work_t *scraper_work_new(size_t n);
// Stop the workers (each finishes the job it is on); jobs not returned are freed with the
// pool: the caller must not free them again (scraper_work_outstanding says which are out).
void scraper_work_destroy(scraper_work_t **self_p);

// Called on the loop thread for each finished job; it takes the job (free it with
// scraper_work_job_destroy).
typedef void(scraper_work_done_fn)(struct scraper_work_job *job, void *arg);
// Read finished jobs from loop: it polls the pool's socket of finished jobs by its
// descriptor (scraper_work_fd) and calls scraper_work_read when that signals. loop NULL: only
// done and arg are set, for a caller that polls the descriptor itself. 0, or -1 when the
// socket has no descriptor or loop refuses it.
int scraper_work_attach(scraper_work_t *self, zloop_t *loop, scraper_work_done_fn *done, void *arg);
void scraper_work_detach(scraper_work_t *self, zloop_t *loop);
// The descriptor of the pool's socket of finished jobs (its ZMQ_FD), or -1. Readable means
// "call scraper_work_read", not that a job is there; it is edge-triggered: after a read, it
// signals only for what comes later, so the caller must read each time it signals.
int scraper_work_fd(const scraper_work_t *self);
// On the loop's thread: every finished job waiting, up to 256, to the done function, then
// the round function (scraper_work_on_round) once if there was one. Reads until a read finds
// the socket empty, which leaves the descriptor to signal the next job (scraper_work.c says
// why no ZMQ_EVENTS is asked after it). true when it stopped at 256 with more perhaps
// waiting: call it again soon (the descriptor will not signal for those). attach's loop
// does both.
bool scraper_work_read(scraper_work_t *self);
// How many times scraper_work_read found the socket empty (two system calls each, libzmq's
// getpid and poll, as a ZMQ_EVENTS): for the scraper's fw_scraper_loop_socket_checks_total.
uint64_t scraper_work_checks(const scraper_work_t *self);
// Called on the loop thread (with attach's arg) after each read of finished jobs, once the
// round's done calls are over: where the owner does what the round's jobs have in common
// (the scraper sends their batches together). fn NULL: none.
typedef void(scraper_work_round_fn)(void *arg);
void scraper_work_on_round(scraper_work_t *self, scraper_work_round_fn *fn);

// Hand *job_p (taken; set to NULL) to its target's worker. Never blocks: 0, or -1 when the
// worker's queue is full (the job is then left with the caller).
int scraper_work_submit(scraper_work_t *self, struct scraper_work_job **job_p);
// The same in two steps, so that another thread can hand the job over once its body is
// fetched: on the loop's thread, the pool takes job over (it is freed with the pool from
// now, and comes back to the done function once handed)...
void scraper_work_hold(scraper_work_t *self, struct scraper_work_job *job);
// ...on any one thread (only ever that one: the worker pipes are not thread-safe), hand it
// to its worker. Never blocks: 0, or -1 when the worker's queue is full (the job is still
// held: give it back with scraper_work_unhold on the loop's thread).
int scraper_work_hand(scraper_work_t *self, struct scraper_work_job *job);
// On the loop's thread: the pool lets go of a held job not handed over (the caller frees it).
void scraper_work_unhold(scraper_work_t *self, struct scraper_work_job *job);
// Jobs handed out and not yet back.
size_t scraper_work_outstanding(const scraper_work_t *self);
// How many times the loop read finished jobs (one read takes every job waiting): the loop's
// wake-ups for them, for the scraper's self-metrics and tests.
uint64_t scraper_work_rounds(const scraper_work_t *self);

// A lane runs held jobs on the thread that has them in hand and returns them to the loop
// as the workers do, so a small scrape does not wake a worker thread (and its body is
// parsed where it was just received): the fetch actor runs a job there when it is small
// (scraper_work_small), and hands the others to the workers. A lane has its own parser
// state; one thread only uses it (its socket to the loop is made on the first run).
// NULL only if the pool is NULL.
#define SCRAPER_WORK_SMALL_BYTES (1 << 20) // body bytes
#define SCRAPER_WORK_SMALL_SERIES 10000    // series the target had (its stale markers)
#define SCRAPER_WORK_SMALL_OTHERS 8        // other transfers in flight (a start slot's)
typedef struct scraper_work_lane scraper_work_lane_t;
scraper_work_lane_t *scraper_work_lane_new(scraper_work_t *pool);
// Destroy after the thread that used it stopped, and before the pool.
void scraper_work_lane_destroy(scraper_work_lane_t **self_p);
// Whether held job is small enough to run in a lane: its body (fetched) and the series its
// target had, which a failed scrape marks stale, are small, and the fetch actor had at most
// SCRAPER_WORK_SMALL_OTHERS other transfers in flight (when many scrapes overlap, the
// workers take them: parsing on the actor's thread would serialise them; the few that start
// together in one slot, scraper.c, are cheaper in a row on the actor than a worker's wake-up
// each).
bool scraper_work_small(const struct scraper_work_job *job);
// Run held job now, on the calling thread, and queue it for the loop (its done function gets
// it after scraper_work_lane_flush). Its body may be lent (scraper_fetch_result.data): read
// during this call only. 0, or -1 when the lane cannot return it (the job was not run and is
// still held: hand it over as usual).
int scraper_work_lane_run(scraper_work_lane_t *self, struct scraper_work_job *job);
// Send the jobs run since the last flush back to the loop, together: the loop reads them in
// one wake-up. The fetch actor calls it at the end of each round (scraper_fetch_on_round), so
// a job waits at most for the other answers of its round. NULL does nothing.
void scraper_work_lane_flush(scraper_work_lane_t *self);
// Jobs the lane ran.
uint64_t scraper_work_lane_runs(const scraper_work_lane_t *self);

struct scraper_work_job *scraper_work_job_new(void);
void scraper_work_job_destroy(struct scraper_work_job **job_p);

// The work itself, on the calling thread with its own state (tests, benchmarks): what a
// worker does with one job.
typedef struct scraper_work_state scraper_work_state_t;
scraper_work_state_t *scraper_work_state_new(void);
void scraper_work_state_destroy(scraper_work_state_t **self_p);
void scraper_work_run(scraper_work_state_t *self, struct scraper_work_job *job);

#endif
