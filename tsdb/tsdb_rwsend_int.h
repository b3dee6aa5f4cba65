/*  tsdb_rwsend_int.h — private to the remote-write sender: its structs and the functions its
    files share.

    Only tsdb_rwsend.c, tsdb_rwsend_read.c, tsdb_rwsend_shard.c and tsdb_rwsend_http.c
    include this header (tsdb_rwsend.c's opening comment says which file does what); the
    rest of tsdb uses tsdb_rwsend.h, where tsdb_rwsend_t is opaque. The functions here are
    named tsdb_rwsend_int_*; each file keeps its own s_* statics. Threads: a queue's fields
    after its lock are guarded by it; a shard's cycle is its thread's alone.
*/
#ifndef TSDB_RWSEND_INT_H
#define TSDB_RWSEND_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"
#include "fw_sample.h"
#include "fw_json_out.h"
#include "fw_tlsfiles.h"
#include "tsdb_metadata.h"
#include "tsdb_rwsend.h"
#include "tsdb_rwsend_meta.h"
#include "tsdb_rwsend_shards.h"
#include "tsdb_rwsend_sort.h"
#include "tsdb_store.h"

struct tsdb_rwsend_queue;

struct tsdb_rwsend_shard {
    struct tsdb_rwsend_queue *q; // borrowed: the queue it belongs to
    size_t index;
    pthread_t thread;
    bool started;
    bool fresh; // the queue's first shards: they wait for the store to settle first
    struct tsdb_rwsend_meta_conn conn; // owned
};

// One remote_write entry.
struct tsdb_rwsend_queue {
    tsdb_rwsend_t *owner;                      // borrowed
    const struct fw_remote_write_config *conf; // borrowed from the running config
    struct fw_labels external;                 // owned copy of global.external_labels
    char *path;                                // owned: the position file
    char *metric_labels;                       // owned: remote_name="..."
    pthread_mutex_t lock;                      // guards what follows
    pthread_cond_t wake;                       // stop, or a barrier set
    bool stopping;
    int64_t barrier; // resharding: shards stop at this position (INT64_MAX: none)
    int64_t *pos;    // per shard: everything up to this timestamp is done
    size_t n_shards, min_shards, max_shards; // running, and the bounds (pos, shards: max)
    struct tsdb_rwsend_shard *shards;
    pthread_t manager; // decides the number of shards, starts and stops them
    bool manager_started;
    struct tsdb_rwsend_ewma in, out, dropped, send; // see tsdb_rwsend_shards.h
    double in_samples, in_span_ms; // read since the last tick, and the time they cover
    int64_t last_send_ms;          // the last request the receiver accepted
    char *token;                   // owned: azuread access token, or NULL
    int64_t token_expiry_s;
    fw_tlsfiles_t *tls_files; // owned: tls_config's files as the last post read them
    tsdb_rwsend_meta_t *meta; // owned: metadata_config's sender, or NULL
    uint64_t late_key;        // its late-sample records in the store (0: not watched)
};

struct tsdb_rwsend {
    tsdb_metadata_t *metadata; // borrowed: what metadata_config sends, or NULL
    tsdb_store_t *store;       // borrowed
    char *dir;                 // owned
    fw_metrics_t *metrics;     // borrowed
    struct tsdb_rwsend_queue **queues;
    size_t n_queues;
};

#define TSDB_RWSEND_INT_DROPPED UINT32_MAX // a series write_relabel_configs drop

// A series a shard has read: its labels as sent (where its last read stopped decoding is
// the same index of tsdb_rwsend_cycle.tails).
struct tsdb_rwsend_known {
    uint32_t set; // index in tsdb_rwsend_cycle.sets, or TSDB_RWSEND_INT_DROPPED
};

