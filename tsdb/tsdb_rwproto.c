/*  tsdb_rwproto.c — prompb's WriteRequest read in place and written (see tsdb_rwproto.h).

    The checks follow the unmarshaller gogo-protobuf generates for prompb (types.pb.go,
    remote.pb.go) and its skipTypes, error text for error text, so a sender sees what the
    Prometheus receiver would have told it.
*/
#include "tsdb_rwproto.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_pb.h"

// The messages checked, as a table: each known field's number, wire type and name (for
// gogo's errors), the message it holds (S_NONE: not read) and its counter in
// struct tsdb_rwproto_counts (S_NONE: none).
#define S_NONE TSDB_PB_NONE
#define S_PACKED TSDB_PB_PACKED
enum {
    S_WRITE_REQUEST,
    S_TIME_SERIES,
    S_LABEL,
    S_SAMPLE,
    S_METADATA,
    S_V2_REQUEST,
    S_V2_SERIES,
    S_V2_METADATA
};

#define S_COUNT(m) offsetof(struct tsdb_rwproto_counts, m)

static const struct tsdb_pb_msg s_msgs[] = {
    [S_WRITE_REQUEST] = {"WriteRequest",
                         {{1, 2, "Timeseries", S_TIME_SERIES, S_COUNT(series)},
                          {3, 2, "Metadata", S_METADATA, S_COUNT(metadata)}},
                         2},
    [S_TIME_SERIES] = {"TimeSeries",
                       {{1, 2, "Labels", S_LABEL, S_COUNT(labels)},
                        {2, 2, "Samples", S_SAMPLE, S_COUNT(samples)},
                        {3, 2, "Exemplars", S_NONE, S_COUNT(exemplars)},
                        {4, 2, "Histograms", S_NONE, S_COUNT(histograms)}},
                       4},
    [S_LABEL] = {"Label", {{1, 2, "Name", S_NONE, S_NONE}, {2, 2, "Value", S_NONE, S_NONE}}, 2},
    [S_SAMPLE] = {"Sample",
                  {{1, 1, "Value", S_NONE, S_NONE}, {2, 0, "Timestamp", S_NONE, S_NONE}},
                  2},
    [S_METADATA] = {"MetricMetadata",
                    {{1, 0, "Type", S_NONE, S_NONE},
                     {2, 2, "MetricFamilyName", S_NONE, S_NONE},
                     {4, 2, "Help", S_NONE, S_NONE},
                     {5, 2, "Unit", S_NONE, S_NONE}},
                    4},
    // io.prometheus.write.v2 (remote write 2.0)
    [S_V2_REQUEST] = {"Request",
                      {{4, 2, "Symbols", S_NONE, S_COUNT(symbols)},
                       {5, 2, "Timeseries", S_V2_SERIES, S_COUNT(series)}},
                      2},
    [S_V2_SERIES] = {"TimeSeries",
                     {{1, 2, "LabelsRefs", S_PACKED, S_COUNT(refs)},
                      {2, 2, "Samples", S_SAMPLE, S_COUNT(samples)},
                      {3, 2, "Histograms", S_NONE, S_COUNT(histograms)},
                      {4, 2, "Exemplars", S_NONE, S_COUNT(exemplars)},
                      {5, 2, "Metadata", S_V2_METADATA, S_COUNT(metadata)},
                      {6, 0, "CreatedTimestamp", S_NONE, S_NONE}},
                     6},
    [S_V2_METADATA] = {"Metadata",
                       {{1, 0, "Type", S_NONE, S_NONE},
                        {3, 0, "HelpRef", S_NONE, S_NONE},
                        {4, 0, "UnitRef", S_NONE, S_NONE}},
                       3},
};

int
tsdb_rwproto_check(const unsigned char *body, size_t len, int version,
                   struct tsdb_rwproto_counts *c, fw_err_t *err)
{
    struct tsdb_rwproto_counts local;
    if (!c)
        c = &local;
    memset(c, 0, sizeof(*c));
    struct tsdb_pb_reader r = {body, len, 0};
    return tsdb_pb_check(&r, s_msgs, version == TSDB_RWPROTO_V2 ? S_V2_REQUEST : S_WRITE_REQUEST, c,
                         err);
}

