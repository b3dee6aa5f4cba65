/*  tsdb_rread.c — POST /api/v1/read (see tsdb_rread.h).

    A request is decoded and its matchers made on the HTTP thread that took it. SAMPLES
    answers are built there in one read transaction per query. A streamed answer is a
    state machine fw_http drives (struct fw_http_response's stream): each call makes the
    next frame, for the series where the last one stopped, in a read transaction of its
    own, and the request's concurrency slot is held until fw_http frees the stream.
*/
#include "tsdb_rread.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_extlabels.h"
#include "fw_json_out.h"
#include "tsdb_pb.h"
#include "tsdb_rread_proto.h"
#include "tsdb_rwproto.h"
#include "tsdb_xor.h"

struct tsdb_rread {
    tsdb_store_t *store;   // borrowed
    fw_metrics_t *metrics; // borrowed
    struct tsdb_rread_opts opts;
    pthread_mutex_t lock;           // guards running
    pthread_cond_t free;            // a slot was given back
    struct tsdb_extlabels external; // global.external_labels
    int64_t running;
};

// One query, ready to run.
struct s_query {
    struct fw_matcher *ms; // owned, compiled
    size_t n;
    int64_t mint, maxt;
    bool series_only; // hints func "series"
};

static const char *const s_type_names[] = {"samples", "streamed_xor_chunks"};

static void
s_count(tsdb_rread_t *self, int type, int code)
{
    char lbl[80];
    snprintf(lbl, sizeof(lbl), "type=\"%s\",code=\"%d\"", s_type_names[type ? 1 : 0], code);
    fw_metrics_add(self->metrics, "fw_tsdb_remote_read_requests_total", lbl, 1);
}

static void
s_text(struct fw_http_response *resp, int status, const char *msg)
{
    char *t = fw_malloc(strlen(msg) + 2);
    sprintf(t, "%s\n", msg); // http.Error's text: the message and a newline
    resp->status = status;
    resp->body = t;
    resp->body_len = 0;
    resp->content_type = "text/plain; charset=utf-8";
    resp->headers[0].name = "X-Content-Type-Options";
    snprintf(resp->headers[0].value, sizeof(resp->headers[0].value), "nosniff");
}

// ---------------------------------------------------------------------------------------
// The concurrency gate

static bool
s_gate_take(tsdb_rread_t *self)
{
    if (self->opts.concurrency <= 0)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += TSDB_RREAD_GATE_WAIT_MS / 1000;
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (self->running >= self->opts.concurrency && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&self->free, &self->lock, &until);
    bool ok = self->running < self->opts.concurrency;
    if (ok)
        self->running++;
    pthread_mutex_unlock(&self->lock);
    return ok;
}

static void
s_gate_give(tsdb_rread_t *self)
{
    if (self->opts.concurrency <= 0)
        return;
    pthread_mutex_lock(&self->lock);
    self->running--;
    pthread_cond_signal(&self->free);
    pthread_mutex_unlock(&self->lock);
}

// ---------------------------------------------------------------------------------------
// Queries

static void
s_queries_free(struct s_query *qs, size_t n)
{
    for (size_t k = 0; qs && k < n; k++) {
        for (size_t i = 0; i < qs[k].n; i++)
            fw_matcher_clear(&qs[k].ms[i]);
        free(qs[k].ms);
    }
    free(qs);
}

