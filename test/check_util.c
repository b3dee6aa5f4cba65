/*  check_util.c — the fixtures the Check suites share (see check_util.h).

    Directory removal walks with opendir/lstat rather than nftw so that it can stop at a
    depth and an entry count, and it refuses anything outside test/tmp/ so that a fixture
    bug can never remove more than a test made. HTTP goes through libcurl's easy interface,
    one handle a request, with CURLOPT_NOSIGNAL so that requests from test threads are safe.
*/
#include "check_util.h"

#include <check.h>
#include <czmq.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fw_cfg.h"
#include "fw_http_hdr.h"
#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_promcfg.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_sample.h"
#include "fw_relabel.h"

enum { S_RM_DEPTH = 8, S_RM_ENTRIES = 10000 };

// ---------------------------------------------------------------------------------------
// Temporary directories

void
check_util_tmpdir_new(char *buf, size_t cap, const char *prefix)
{
    mkdir("test", 0755);
    mkdir("test/tmp", 0755);
    int w = snprintf(buf, cap, "test/tmp/%s.XXXXXX", prefix);
    ck_assert_msg(w > 0 && (size_t)w < cap, "tmpdir: test/tmp/%s.XXXXXX does not fit", prefix);
    ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
}

static int
s_rm(const char *path, int depth, int *entries)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (++*entries > S_RM_ENTRIES)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    if (depth >= S_RM_DEPTH)
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[1024];
        int w = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        rc = w > 0 && (size_t)w < sizeof(child) ? s_rm(child, depth + 1, entries) : -1;
    }
    closedir(d);
    return rc == 0 ? rmdir(path) : -1;
}

int
check_util_tmpdir_remove(const char *dir)
{
    if (!dir || !*dir)
        return 0;
    if (strncmp(dir, "test/tmp/", 9) != 0 || strstr(dir, "..") || !dir[9]) {
        fprintf(stderr, "check_util_tmpdir_remove: %s is not below test/tmp/, left alone\n", dir);
        return -1;
    }
    int entries = 0;
    if (s_rm(dir, 0, &entries) != 0) {
        fprintf(stderr, "check_util_tmpdir_remove: %s: %s\n", dir,
                entries > S_RM_ENTRIES ? "too many entries" : strerror(errno));
        return -1;
    }
    return 0;
}

char check_util_tmpdir[128];

void
check_util_tmpdir_setup(void)
{
    // Check sets the test case's name only once its first test runs, after a checked fixture,
    // so a setup often sees NULL: the directory is then test/tmp/check.XXXXXX.
    const char *name = tcase_name();
    check_util_tmpdir_new(check_util_tmpdir, sizeof(check_util_tmpdir), name ? name : "check");
}

void
check_util_tmpdir_teardown(void)
{
    ck_assert_int_eq(check_util_tmpdir_remove(check_util_tmpdir), 0);
    check_util_tmpdir[0] = '\0';
}

tsdb_store_t *
check_util_store_open(const char *dir, size_t mapsize)
{
    tsdb_store_t *st = tsdb_store_new();
    tsdb_store_set_mapsize(st, mapsize ? mapsize : (size_t)64 << 20);
    fw_err_t err;
    ck_assert_msg(tsdb_store_open(st, dir, &err) == 0, "open %s: %s", dir, err.msg);
    return st;
}

void
check_util_store_set_format(const char *dir, char format, const char *drop)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, d;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0644), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    if (drop) {
        ck_assert_int_eq(mdb_dbi_open(txn, drop, 0, &d), 0);
        ck_assert_int_eq(mdb_drop(txn, d, 1), 0);
    }
    MDB_val k = {6, (void *)"format"}, v = {1, &format};
    ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

char
check_util_store_format(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY, 0644), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {6, (void *)"format"}, v;
    ck_assert_int_eq(mdb_get(txn, meta, &k, &v), 0);
    ck_assert_uint_eq(v.mv_size, 1);
    char f = *(const char *)v.mv_data;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return f;
}