// A shard's series, relabeled once (a series id's labels never change in the store), and
// the samples of its cycle.
struct tsdb_rwsend_cycle {
    struct fw_labels *sets; // owned: the kept series' labels as sent
    size_t n_sets, cap_sets;
    struct tsdb_rwsend_known *known; // owned
    size_t n_known, cap_known;
    struct tsdb_store_tail *tails; // owned: known's series, read window after window
    size_t cap_tails;
    bool *slow; // owned: per known series, this window: read through an iterator
    size_t cap_slow;
    struct tsdb_store_resume *prev; // owned: the known series' marks before this window
    size_t n_prev, cap_prev;
    uint64_t *map_id;  // owned: open addressing, series id -> map_val
    uint32_t *map_val; // owned: 0 empty, else the index in known + 1
    size_t n_map, cap_map;
    struct tsdb_rwsend_entry *e, *tmp; // owned: the samples, and room to sort them
    size_t n, cap, cap_tmp;
    size_t read; // the window's samples before the capacity cut
    // the requests' buffers (tsdb_rwsend_shard.c), kept from request to request
    struct fw_json_out pb;
    struct fw_sample *smp;
    size_t cap_smp;
    const char **names, **values;
    size_t cap_names, cap_values;
};

// tsdb_rwsend.c: the queue's lock

// Write q's positions down (<name>.pos, fsync'd, renamed into place); a failure is logged.
// Under q's lock.
void tsdb_rwsend_int_pos_save(struct tsdb_rwsend_queue *q);
// Whether q is stopping (takes q's lock).
bool tsdb_rwsend_int_stopping(struct tsdb_rwsend_queue *q);
// Sleep up to ms, or less when the queue stops (or, when drain, a barrier is set). False
// when it stops.
bool tsdb_rwsend_int_sleep_until(struct tsdb_rwsend_queue *q, int64_t ms, bool drain);
// tsdb_rwsend_int_sleep_until without drain.
bool tsdb_rwsend_int_sleep(struct tsdb_rwsend_queue *q, int64_t ms);
// Add n to q's counter name (labelled with its remote_name).
void tsdb_rwsend_int_count(struct tsdb_rwsend_queue *q, const char *name, double n);

// tsdb_rwsend_read.c: a shard's window

// Forget the cycle's series (the samples too); its buffers stay.
void tsdb_rwsend_int_cycle_forget(struct tsdb_rwsend_cycle *c);
// Series id as read before, or NULL.
struct tsdb_rwsend_known *tsdb_rwsend_int_known_find(const struct tsdb_rwsend_cycle *c,
                                                     uint64_t id);
// Series id, read through r and relabeled the first time (stored: scratch labels; *res:
// where its first read stopped); NULL when its record cannot be read (not remembered:
// tried again). The result points into c, valid until the next add.
struct tsdb_rwsend_known *tsdb_rwsend_int_known_add(struct tsdb_rwsend_queue *q,
                                                    tsdb_store_reader_t *r,
                                                    struct tsdb_rwsend_cycle *c, uint64_t id,
                                                    struct fw_labels *stored,
                                                    const struct tsdb_store_resume *res);
// Shard s's samples in (from, *to] into c, sorted by time, at most capacity (plus those
// sharing the last timestamp): *to moves back to the last one kept when there were more;
// *dropped counts the samples too old or of dropped series. 0 or -1 with err.
int tsdb_rwsend_int_read(struct tsdb_rwsend_shard *s, int64_t from, int64_t *to,
                         struct tsdb_rwsend_cycle *c, size_t *dropped, fw_err_t *err);

// tsdb_rwsend_shard.c

// A shard's thread (arg: its struct tsdb_rwsend_shard), until the queue stops or, when
// resharding, the shard reaches the barrier.
void *tsdb_rwsend_int_shard_run(void *arg);

// tsdb_rwsend_http.c

// One POST of body (len bytes) for q on c's easy handle (reset first), with tls_config's
// files as they are on disk now (q->tls_files, under q's lock: a stat each, read again when
// changed, given to curl as blobs). When one's content changed since c's last post, c's
// handle is replaced first, which closes its connections (made under the old content), and
// the post opens a new one. The HTTP status (0: transport error, or a TLS file that cannot
// be read: "unable to read CA cert: unable to read file PATH: REASON", with err; >= 300 with
// the answer's start in err), or -1 when stopped.
long tsdb_rwsend_int_post(struct tsdb_rwsend_queue *q, struct tsdb_rwsend_meta_conn *c,
                          const char *body, size_t len, fw_err_t *err);

#endif