bool
tsdb_rwproto_next_series(const unsigned char *body, size_t len, int version, size_t *off,
                         struct tsdb_rwproto_series *s)
{
    struct tsdb_pb_reader r = {body, len, *off}, sub;
    bool ok = tsdb_pb_next_of(&r, version == TSDB_RWPROTO_V2 ? 5 : 1, &sub);
    *off = r.off;
    if (ok) {
        s->p = sub.p;
        s->len = sub.len;
    }
    return ok;
}

void
tsdb_rwproto_symbols(const unsigned char *body, size_t len, struct tsdb_rwproto_symbols *out)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0, cap_len = 0;
    struct tsdb_pb_reader r = {body, len, 0}, sub;
    while (tsdb_pb_next_of(&r, 4, &sub)) {
        fw_mem_grow((void **)&out->p, &cap, out->n + 1, sizeof(*out->p));
        fw_mem_grow((void **)&out->len, &cap_len, out->n + 1, sizeof(*out->len));
        out->p[out->n] = (const char *)sub.p;
        out->len[out->n++] = sub.len;
    }
}

void
tsdb_rwproto_symbols_free(struct tsdb_rwproto_symbols *sym)
{
    free(sym->p);
    free(sym->len);
    memset(sym, 0, sizeof(*sym));
}

// The next labels ref of a checked v2 series (packed or not). False after the last.
static bool
s_next_ref(const struct tsdb_rwproto_series *s, struct tsdb_rwproto_cursor *cur, uint64_t *ref)
{
    for (;;) {
        if (cur->in < cur->end) {
            struct tsdb_pb_reader in = {s->p, cur->end, cur->in};
            if (tsdb_pb_varint(&in, ref, NULL) != 0)
                return false;
            cur->in = in.off;
            return true;
        }
        struct tsdb_pb_reader r = {s->p, s->len, cur->off}, sub;
        bool found = false;
        while (!found && r.off < r.len) {
            size_t at = r.off;
            int32_t f;
            int wt;
            if (tsdb_pb_tag(&r, "", &f, &wt, NULL) != 0)
                return false;
            if (f == 1 && wt == 0) {
                bool ok = tsdb_pb_varint(&r, ref, NULL) == 0;
                cur->off = r.off;
                return ok;
            }
            if (f == 1 && wt == 2) {
                if (tsdb_pb_bytes(&r, &sub, NULL) != 0)
                    return false;
                cur->in = (size_t)(sub.p - s->p);
                cur->end = cur->in + sub.len;
                found = true;
            } else {
                r.off = at;
                if (tsdb_pb_skip(&r, NULL) != 0)
                    return false;
            }
        }
        cur->off = r.off;
        if (!found)
            return false;
    }
}

int
tsdb_rwproto_next_label(const struct tsdb_rwproto_series *s, const struct tsdb_rwproto_symbols *sym,
                        struct tsdb_rwproto_cursor *cur, struct tsdb_rwproto_label *l)
{
    memset(l, 0, sizeof(*l));
    l->name = l->value = "";
    if (sym) {
        uint64_t n, v;
        if (!s_next_ref(s, cur, &n))
            return 0;
        if (!s_next_ref(s, cur, &v) || n >= sym->n || v >= sym->n)
            return -1;
        l->name = sym->p[n];
        l->name_len = sym->len[n];
        l->value = sym->p[v];
        l->value_len = sym->len[v];
        return 1;
    }
    struct tsdb_pb_reader r = {s->p, s->len, cur->off}, sub;
    bool ok = tsdb_pb_next_of(&r, 1, &sub);
    cur->off = r.off;
    if (!ok)
        return 0;
    // Last one wins for a repeated field, as in protobuf.
    struct tsdb_pb_reader str;
    while (sub.off < sub.len) {
        size_t at = sub.off;
        int32_t f;
        int wt;
        if (tsdb_pb_tag(&sub, "", &f, &wt, NULL) != 0)
            break;
        if ((f == 1 || f == 2) && wt == 2 && tsdb_pb_bytes(&sub, &str, NULL) == 0) {
            if (f == 1) {
                l->name = (const char *)str.p;
                l->name_len = str.len;
            } else {
                l->value = (const char *)str.p;
                l->value_len = str.len;
            }
            continue;
        }
        sub.off = at;
        if (tsdb_pb_skip(&sub, NULL) != 0)
            break;
    }
    return 1;
}

