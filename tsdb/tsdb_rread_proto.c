/*  tsdb_rread_proto.c — remote read's messages, read and written (see tsdb_rread_proto.h).

    Reading is in two steps, as for remote write: tsdb_pb_check walks the whole message
    against the table below and fails with gogo-protobuf's text, then the walkers read the
    values out without further checks.
*/
#include "tsdb_rread_proto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "tsdb_pb.h"

#define S_NONE TSDB_PB_NONE
#define S_PACKED TSDB_PB_PACKED

enum { S_READ_REQUEST, S_QUERY, S_MATCHER, S_HINTS, S_CHUNKED, S_CSERIES, S_LABEL, S_CHUNK };

struct s_counts {
    size_t queries, matchers, accepted;
};
#define S_COUNT(m) offsetof(struct s_counts, m)

static const struct tsdb_pb_msg s_msgs[] = {
    [S_READ_REQUEST] = {"ReadRequest",
                        {{1, 2, "Queries", S_QUERY, S_COUNT(queries)},
                         {2, 2, "AcceptedResponseTypes", S_PACKED, S_COUNT(accepted)}},
                        2},
    [S_QUERY] = {"Query",
                 {{1, 0, "StartTimestampMs", S_NONE, S_NONE},
                  {2, 0, "EndTimestampMs", S_NONE, S_NONE},
                  {3, 2, "Matchers", S_MATCHER, S_COUNT(matchers)},
                  {4, 2, "Hints", S_HINTS, S_NONE}},
                 4},
    [S_MATCHER] = {"LabelMatcher",
                   {{1, 0, "Type", S_NONE, S_NONE},
                    {2, 2, "Name", S_NONE, S_NONE},
                    {3, 2, "Value", S_NONE, S_NONE}},
                   3},
    [S_HINTS] = {"ReadHints",
                 {{1, 0, "StepMs", S_NONE, S_NONE},
                  {2, 2, "Func", S_NONE, S_NONE},
                  {3, 0, "StartMs", S_NONE, S_NONE},
                  {4, 0, "EndMs", S_NONE, S_NONE},
                  {5, 2, "Grouping", S_NONE, S_NONE},
                  {6, 0, "By", S_NONE, S_NONE},
                  {7, 0, "RangeMs", S_NONE, S_NONE}},
                 7},
    [S_CHUNKED] = {"ChunkedReadResponse",
                   {{1, 2, "ChunkedSeries", S_CSERIES, S_NONE},
                    {2, 0, "QueryIndex", S_NONE, S_NONE}},
                   2},
    [S_CSERIES] = {"ChunkedSeries",
                   {{1, 2, "Labels", S_LABEL, S_NONE}, {2, 2, "Chunks", S_CHUNK, S_NONE}},
                   2},
    [S_LABEL] = {"Label", {{1, 2, "Name", S_NONE, S_NONE}, {2, 2, "Value", S_NONE, S_NONE}}, 2},
    [S_CHUNK] = {"Chunk",
                 {{1, 0, "MinTimeMs", S_NONE, S_NONE},
                  {2, 0, "MaxTimeMs", S_NONE, S_NONE},
                  {3, 0, "Type", S_NONE, S_NONE},
                  {4, 2, "Data", S_NONE, S_NONE}},
                 4},
};

// The last string field f of a checked message (protobuf: the last one wins), or "".
static void
s_get_str(const struct tsdb_pb_reader *msg, int32_t f, const char **s, size_t *n)
{
    struct tsdb_pb_reader r = *msg, sub;
    *s = "";
    *n = 0;
    while (tsdb_pb_next_of(&r, f, &sub)) {
        *s = (const char *)sub.p;
        *n = sub.len;
    }
}

// ---------------------------------------------------------------------------------------
// ReadRequest

static void
s_decode_matcher(const struct tsdb_pb_reader *m, struct fw_matcher *out)
{
    const char *s;
    size_t n;
    uint64_t type = tsdb_pb_get_varint(m, 1, 0);
    out->op = type <= FW_MATCH_NRE ? (fw_match_op_t)type : (fw_match_op_t)-1;
    s_get_str(m, 2, &s, &n);
    out->name = fw_strndup(s, n);
    s_get_str(m, 3, &s, &n);
    out->value = fw_strndup(s, n);
    out->re = NULL;
}

