/*  tsdb_federate.c — GET /federate (see tsdb_federate.h).

    The order of the work is Prometheus's: select and take each series' latest sample in one
    read transaction (ended before any text is written), sort, then write each sample with
    its labels and the external ones it lacks. Parse errors use the query API's position
    text (tsdb_api_parse_error, shared through tsdb_api_int.h).
*/
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_promql_ast.h"
#include "fw_sample.h"
#include "fw_time.h"
#include "tsdb_api_int.h"
#include "tsdb_eval_int.h"
#include "tsdb_extlabels.h"
#include "tsdb_federate.h"
#include "fw_json_out.h"
#include "tsdb_pb.h"

struct tsdb_federate {
    tsdb_store_t *store;            // borrowed
    struct tsdb_extlabels external; // global.external_labels
};

// One series' latest sample.
struct s_point {
    struct fw_labels labels; // owned
    const char *name;        // borrowed from labels: __name__
    int64_t t;
    double v;
};

tsdb_federate_t *
tsdb_federate_new(tsdb_store_t *store)
{
    tsdb_federate_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    tsdb_extlabels_init(&self->external);
    return self;
}

void
tsdb_federate_destroy(tsdb_federate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_federate_t *self = *self_p;
    tsdb_extlabels_clear(&self->external);
    free(self);
    *self_p = NULL;
}

void
tsdb_federate_set_external_labels(tsdb_federate_t *self, const struct fw_labels *l)
{
    tsdb_extlabels_set(&self->external, l);
}

static int
s_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// Sorted by metric name, then by labels (the order Prometheus's merged selection has).
static int
s_point_cmp(const void *a, const void *b)
{
    const struct s_point *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : fw_labels_cmp(&x->labels, &y->labels);
}

// The ids matching any of the sets, sorted, each once, into *ids. 0 or -1.
static int
s_select(tsdb_store_reader_t *r, fw_promql_expr_t *const *sets, size_t n, uint64_t **ids,
         size_t *n_ids, fw_err_t *err)
{
    uint64_t *all = NULL;
    size_t n_all = 0, cap = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t *one;
        size_t n_one;
        if (sets[k]->n_matchers == 0)
            continue; // `{}`: Prometheus's Select without matchers finds nothing
        if (tsdb_store_select_ids(r, sets[k]->matchers, sets[k]->n_matchers, &one, &n_one, err) !=
            0) {
            free(all);
            return -1;
        }
        if (n_one) {
            fw_mem_grow((void **)&all, &cap, n_all + n_one, sizeof(*all));
            memcpy(all + n_all, one, n_one * sizeof(*one));
            n_all += n_one;
        }
        free(one);
    }
    if (n > 1 && n_all > 1)
        qsort(all, n_all, sizeof(*all), s_id_cmp);
    size_t w = 0;
    for (size_t k = 0; k < n_all; k++)
        if (w == 0 || all[k] != all[w - 1])
            all[w++] = all[k];
    *ids = all;
    *n_ids = w;
    return 0;
}

// l with its names (and the metric name) escaped as esc says (Prometheus 3's
// model.EscapeName: what a scraper that asked for escaping=esc reads).
static void
s_escape_labels(struct fw_labels *l, fw_names_escaping_t esc)
{
    struct fw_labels out = FW_LABELS_INIT;
    for (size_t k = 0; k < l->len; k++) {
        bool metric = strcmp(l->items[k].name, "__name__") == 0;
        char *name = metric ? fw_strdup("__name__") : fw_names_escape(l->items[k].name, esc);
        char *value = metric ? fw_names_escape(l->items[k].value, esc) : NULL;
        fw_labels_set(&out, name, value ? value : l->items[k].value);
        free(name);
        free(value);
    }
    fw_labels_clear(l);
    *l = out;
}