// The request's queries with compiled matchers, external labels filtered as Prometheus's
// filterExtLabelsFromMatchers does. 0, or -1 with err (Prometheus: a 500).
static int
s_queries(const struct tsdb_rread_request *req, const struct fw_labels *ext, struct s_query **out,
          fw_err_t *err)
{
    struct s_query *qs = fw_calloc(req->n + 1, sizeof(*qs));
    for (size_t k = 0; k < req->n; k++) {
        const struct tsdb_rread_query *q = &req->queries[k];
        struct s_query *o = &qs[k];
        o->ms = fw_calloc(q->n_matchers + 1, sizeof(*o->ms));
        o->mint = q->start_ms;
        o->maxt = q->end_ms;
        if (q->has_hints) {
            o->mint = q->hints.start_ms > o->mint ? q->hints.start_ms : o->mint;
            o->maxt = q->hints.end_ms < o->maxt ? q->hints.end_ms : o->maxt;
            o->series_only = strcmp(q->hints.func, "series") == 0;
        }
        for (size_t i = 0; i < q->n_matchers; i++) {
            const struct fw_matcher *m = &q->matchers[i];
            if ((int)m->op < 0) {
                fw_err_set(err, "invalid matcher type");
                goto fail;
            }
            const char *ev = fw_labels_get(ext, m->name);
            const char *value =
                m->op == FW_MATCH_EQ && strcmp(ev ? ev : "", m->value) == 0 ? "" : m->value;
            if (fw_matcher_init(&o->ms[o->n], m->op, m->name, value, FW_REGEX_PROMETHEUS, err) != 0)
                goto fail;
            o->n++;
        }
    }
    *out = qs;
    return 0;
fail:
    s_queries_free(qs, req->n);
    return -1;
}

static int
s_series_cmp(const void *a, const void *b)
{
    const struct tsdb_store_series *x = a, *y = b;
    return fw_labels_cmp(&x->labels, &y->labels);
}

// The series q selects, sorted by labels. 0 or -1.
static int
s_select(tsdb_store_reader_t *r, const struct s_query *q, struct tsdb_store_series **out, size_t *n,
         fw_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (q->n == 0 || q->mint > q->maxt)
        return 0; // Prometheus's Select without matchers finds nothing
    if (tsdb_store_select(r, q->ms, q->n, out, n, err) != 0)
        return -1;
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), s_series_cmp);
    return 0;
}

// l's labels merged with ext's where l lacks them, in name order, as parallel arrays (room
// for l->len + ext->len); the count.
static size_t
s_merged(const struct fw_labels *l, const struct fw_labels *ext, const char **names,
         const char **values)
{
    size_t i = 0, j = 0, n = 0;
    while (i < l->len || j < ext->len) {
        int c = i == l->len ? 1 : j == ext->len ? -1 : strcmp(l->items[i].name, ext->items[j].name);
        const struct fw_label *x = c <= 0 ? &l->items[i++] : &ext->items[j];
        if (c >= 0)
            j++;
        names[n] = x->name;
        values[n++] = x->value;
    }
    return n;
}

static int
s_iter_fail(const struct tsdb_store_iter *it, uint64_t id, fw_err_t *err)
{
    return fw_err_set(err, "reading series %llu: %s", (unsigned long long)id,
                      mdb_strerror(tsdb_store_iter_err(it))),
           -1;
}

// ---------------------------------------------------------------------------------------
// SAMPLES

// One query's QueryResult into qr; *total counts the samples. 0; 400 over a limit; -1
// storage error; with err.
static int
s_result(tsdb_rread_t *self, const struct s_query *q, const struct fw_labels *ext,
         struct fw_json_out *qr, size_t done_bytes, uint64_t *total, fw_err_t *err)
{
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, err);
    if (!r)
        return -1;
    struct tsdb_store_series *ss;
    size_t n;
    if (s_select(r, q, &ss, &n, err) != 0) {
        tsdb_store_reader_destroy(&r);
        return -1;
    }
    struct fw_sample *pts = NULL;
    size_t cap = 0, maxl = 0;
    for (size_t k = 0; k < n; k++)
        maxl = ss[k].labels.len > maxl ? ss[k].labels.len : maxl;
    const char **names = fw_calloc(maxl + ext->len + 1, sizeof(*names));
    const char **values = fw_calloc(maxl + ext->len + 1, sizeof(*values));
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ss[k].id, q->mint, q->maxt);
        size_t np = 0;
        while (tsdb_store_iter_next(&it)) {
            if (q->series_only) {
                np = 1;
                break;
            }
            if (self->opts.sample_limit > 0 && *total >= (uint64_t)self->opts.sample_limit) {
                fw_err_set(err, "exceeded sample limit (%lld)", (long long)self->opts.sample_limit);
                rc = 400;
                break;
            }
            fw_mem_grow((void **)&pts, &cap, np + 1, sizeof(*pts));
            pts[np++] = (struct fw_sample){it.t, it.v};
            (*total)++;
        }
        if (rc == 0 && tsdb_store_iter_err(&it) != 0)
            rc = s_iter_fail(&it, ss[k].id, err);
        if (rc != 0 || np == 0)
            continue;
        size_t nl = s_merged(&ss[k].labels, ext, names, values);
        tsdb_rwproto_put_series(qr, names, values, nl, pts, q->series_only ? 0 : np);
        if (done_bytes + qr->len > TSDB_RREAD_MAX_RESPONSE_BYTES) {
            fw_err_set(err, "exceeded response size limit (%zu bytes)",
                       TSDB_RREAD_MAX_RESPONSE_BYTES);
            rc = 400;
        }
    }
    free(names);
    free(values);
    free(pts);
    tsdb_store_series_free(ss, n);
    tsdb_store_reader_destroy(&r);
    return rc;
}