bool
tsdb_rwproto_next_sample(const struct tsdb_rwproto_series *s, size_t *off, struct fw_sample *out)
{
    struct tsdb_pb_reader r = {s->p, s->len, *off}, sub;
    bool ok = tsdb_pb_next_of(&r, 2, &sub);
    *off = r.off;
    if (!ok)
        return false;
    out->t_ms = 0;
    out->v = 0;
    while (sub.off < sub.len) {
        size_t at = sub.off;
        int32_t f;
        int wt;
        uint64_t v;
        if (tsdb_pb_tag(&sub, "", &f, &wt, NULL) != 0)
            break;
        if (f == 1 && wt == 1 && sub.len - sub.off >= 8) {
            uint64_t bits = fw_bytes_get_le(sub.p + sub.off, 8);
            memcpy(&out->v, &bits, sizeof(bits));
            sub.off += 8;
            continue;
        }
        if (f == 2 && wt == 0 && tsdb_pb_varint(&sub, &v, NULL) == 0) {
            out->t_ms = (int64_t)v;
            continue;
        }
        sub.off = at;
        if (tsdb_pb_skip(&sub, NULL) != 0)
            break;
    }
    return true;
}

// The last value of string field want of a checked message as *p, *n (protobuf: the last
// one wins); untouched when it has none.
static void
s_last_string(const struct tsdb_pb_reader *msg, int32_t want, const char **p, size_t *n)
{
    struct tsdb_pb_reader r = *msg, sub;
    r.off = 0;
    while (tsdb_pb_next_of(&r, want, &sub)) {
        *p = (const char *)sub.p;
        *n = sub.len;
    }
}

// Prometheus's MetricType numbers (1.0 and 2.0 alike) as /api/v1/metadata names them.
static const char *const s_meta_types[] = {"unknown",        "counter", "gauge", "histogram",
                                           "gaugehistogram", "summary", "info",  "stateset"};
#define S_META_TYPES (sizeof(s_meta_types) / sizeof(*s_meta_types))

const char *
tsdb_rwproto_meta_type_name(uint64_t type)
{
    return type < S_META_TYPES ? s_meta_types[type] : NULL;
}

uint64_t
tsdb_rwproto_meta_type(const char *name)
{
    for (uint64_t i = 0; i < S_META_TYPES; i++)
        if (strcmp(name, s_meta_types[i]) == 0)
            return i;
    return 0;
}

bool
tsdb_rwproto_next_meta(const unsigned char *body, size_t len, size_t *off,
                       struct tsdb_rwproto_meta *m)
{
    struct tsdb_pb_reader r = {body, len, *off}, sub;
    bool ok = tsdb_pb_next_of(&r, 3, &sub);
    *off = r.off;
    if (!ok)
        return false;
    memset(m, 0, sizeof(*m));
    m->name = m->help = m->unit = "";
    m->type = tsdb_pb_get_varint(&sub, 1, 0);
    s_last_string(&sub, 2, &m->name, &m->name_len);
    s_last_string(&sub, 4, &m->help, &m->help_len);
    s_last_string(&sub, 5, &m->unit, &m->unit_len);
    return true;
}

int64_t
tsdb_rwproto_series_created(const struct tsdb_rwproto_series *s)
{
    struct tsdb_pb_reader r = {s->p, s->len, 0};
    return (int64_t)tsdb_pb_get_varint(&r, 6, 0);
}

size_t
tsdb_rwproto_series_refs(const struct tsdb_rwproto_series *s, uint64_t *refs, size_t max)
{
    struct tsdb_rwproto_cursor cur = {0};
    uint64_t ref;
    size_t n = 0;
    while (s_next_ref(s, &cur, &ref)) {
        if (n < max)
            refs[n] = ref;
        n++;
    }
    return n;
}

size_t
tsdb_rwproto_series_histograms(const struct tsdb_rwproto_series *s, int version)
{
    struct tsdb_pb_reader r = {s->p, s->len, 0}, sub;
    size_t n = 0;
    while (tsdb_pb_next_of(&r, version == TSDB_RWPROTO_V2 ? 3 : 4, &sub))
        n++;
    return n;
}