// The latest sample of each selected series in [now - lookback, now], stale ones and
// nameless ones left out, into *out, names escaped with esc. 0 or -1.
static int
s_collect(tsdb_federate_t *self, fw_promql_expr_t *const *sets, size_t n, int64_t now_ms,
          fw_names_escaping_t esc, struct s_point **out, size_t *n_out, fw_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, err);
    if (!r)
        return -1;
    uint64_t *ids;
    size_t n_ids;
    if (s_select(r, sets, n, &ids, &n_ids, err) != 0) {
        tsdb_store_reader_destroy(&r);
        return -1;
    }
    struct s_point *pts = NULL;
    size_t n_pts = 0, cap = 0;
    int rc = 0;
    for (size_t k = 0; k < n_ids; k++) {
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ids[k], now_ms - TSDB_FEDERATE_LOOKBACK_MS, now_ms);
        bool have = false;
        int64_t t = 0;
        double v = 0;
        while (tsdb_store_iter_next(&it)) {
            have = true;
            t = it.t;
            v = it.v;
        }
        if (tsdb_store_iter_err(&it) != 0) {
            fw_err_set(err, "reading series %llu: %s", (unsigned long long)ids[k],
                       mdb_strerror(tsdb_store_iter_err(&it)));
            rc = -1;
            break;
        }
        if (!have || fw_sample_is_stale(v))
            continue;
        fw_mem_grow((void **)&pts, &cap, n_pts + 1, sizeof(*pts));
        struct s_point *p = &pts[n_pts];
        *p = (struct s_point){FW_LABELS_INIT, NULL, t, v};
        fw_err_t lerr;
        int lrc = tsdb_store_series_labels(r, ids[k], &p->labels, &lerr);
        if (lrc == 0 && esc != FW_NAMES_ESC_NONE)
            s_escape_labels(&p->labels, esc);
        if (lrc != 0 || !(p->name = fw_labels_get(&p->labels, "__name__")) || !*p->name) {
            fw_labels_clear(&p->labels); // damaged (reported by the store) or nameless
            continue;
        }
        n_pts++;
    }
    free(ids);
    tsdb_store_reader_destroy(&r);
    if (rc != 0) {
        for (size_t k = 0; k < n_pts; k++)
            fw_labels_clear(&pts[k].labels);
        free(pts);
        return -1;
    }
    if (n_pts > 1)
        qsort(pts, n_pts, sizeof(*pts), s_point_cmp);
    *out = pts;
    *n_out = n_pts;
    return 0;
}