static void
s_samples(tsdb_rread_t *self, const struct s_query *qs, size_t nq, const struct fw_labels *ext,
          struct fw_http_response *resp)
{
    struct fw_json_out all = {0}, qr = {0};
    uint64_t total = 0;
    fw_err_t err;
    for (size_t k = 0; k < nq; k++) {
        qr.len = 0;
        int rc = s_result(self, &qs[k], ext, &qr, all.len, &total, &err);
        if (rc != 0) {
            s_text(resp, rc > 0 ? rc : 500, err.msg);
            goto out;
        }
        tsdb_rread_put_result(&all, &qr);
    }
    char *z;
    size_t zlen;
    tsdb_pb_snappy(all.p, all.len, &z, &zlen);
    resp->status = 200;
    resp->body = z;
    resp->body_len = zlen; // at least 1: an empty ReadResponse is the block "\0"
    resp->content_type = "application/x-protobuf";
    resp->headers[0].name = "Content-Encoding";
    snprintf(resp->headers[0].value, sizeof(resp->headers[0].value), "snappy");
    fw_metrics_add(self->metrics, "fw_tsdb_remote_read_samples_total", "", (double)total);
out:
    free(all.p);
    free(qr.p);
}

// ---------------------------------------------------------------------------------------
// STREAMED_XOR_CHUNKS

struct s_stream {
    tsdb_rread_t *self;
    struct s_query *qs; // owned
    size_t nq, qi;      // the query being answered
    bool selected;      // ss holds qi's series
    struct tsdb_store_series *ss;
    size_t n_ss, si;
    int64_t resume_t;       // where series si goes on
    struct fw_labels ext;   // owned copy
    struct fw_json_out out; // the frame being sent
    size_t out_off;
    struct tsdb_xor_enc enc;
    struct fw_json_out data; // the frame's chunks' bytes
    struct tsdb_rread_chunk *chunks;
    size_t *offs, cap_chunks, cap_offs;
    uint64_t samples;
};

// The next frame of series si into st->out, from st->resume_t; moves on to the next
// series when this one is done. 0 (maybe no frame: no sample left) or -1.
static int
s_series_frame(struct s_stream *st, tsdb_store_reader_t *r, fw_err_t *err)
{
    const struct s_query *q = &st->qs[st->qi];
    const struct tsdb_store_series *s = &st->ss[st->si];
    int64_t budget = st->self->opts.frame_bytes;
    const char **names = fw_calloc(s->labels.len + st->ext.len + 1, sizeof(*names));
    const char **values = fw_calloc(s->labels.len + st->ext.len + 1, sizeof(*values));
    size_t nl = s_merged(&s->labels, &st->ext, names, values);
    for (size_t i = 0; i < nl; i++)
        budget -= (int64_t)tsdb_rread_label_size(names[i], values[i]);
    free(names);
    free(values);

    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, s->id, st->resume_t, q->maxt);
    size_t n = 0;
    int64_t last = 0;
    st->data.len = 0;
    bool have = tsdb_store_iter_next(&it);
    while (have) {
        tsdb_xor_enc_reset(&st->enc);
        int64_t cmin = it.t;
        while (have && st->enc.n < TSDB_XOR_CHUNK_SAMPLES) {
            tsdb_xor_enc_append(&st->enc, it.t, it.v);
            last = it.t;
            have = tsdb_store_iter_next(&it);
        }
        st->samples += st->enc.n;
        fw_mem_grow((void **)&st->chunks, &st->cap_chunks, n + 1, sizeof(*st->chunks));
        fw_mem_grow((void **)&st->offs, &st->cap_offs, n + 1, sizeof(*st->offs));
        st->offs[n] = st->data.len;
        fw_json_out_put(&st->data, (const char *)st->enc.p, st->enc.len);
        st->chunks[n] = (struct tsdb_rread_chunk){cmin, last, TSDB_XOR_ENCODING, NULL, st->enc.len};
        budget -= (int64_t)tsdb_rread_chunk_size(&st->chunks[n]);
        n++;
        if (budget <= 0)
            break;
    }
    if (tsdb_store_iter_err(&it) != 0)
        return s_iter_fail(&it, s->id, err);
    for (size_t k = 0; k < n; k++)
        st->chunks[k].data = (const unsigned char *)st->data.p + st->offs[k];
    if (n > 0)
        tsdb_rread_put_frame(&st->out, &s->labels, &st->ext, st->chunks, n, (int64_t)st->qi);
    if (have) {
        st->resume_t = last + 1;
    } else {
        st->si++;
        st->resume_t = q->mint;
    }
    return 0;
}