static void
s_decode_query(const struct tsdb_pb_reader *q, size_t n_matchers, struct tsdb_rread_query *out)
{
    out->start_ms = (int64_t)tsdb_pb_get_varint(q, 1, 0);
    out->end_ms = (int64_t)tsdb_pb_get_varint(q, 2, 0);
    out->matchers = fw_calloc(n_matchers + 1, sizeof(*out->matchers));
    struct tsdb_pb_reader r = *q, sub;
    while (out->n_matchers < n_matchers && tsdb_pb_next_of(&r, 3, &sub))
        s_decode_matcher(&sub, &out->matchers[out->n_matchers++]);
    r = *q;
    struct tsdb_pb_reader h = {NULL, 0, 0};
    while (tsdb_pb_next_of(&r, 4, &sub)) { // a repeated message field is merged: last wins
        h = sub;
        out->has_hints = true;
    }
    if (!out->has_hints)
        return;
    struct tsdb_rread_hints *hi = &out->hints;
    hi->step_ms = (int64_t)tsdb_pb_get_varint(&h, 1, 0);
    hi->start_ms = (int64_t)tsdb_pb_get_varint(&h, 3, 0);
    hi->end_ms = (int64_t)tsdb_pb_get_varint(&h, 4, 0);
    hi->by = tsdb_pb_get_varint(&h, 6, 0) != 0;
    hi->range_ms = (int64_t)tsdb_pb_get_varint(&h, 7, 0);
    const char *s;
    size_t n;
    s_get_str(&h, 2, &s, &n);
    if (n >= sizeof(hi->func))
        n = sizeof(hi->func) - 1;
    memcpy(hi->func, s, n);
    hi->func[n] = '\0';
}

// The next value of the packed (or not) varint field f.
static bool
s_next_packed(struct tsdb_pb_reader *r, int32_t f, struct tsdb_pb_reader *in, uint64_t *v)
{
    for (;;) {
        if (in->off < in->len)
            return tsdb_pb_varint(in, v, NULL) == 0;
        if (r->off >= r->len)
            return false;
        size_t at = r->off;
        int32_t num;
        int wt;
        if (tsdb_pb_tag(r, "", &num, &wt, NULL) != 0)
            return false;
        if (num == f && wt == 0)
            return tsdb_pb_varint(r, v, NULL) == 0;
        if (num == f && wt == 2) {
            if (tsdb_pb_bytes(r, in, NULL) != 0)
                return false;
            continue;
        }
        r->off = at;
        if (tsdb_pb_skip(r, NULL) != 0)
            return false;
    }
}

int
tsdb_rread_request_decode(const unsigned char *pb, size_t len, struct tsdb_rread_request *req,
                          fw_err_t *err)
{
    memset(req, 0, sizeof(*req));
    struct s_counts c = {0};
    struct tsdb_pb_reader r = {pb, len, 0};
    if (tsdb_pb_check(&r, s_msgs, S_READ_REQUEST, &c, err) != 0)
        return -1;
    if (c.queries > TSDB_RREAD_MAX_QUERIES)
        return fw_err_set(err, "%zu queries in one request: the limit is %d", c.queries,
                          TSDB_RREAD_MAX_QUERIES),
               -1;
    if (c.accepted > TSDB_RREAD_MAX_ACCEPTED)
        return fw_err_set(err, "%zu accepted response types: the limit is %d", c.accepted,
                          TSDB_RREAD_MAX_ACCEPTED),
               -1;
    req->queries = fw_calloc(c.queries + 1, sizeof(*req->queries));
    struct tsdb_pb_reader q, in = {NULL, 0, 0};
    r.off = 0;
    while (tsdb_pb_next_of(&r, 1, &q)) {
        struct s_counts qc = {0};
        struct tsdb_pb_reader chk = q;
        tsdb_pb_check(&chk, s_msgs, S_QUERY, &qc, NULL); // checked above: only counts
        if (qc.matchers > TSDB_RREAD_MAX_MATCHERS)
            return fw_err_set(err, "%zu matchers in one query: the limit is %d", qc.matchers,
                              TSDB_RREAD_MAX_MATCHERS),
                   -1;
        s_decode_query(&q, qc.matchers, &req->queries[req->n++]);
    }
    r.off = 0;
    uint64_t v;
    while (req->n_accepted < TSDB_RREAD_MAX_ACCEPTED && s_next_packed(&r, 2, &in, &v))
        req->accepted[req->n_accepted++] = (int)(int32_t)v;
    return 0;
}

void
tsdb_rread_request_clear(struct tsdb_rread_request *req)
{
    for (size_t k = 0; k < req->n; k++) {
        for (size_t i = 0; i < req->queries[k].n_matchers; i++)
            fw_matcher_clear(&req->queries[k].matchers[i]);
        free(req->queries[k].matchers);
    }
    free(req->queries);
    memset(req, 0, sizeof(*req));
}