// "text" quoted and escaped as the text format does (\\, \", \n).
static void
s_put_quoted(struct fw_json_out *b, const char *value)
{
    fw_json_out_puts(b, "\"");
    for (const char *s = value; *s;) {
        size_t run = strcspn(s, "\\\"\n");
        fw_json_out_put(b, s, run);
        s += run;
        if (!*s)
            break;
        fw_json_out_puts(b, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n");
        s++;
    }
    fw_json_out_puts(b, "\"");
}

// name="value"; a name that is not a legacy label name is quoted (Prometheus 3's text format).
static void
s_put_label(struct fw_json_out *b, const char *name, const char *value)
{
    if (fw_label_name_valid(name))
        fw_json_out_puts(b, name);
    else
        s_put_quoted(b, name);
    fw_json_out_puts(b, "=");
    s_put_quoted(b, value);
}

// The external labels a sample may get, sorted by name: global.external_labels and
// instance ("" unless it is one of them).
struct s_ext {
    struct fw_label *items; // owned copies
    size_t len;
};

static void
s_ext_build(tsdb_federate_t *self, struct s_ext *ext)
{
    struct fw_labels external = FW_LABELS_INIT;
    tsdb_extlabels_get(&self->external, &external);
    size_t n = external.len;
    ext->items = fw_calloc(n + 1, sizeof(*ext->items));
    ext->len = 0;
    bool inst = false;
    for (size_t k = 0; k <= n; k++) {
        const struct fw_label *l = k < n ? &external.items[k] : NULL;
        if (!inst && (!l || strcmp(l->name, "instance") >= 0)) {
            inst = true;
            if (!l || strcmp(l->name, "instance") != 0)
                ext->items[ext->len++] = (struct fw_label){fw_strdup("instance"), fw_strdup("")};
        }
        if (l)
            ext->items[ext->len++] = (struct fw_label){fw_strdup(l->name), fw_strdup(l->value)};
    }
    fw_labels_clear(&external);
}

static void
s_ext_clear(struct s_ext *ext)
{
    for (size_t k = 0; k < ext->len; k++) {
        free(ext->items[k].name);
        free(ext->items[k].value);
    }
    free(ext->items);
}

// The labels p is written with, in order, into out (room for p's and ext's): its own
// (sorted, __name__ and empty values aside), then the external ones it lacks. Returns how many.
static size_t
s_labels_of(const struct s_point *p, const struct s_ext *ext, const struct fw_label **out)
{
    size_t n = 0;
    for (size_t k = 0; k < p->labels.len; k++) {
        const struct fw_label *l = &p->labels.items[k];
        if (*l->value && strcmp(l->name, "__name__") != 0)
            out[n++] = l;
    }
    for (size_t k = 0; k < ext->len; k++) {
        const char *own = fw_labels_get(&p->labels, ext->items[k].name);
        if (!own || !*own)
            out[n++] = &ext->items[k];
    }
    return n;
}

// One sample line: name{labels} value timestamp.
static void
s_put_point(struct fw_json_out *b, const struct s_point *p, const struct fw_label *const *ls,
            size_t n)
{
    // a name that is not a legacy metric name goes first inside the braces, quoted
    bool quoted = !fw_metric_name_valid(p->name);
    if (quoted) {
        fw_json_out_puts(b, "{");
        s_put_quoted(b, p->name);
    } else {
        fw_json_out_puts(b, p->name);
    }
    for (size_t k = 0; k < n; k++) {
        fw_json_out_puts(b, k || quoted ? "," : "{");
        s_put_label(b, ls[k]->name, ls[k]->value);
    }
    if (n || quoted)
        fw_json_out_puts(b, "}");
    char num[48];
    // expfmt's writeFloat: 0 (also -0), 1 and -1 spelled out, else Go's 'g' shortest
    const char *v = p->v == 0 ? "0" : fw_gofloat_format(p->v, 'g', num, sizeof(num));
    fw_json_out_puts(b, " ");
    fw_json_out_puts(b, v);
    snprintf(num, sizeof(num), " %lld\n", (long long)p->t);
    fw_json_out_puts(b, num);
}

// --- protobuf (io.prometheus.client.MetricFamily, varint-length delimited) ---

// A Metric: label (1) pairs, untyped (5) {value (1)}, timestamp_ms (6), in field order as
// Go's proto.Marshal writes them.
static void
s_pb_metric(struct fw_json_out *m, const struct s_point *p, const struct fw_label *const *ls,
            size_t n)
{
    struct fw_json_out pair = {0};
    for (size_t k = 0; k < n; k++) {
        pair.len = 0;
        tsdb_pb_put_bytes(&pair, 1, ls[k]->name, strlen(ls[k]->name));
        tsdb_pb_put_bytes(&pair, 2, ls[k]->value, strlen(ls[k]->value));
        tsdb_pb_put_bytes(m, 1, pair.p, pair.len);
    }
    free(pair.p);
    uint64_t bits;
    memcpy(&bits, &p->v, sizeof(bits));
    char untyped[9] = {1 << 3 | 1};
    for (int k = 0; k < 8; k++)
        untyped[1 + k] = (char)(bits >> (8 * k));
    tsdb_pb_put_bytes(m, 5, untyped, sizeof(untyped));
    tsdb_pb_put_varint(m, 6 << 3);
    tsdb_pb_put_varint(m, (uint64_t)p->t);
}

// Close the family in fam (name, type UNTYPED, its metrics) into b with its length first.
static void
s_pb_family(struct fw_json_out *b, struct fw_json_out *fam, const char *name,
            struct fw_json_out *ms)
{
    fam->len = 0;
    tsdb_pb_put_bytes(fam, 1, name, strlen(name));
    tsdb_pb_put_varint(fam, 3 << 3);
    tsdb_pb_put_varint(fam, 3); // MetricType UNTYPED
    fw_json_out_put(fam, ms->p ? ms->p : "", ms->len);
    tsdb_pb_put_varint(b, fam->len);
    fw_json_out_put(b, fam->p, fam->len);
    ms->len = 0;
}

int
tsdb_federate_body(tsdb_federate_t *self, fw_promql_expr_t *const *sets, size_t n, int64_t now_ms,
                   bool proto, char **out, size_t *len, fw_err_t *err)
{
    return tsdb_federate_body_esc(self, sets, n, now_ms, proto, FW_NAMES_ESC_UNDERSCORES, out, len,
                                  err);
}

int
tsdb_federate_body_esc(tsdb_federate_t *self, fw_promql_expr_t *const *sets, size_t n,
                       int64_t now_ms, bool proto, fw_names_escaping_t esc, char **out, size_t *len,
                       fw_err_t *err)
{
    struct s_point *pts;
    size_t n_pts;
    if (s_collect(self, sets, n, now_ms, esc, &pts, &n_pts, err) != 0)
        return -1;
    struct s_ext ext;
    s_ext_build(self, &ext);
    struct fw_json_out b = {0}, fam = {0}, ms = {0}, one = {0};
    const struct fw_label **ls = NULL;
    size_t ls_cap = 0;
    const char *last = NULL;
    for (size_t k = 0; k < n_pts; k++) {
        fw_mem_grow((void **)&ls, &ls_cap, pts[k].labels.len + ext.len, sizeof(*ls));
        size_t n_ls = s_labels_of(&pts[k], &ext, ls);
        bool new_family = !last || strcmp(last, pts[k].name) != 0;
        if (new_family && proto && last)
            s_pb_family(&b, &fam, last, &ms);
        else if (new_family && !proto) {
            fw_json_out_puts(&b, "# TYPE ");
            if (fw_metric_name_valid(pts[k].name))
                fw_json_out_puts(&b, pts[k].name);
            else
                s_put_quoted(&b, pts[k].name);
            fw_json_out_puts(&b, " untyped\n");
        }
        last = pts[k].name;
        if (!proto) {
            s_put_point(&b, &pts[k], ls, n_ls);
            continue;
        }
        one.len = 0;
        s_pb_metric(&one, &pts[k], ls, n_ls);
        tsdb_pb_put_bytes(&ms, 4, one.p, one.len);
    }
    if (proto && last)
        s_pb_family(&b, &fam, last, &ms);
    free(fam.p);
    free(ms.p);
    free(one.p);
    free(ls);
    for (size_t k = 0; k < n_pts; k++)
        fw_labels_clear(&pts[k].labels);
    free(pts);
    s_ext_clear(&ext);
    *len = b.len;
    *out = b.p ? b.p : fw_strdup("");
    return 0;
}

// Whether the Accept header asks for delimited protobuf before text (expfmt.Negotiate: the
// media ranges by falling q, the first that is protobuf MetricFamily, or text/plain of
// version 0.0.4 or none, wins; nothing is text). Other protobuf encodings (text, compact)
// are answered with text 0.0.4.
static bool
s_wants_proto(const char *accept)
{
    if (!accept)
        return false;
    double best_q = -1;
    bool proto = false;
    for (const char *s = accept; *s;) {
        size_t n = strcspn(s, ",");
        char *clause = fw_strndup(s, n);
        s += n + (s[n] == ',');
        double q = 1;
        bool pb = false, pb_msg = false, delimited = false, text = false, text_ok = true;
        char *save = NULL;
        int part = 0;
        for (char *tok = strtok_r(clause, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
            while (*tok == ' ' || *tok == '\t')
                tok++;
            size_t end = strlen(tok);
            while (end && (tok[end - 1] == ' ' || tok[end - 1] == '\t'))
                tok[--end] = '\0';
            if (part++ == 0) {
                pb = strcmp(tok, "application/vnd.google.protobuf") == 0;
                text = strcmp(tok, "text/plain") == 0;
            } else if (strncmp(tok, "q=", 2) == 0) {
                q = strtod(tok + 2, NULL);
            } else if (strcmp(tok, "proto=io.prometheus.client.MetricFamily") == 0) {
                pb_msg = true;
            } else if (strncmp(tok, "encoding=", 9) == 0) {
                delimited = strcmp(tok + 9, "delimited") == 0;
            } else if (strncmp(tok, "version=", 8) == 0) {
                text_ok = strcmp(tok + 8, "0.0.4") == 0 || tok[8] == '\0';
            }
        }
        free(clause);
        bool decides = (pb && pb_msg) || (text && text_ok);
        if (decides && q > best_q) { // the first of the highest q wins
            best_q = q;
            proto = pb && pb_msg && delimited;
        }
    }
    return proto;
}

// The name escaping the Accept header asks for (escaping=, Prometheus 3); without one,
// Prometheus 3's default, underscores.
static fw_names_escaping_t
s_escaping(const char *accept)
{
    const char *p = accept ? strstr(accept, "escaping=") : NULL;
    fw_names_escaping_t esc = FW_NAMES_ESC_UNDERSCORES;
    if (p) {
        p += strlen("escaping=");
        char word[16];
        size_t n = strcspn(p, ";, \t");
        snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) ? n : 0), p);
        if (fw_names_escaping_parse(word, &esc) != 0)
            esc = FW_NAMES_ESC_UNDERSCORES;
    }
    return esc;
}