// Make the next frame into st->out; nothing when the answer is complete. 0 or -1.
static int
s_stream_fill(struct s_stream *st, fw_err_t *err)
{
    tsdb_store_reader_t *r = NULL;
    int rc = 0;
    while (st->out.len == 0 && st->qi < st->nq) {
        if (!r && !(r = tsdb_store_reader_new(st->self->store, err)))
            return -1;
        if (!st->selected) {
            if (s_select(r, &st->qs[st->qi], &st->ss, &st->n_ss, err) != 0) {
                rc = -1;
                break;
            }
            st->selected = true;
            st->si = 0;
            st->resume_t = st->qs[st->qi].mint;
        }
        if (st->si == st->n_ss) {
            tsdb_store_series_free(st->ss, st->n_ss);
            st->ss = NULL;
            st->n_ss = 0;
            st->selected = false;
            st->qi++;
            continue;
        }
        if (s_series_frame(st, r, err) != 0) {
            rc = -1;
            break;
        }
    }
    tsdb_store_reader_destroy(&r);
    return rc;
}

static long
s_stream_read(void *arg, char *buf, size_t max)
{
    struct s_stream *st = arg;
    if (st->out_off == st->out.len) {
        st->out.len = 0;
        st->out_off = 0;
        fw_err_t err;
        if (s_stream_fill(st, &err) != 0) {
            fw_warn("tsdb.remote_read.fail", "err=\"%s\"", err.msg);
            return -1;
        }
        if (st->out.len == 0)
            return 0;
    }
    size_t n = st->out.len - st->out_off;
    if (n > max)
        n = max;
    memcpy(buf, st->out.p + st->out_off, n);
    st->out_off += n;
    return (long)n;
}

static void
s_stream_free(void *arg)
{
    struct s_stream *st = arg;
    fw_metrics_add(st->self->metrics, "fw_tsdb_remote_read_samples_total", "", (double)st->samples);
    s_gate_give(st->self);
    s_queries_free(st->qs, st->nq);
    tsdb_store_series_free(st->ss, st->n_ss);
    fw_labels_clear(&st->ext);
    tsdb_xor_enc_free(&st->enc);
    free(st->out.p);
    free(st->data.p);
    free(st->chunks);
    free(st->offs);
    free(st);
}

// ---------------------------------------------------------------------------------------
// The request