void
check_util_store_labels(struct fw_labels *l, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_msg(e != NULL, "%s: %s", sel, err.msg);
    fw_labels_clear(l);
    for (size_t k = 0; k < e->n_matchers; k++)
        fw_labels_set(l, e->matchers[k].name, e->matchers[k].value);
    fw_promql_expr_destroy(&e);
}

// Append n samples (t, v) to the series sel; returns the stats of the call.
struct tsdb_store_stats
check_util_store_put(tsdb_store_t *st, const char *sel, size_t n, const int64_t *t, const double *v)
{
    struct fw_labels l = FW_LABELS_INIT;
    check_util_store_labels(&l, sel);
    struct fw_sample *s = fw_calloc(n ? n : 1, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        s[k] = (struct fw_sample){t[k], v[k]};
    struct tsdb_store_stats stats = {0};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, s, n, &stats, &err) == 0, "append: %s", err.msg);
    free(s);
    fw_labels_clear(&l);
    return stats;
}

void
check_util_store_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "commit: %s", err.msg);
}

// The id of the one series matching sel, or 0.
uint64_t
check_util_store_id(tsdb_store_t *st, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_ptr_nonnull(e);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t *ids;
    size_t n;
    ck_assert_int_eq(tsdb_store_select_ids(r, e->matchers, e->n_matchers, &ids, &n, &err), 0);
    uint64_t id = n == 1 ? ids[0] : 0;
    free(ids);
    tsdb_store_reader_destroy(&r);
    fw_promql_expr_destroy(&e);
    return id;
}

// Every sample of series id in [mint, maxt] through the window copy.
size_t
check_util_store_read(tsdb_store_t *st, uint64_t id, int64_t mint, int64_t maxt,
                      struct fw_sample **pts)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    size_t len = 0, cap = 0;
    *pts = NULL;
    ck_assert_int_eq(tsdb_store_samples(r, id, mint, maxt, pts, &len, &cap, &err), 0);
    tsdb_store_reader_destroy(&r);
    return len;
}

size_t
check_util_store_select_count(tsdb_store_t *st, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_msg(e != NULL, "%s: %s", sel, err.msg);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct tsdb_store_series *out;
    size_t n;
    ck_assert_int_eq(tsdb_store_select(r, e->matchers, e->n_matchers, &out, &n, &err), 0);
    for (size_t k = 0; k < n; k++) // every answer really matches
        ck_assert_msg(fw_matchers_match(e->matchers, e->n_matchers, &out[k].labels), "%s", sel);
    tsdb_store_series_free(out, n);
    tsdb_store_reader_destroy(&r);
    fw_promql_expr_destroy(&e);
    return n;
}

uint64_t
check_util_store_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

MDB_env *
check_util_store_raw_open(const char *dir)
{
    MDB_env *env;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, (size_t)64 << 20);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0644), 0);
    return env;
}

