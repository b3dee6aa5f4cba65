/*  tsdb_rwsend_late.c — a remote-write shard's late samples (see tsdb_rwsend_late.h).

    The records are read once per drain; their samples in slices of at most job->cap, each
    read with a reader of its own and sent after the reader is gone, so that no read
    transaction lives across a request (LMDB could not reuse pages meanwhile).
*/
#include "tsdb_rwsend_late.h"

#include <lmdb.h>

#include "fw_mem.h"

// Send e[0..n) in requests of at most per. 0, or -1 when stopped.
static int
s_flush(const struct tsdb_rwsend_late_job *job, const struct tsdb_rwsend_late_ops *ops, size_t n,
        struct tsdb_rwsend_late_count *count)
{
    for (size_t a = 0; a < n; a += job->per) {
        size_t m = n - a < job->per ? n - a : job->per;
        int rc = ops->send(ops->arg, *job->e + a, m);
        if (rc < 0)
            return -1;
        if (rc > 0)
            count->sent += m;
        else
            count->failed += m;
    }
    return 0;
}

int
tsdb_rwsend_late_drain(const struct tsdb_rwsend_late_job *job,
                       const struct tsdb_rwsend_late_ops *ops, struct tsdb_rwsend_late_count *count,
                       fw_err_t *err)
{
    struct tsdb_store_late recs[TSDB_RWSEND_LATE_RECORDS];
    size_t n_recs = 0;
    tsdb_store_reader_t *r = tsdb_store_reader_new(job->store, err);
    if (!r)
        return -1;
    tsdb_store_reader_see_all(r); // a sender, not a query: every sample appended
    int rc = tsdb_store_late_list(r, job->key, job->mod, job->rem, job->after, recs,
                                  TSDB_RWSEND_LATE_RECORDS, &n_recs, err);
    size_t i = 0;
    int64_t from = n_recs ? recs[0].mint : 0;
    while (rc == 0 && i < n_recs) {
        // one slice: from record i's sample at from on, up to cap samples
        if (!r && !(r = tsdb_store_reader_new(job->store, err))) {
            rc = -1;
            break;
        }
        tsdb_store_reader_see_all(r);
        size_t n = 0;
        while (rc == 0 && i < n_recs && n < job->cap) {
            const struct tsdb_store_late *rec = &recs[i];
            int64_t hi = rec->maxt < job->pos ? rec->maxt : job->pos;
            bool whole = true;
            if (from <= hi) {
                uint32_t set = ops->set_of(ops->arg, r, rec->id);
                struct tsdb_store_iter it;
                tsdb_store_iter_init(&it, r, rec->id, from, hi);
                while (tsdb_store_iter_next(&it)) {
                    if (it.t < job->age_min || set == TSDB_RWSEND_LATE_DROPPED) {
                        count->dropped++;
                        continue;
                    }
                    fw_mem_grow((void **)job->e, job->cap_e, n + 1, sizeof(**job->e));
                    (*job->e)[n++] = (struct tsdb_rwsend_entry){set, it.t, it.v};
                    if (n == job->cap) {
                        from = it.t + 1; // the next slice goes on after it
                        whole = it.t == hi;
                        break;
                    }
                }
                if (tsdb_store_iter_err(&it) != 0) {
                    fw_err_set(err, "reading series %llu: %s", (unsigned long long)rec->id,
                               mdb_strerror(tsdb_store_iter_err(&it)));
                    rc = -1;
                }
            }
            if (whole && ++i < n_recs)
                from = recs[i].mint;
        }
        tsdb_store_reader_destroy(&r);
        if (rc == 0 && s_flush(job, ops, n, count) != 0) {
            fw_err_set(err, "stopped");
            rc = -1;
        }
    }
    tsdb_store_reader_destroy(&r);
    if (rc == 0 && n_recs > 0) {
        rc = tsdb_store_late_done(job->store, job->key, recs, n_recs, err);
        if (rc == 0)
            count->records += n_recs;
    }
    return rc;
}
