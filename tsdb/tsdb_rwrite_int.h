/*  tsdb_rwrite_int.h — private to the remote-write receiver: its structs and the functions
    its files share.

    Only tsdb_rwrite.c and tsdb_rwrite_batch.c include this header (tsdb_rwrite.c's opening
    comment says which file does what); the rest of tsdb uses tsdb_rwrite.h, where
    tsdb_rwrite_t is opaque. The functions here are named tsdb_rwrite_int_*; each file keeps
    its own s_* statics. Threads: a receiver's members after its lock are guarded by it; a
    request (struct tsdb_rwrite_req) and the channel it took are its HTTP thread's alone.
*/
#ifndef TSDB_RWRITE_INT_H
#define TSDB_RWRITE_INT_H

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_json_out.h"
#include "tsdb_metadata.h"
#include "tsdb_rwproto.h"
#include "tsdb_rwrite.h"
#include "tsdb_store.h"

// A channel to tsdb's samples ROUTER, taken by one request at a time.
struct tsdb_rwrite_chan {
    zsock_t *sock; // owned: DEALER to the samples ROUTER
    char id[FW_MSG_SENDER_MAX + 1];
    uint64_t seq; // the last batch number given out
    bool busy;    // taken by a request
};

// The receiver (tsdb_rwrite_t).
struct tsdb_rwrite {
    tsdb_store_t *store;       // borrowed
    tsdb_metadata_t *metadata; // borrowed; NULL: metadata not kept
    fw_metrics_t *metrics;     // borrowed
    char endpoint[64];         // the inproc endpoint bound on the samples ROUTER
    pthread_mutex_t lock;      // guards the members below
    pthread_cond_t free;       // a channel was given back, or stop
    struct tsdb_rwrite_chan chans[TSDB_RWRITE_CHANNELS];
    size_t n_chans;
    bool stopping;
    int64_t log_ms; // the last bad request logged
    size_t unlogged;
};

// One request's work: the decompressed body and buffers reused series to series.
struct tsdb_rwrite_req {
    int version;                     // TSDB_RWPROTO_V1 or _V2
    struct tsdb_rwproto_symbols sym; // 2.0: the request's symbols
    const unsigned char *pb;         // the WriteRequest
    size_t pb_len;
    struct tsdb_rwproto_label *labels; // one series' labels, sorted
    size_t n_labels, cap_labels;
    struct fw_json_out enc; // the batch's encoded series (bytes)
    size_t enc_series;
    bool enc_st;   // a series of the batch carries start times: SAMPLES v4
    char *invalid; // the first invalid series' reason (owned)
    size_t invalid_samples, samples;
    size_t out_of_order, duplicate, too_old; // refused by the store (SAMPLES_ACK)
    char *ltext;                             // the gathered labels, NUL-terminated (s_view)
    size_t ltext_cap;
    struct fw_labels view;                // items (owned array) point into ltext
    tsdb_store_reader_t *reader;          // owned, opened by the first series the head lacks
    const struct tsdb_rwproto_label *dup; // gather's S_LBL_DUP: the second of the name sent twice
    // 2.0: one bit per sample of the valid series (in request order), set for a refused
    // one, which is not stored (NULL while none is)
    unsigned char *refused;
    size_t n_refused;
    size_t all_samples; // the request's samples (tsdb_rwproto_check's count)
};

// ---------------------------------------------------------------------------------------
// tsdb_rwrite.c: a request's series

// Gather s's labels into r->labels, sorted by name, those with an empty value left out;
// 0 when the set is valid, else why not (tsdb_rwrite.c's S_LBL_*, where it is described).
int tsdb_rwrite_int_gather(struct tsdb_rwrite_req *r, const struct tsdb_rwproto_series *s);
// How many samples s holds; *ahead is set when one lies after max_t (left alone if not).
size_t tsdb_rwrite_int_count_samples(const struct tsdb_rwproto_series *s, int64_t max_t,
                                     bool *ahead);

// ---------------------------------------------------------------------------------------
// tsdb_rwrite_batch.c: channels and batches

// A free channel, connected the first time it is used; blocks up to
// TSDB_RWRITE_ACK_TIMEOUT_MS while all TSDB_RWRITE_CHANNELS are taken. NULL with err when
// none came free, tsdb stops, or the connect failed. Give it back with
// tsdb_rwrite_int_chan_give.
struct tsdb_rwrite_chan *tsdb_rwrite_int_chan_take(tsdb_rwrite_t *self, fw_err_t *err);
// Give c back and wake a request waiting for one.
void tsdb_rwrite_int_chan_give(tsdb_rwrite_t *self, struct tsdb_rwrite_chan *c);
// Every valid series of r (valid[i] for the i-th) but its refused samples, encoded into
// SAMPLES batches on c, then every acknowledgement waited for (the store's refusals they
// report added to r). 0, or -1 with err (timeout, stop, a batch lost or not taken).
int tsdb_rwrite_int_store(tsdb_rwrite_t *self, struct tsdb_rwrite_req *r, const bool *valid,
                          struct tsdb_rwrite_chan *c, fw_err_t *err);

#endif