void
tsdb_rread_request_encode(struct fw_json_out *b, int64_t start_ms, int64_t end_ms,
                          const struct fw_matcher *matchers, size_t n, const int *types, size_t nt)
{
    struct fw_json_out q = {0}, m = {0};
    tsdb_pb_put_uint(&q, 1, (uint64_t)start_ms);
    tsdb_pb_put_uint(&q, 2, (uint64_t)end_ms);
    for (size_t k = 0; k < n; k++) {
        m.len = 0;
        tsdb_pb_put_uint(&m, 1, (uint64_t)matchers[k].op);
        tsdb_pb_put_bytes(&m, 2, matchers[k].name, strlen(matchers[k].name));
        tsdb_pb_put_bytes(&m, 3, matchers[k].value, strlen(matchers[k].value));
        tsdb_pb_put_bytes(&q, 3, m.p, m.len);
    }
    tsdb_pb_put_bytes(b, 1, q.p, q.len);
    if (nt) {
        m.len = 0;
        for (size_t k = 0; k < nt; k++)
            tsdb_pb_put_varint(&m, (uint64_t)types[k]);
        tsdb_pb_put_bytes(b, 2, m.p, m.len);
    }
    free(q.p);
    free(m.p);
}

// ---------------------------------------------------------------------------------------
// SAMPLES

void
tsdb_rread_put_result(struct fw_json_out *b, const struct fw_json_out *qr)
{
    tsdb_pb_put_bytes(b, 1, qr->p, qr->len);
}

bool
tsdb_rread_next_result(const unsigned char *body, size_t len, size_t *off, const unsigned char **qr,
                       size_t *qr_len, fw_err_t *err)
{
    struct tsdb_pb_reader r = {body, len, *off}, sub;
    while (r.off < r.len) {
        size_t at = r.off;
        int32_t f;
        int wt;
        if (tsdb_pb_tag(&r, "ReadResponse", &f, &wt, err) != 0)
            return false;
        if (f == 1 && wt != 2)
            return fw_err_set(err, "proto: wrong wireType = %d for field Results", wt), false;
        if (f == 1) {
            if (tsdb_pb_bytes(&r, &sub, err) != 0)
                return false;
            *off = r.off;
            *qr = sub.p;
            *qr_len = sub.len;
            return true;
        }
        r.off = at;
        if (tsdb_pb_skip(&r, err) != 0)
            return false;
    }
    *off = r.off;
    return false;
}

// ---------------------------------------------------------------------------------------
// STREAMED_XOR_CHUNKS

static size_t
s_field_size(size_t n)
{
    return n ? 1 + tsdb_pb_varint_size(n) + n : 0;
}

size_t
tsdb_rread_label_size(const char *name, const char *value)
{
    return s_field_size(strlen(name)) + s_field_size(strlen(value));
}

static size_t
s_uint_size(uint64_t v)
{
    return v ? 1 + tsdb_pb_varint_size(v) : 0;
}

size_t
tsdb_rread_chunk_size(const struct tsdb_rread_chunk *c)
{
    return s_uint_size((uint64_t)c->mint) + s_uint_size((uint64_t)c->maxt) +
           s_uint_size((uint64_t)c->type) + s_field_size(c->len);
}

static void
s_put_label(struct fw_json_out *b, struct fw_json_out *tmp, const struct fw_label *l)
{
    tmp->len = 0;
    tsdb_pb_put_bytes(tmp, 1, l->name, strlen(l->name));
    tsdb_pb_put_bytes(tmp, 2, l->value, strlen(l->value));
    tsdb_pb_put_bytes(b, 1, tmp->p, tmp->len);
}

static uint32_t s_crc_table[256];
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;

static void
s_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1; // Castagnoli, reversed
        s_crc_table[i] = c;
    }
}