size_t
check_util_store_raw_entries(const char *dir, const char *db)
{
    MDB_env *env = check_util_store_raw_open(dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_stat(txn, dbi, &stat), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

// Overwrite the value of the first record of db whose key starts with the id (8 bytes BE).
void
check_util_store_raw_damage(const char *dir, const char *db, uint64_t id, const void *bytes,
                            size_t len)
{
    MDB_env *env = check_util_store_raw_open(dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    unsigned char key[8];
    for (int k = 0; k < 8; k++)
        key[k] = (unsigned char)(id >> (56 - 8 * k));
    MDB_val k = {8, key}, v;
    ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
    ck_assert_int_eq(memcmp(k.mv_data, key, 8), 0);
    v = (MDB_val){len, (void *)bytes};
    ck_assert_int_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

// A grid series: n samples every step ms from t0, value f(k).
void
check_util_store_grid(tsdb_store_t *st, const char *sel, int64_t t0, int64_t step, size_t n,
                      double base)
{
    int64_t *t = fw_malloc(n * sizeof(*t));
    double *v = fw_malloc(n * sizeof(*v));
    for (size_t k = 0; k < n; k++) {
        t[k] = t0 + (int64_t)k * step;
        v[k] = base + (double)(k % 7) * 0.25;
    }
    check_util_store_put(st, sel, n, t, v);
    free(t);
    free(v);
}

void
check_util_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "write %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    ck_assert_msg(fwrite(text, 1, n, f) == n, "write %s: %s", path, strerror(errno));
    ck_assert_msg(fclose(f) == 0, "close %s: %s", path, strerror(errno));
}

char *
check_util_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "read %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        fw_mem_grow((void **)&text, &cap, len + 4096 + 1, 1);
        n = fread(text + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    ck_assert_msg(!ferror(f), "read %s", path);
    fclose(f);
    text[len] = '\0';
    return text;
}

// ---------------------------------------------------------------------------------------
// Inputs

void
check_util_labels(struct fw_labels *l, const char *spec)
{
    char *copy = fw_strdup(spec), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        ck_assert_msg(eq != NULL, "label spec \"%s\": \"%s\" has no '='", spec, kv);
        *eq = '\0';
        fw_labels_set(l, kv, eq + 1);
    }
    free(copy);
}

struct fw_scrape_config
check_util_scrape_job(const char *name, bool honor_timestamps)
{
    struct fw_scrape_config sc = {0};
    sc.job_name = (char *)name;
    sc.scrape_interval_ms = 15000;
    sc.scrape_timeout_ms = 10000;
    sc.honor_timestamps = honor_timestamps;
    return sc;
}

static const struct fw_cfg_field s_rules_top[] = {
    {.key = "r",
     .type = FW_CFG_LIST,
     .off = offsetof(struct check_util_rules, r),
     .count_off = offsetof(struct check_util_rules, n),
     .elem_size = sizeof(struct fw_relabel_config),
     .child = fw_relabel_fields},
    {.key = NULL},
};

int
check_util_rules_load_scheme(const char *yaml, fw_names_scheme_t scheme,
                             struct check_util_rules *out, struct fw_cfg_errors *errs)
{
    memset(out, 0, sizeof(*out));
    int rc = fw_cfg_load("r.yml", yaml, s_rules_top, out, errs);
    if (fw_relabel_prepare(out->r, out->n, scheme, "r.yml", errs) != 0)
        rc = -1;
    return rc;
}

int
check_util_rules_load(const char *yaml, struct check_util_rules *out, struct fw_cfg_errors *errs)
{
    return check_util_rules_load_scheme(yaml, FW_NAMES_UTF8, out, errs);
}

void
check_util_rules_free(struct check_util_rules *t)
{
    fw_relabel_release(t->r, t->n);
    fw_cfg_free(s_rules_top, t);
}

int
check_util_cfg_error_find(const struct fw_cfg_errors *errs, const char *needle)
{
    for (size_t i = 0; i < errs->len; i++)
        if (strstr(errs->items[i].msg, needle))
            return (int)i;
    return -1;
}

void
check_util_cfg_error_assert(const struct fw_cfg_errors *errs, const char *file, const char *msg,
                            int line, int col)
{
    int i = check_util_cfg_error_find(errs, msg);
    ck_assert_msg(i >= 0, "no error containing \"%s\" (first: \"%s\")", msg,
                  errs->len ? errs->items[0].msg : "none");
    if (file)
        ck_assert_str_eq(errs->items[i].file, file);
    ck_assert_int_eq(errs->items[i].line, line);
    ck_assert_int_eq(errs->items[i].col, col);
}

size_t
check_util_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    if (len == 0)
        return 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += len)
        n++;
    return n;
}

char *
check_util_nest(const char *before, const char *prefix, int n, const char *mid, const char *suffix,
                const char *after)
{
    before = before ? before : "";
    after = after ? after : "";
    size_t lb = strlen(before), lp = strlen(prefix), lm = strlen(mid), ls = strlen(suffix);
    size_t la = strlen(after), reps = n > 0 ? (size_t)n : 0;
    char *out = fw_malloc(lb + (lp + ls) * reps + lm + la + 1), *o = out;
    memcpy(o, before, lb);
    o += lb;
    for (size_t k = 0; k < reps; k++, o += lp)
        memcpy(o, prefix, lp);
    memcpy(o, mid, lm);
    o += lm;
    for (size_t k = 0; k < reps; k++, o += ls)
        memcpy(o, suffix, ls);
    memcpy(o, after, la + 1);
    return out;
}

