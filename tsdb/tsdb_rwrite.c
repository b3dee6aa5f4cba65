/*  tsdb_rwrite.c — POST /api/v1/write: remote write 1.0 into tsdb (see tsdb_rwrite.h).

    Per request, on its HTTP thread: headers, snappy (libsnappy's C API), the protobuf check
    (tsdb_rwproto), then passes over the series: the first sorts and checks each one's
    labels and its samples' times; for remote write 1.0 the second judges every sample
    against its series' newest stored one (tsdb_store_newest), so that a request with a
    refused sample stores nothing, as Prometheus rolls its appender back (for 2.0,
    s_judge_v2 judges each series and sample on its own and leaves out what it refuses, with
    a line each in the answer, as Prometheus 3 does); the last encodes the valid ones as
    SAMPLES series,
    cutting a batch every TSDB_RWRITE_BATCH_BYTES. Each batch goes out on the request's
    channel (a DEALER connected to tsdb's samples ROUTER over inproc, with its own sender id
    and sequence numbers) as soon as it is full; at most S_INFLIGHT batches wait for their
    acknowledgement at a time, so a large request holds a bounded amount in tsdb's queue.

    This file holds the labels, the checks and judgements, the answers, the metadata and
    the public API. The rest of the receiver (tsdb_rwrite_int.h holds the structs they
    share):
      tsdb_rwrite_batch.c  the channels, and the last pass: series encoded into batches,
                           sent, and their acknowledgements waited for
*/
#include "tsdb_rwrite.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_gofloat.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_names.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "fw_json_out.h"
#include "tsdb_pb.h"
#include "tsdb_metadata.h"
#include "tsdb_rwpartial.h"
#include "tsdb_rwproto.h"
#include "tsdb_rwrite_int.h"

#define S_CT_PROTO "application/x-protobuf"
#define S_MSG_V1 "prometheus.WriteRequest"
#define S_MSG_V2 "io.prometheus.write.v2.Request"
#define S_MAX_AHEAD_MS (10 * 60 * 1000) // Prometheus's maxAheadTime
#define S_LOG_EVERY_MS 10000            // at most one log line per this for bad requests

// ---------------------------------------------------------------------------------------
// Labels