uint32_t
tsdb_rread_crc32c(const unsigned char *p, size_t n)
{
    pthread_once(&s_crc_once, s_crc_init);
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = s_crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

void
tsdb_rread_put_frame(struct fw_json_out *b, const struct fw_labels *l, const struct fw_labels *ext,
                     const struct tsdb_rread_chunk *chunks, size_t n, int64_t qi)
{
    struct fw_json_out s = {0}, tmp = {0}, msg = {0};
    size_t i = 0, j = 0, ne = ext ? ext->len : 0;
    while (i < l->len || j < ne) { // MergeLabels: the series' own win
        int c = i == l->len ? 1 : j == ne ? -1 : strcmp(l->items[i].name, ext->items[j].name);
        if (c <= 0)
            s_put_label(&s, &tmp, &l->items[i++]);
        else
            s_put_label(&s, &tmp, &ext->items[j]);
        if (c >= 0)
            j++;
    }
    for (size_t k = 0; k < n; k++) {
        tmp.len = 0;
        tsdb_pb_put_uint(&tmp, 1, (uint64_t)chunks[k].mint);
        tsdb_pb_put_uint(&tmp, 2, (uint64_t)chunks[k].maxt);
        tsdb_pb_put_uint(&tmp, 3, (uint64_t)chunks[k].type);
        if (chunks[k].len)
            tsdb_pb_put_bytes(&tmp, 4, chunks[k].data, chunks[k].len);
        tsdb_pb_put_bytes(&s, 2, tmp.p, tmp.len);
    }
    tsdb_pb_put_bytes(&msg, 1, s.p, s.len);
    tsdb_pb_put_uint(&msg, 2, (uint64_t)qi);
    tsdb_pb_put_varint(b, msg.len);
    unsigned char crc[4];
    uint32_t c = tsdb_rread_crc32c((const unsigned char *)msg.p, msg.len);
    for (int k = 0; k < 4; k++)
        crc[k] = (unsigned char)(c >> (24 - 8 * k));
    fw_json_out_put(b, (const char *)crc, sizeof(crc));
    fw_json_out_put(b, msg.p, msg.len);
    free(s.p);
    free(tmp.p);
    free(msg.p);
}

int
tsdb_rread_frame(const unsigned char *buf, size_t len, size_t max, const unsigned char **msg,
                 size_t *msg_len, size_t *used, fw_err_t *err)
{
    size_t off = 0;
    uint64_t size;
    *used = 0;
    int rc = fw_bytes_get_uvarint(buf, len, &off, &size);
    if (rc == FW_ETRUNC)
        return 0;
    if (rc != 0)
        return fw_err_set(err, "chunkedReader: bad frame size"), -1;
    if (size > max)
        return fw_err_set(err,
                          "chunkedReader: message size exceeded the limit %zu bytes; got: %llu "
                          "bytes",
                          max, (unsigned long long)size),
               -1;
    if (len - off < 4 + size) {
        *used = off + 4 + (size_t)size;
        return 0;
    }
    uint32_t want = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
                    (uint32_t)buf[off + 2] << 8 | buf[off + 3];
    *msg = buf + off + 4;
    *msg_len = (size_t)size;
    if (tsdb_rread_crc32c(*msg, *msg_len) != want)
        return fw_err_set(err, "chunkedReader: corrupted frame; checksum mismatch"), -1;
    *used = off + 4 + (size_t)size;
    return 1;
}

int
tsdb_rread_chunked_check(const unsigned char *msg, size_t len, int64_t *qi, fw_err_t *err)
{
    struct tsdb_pb_reader r = {msg, len, 0};
    if (tsdb_pb_check(&r, s_msgs, S_CHUNKED, NULL, err) != 0)
        return -1;
    r.off = 0;
    *qi = (int64_t)tsdb_pb_get_varint(&r, 2, 0);
    return 0;
}

bool
tsdb_rread_next_series(const unsigned char *msg, size_t len, size_t *off,
                       struct tsdb_rread_series *s)
{
    struct tsdb_pb_reader r = {msg, len, *off}, sub;
    bool ok = tsdb_pb_next_of(&r, 1, &sub);
    *off = r.off;
    if (ok) {
        s->p = sub.p;
        s->len = sub.len;
    }
    return ok;
}

int
tsdb_rread_series_labels(const struct tsdb_rread_series *s, struct fw_labels *l, fw_err_t *err)
{
    fw_labels_clear(l);
    struct tsdb_pb_reader r = {s->p, s->len, 0}, sub;
    while (tsdb_pb_next_of(&r, 1, &sub)) {
        const char *name, *value;
        size_t nn, nv;
        s_get_str(&sub, 1, &name, &nn);
        s_get_str(&sub, 2, &value, &nv);
        char *nm = fw_strndup(name, nn);
        if (!fw_names_valid(name, nn) || !fw_utf8_valid(value, nv) || memchr(value, '\0', nv)) {
            fw_err_set(err, "invalid label %s in a ChunkedSeries", nm);
            free(nm);
            return -1;
        }
        fw_labels_setn(l, nm, value, nv);
        free(nm);
    }
    return 0;
}

bool
tsdb_rread_next_chunk(const struct tsdb_rread_series *s, size_t *off, struct tsdb_rread_chunk *c)
{
    struct tsdb_pb_reader r = {s->p, s->len, *off}, sub;
    bool ok = tsdb_pb_next_of(&r, 2, &sub);
    *off = r.off;
    if (!ok)
        return false;
    c->mint = (int64_t)tsdb_pb_get_varint(&sub, 1, 0);
    c->maxt = (int64_t)tsdb_pb_get_varint(&sub, 2, 0);
    c->type = (int)tsdb_pb_get_varint(&sub, 3, 0);
    const char *d;
    s_get_str(&sub, 4, &d, &c->len);
    c->data = (const unsigned char *)d;
    return true;
}