// ---------------------------------------------------------------------------------------
// HTTP

static size_t
s_on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct check_util_http *r = arg;
    size_t n = size * nmemb;
    // Doubling, not a realloc per chunk: a 16 MiB answer came in about 1,000 chunks, and the
    // AddressSanitizer build's realloc copies every time (8 GB of copies: 20 s and more).
    if (r->len + n + 1 > r->cap)
        fw_mem_grow((void **)&r->body, &r->cap, r->len + n + 1, 1);
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t
s_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct check_util_http *r = arg;
    size_t n = size * nmemb;
    fw_http_hdr_value(data, n, "Allow", r->allow, sizeof(r->allow));
    return n;
}

int
check_util_http_request(const char *method, const char *url, const char *body, size_t body_len,
                        const char *ctype, const char *const *headers, long timeout_ms,
                        struct check_util_http *out)
{
    memset(out, 0, sizeof(*out));
    out->body = fw_strdup("");
    out->cap = 1;
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct curl_slist *hdrs = NULL;
    char ct[160];
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
    }
    for (size_t k = 0; headers && headers[k]; k++)
        hdrs = curl_slist_append(hdrs, headers[k]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *t = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &t);
        snprintf(out->ctype, sizeof(out->ctype), "%s", t ? t : "");
    } else {
        out->status = 0;
        out->len = 0;
        out->body[0] = '\0';
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

struct check_util_http
check_util_http_get(const char *url)
{
    struct check_util_http r;
    int rc = check_util_http_request("GET", url, NULL, 0, NULL, NULL, 0, &r);
    ck_assert_msg(rc == 0, "GET %s: no answer", url);
    return r;
}

struct check_util_http
check_util_http_post(const char *url, const char *body, const char *ctype)
{
    struct check_util_http r;
    int rc = check_util_http_request("POST", url, body, strlen(body), ctype, NULL, 0, &r);
    ck_assert_msg(rc == 0, "POST %s: no answer", url);
    return r;
}

void
check_util_http_clear(struct check_util_http *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

char *
check_util_http_wait_for(const char *url, const char *const *needles, long timeout_ms, bool *ok)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct check_util_http r = {0};
    for (int round = 0; round < 100000; round++) {
        check_util_http_clear(&r);
        (void)check_util_http_request("GET", url, NULL, 0, NULL, NULL, 5000, &r);
        *ok = true;
        for (size_t k = 0; needles[k] && *ok; k++)
            *ok = strstr(r.body, needles[k]) != NULL;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (*ok || ms >= timeout_ms)
            break;
        usleep(100 * 1000);
    }
    return r.body;
}

uint64_t
check_util_rand(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

uint64_t
check_util_xorshift64(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

void
check_util_sig_digits(const char *s, char *out)
{
    size_t n = 0;
    bool lead = true;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9' || (lead && *s == '0'))
            continue;
        lead = false;
        out[n++] = *s;
    }
    while (n > 1 && out[n - 1] == '0')
        n--;
    out[n] = '\0';
}

void
check_util_shortest_digits(double v, char *out)
{
    char sci[48];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    check_util_sig_digits(sci, out);
}

void
check_util_skip(const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    for (char *c = what; *c; c++) // one line a skip in the record
        if (*c == '\n')
            *c = ' ';
    fprintf(stderr, "SKIPPED: %s\n", what);
    const char *log = getenv("CK_SKIP_LOG");
    FILE *f = log ? fopen(log, "a") : NULL; // tests run in forked children: a file, not memory
    if (f) {
        fprintf(f, "%s\n", what);
        fclose(f);
    }
}

static int
s_end_loop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

void
check_util_loop_for(zloop_t *loop, int ms)
{
    int id = zloop_timer(loop, (size_t)ms, 1, s_end_loop, NULL);
    ck_assert_int_ge(id, 0);
    zloop_start(loop);
}