static int
s_label_cmp(const void *a, const void *b)
{
    const struct tsdb_rwproto_label *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

// Prometheus's labels.String() of the series' labels (values quoted as Go's %q), bounded.
static char *
s_labels_text(const struct tsdb_rwrite_req *r)
{
    char *out = fw_strdup("{");
    for (size_t i = 0; i < r->n_labels && strlen(out) < 1024; i++) {
        const struct tsdb_rwproto_label *l = &r->labels[i];
        char *q = fw_promql_quote(l->value, l->value_len);
        char *next = fw_asprintf("%s%s%.*s=%s", out, i ? ", " : "",
                                 (int)(l->name_len < 256 ? l->name_len : 256), l->name, q);
        free(q);
        free(out);
        out = next;
    }
    char *done = fw_asprintf("%s}", out);
    free(out);
    return done;
}

// How tsdb_rwrite_int_gather found a series' labels.
enum { S_LBL_OK, S_LBL_REFS, S_LBL_INVALID, S_LBL_DUP };

// Gather s's labels into r->labels, sorted by name, those with an empty value left out
// (absent, as in floorwatch's label sets). S_LBL_OK when the set is valid: a metric name,
// names and values UTF-8 (fw_names_valid) without NUL, no name twice; else S_LBL_REFS (a
// 2.0 labels ref outside the symbols, or one without its value), S_LBL_INVALID, or S_LBL_DUP
// (r->dup: the name sent twice), in that order of precedence, as Prometheus 3 checks them.
int
tsdb_rwrite_int_gather(struct tsdb_rwrite_req *r, const struct tsdb_rwproto_series *s)
{
    struct tsdb_rwproto_label l;
    struct tsdb_rwproto_cursor cur = {0};
    bool ok = true, dup = false;
    r->n_labels = 0;
    r->dup = NULL;
    int got;
    while ((got = tsdb_rwproto_next_label(s, r->version == TSDB_RWPROTO_V2 ? &r->sym : NULL, &cur,
                                          &l)) > 0) {
        if (l.value_len == 0 && l.name_len > 0)
            continue;
        fw_mem_grow((void **)&r->labels, &r->cap_labels, r->n_labels + 1, sizeof(*r->labels));
        r->labels[r->n_labels++] = l;
    }
    if (got != 0)
        return S_LBL_REFS;
    if (r->n_labels > 1)
        qsort(r->labels, r->n_labels, sizeof(*r->labels), s_label_cmp);
    bool named = false;
    for (size_t i = 0; i < r->n_labels && ok; i++) {
        const struct tsdb_rwproto_label *x = &r->labels[i];
        if (!fw_names_valid(x->name, x->name_len) || !fw_utf8_valid(x->value, x->value_len) ||
            memchr(x->value, '\0', x->value_len))
            ok = false;
        if (!dup && i > 0 && s_label_cmp(&r->labels[i - 1], x) == 0) {
            dup = true;
            r->dup = x;
        }
        if (x->name_len == 8 && memcmp(x->name, "__name__", 8) == 0) {
            named = true;
            ok = ok && x->value_len > 0; // any UTF-8 metric name, as Prometheus 3
        }
    }
    return !ok || !named ? S_LBL_INVALID : dup ? S_LBL_DUP : S_LBL_OK;
}

size_t
tsdb_rwrite_int_count_samples(const struct tsdb_rwproto_series *s, int64_t max_t, bool *ahead)
{
    struct fw_sample smp;
    size_t off = 0, n = 0;
    while (tsdb_rwproto_next_sample(s, &off, &smp)) {
        n++;
        if (smp.t_ms > max_t)
            *ahead = true;
    }
    return n;
}

// Pass 1: which series are valid; the first invalid one's reason. -1 when a valid series
// has a sample too far ahead (Prometheus refuses the whole request then).
static int
s_check(struct tsdb_rwrite_req *r, bool *valid)
{
    int64_t max_t = fw_time_now_ms() + S_MAX_AHEAD_MS;
    struct tsdb_rwproto_series s;
    size_t off = 0;
    bool ahead = false;
    for (size_t i = 0; tsdb_rwproto_next_series(r->pb, r->pb_len, r->version, &off, &s); i++) {
        valid[i] = tsdb_rwrite_int_gather(r, &s) == S_LBL_OK;
        size_t n = tsdb_rwrite_int_count_samples(&s, max_t, valid[i] ? &ahead : &(bool){false});
        if (valid[i]) {
            r->samples += n;
            continue;
        }
        r->invalid_samples += n;
        if (!r->invalid)
            r->invalid = s_labels_text(r);
    }
    return ahead ? -1 : 0;
}

// The gathered labels as a struct fw_labels whose strings point into r->ltext.
static const struct fw_labels *
s_view(struct tsdb_rwrite_req *r)
{
    size_t need = 0;
    for (size_t i = 0; i < r->n_labels; i++)
        need += r->labels[i].name_len + r->labels[i].value_len + 2;
    if (need > r->ltext_cap) {
        r->ltext = fw_realloc(r->ltext, need);
        r->ltext_cap = need;
    }
    fw_mem_grow((void **)&r->view.items, &r->view.cap, r->n_labels, sizeof(*r->view.items));
    char *p = r->ltext;
    for (size_t i = 0; i < r->n_labels; i++) {
        const struct tsdb_rwproto_label *l = &r->labels[i];
        r->view.items[i].name = p;
        memcpy(p, l->name, l->name_len);
        p += l->name_len;
        *p++ = '\0';
        r->view.items[i].value = p;
        memcpy(p, l->value, l->value_len);
        p += l->value_len;
        *p++ = '\0';
    }
    r->view.len = r->n_labels;
    return &r->view;
}

// How tsdb_head_append would take sample (t, v) of a series whose newest is n, as
// Prometheus's appender judges each sample at Append (memSeries.appendable, against what
// is committed, not the request's earlier samples): S_OK, or the refusal.
enum { S_OK, S_OUT_OF_ORDER, S_DUPLICATE, S_TOO_OLD };
static int
s_judge(const struct tsdb_store_newest *n, int64_t t, double v)
{
    if (!n->has || t > n->t)
        return S_OK;
    if (t == n->t) {
        uint64_t a, b;
        memcpy(&a, &v, sizeof(a));
        memcpy(&b, &n->v, sizeof(b));
        return n->v_known && a == b ? S_OK : S_DUPLICATE;
    }
    if (n->ooo_window == 0)
        return S_OUT_OF_ORDER;
    int64_t oldest;
    if (__builtin_sub_overflow(n->head_maxt, n->ooo_window, &oldest))
        oldest = INT64_MIN;
    return t < oldest ? S_TOO_OLD : S_OK;
}

// The reason label of fw_tsdb_remote_write_rejected_total for refusal j.
static const char *
s_refusal_reason(int j)
{
    return j == S_OUT_OF_ORDER ? "out_of_order" : j == S_DUPLICATE ? "duplicate" : "too_old";
}

// Prometheus's storage error texts (storage/interface.go), which it answers with.
static const char *
s_refusal_text(int j)
{
    return j == S_OUT_OF_ORDER ? "out of order sample"
           : j == S_DUPLICATE  ? "duplicate sample for timestamp"
                               : "too old sample";
}

// Remote write 1.0 is one transaction in Prometheus: the first sample its appender refuses
// rolls the whole request back. So every sample of the valid series is judged, in request
// order, before any is sent to storage: S_OK, or the first refusal (-1 with err when the
// store cannot be read). Samples that pass and are still refused when the writer appends
// them (one earlier in the same request, or another writer in between) are dropped there,
// as Prometheus's Commit drops them.
static int
s_precheck(tsdb_rwrite_t *self, struct tsdb_rwrite_req *r, const bool *valid, fw_err_t *err)
{
    struct tsdb_rwproto_series s;
    size_t off = 0;
    for (size_t i = 0; tsdb_rwproto_next_series(r->pb, r->pb_len, r->version, &off, &s); i++) {
        if (!valid[i])
            continue;
        (void)tsdb_rwrite_int_gather(r, &s);
        struct fw_sample smp;
        size_t soff = 0;
        if (!tsdb_rwproto_next_sample(&s, &soff, &smp))
            continue;
        if (!r->reader && !(r->reader = tsdb_store_reader_new(self->store, err)))
            return -1;
        struct tsdb_store_newest n;
        if (tsdb_store_newest(r->reader, s_view(r), &n, err) != 0)
            return -1;
        do {
            int j = s_judge(&n, smp.t_ms, smp.v);
            if (j != S_OK)
                return j;
        } while (tsdb_rwproto_next_sample(&s, &soff, &smp));
    }
    return S_OK;
}

// Refusal kinds of a 2.0 request beyond s_judge's, as bits of s_judge_v2's answer.
enum { S_AHEAD = S_TOO_OLD + 1, S_LABELS, S_EMPTY, S_KINDS };
static const char *const s_kind_reason[S_KINDS] = {
    [S_OUT_OF_ORDER] = "out_of_order", [S_DUPLICATE] = "duplicate", [S_TOO_OLD] = "too_old",
    [S_AHEAD] = "out_of_bounds",       [S_LABELS] = "labels",       [S_EMPTY] = "empty_series"};

// The line of a 2.0 series whose labels tsdb_rwrite_int_gather refused as kind (S_LBL_*), into pe.
static void
s_labels_line(struct tsdb_rwrite_req *r, const struct tsdb_rwproto_series *s, int kind,
              struct tsdb_rwpartial *pe)
{
    if (kind == S_LBL_REFS) {
        tsdb_rwpartial_add_refs(pe, s, r->sym.n);
        return;
    }
    char *l = s_labels_text(r);
    if (kind == S_LBL_DUP)
        tsdb_rwpartial_add(pe, "invalid labels for series, labels %s, duplicated label %.*s", l,
                           (int)(r->dup->name_len < 256 ? r->dup->name_len : 256), r->dup->name);
    else
        tsdb_rwpartial_add(pe, "invalid metric name or labels, got %s", l);
    free(l);
}

// The line of a 2.0 sample (t, v) refused as kind j, n its series' newest stored sample, l
// the series' labels text: Prometheus 3's appender error and " for series {...}".
static void
s_sample_line(int j, const struct tsdb_store_newest *n, int64_t t, double v, const char *l,
              struct tsdb_rwpartial *pe)
{
    char a[FW_GOFLOAT_MAX], b[FW_GOFLOAT_MAX];
    if (j == S_AHEAD)
        tsdb_rwpartial_add(pe, "out of bounds: timestamp is too far in the future for series %s",
                           l);
    else if (j == S_DUPLICATE && n->v_known && t != 0) // storage.NewDuplicateFloatErr
        tsdb_rwpartial_add(pe,
                           "duplicate sample for timestamp %lld; overrides not allowed: "
                           "existing %s, new value %s for series %s",
                           (long long)t, fw_gofloat_format(n->v, 'g', a, sizeof(a)),
                           fw_gofloat_format(v, 'g', b, sizeof(b)), l);
    else
        tsdb_rwpartial_add(pe, "%s for series %s", s_refusal_text(j), l);
}

// Remote write 2.0 as Prometheus 3's writeV2 takes it: each series and each sample on its
// own, what is refused left out with a line in pe (request order), the rest stored. A
// series is refused for its labels (tsdb_rwrite_int_gather) or for holding neither samples nor
// histograms; a sample for lying more than 10 minutes ahead or for what storage would
// refuse (s_judge against its series' newest stored sample, as Prometheus's appender
// judges at Append). Sets valid[] and the bits of r->refused. Returns the kinds refused as
// bits (1 << S_*), or -1 with err when the store cannot be read.
static int
s_judge_v2(tsdb_rwrite_t *self, struct tsdb_rwrite_req *r, bool *valid, struct tsdb_rwpartial *pe,
           fw_err_t *err)
{
    int64_t max_t = fw_time_now_ms() + S_MAX_AHEAD_MS;
    struct tsdb_rwproto_series s;
    size_t off = 0, ord = 0;
    int kinds = 0;
    for (size_t i = 0; tsdb_rwproto_next_series(r->pb, r->pb_len, r->version, &off, &s); i++) {
        int g = tsdb_rwrite_int_gather(r, &s);
        bool ahead = false;
        size_t n = tsdb_rwrite_int_count_samples(&s, INT64_MAX, &ahead);
        valid[i] = g == S_LBL_OK && (n > 0 || tsdb_rwproto_series_histograms(&s, r->version));
        if (g != S_LBL_OK) {
            s_labels_line(r, &s, g, pe);
            r->invalid_samples += n;
            kinds |= 1 << S_LABELS;
            continue;
        }
        if (!valid[i]) {
            char *l = s_labels_text(r);
            tsdb_rwpartial_add(
                pe, "TimeSeries must contain at least one sample or histogram for series %s", l);
            free(l);
            kinds |= 1 << S_EMPTY;
            continue;
        }
        if (n == 0)
            continue; // histograms only: counted, not stored
        if (!r->reader && !(r->reader = tsdb_store_reader_new(self->store, err)))
            return -1;
        struct tsdb_store_newest nw;
        if (tsdb_store_newest(r->reader, s_view(r), &nw, err) != 0)
            return -1;
        char *l = NULL;
        struct fw_sample smp;
        size_t soff = 0;
        for (size_t k = ord; tsdb_rwproto_next_sample(&s, &soff, &smp); k++) {
            int j = smp.t_ms > max_t ? S_AHEAD : s_judge(&nw, smp.t_ms, smp.v);
            if (j == S_OK)
                continue;
            if (!r->refused)
                r->refused = fw_calloc(r->all_samples / 8 + 1, 1);
            r->refused[k / 8] |= (unsigned char)(1u << (k % 8));
            r->n_refused++;
            kinds |= 1 << j;
            if (!l)
                l = s_labels_text(r);
            s_sample_line(j, &nw, smp.t_ms, smp.v, l, pe);
        }
        free(l);
        ord += n;
        r->samples += n;
    }
    return kinds;
}

// ---------------------------------------------------------------------------------------
// Requests

static int s_refuse(tsdb_rwrite_t *self, int status, const char *reason, char **text,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// Count a refusal by reason and log it (at most one line every S_LOG_EVERY_MS).
static void
s_note(tsdb_rwrite_t *self, int status, const char *reason, const char *msg)
{
    char lbl[64];
    snprintf(lbl, sizeof(lbl), "reason=\"%s\"", reason);
    fw_metrics_add(self->metrics, "fw_tsdb_remote_write_rejected_total", lbl, 1);
    int64_t now = fw_time_mono_ms();
    pthread_mutex_lock(&self->lock);
    bool log = now - self->log_ms >= S_LOG_EVERY_MS;
    size_t skipped = self->unlogged;
    if (log) {
        self->log_ms = now;
        self->unlogged = 0;
    } else {
        self->unlogged++;
    }
    pthread_mutex_unlock(&self->lock);
    if (log)
        fw_warn("remote_write.reject", "code=%d reason=%s err=\"%s\" not_logged=%zu", status,
                reason, msg, skipped);
}

static int
s_refuse(tsdb_rwrite_t *self, int status, const char *reason, char **text, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[1200];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s_note(self, status, reason, msg);
    *text = fw_asprintf("%s\n", msg);
    return status;
}

// The 400 of a 2.0 request with refusals (kinds, from s_judge_v2): every kind counted, the
// first line logged, the lines answered.
static int
s_refuse_v2(tsdb_rwrite_t *self, int kinds, const struct tsdb_rwpartial *pe, char **text)
{
    const char *nl = strchr(pe->text.p, '\n');
    char first[1200];
    snprintf(first, sizeof(first), "%.*s (%zu errors)",
             (int)(nl ? (size_t)(nl - pe->text.p) : pe->text.len), pe->text.p, pe->lines);
    for (int j = 0; j < S_KINDS; j++)
        if (kinds & (1 << j))
            s_note(self, 400, s_kind_reason[j], first);
    *text = tsdb_rwpartial_text(pe);
    return 400;
}

// Prometheus's parseProtoMsg: 0 with *version, or a 415 answer.
static int
s_content_type(tsdb_rwrite_t *self, const char *ct, int *version, char **text)
{
    *version = TSDB_RWPROTO_V1;
    if (!ct || !*ct)
        return 0;
    char *dup = fw_strdup(ct), *p = dup, *end = dup + strlen(dup);
    while (*p == ' ' || *p == '\t')
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    int rc = 0;
    char *save = NULL, *part = strtok_r(p, ";", &save);
    if (!part || strcmp(part, S_CT_PROTO) != 0) {
        rc = s_refuse(self, 415, "content_type", text,
                      "expected %s as the first (media) part, got %s content-type", S_CT_PROTO, p);
        goto out;
    }
    while ((part = strtok_r(NULL, ";", &save))) {
        char *eq = strchr(part, '=');
        if (!eq || strchr(eq + 1, '=')) {
            rc = s_refuse(self, 415, "content_type", text,
                          "as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected "
                          "parameters to be key-values, got %s in %s content-type",
                          part, p);
            goto out;
        }
        *eq = '\0';
        if (strcmp(part, "proto") != 0)
            continue;
        const char *msg = eq + 1;
        if (strcmp(msg, S_MSG_V1) == 0 || strcmp(msg, S_MSG_V2) == 0)
            *version = strcmp(msg, S_MSG_V2) == 0 ? TSDB_RWPROTO_V2 : TSDB_RWPROTO_V1;
        else
            rc = s_refuse(self, 415, "content_type", text,
                          "got %s content type; unknown remote write protobuf message %s, "
                          "supported: %s, %s",
                          ct, msg, S_MSG_V1, S_MSG_V2);
        break;
    }
out:
    free(dup);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Metadata

// A sent family as the metadata table takes it; false when its type is no MetricType.
static bool
s_meta_family(const struct tsdb_rwproto_meta *m, struct tsdb_metadata_family *f)
{
    const char *type = tsdb_rwproto_meta_type_name(m->type);
    if (!type)
        return false;
    *f = (struct tsdb_metadata_family){m->name,     type,        m->unit,    m->help,
                                       m->name_len, m->unit_len, m->help_len};
    return true;
}

// Keep the checked request's metadata (n: how many it holds), counting what was kept and
// what was refused (a type that is no MetricType, a 2.0 ref outside the symbols, or what
// tsdb_metadata_put refuses).
static void
s_metadata(tsdb_rwrite_t *self, const struct tsdb_rwrite_req *r, size_t n)
{
    if (!self->metadata || n == 0)
        return;
    struct tsdb_metadata_family *f = fw_calloc(n, sizeof(*f));
    struct tsdb_rwproto_meta m;
    size_t got = 0, bad = 0, off = 0;
    if (r->version == TSDB_RWPROTO_V1) {
        while (got + bad < n && tsdb_rwproto_next_meta(r->pb, r->pb_len, &off, &m))
            s_meta_family(&m, &f[got]) ? got++ : bad++;
    } else {
        struct tsdb_rwproto_series s;
        while (got + bad < n && tsdb_rwproto_next_series(r->pb, r->pb_len, r->version, &off, &s)) {
            int rc = tsdb_rwproto_series_meta(&s, &r->sym, &m);
            if (rc < 0 || (rc > 0 && !s_meta_family(&m, &f[got])))
                bad++;
            else if (rc > 0)
                got++;
        }
    }
    size_t refused = 0;
    size_t stored = tsdb_metadata_put(self->metadata, f, got, fw_time_now_ms(), &refused);
    free(f);
    fw_metrics_add(self->metrics, "fw_tsdb_remote_write_metadata_total", "result=\"stored\"",
                   (double)stored);
    fw_metrics_add(self->metrics, "fw_tsdb_remote_write_metadata_total", "result=\"refused\"",
                   (double)(bad + refused));
}

static void
s_req_clear(struct tsdb_rwrite_req *r)
{
    free(r->labels);
    free(r->enc.p);
    free(r->invalid);
    free(r->ltext);
    free(r->view.items);
    free(r->refused);
    tsdb_store_reader_destroy(&r->reader);
    tsdb_rwproto_symbols_free(&r->sym);
}

int
tsdb_rwrite_handle(tsdb_rwrite_t *self, const char *content_type, const char *encoding,
                   const unsigned char *body, size_t len, char **text,
                   struct tsdb_rwrite_written *w)
{
    *text = NULL;
    memset(w, 0, sizeof(*w));
    int rc = s_content_type(self, content_type, &w->version, text);
    if (rc)
        return rc;
    if (encoding && *encoding && strcasecmp(encoding, "snappy") != 0)
        return s_refuse(self, 415, "content_encoding", text,
                        "%s encoding (compression) is not accepted by this server; only snappy "
                        "is acceptable",
                        encoding);
    size_t n;
    char *pb;
    fw_err_t err;
    rc = tsdb_pb_unsnappy(body, len, TSDB_RWRITE_MAX_DECODED, &pb, &n, &err);
    if (rc != 0)
        return s_refuse(self, rc, rc == 413 ? "too_large" : "snappy", text, "%s", err.msg);
    struct tsdb_rwrite_req r = {
        .version = w->version, .pb = (const unsigned char *)pb, .pb_len = n};
    bool *valid = NULL;
    struct tsdb_rwpartial pe = {0};
    int kinds = 0;
    struct tsdb_rwproto_counts counts;
    if (tsdb_rwproto_check(r.pb, r.pb_len, r.version, &counts, &err) != 0) {
        rc = s_refuse(self, 400, "protobuf", text, "%s", err.msg);
        goto out;
    }
    if (r.version == TSDB_RWPROTO_V2)
        tsdb_rwproto_symbols(r.pb, r.pb_len, &r.sym);
    s_metadata(self, &r, counts.metadata);
    r.all_samples = counts.samples;
    valid = fw_calloc(counts.series + 1, sizeof(*valid));
    if (r.version == TSDB_RWPROTO_V1 && s_check(&r, valid) != 0) {
        rc = s_refuse(self, 400, "out_of_bounds", text, "out of bounds");
        goto out;
    }
    if (!tsdb_store_writable(self->store)) {
        rc = s_refuse(self, 503, "unavailable", text, "storage not writable: commits fail");
        goto out;
    }
    if (r.version == TSDB_RWPROTO_V1) {
        int j = s_precheck(self, &r, valid, &err);
        tsdb_store_reader_destroy(&r.reader); // no snapshot held while the writer appends
        if (j < 0) {
            rc = s_refuse(self, 503, "unavailable", text, "%s", err.msg);
            goto out;
        }
        if (j != S_OK) {
            rc = s_refuse(self, 400, s_refusal_reason(j), text, "%s", s_refusal_text(j));
            goto out;
        }
    } else {
        kinds = s_judge_v2(self, &r, valid, &pe, &err);
        tsdb_store_reader_destroy(&r.reader);
        if (kinds < 0) {
            rc = s_refuse(self, 503, "unavailable", text, "%s", err.msg);
            goto out;
        }
    }
    struct tsdb_rwrite_chan *c = tsdb_rwrite_int_chan_take(self, &err);
    if (!c || tsdb_rwrite_int_store(self, &r, valid, c, &err) != 0) {
        rc = s_refuse(self, 503, "unavailable", text, "%s", err.msg);
        if (c)
            tsdb_rwrite_int_chan_give(self, c);
        goto out;
    }
    tsdb_rwrite_int_chan_give(self, c);
    size_t dropped = r.out_of_order + r.duplicate + r.too_old;
    w->samples = r.samples > dropped + r.n_refused ? r.samples - dropped - r.n_refused : 0;
    fw_metrics_add(self->metrics, "fw_tsdb_remote_write_samples_total", "", (double)w->samples);
    if (counts.exemplars || counts.histograms)
        fw_metrics_add(self->metrics, "fw_tsdb_remote_write_ignored_total", "",
                       (double)(counts.exemplars + counts.histograms));
    if (r.invalid_samples)
        fw_metrics_add(self->metrics, "fw_tsdb_remote_write_invalid_labels_samples_total", "",
                       (double)r.invalid_samples);
    if (r.invalid) {
        rc =
            s_refuse(self, 400, "labels", text, "invalid metric name or labels, got %s", r.invalid);
        goto out;
    }
    // Samples the check passed and the writer refused (an earlier one of the same series in
    // this request, or another writer in between) are dropped, as Prometheus's Commit drops
    // them, and counted; 2.0's refusals (s_judge_v2) are answered 400 with a line each, the
    // rest stored, so that senders do not retry.
    if (dropped)
        fw_metrics_add(self->metrics, "fw_tsdb_remote_write_dropped_samples_total", "",
                       (double)dropped);
    rc = pe.lines ? s_refuse_v2(self, kinds, &pe, text) : 204;
out:
    tsdb_rwpartial_clear(&pe);
    free(valid);
    free(pb);
    s_req_clear(&r);
    return rc;
}

static int
s_on_write(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_rwrite_t *self = arg;
    size_t len;
    const char *body = fw_http_body(req, &len);
    char *text = NULL;
    struct tsdb_rwrite_written w;
    int status = tsdb_rwrite_handle(
        self, fw_http_header(req, "Content-Type"), fw_http_header(req, "Content-Encoding"),
        (const unsigned char *)(body ? body : ""), body ? len : 0, &text, &w);
    if (w.version == TSDB_RWPROTO_V2) {
        static const char *const names[] = {"X-Prometheus-Remote-Write-Samples-Written",
                                            "X-Prometheus-Remote-Write-Histograms-Written",
                                            "X-Prometheus-Remote-Write-Exemplars-Written"};
        const size_t counts[] = {w.samples, w.histograms, w.exemplars};
        for (size_t i = 0; i < 3; i++) {
            resp->headers[i].name = names[i];
            snprintf(resp->headers[i].value, sizeof(resp->headers[i].value), "%zu", counts[i]);
        }
    }
    char lbl[32];
    snprintf(lbl, sizeof(lbl), "code=\"%d\"", status);
    fw_metrics_add(self->metrics, "fw_tsdb_remote_write_requests_total", lbl, 1);
    resp->status = status;
    resp->body = text;
    resp->body_len = 0;
    resp->content_type = "text/plain; charset=utf-8";
    return 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_rwrite_t *
tsdb_rwrite_new(zsock_t *samples, tsdb_store_t *store, fw_metrics_t *metrics, fw_err_t *err)
{
    tsdb_rwrite_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->metrics = metrics;
    snprintf(self->endpoint, sizeof(self->endpoint), "inproc://tsdb-remote-write-%p", (void *)self);
    // libzmq's bind, not czmq's: zsock_endpoint(samples) keeps naming the TCP endpoint.
    if (zmq_bind(zsock_resolve(samples), self->endpoint) != 0) {
        fw_err_set(err, "cannot bind %s on the samples socket", self->endpoint);
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->free, NULL);
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_requests_total", FW_METRIC_COUNTER,
                       "Remote-write requests on /api/v1/write, by HTTP status answered.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_samples_total", FW_METRIC_COUNTER,
                       "Samples received by remote write and stored (acknowledged by storage).");
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_rejected_total", FW_METRIC_COUNTER,
                       "Remote-write requests refused, by reason: content_type, "
                       "content_encoding, snappy, protobuf, too_large, out_of_bounds, labels "
                       "(some series refused), out_of_order, duplicate, too_old, empty_series "
                       "(2.0: a series without samples), unavailable; a 2.0 request partly "
                       "refused counts once for each reason it holds.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_invalid_labels_samples_total",
                       FW_METRIC_COUNTER,
                       "Remote-write samples dropped because their series' labels are invalid.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_ignored_total", FW_METRIC_COUNTER,
                       "Remote-write exemplars and native histograms received and not stored.");
    fw_metrics_add(metrics, "fw_tsdb_remote_write_samples_total", "", 0);
    fw_metrics_add(metrics, "fw_tsdb_remote_write_invalid_labels_samples_total", "", 0);
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_dropped_samples_total", FW_METRIC_COUNTER,
                       "Remote-write samples that passed the check before appending and "
                       "that storage then refused (an earlier sample of the same series in the "
                       "request, or another writer in between): dropped, as Prometheus's "
                       "commit drops them.");
    fw_metrics_add(metrics, "fw_tsdb_remote_write_ignored_total", "", 0);
    fw_metrics_add(metrics, "fw_tsdb_remote_write_dropped_samples_total", "", 0);
    fw_metrics_declare(metrics, "fw_tsdb_remote_write_metadata_total", FW_METRIC_COUNTER,
                       "Remote-write metric metadata entries received, by result: stored (in "
                       "/api/v1/metadata), refused (a type that is no MetricType, a help or "
                       "unit over the bounds or not UTF-8, or the metadata table full).");
    fw_metrics_add(metrics, "fw_tsdb_remote_write_metadata_total", "result=\"stored\"", 0);
    fw_metrics_add(metrics, "fw_tsdb_remote_write_metadata_total", "result=\"refused\"", 0);
    return self;
}

void
tsdb_rwrite_set_metadata(tsdb_rwrite_t *self, tsdb_metadata_t *metadata)
{
    self->metadata = metadata;
}

void
tsdb_rwrite_stop(tsdb_rwrite_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->free);
    pthread_mutex_unlock(&self->lock);
}

void
tsdb_rwrite_destroy(tsdb_rwrite_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rwrite_t *self = *self_p;
    for (size_t i = 0; i < self->n_chans; i++)
        zsock_destroy(&self->chans[i].sock);
    pthread_cond_destroy(&self->free);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
tsdb_rwrite_routes(tsdb_rwrite_t *self, fw_http_t *http)
{
    fw_http_route(http, "POST", "/api/v1/write", s_on_write, self);
}