// The Content-Type of an answer in proto or text with names escaped as esc, as Prometheus 3
// labels it (the format, then "; escaping=" and the scheme, fw_names_escaping_t's order).
#define S_ESC_TYPES(base)                                                                          \
    {                                                                                              \
        base "; escaping=allow-utf-8", base "; escaping=underscores", base "; escaping=dots",      \
            base "; escaping=values"                                                               \
    }
static const char *const s_content_types[2][4] = {S_ESC_TYPES(TSDB_FEDERATE_CONTENT_TYPE),
                                                  S_ESC_TYPES(TSDB_FEDERATE_PROTO_TYPE)};

// resp answers 400 with "msg\n" as text/plain (Go's http.Error).
static int
s_error(struct fw_http_response *resp, int status, const char *msg)
{
    resp->status = status;
    resp->body = fw_asprintf("%s\n", msg);
    return 0;
}

// Parse the match[] selectors into sets (*n set). 0, or -1 after answering 400.
static int
s_parse(const fw_http_request_t *req, struct fw_http_response *resp, fw_promql_expr_t **sets,
        size_t *n)
{
    const char *match[TSDB_FEDERATE_MAX_MATCH + 1];
    size_t len[TSDB_FEDERATE_MAX_MATCH + 1];
    size_t n_match = fw_http_args_n(req, "match[]", match, len, TSDB_FEDERATE_MAX_MATCH + 1);
    *n = 0;
    if (n_match > TSDB_FEDERATE_MAX_MATCH) {
        char msg[96];
        snprintf(msg, sizeof(msg), "too many match[] parameters (at most %d)",
                 TSDB_FEDERATE_MAX_MATCH);
        return s_error(resp, 400, msg), -1;
    }
    for (size_t k = 0; k < n_match; k++) {
        fw_err_t err;
        fw_promql_expr_t *e = NULL;
        size_t nul = strlen(match[k]);
        if (len[k] > nul) // a %00 would cut the selector short
            fw_err_set_at(&err, "match[]", 1, (int)nul + 1, "unexpected character: '\\x00'");
        else
            e = fw_promql_parse_match(match[k], &err);
        if (!e) {
            char *msg = tsdb_api_parse_error(match[k], &err);
            s_error(resp, 400, msg);
            free(msg);
            for (size_t j = 0; j < *n; j++)
                fw_promql_expr_destroy(&sets[j]);
            *n = 0;
            return -1;
        }
        sets[(*n)++] = e;
    }
    return 0;
}

static int
s_on_federate(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_federate_t *self = arg;
    fw_promql_expr_t *sets[TSDB_FEDERATE_MAX_MATCH];
    size_t n;
    if (s_parse(req, resp, sets, &n) != 0)
        return 0;
    fw_err_t err;
    char *body = NULL;
    size_t len = 0;
    const char *accept = fw_http_header(req, "Accept");
    bool proto = s_wants_proto(accept);
    fw_names_escaping_t esc = s_escaping(accept);
    int rc = tsdb_federate_body_esc(self, sets, n, fw_time_now_ms(), proto, esc, &body, &len, &err);
    for (size_t k = 0; k < n; k++)
        fw_promql_expr_destroy(&sets[k]);
    if (rc != 0) {
        fw_error("tsdb.federate.fail", "err=\"%s\"", err.msg);
        return s_error(resp, 500, err.msg);
    }
    resp->status = 200;
    resp->body = body;
    resp->body_len = len;
    resp->content_type = s_content_types[proto][esc];
    return 0;
}

void
tsdb_federate_routes(tsdb_federate_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET", "/federate", s_on_federate, self);
}