int
tsdb_rwproto_series_meta(const struct tsdb_rwproto_series *s,
                         const struct tsdb_rwproto_symbols *sym, struct tsdb_rwproto_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->name = m->help = m->unit = "";
    struct tsdb_pb_reader r = {s->p, s->len, 0}, sub, last = {0};
    bool found = false;
    while (tsdb_pb_next_of(&r, 5, &sub)) {
        last = sub;
        found = true;
    }
    if (!found)
        return 0;
    m->type = tsdb_pb_get_varint(&last, 1, 0);
    uint64_t help = tsdb_pb_get_varint(&last, 3, 0), unit = tsdb_pb_get_varint(&last, 4, 0);
    if ((help && help >= sym->n) || (unit && unit >= sym->n))
        return -1;
    if (help) {
        m->help = sym->p[help];
        m->help_len = sym->len[help];
    }
    if (unit) {
        m->unit = sym->p[unit];
        m->unit_len = sym->len[unit];
    }
    if (m->type == 0 && m->help_len == 0 && m->unit_len == 0)
        return 0; // proto3's empty message: no metadata sent
    struct tsdb_rwproto_cursor cur = {0};
    struct tsdb_rwproto_label l;
    int got;
    while ((got = tsdb_rwproto_next_label(s, sym, &cur, &l)) == 1)
        if (l.name_len == 8 && memcmp(l.name, "__name__", 8) == 0) {
            m->name = l.value;
            m->name_len = l.value_len;
        }
    return got < 0 ? -1 : 1;
}

// ---------------------------------------------------------------------------------------
// Encoding

void
tsdb_rwproto_put_series(struct fw_json_out *b, const char *const *names, const char *const *values,
                        size_t n, const struct fw_sample *samples, size_t ns)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        size_t lab = 1 + tsdb_pb_varint_size(nl) + nl + 1 + tsdb_pb_varint_size(vl) + vl;
        body += 1 + tsdb_pb_varint_size(lab) + lab;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t smp = 9 + (samples[k].t_ms ? 1 + tsdb_pb_varint_size((uint64_t)samples[k].t_ms) : 0);
        body += 1 + tsdb_pb_varint_size(smp) + smp;
    }
    tsdb_pb_put_varint(b, 1 << 3 | 2); // WriteRequest.timeseries
    tsdb_pb_put_varint(b, body);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        tsdb_pb_put_varint(b, 1 << 3 | 2); // TimeSeries.labels
        tsdb_pb_put_varint(b, 1 + tsdb_pb_varint_size(nl) + nl + 1 + tsdb_pb_varint_size(vl) + vl);
        tsdb_pb_put_bytes(b, 1, names[i], nl);
        tsdb_pb_put_bytes(b, 2, values[i], vl);
    }
    for (size_t k = 0; k < ns; k++) {
        uint64_t t = (uint64_t)samples[k].t_ms, bits;
        size_t smp = 9 + (t ? 1 + tsdb_pb_varint_size(t) : 0);
        tsdb_pb_put_varint(b, 2 << 3 | 2); // TimeSeries.samples
        tsdb_pb_put_varint(b, smp);
        unsigned char v[9] = {1 << 3 | 1};
        memcpy(&bits, &samples[k].v, sizeof(bits));
        fw_bytes_put_le(v + 1, bits, 8);
        fw_json_out_put(b, (const char *)v, sizeof(v));
        if (t) {
            tsdb_pb_put_varint(b, 2 << 3 | 0);
            tsdb_pb_put_varint(b, t);
        }
    }
}

void
tsdb_rwproto_put_meta(struct fw_json_out *b, const struct tsdb_rwproto_meta *m)
{
    size_t body = (m->type ? 1 + tsdb_pb_varint_size(m->type) : 0) +
                  (m->name_len ? 1 + tsdb_pb_varint_size(m->name_len) + m->name_len : 0) +
                  (m->help_len ? 1 + tsdb_pb_varint_size(m->help_len) + m->help_len : 0) +
                  (m->unit_len ? 1 + tsdb_pb_varint_size(m->unit_len) + m->unit_len : 0);
    tsdb_pb_put_varint(b, 3 << 3 | 2); // WriteRequest.metadata
    tsdb_pb_put_varint(b, body);
    tsdb_pb_put_uint(b, 1, m->type);
    if (m->name_len) // proto3: an empty string is not written
        tsdb_pb_put_bytes(b, 2, m->name, m->name_len);
    if (m->help_len)
        tsdb_pb_put_bytes(b, 4, m->help, m->help_len);
    if (m->unit_len)
        tsdb_pb_put_bytes(b, 5, m->unit, m->unit_len);
}
