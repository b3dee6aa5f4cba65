/*  tsdb_api_labels.c — /api/v1/labels, /api/v1/label/NAME/values and /api/v1/series.

    The three answer from the same selection: the series matching any of the match[]
    selectors (none: every series) that hold a sample in [start, end] (when neither is
    given: every series, whatever its samples). Without match[] and without a range the
    index answers directly (tsdb_store_label_names/values: no series is read). A series
    counts when one of its samples, stale markers included, lies in the range; Prometheus
    answers from its blocks and chunks, so it also lists a series whose chunk or block
    merely overlaps the range (a coarser answer on the same data, never a finer one).
    Parameters and errors are Prometheus 3's (web/api/v1/api.go): `limit` cuts a sorted
    answer and adds the warning "results truncated due to limit"; a match[] that does not
    parse is bad_data, prefixed with `invalid parameter "match[]": ` on /series only.
    Each request is one short read transaction on the HTTP thread that serves it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "tsdb_api_int.h"

static const char *const s_truncated = "results truncated due to limit";

void
tsdb_api_sel_clear(struct tsdb_api_sel *sel)
{
    for (size_t k = 0; k < sel->n_sets; k++)
        fw_promql_expr_destroy(&sel->sets[k]);
    sel->n_sets = 0;
}

int
tsdb_api_sel_parse(const fw_http_request_t *req, struct fw_http_response *resp, const char *prefix,
                   struct tsdb_api_sel *sel, size_t *limit)
{
    bool has_start, has_end;
    memset(sel, 0, sizeof(*sel));
    size_t no_limit;
    if (tsdb_api_limit_param(req, resp, limit ? limit : &no_limit) != 0 ||
        tsdb_api_time_param(req, resp, "start", TSDB_API_MIN_TIME_MS, &sel->mint, &has_start) !=
            0 ||
        tsdb_api_time_param(req, resp, "end", TSDB_API_MAX_TIME_MS, &sel->maxt, &has_end) != 0)
        return -1;
    sel->ranged = has_start || has_end;
    const char *match[TSDB_API_MAX_MATCH + 1];
    size_t match_len[TSDB_API_MAX_MATCH + 1];
    size_t n = fw_http_args_n(req, "match[]", match, match_len, TSDB_API_MAX_MATCH + 1);
    if (n > TSDB_API_MAX_MATCH)
        return tsdb_api_bad(resp, "%stoo many match[] parameters (at most %d)", prefix,
                            TSDB_API_MAX_MATCH),
               -1;
    for (size_t k = 0; k < n; k++) {
        fw_err_t err;
        char *msg;
        size_t nul = strlen(match[k]);
        if (match_len[k] > nul) { // a %00 would cut the selector short
            fw_err_set_at(&err, "match[]", 1, (int)nul + 1, "unexpected character: '\\x00'");
            msg = tsdb_api_parse_error(match[k], &err);
            tsdb_api_sel_clear(sel);
            tsdb_api_bad(resp, "%s%s", prefix, msg);
            free(msg);
            return -1;
        }
        fw_promql_expr_t *e = fw_promql_parse(match[k], &err);
        if (e && (e->kind != FW_PQ_SELECTOR || e->range_ms > 0 || e->offset_ms != 0)) {
            fw_promql_expr_destroy(&e);
            fw_err_set_at(&err, "match[]", 1, 1, "expected vector selector");
        }
        if (!e) {
            msg = tsdb_api_parse_error(match[k], &err);
            tsdb_api_sel_clear(sel);
            tsdb_api_bad(resp, "%s%s", prefix, msg);
            free(msg);
            return -1;
        }
        sel->sets[sel->n_sets++] = e;
    }
    return 0;
}

// True when series id has a sample in [mint, maxt].
static bool
s_in_range(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt)
{
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, mint, maxt);
    return tsdb_store_iter_next(&it);
}

static int
s_series_cmp(const void *a, const void *b)
{
    return fw_labels_cmp(&((const struct tsdb_store_series *)a)->labels,
                         &((const struct tsdb_store_series *)b)->labels);
}

// The selected series, sorted by labels, each once, into *out (tsdb_store_series_free).
// Without match[], every series that has label `having` (NULL: __name__): label values ask
// only the series that can contribute one. 0, or -1 with err.
static int
s_select(tsdb_store_reader_t *r, const struct tsdb_api_sel *sel, const char *having,
         struct tsdb_store_series **out, size_t *n_out, fw_err_t *err)
{
    struct tsdb_store_series *all = NULL;
    size_t n_all = 0, cap = 0;
    struct fw_matcher any = {0};
    if (sel->n_sets == 0 && fw_matcher_init(&any, FW_MATCH_RE, having ? having : "__name__", ".+",
                                            FW_REGEX_PROMETHEUS, err) != 0)
        return -1;
    size_t n_sets = sel->n_sets ? sel->n_sets : 1;
    int rc = 0;
    for (size_t k = 0; k < n_sets && rc == 0; k++) {
        const struct fw_matcher *ms = sel->n_sets ? sel->sets[k]->matchers : &any;
        size_t n_ms = sel->n_sets ? sel->sets[k]->n_matchers : 1;
        uint64_t *ids;
        size_t n_ids;
        if ((rc = tsdb_store_select_ids(r, ms, n_ms, &ids, &n_ids, err)) != 0)
            break;
        for (size_t j = 0; j < n_ids; j++) {
            if (sel->ranged && !s_in_range(r, ids[j], sel->mint, sel->maxt))
                continue;
            fw_mem_grow((void **)&all, &cap, n_all + 1, sizeof(*all));
            all[n_all] = (struct tsdb_store_series){ids[j], FW_LABELS_INIT};
            if (tsdb_store_series_labels(r, ids[j], &all[n_all].labels, err) != 0) {
                fw_labels_clear(&all[n_all].labels);
                continue; // damaged or gone: reported by the store, skipped as select does
            }
            n_all++;
        }
        free(ids);
    }
    fw_matcher_clear(&any);
    if (rc != 0) {
        tsdb_store_series_free(all, n_all);
        return -1;
    }
    if (n_all > 1)
        qsort(all, n_all, sizeof(*all), s_series_cmp);
    size_t w = 0;
    for (size_t k = 0; k < n_all; k++) {
        if (w > 0 && fw_labels_cmp(&all[k].labels, &all[w - 1].labels) == 0) {
            fw_labels_clear(&all[k].labels);
            continue;
        }
        all[w++] = all[k];
    }
    *out = all;
    *n_out = w;
    return 0;
}

static int
s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Sort v[0..*n) and drop repeats (freed).
static void
s_strv_uniq(char **v, size_t *n)
{
    if (*n > 1)
        qsort(v, *n, sizeof(*v), s_str_cmp);
    size_t w = 0;
    for (size_t k = 0; k < *n; k++) {
        if (w > 0 && strcmp(v[k], v[w - 1]) == 0) {
            free(v[k]);
            continue;
        }
        v[w++] = v[k];
    }
    *n = w;
}

static void
s_strv_free(char **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(v[k]);
    free(v);
}

// The names (name NULL) or the values of label name of the selection, sorted. 0 or -1.
static int
s_strings(tsdb_api_t *self, const struct tsdb_api_sel *sel, const char *name, char ***out,
          size_t *n_out, fw_err_t *err)
{
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, err);
    if (!r)
        return -1;
    int rc;
    if (sel->n_sets == 0 && !sel->ranged) {
        rc = name ? tsdb_store_label_values(r, name, out, n_out, err)
                  : tsdb_store_label_names(r, out, n_out, err);
        tsdb_store_reader_destroy(&r);
        return rc;
    }
    struct tsdb_store_series *ss;
    size_t n_ss;
    rc = s_select(r, sel, name, &ss, &n_ss, err);
    tsdb_store_reader_destroy(&r);
    if (rc != 0)
        return -1;
    char **v = NULL;
    size_t n = 0, cap = 0;
    for (size_t k = 0; k < n_ss; k++) {
        const struct fw_labels *l = &ss[k].labels;
        for (size_t j = 0; j < l->len; j++) {
            const char *s = name ? (strcmp(l->items[j].name, name) == 0 ? l->items[j].value : NULL)
                                 : l->items[j].name;
            if (!s || !*s)
                continue;
            fw_mem_grow((void **)&v, &cap, n + 1, sizeof(*v));
            v[n++] = fw_strdup(s);
        }
    }
    tsdb_store_series_free(ss, n_ss);
    s_strv_uniq(v, &n);
    *out = v;
    *n_out = n;
    return 0;
}

// Answer the sorted strings v[0..n) (taken), cut at limit.
static void
s_answer_strings(struct fw_http_response *resp, char **v, size_t n, size_t limit)
{
    bool cut = limit > 0 && n > limit;
    struct fw_json_out b = {0};
    tsdb_api_put_str_array(&b, v, cut ? limit : n);
    s_strv_free(v, n);
    tsdb_api_respond(resp, 200, tsdb_api_success(b.p ? b.p : "[]", &s_truncated, cut));
    free(b.p);
}

static int
s_on_labels(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    struct tsdb_api_sel sel;
    size_t limit;
    if (tsdb_api_sel_parse(req, resp, "", &sel, &limit) != 0)
        return 0;
    fw_err_t err;
    char **v;
    size_t n;
    int rc = s_strings(self, &sel, NULL, &v, &n, &err);
    tsdb_api_sel_clear(&sel);
    if (rc != 0)
        return tsdb_api_internal(resp, &err);
    s_answer_strings(resp, v, n, limit);
    return 0;
}

static int
s_on_label_values(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    const char *path = fw_http_path(req);
    const char *name = path + strlen("/api/v1/label/");
    const char *slash = strchr(name, '/');
    if (!slash || strcmp(slash, "/values") != 0) {
        resp->status = 404;
        resp->body = fw_strdup("404 page not found\n");
        return 0;
    }
    // Prometheus 3: a UTF-8 name comes "values"-escaped (U__my_2e_label for my.label)
    char *raw = fw_strndup(name, (size_t)(slash - name));
    char *ln = fw_names_unescape(raw);
    free(raw);
    if (!fw_names_label_valid(ln, FW_NAMES_UTF8)) {
        char *quoted = fw_promql_quote(ln, strlen(ln));
        tsdb_api_bad(resp, "invalid label name: %s", quoted);
        free(quoted);
        free(ln);
        return 0;
    }
    struct tsdb_api_sel sel;
    size_t limit;
    if (tsdb_api_sel_parse(req, resp, "", &sel, &limit) != 0) {
        free(ln);
        return 0;
    }
    fw_err_t err;
    char **v;
    size_t n;
    int rc = s_strings(self, &sel, ln, &v, &n, &err);
    tsdb_api_sel_clear(&sel);
    free(ln);
    if (rc != 0)
        return tsdb_api_internal(resp, &err);
    s_answer_strings(resp, v, n, limit);
    return 0;
}

static int
s_on_series(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    const char *first;
    if (fw_http_args(req, "match[]", &first, 1) == 0)
        return tsdb_api_bad(resp, "no match[] parameter provided");
    struct tsdb_api_sel sel;
    size_t limit;
    if (tsdb_api_sel_parse(req, resp, "invalid parameter \"match[]\": ", &sel, &limit) != 0)
        return 0;
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    struct tsdb_store_series *ss = NULL;
    size_t n = 0;
    int rc = r ? s_select(r, &sel, NULL, &ss, &n, &err) : -1;
    tsdb_store_reader_destroy(&r);
    tsdb_api_sel_clear(&sel);
    if (rc != 0)
        return tsdb_api_internal(resp, &err);
    bool cut = limit > 0 && n > limit;
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "[");
    for (size_t k = 0; k < (cut ? limit : n); k++) {
        if (k)
            fw_json_out_puts(&b, ",");
        tsdb_api_put_labels(&b, &ss[k].labels);
    }
    fw_json_out_puts(&b, "]");
    tsdb_store_series_free(ss, n);
    tsdb_api_respond(resp, 200, tsdb_api_success(b.p, &s_truncated, cut));
    free(b.p);
    return 0;
}

void
tsdb_api_labels_routes(tsdb_api_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET,POST", "/api/v1/labels", s_on_labels, self);
    fw_http_route(http, "GET", "/api/v1/label/", s_on_label_values, self);
    fw_http_route(http, "GET,POST", "/api/v1/series", s_on_series, self);
}