// Go's %v of the accepted types (an unknown one as its number).
static void
s_types_str(const struct tsdb_rread_request *req, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (size_t k = 0; k < req->n_accepted && o < size; k++)
        o += (size_t)snprintf(buf + o, size - o, "%s%d", k ? " " : "", req->accepted[k]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

void
tsdb_rread_handle(tsdb_rread_t *self, const unsigned char *body, size_t len,
                  struct fw_http_response *resp)
{
    int type = TSDB_RREAD_SAMPLES;
    if (!s_gate_take(self)) {
        s_text(resp, 503, "too many remote read requests at once; try again later");
        s_count(self, type, 503);
        return;
    }
    char *pb = NULL;
    size_t n;
    fw_err_t err;
    struct tsdb_rread_request req = {0};
    struct s_query *qs = NULL;
    struct fw_labels ext = FW_LABELS_INIT;
    int rc = tsdb_pb_unsnappy(body, len, TSDB_RREAD_MAX_DECODED, &pb, &n, &err);
    if (rc != 0) {
        s_text(resp, rc, err.msg);
        goto out;
    }
    if (tsdb_rread_request_decode((const unsigned char *)pb, n, &req, &err) != 0) {
        s_text(resp, 400, err.msg);
        goto out;
    }
    bool found = req.n_accepted == 0;
    for (size_t k = 0; k < req.n_accepted && !found; k++)
        if (req.accepted[k] == TSDB_RREAD_SAMPLES ||
            req.accepted[k] == TSDB_RREAD_STREAMED_XOR_CHUNKS) {
            type = req.accepted[k];
            found = true;
        }
    if (!found) {
        char types[256], msg[512];
        s_types_str(&req, types, sizeof(types));
        snprintf(msg, sizeof(msg),
                 "server does not support any of the requested response types: %s; supported: "
                 "map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]",
                 types);
        s_text(resp, 400, msg);
        goto out;
    }
    tsdb_extlabels_get(&self->external, &ext);
    if (s_queries(&req, &ext, &qs, &err) != 0) {
        s_text(resp, 500, err.msg);
        goto out;
    }
    if (type == TSDB_RREAD_SAMPLES) {
        s_samples(self, qs, req.n, &ext, resp);
        goto out;
    }
    struct s_stream *st = fw_calloc(1, sizeof(*st));
    st->self = self;
    st->qs = qs;
    st->nq = req.n;
    st->ext = ext;
    ext = (struct fw_labels)FW_LABELS_INIT;
    tsdb_xor_enc_init(&st->enc);
    qs = NULL;
    resp->status = 200;
    resp->content_type = TSDB_RREAD_STREAMED_TYPE;
    resp->stream = s_stream_read;
    resp->stream_free = s_stream_free; // gives the slot back
    resp->stream_arg = st;
    s_count(self, type, 200);
    free(pb);
    tsdb_rread_request_clear(&req);
    return;
out:
    s_count(self, type, resp->status);
    s_gate_give(self);
    s_queries_free(qs, req.n);
    fw_labels_clear(&ext);
    tsdb_rread_request_clear(&req);
    free(pb);
}

static int
s_on_read(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    size_t len;
    const char *body = fw_http_body(req, &len);
    tsdb_rread_handle(arg, (const unsigned char *)(body ? body : ""), body ? len : 0, resp);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_rread_t *
tsdb_rread_new(tsdb_store_t *store, fw_metrics_t *metrics, const struct tsdb_rread_opts *opts)
{
    tsdb_rread_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->metrics = metrics;
    self->opts = *opts;
    if (self->opts.frame_bytes <= 0)
        self->opts.frame_bytes = TSDB_RREAD_DEFAULT_FRAME_BYTES;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->free, NULL);
    tsdb_extlabels_init(&self->external);
    fw_metrics_declare(metrics, "fw_tsdb_remote_read_requests_total", FW_METRIC_COUNTER,
                       "Remote-read requests on /api/v1/read, by response type and HTTP status.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_read_samples_total", FW_METRIC_COUNTER,
                       "Samples sent in remote-read answers (samples and streamed chunks).");
    fw_metrics_add(metrics, "fw_tsdb_remote_read_samples_total", "", 0);
    return self;
}

void
tsdb_rread_destroy(tsdb_rread_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rread_t *self = *self_p;
    tsdb_extlabels_clear(&self->external);
    pthread_cond_destroy(&self->free);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
tsdb_rread_set_external_labels(tsdb_rread_t *self, const struct fw_labels *l)
{
    tsdb_extlabels_set(&self->external, l);
}

void
tsdb_rread_routes(tsdb_rread_t *self, fw_http_t *http)
{
    fw_http_route(http, "POST", "/api/v1/read", s_on_read, self);
}
