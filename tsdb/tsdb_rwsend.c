/*  tsdb_rwsend.c — remote_write: shards that read the store and send (see tsdb_rwsend.h).
 */
#include "tsdb_rwsend.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_hash.h"
#include "fw_http_tls.h"
#include "fw_log.h"
#include "fw_matcher.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_json.h"
#include "tsdb_pb.h"
#include "tsdb_rwproto.h"
#include "tsdb_rwsend_late.h"
#include "tsdb_rwsend_meta.h"
#include "tsdb_rwsend_shards.h"
#include "tsdb_rwsend_sort.h"

#define S_IDLE_MS 1000         // a shard that caught up looks again after this at least
#define S_TOKEN_MARGIN_S 300   // an azuread token is renewed this long before it expires
#define S_TOKEN_BODY_MAX 65536 // the token endpoint's answer
#define S_USER_AGENT "floorwatch-tsdb/0.1.0"

struct s_queue;

struct s_shard {
    struct s_queue *q; // borrowed: the queue it belongs to
    size_t index;
    pthread_t thread;
    bool started;
    bool fresh; // the queue's first shards: they wait for the store to settle first
    CURL *easy; // owned
};

// One remote_write entry.
struct s_queue {
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
    struct s_shard *shards;
    pthread_t manager; // decides the number of shards, starts and stops them
    bool manager_started;
    struct tsdb_rwsend_ewma in, out, dropped, send; // see tsdb_rwsend_shards.h
    double in_samples, in_span_ms; // read since the last tick, and the time they cover
    int64_t last_send_ms;          // the last request the receiver accepted
    char *token;                   // owned: azuread access token, or NULL
    int64_t token_expiry_s;
    tsdb_rwsend_meta_t *meta; // owned: metadata_config's sender, or NULL
    uint64_t late_key;        // its late-sample records in the store (0: not watched)
};

struct tsdb_rwsend {
    tsdb_metadata_t *metadata; // borrowed: what metadata_config sends, or NULL
    tsdb_store_t *store;       // borrowed
    char *dir;                 // owned
    fw_metrics_t *metrics;     // borrowed
    struct s_queue **queues;
    size_t n_queues;
};

#define S_DROPPED UINT32_MAX // a series write_relabel_configs drop

// A series a shard has read: its labels as sent (where its last read stopped decoding is
// the same index of s_cycle.tails).
struct s_known {
    uint32_t set; // index in s_cycle.sets, or S_DROPPED
};

#define S_TAIL_SLICE 1024 // series read per hold of the store's head lock

// A shard's series, relabeled once (a series id's labels never change in the store), and
// the samples of its cycle.
struct s_cycle {
    struct fw_labels *sets; // owned: the kept series' labels as sent
    size_t n_sets, cap_sets;
    struct s_known *known; // owned
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
    // s_send's buffers, kept from request to request
    struct tsdb_json pb;
    struct fw_sample *smp;
    size_t cap_smp;
    const char **names, **values;
    size_t cap_names, cap_values;
};

// ---------------------------------------------------------------------------------------
// Positions

static void
s_pos_save(struct s_queue *q)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", q->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fw_warn("remote_write.pos.fail", "file=%s err=\"%s\"", tmp, strerror(errno));
        return;
    }
    fprintf(f, "1 %zu\n", q->n_shards);
    for (size_t i = 0; i < q->n_shards; i++)
        fprintf(f, "%lld\n", (long long)q->pos[i]);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, q->path) != 0)
        fw_warn("remote_write.pos.fail", "file=%s err=\"%s\"", q->path, strerror(errno));
}

// The positions on disk, with their number of shards when within min_shards and max_shards;
// a file for another number resumes min_shards shards from the lowest (what a shard already
// sent again is the receiver's no-op). No file: now.
static void
s_pos_load(struct s_queue *q)
{
    int64_t start = fw_time_now_ms() - TSDB_RWSEND_DELAY_MS;
    for (size_t i = 0; i < q->max_shards; i++)
        q->pos[i] = start;
    FILE *f = fopen(q->path, "r");
    if (!f)
        return;
    size_t n = 0;
    long long v, min = 0;
    bool ok = fscanf(f, "1 %zu", &n) == 1 && n > 0 && n <= TSDB_RWSEND_SHARDS_MAX;
    int64_t *got = fw_calloc(n ? n : 1, sizeof(*got));
    for (size_t i = 0; ok && i < n; i++) {
        ok = fscanf(f, "%lld", &v) == 1;
        got[i] = v;
        if (i == 0 || v < min)
            min = v;
    }
    fclose(f);
    if (!ok) {
        fw_warn("remote_write.pos.damaged", "file=%s action=\"starting from now\"", q->path);
    } else {
        if (n >= q->min_shards && n <= q->max_shards)
            q->n_shards = n;
        for (size_t i = 0; i < q->n_shards; i++)
            q->pos[i] = n == q->n_shards ? got[i] : min;
        fw_info("remote_write.resume", "remote_name=%s from_ms=%lld shards=%zu", q->conf->name, min,
                q->n_shards);
    }
    free(got);
}

// ---------------------------------------------------------------------------------------
// Reading

// The labels as sent: external labels added (the series' own win), relabeled. False when
// write_relabel_configs drop the series.
static bool
s_relabel(const struct s_queue *q, const struct fw_labels *in, struct fw_labels *out)
{
    fw_labels_copy(out, in);
    for (size_t i = 0; i < q->external.len; i++)
        if (!fw_labels_get(out, q->external.items[i].name))
            fw_labels_set(out, q->external.items[i].name, q->external.items[i].value);
    const struct fw_remote_write_config *rw = q->conf;
    if (fw_relabel_process(rw->write_relabel_configs, rw->n_write_relabel_configs, out) &&
        out->len > 0)
        return true;
    fw_labels_clear(out);
    return false;
}

// Forget the series (the samples too).
static void
s_cycle_forget(struct s_cycle *c)
{
    for (size_t i = 0; i < c->n_sets; i++)
        fw_labels_clear(&c->sets[i]);
    c->n_sets = 0;
    c->n_known = 0;
    c->n_prev = 0;
    c->n_map = 0;
    if (c->map_val)
        memset(c->map_val, 0, c->cap_map * sizeof(*c->map_val));
    c->n = 0;
}

static size_t
s_map_slot(const struct s_cycle *c, uint64_t id)
{
    size_t mask = c->cap_map - 1, i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (c->map_val[i] != 0 && c->map_id[i] != id)
        i = (i + 1) & mask;
    return i;
}

static void
s_map_put(struct s_cycle *c, uint64_t id, uint32_t val)
{
    if ((c->n_map + 1) * 2 > c->cap_map) {
        uint64_t *old_id = c->map_id;
        uint32_t *old_val = c->map_val;
        size_t old_cap = c->cap_map;
        c->cap_map = old_cap ? old_cap * 2 : 1024;
        c->map_id = fw_calloc(c->cap_map, sizeof(*c->map_id));
        c->map_val = fw_calloc(c->cap_map, sizeof(*c->map_val));
        for (size_t i = 0; i < old_cap; i++)
            if (old_val[i]) {
                size_t k = s_map_slot(c, old_id[i]);
                c->map_id[k] = old_id[i];
                c->map_val[k] = old_val[i];
            }
        free(old_id);
        free(old_val);
    }
    size_t k = s_map_slot(c, id);
    c->n_map += c->map_val[k] == 0;
    c->map_id[k] = id;
    c->map_val[k] = val;
}

// Series id as read before, or NULL.
static struct s_known *
s_known_find(const struct s_cycle *c, uint64_t id)
{
    if (!c->cap_map)
        return NULL;
    size_t k = s_map_slot(c, id);
    return c->map_val[k] ? &c->known[c->map_val[k] - 1] : NULL;
}

// Series id, read and relabeled the first time (with *res as where its first read stopped);
// NULL when its record cannot be read (not remembered: tried again).
static struct s_known *
s_known_add(struct s_queue *q, tsdb_store_reader_t *r, struct s_cycle *c, uint64_t id,
            struct fw_labels *stored, const struct tsdb_store_resume *res)
{
    fw_err_t lerr;
    if (tsdb_store_series_labels(r, id, stored, &lerr) != 0)
        return NULL;
    fw_mem_grow((void **)&c->sets, &c->cap_sets, c->n_sets + 1, sizeof(*c->sets));
    fw_mem_grow((void **)&c->known, &c->cap_known, c->n_known + 1, sizeof(*c->known));
    fw_mem_grow((void **)&c->tails, &c->cap_tails, c->n_known + 1, sizeof(*c->tails));
    fw_mem_grow((void **)&c->slow, &c->cap_slow, c->n_known + 1, sizeof(*c->slow));
    struct fw_labels *l = &c->sets[c->n_sets];
    *l = (struct fw_labels)FW_LABELS_INIT;
    struct s_known *kn = &c->known[c->n_known];
    kn->set = s_relabel(q, stored, l) ? (uint32_t)c->n_sets++ : S_DROPPED;
    c->tails[c->n_known] = (struct tsdb_store_tail){.id = id, .res = *res};
    c->slow[c->n_known] = false; // read this window already
    s_map_put(c, id, (uint32_t)++c->n_known);
    return kn;
}

// The window (from, ...] was cut short at after (capacity), or failed (after == from):
// the next one starts at after, so the series whose mark went past after need one at or
// before it, or they would be decoded from their chunk's start window after window (the
// scrapes' timestamps fall in the same places in each window). A series gets its mark from
// before this window back when that one is in the same chunk and at or before from (the
// next read resumes there in place and skips what is not past after); otherwise, when r is
// given, it is read again up to after, which leaves its mark on its last sample there. A
// mark is only a hint: the chunk it names is checked before it is used.
static void
s_marks_back(struct s_cycle *c, tsdb_store_reader_t *r, int64_t from, int64_t after)
{
    for (size_t k = 0; k < c->n_known; k++) {
        struct tsdb_store_resume *res = &c->tails[k].res;
        if (!res->valid || res->m.t <= after)
            continue;
        const struct tsdb_store_resume *p = k < c->n_prev ? &c->prev[k] : NULL;
        if (p && p->valid && p->m.t <= from && p->chunk_mint == res->chunk_mint) {
            *res = *p;
            continue;
        }
        if (!r) {
            *res = p ? *p : (struct tsdb_store_resume){0};
            continue;
        }
        struct tsdb_store_resume again = p ? *p : (struct tsdb_store_resume){0};
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, c->tails[k].id, from + 1, after);
        tsdb_store_iter_resume(&it, &again);
        while (tsdb_store_iter_next(&it))
            ; // to its last sample at or before after (a window's worth at most)
        *res = again;
    }
}

struct s_tail_arg {
    struct s_cycle *c;
    int64_t age_min;
    size_t *dropped;
    size_t base; // the slice's first known series
};

// tsdb_store_tail_fn: a sample of the slice's series k.
static void
s_tail_sample(void *arg, size_t k, int64_t t, double v)
{
    struct s_tail_arg *a = arg;
    struct s_cycle *c = a->c;
    uint32_t set = c->known[a->base + k].set;
    if (t < a->age_min || set == S_DROPPED) {
        (*a->dropped)++; // too old, or dropped by relabeling
        return;
    }
    fw_mem_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e));
    c->e[c->n++] = (struct tsdb_rwsend_entry){set, t, v};
}

// Shard s's samples in (from, *to], sorted by time, at most capacity (plus those sharing
// the last timestamp): *to moves back to the last one kept when there were more. 0 or -1.
static int
s_read(struct s_shard *s, int64_t from, int64_t *to, struct s_cycle *c, size_t *dropped,
       fw_err_t *err)
{
    struct s_queue *q = s->q;
    struct fw_matcher all;
    if (fw_matcher_init(&all, FW_MATCH_RE, "__name__", ".+", FW_REGEX_PROMETHEUS, err) != 0)
        return -1;
    // what the store takes at or below *to from now on, it records for the late drain
    tsdb_store_reader_t *r = q->late_key
                                 ? tsdb_store_late_reader(q->owner->store, q->late_key, *to, err)
                                 : tsdb_store_reader_new(q->owner->store, err);
    if (!r) {
        fw_matcher_clear(&all);
        return -1;
    }
    uint64_t *ids = NULL;
    size_t n_ids = 0;
    int rc = tsdb_store_select_ids(r, &all, 1, &ids, &n_ids, err);
    int64_t age_min = q->conf->queue_config.sample_age_limit_ms > 0
                          ? fw_time_now_ms() - q->conf->queue_config.sample_age_limit_ms
                          : INT64_MIN;
    struct fw_labels stored = FW_LABELS_INIT;
    c->n = 0;
    if (c->n_map > 2 * n_ids / q->n_shards + 1024)
        s_cycle_forget(c); // series removed by retention: start again
    // The series read before whose samples since from all lie in their open chunk past
    // the last window's mark (most of them, window after window): straight from the head.
    // Their marks as they were, for a window cut short (s_marks_back).
    fw_mem_grow((void **)&c->prev, &c->cap_prev, c->n_known, sizeof(*c->prev));
    for (size_t k = 0; k < c->n_known; k++)
        c->prev[k] = c->tails[k].res;
    c->n_prev = c->n_known;
    struct s_tail_arg ta = {c, age_min, dropped, 0};
    for (size_t k = 0; rc == 0 && k < c->n_known; k += S_TAIL_SLICE)
        tsdb_store_tail_read(r, c->tails + (ta.base = k),
                             c->n_known - k < S_TAIL_SLICE ? c->n_known - k : S_TAIL_SLICE, from,
                             *to, c->slow + k, s_tail_sample, &ta);
    for (size_t i = 0; rc == 0 && i < n_ids; i++) {
        // By series id (stable in the store): only the series with samples in the window
        // have their labels read.
        if (ids[i] % q->n_shards != s->index)
            continue;
        // The others through an iterator; a series read before resumes decoding its open
        // chunk where the last window stopped (tsdb_store_iter_resume), rather than from
        // the chunk's start.
        struct s_known *kn = s_known_find(c, ids[i]);
        if (kn && !c->slow[kn - c->known])
            continue;
        struct tsdb_store_resume fresh = {0};
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ids[i], from + 1, *to);
        tsdb_store_iter_resume(&it, kn ? &c->tails[kn - c->known].res : &fresh);
        size_t first = c->n;
        while (tsdb_store_iter_next(&it)) {
            if (it.t < age_min) {
                (*dropped)++;
                continue;
            }
            fw_mem_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e));
            c->e[c->n++] = (struct tsdb_rwsend_entry){0, it.t, it.v};
        }
        if (tsdb_store_iter_err(&it) != 0) {
            fw_err_set(err, "reading series %llu: %s", (unsigned long long)ids[i],
                       mdb_strerror(tsdb_store_iter_err(&it)));
            rc = -1;
        }
        if (c->n == first)
            continue;
        if (!kn)
            kn = s_known_add(q, r, c, ids[i], &stored, &fresh);
        if (kn && kn->set != S_DROPPED) {
            for (size_t k = first; k < c->n; k++)
                c->e[k].series = kn->set;
        } else {
            *dropped += c->n - first; // dropped by relabeling, or a damaged series record
            c->n = first;
        }
    }
    fw_labels_clear(&stored);
    free(ids);
    fw_matcher_clear(&all);
    if (rc != 0) {
        s_marks_back(c, NULL, from, from);
        tsdb_store_reader_destroy(&r);
        return -1;
    }
    if (c->n > 1) {
        fw_mem_grow((void **)&c->tmp, &c->cap_tmp, c->n, sizeof(*c->tmp)); // s_send's too
        tsdb_rwsend_sort(c->e, c->tmp, c->n, false);
    }
    size_t cap = (size_t)q->conf->queue_config.capacity;
    c->read = c->n;
    if (c->n > cap) {
        int64_t cut = c->e[cap - 1].t;
        size_t keep = cap;
        while (keep < c->n && c->e[keep].t == cut)
            keep++;
        c->n = keep;
        *to = cut;
        s_marks_back(c, r, from, cut);
    }
    tsdb_store_reader_destroy(&r);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Sending

static bool
s_stopping(struct s_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool s = q->stopping;
    pthread_mutex_unlock(&q->lock);
    return s;
}

// Sleep up to ms, or less when the queue stops (or, when drain, a barrier is set). False
// when it stops.
static bool
s_sleep_until(struct s_queue *q, int64_t ms, bool drain)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&q->lock);
    while (!q->stopping && !(drain && q->barrier != INT64_MAX) &&
           pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0)
        ;
    bool going = !q->stopping;
    pthread_mutex_unlock(&q->lock);
    return going;
}

static bool
s_sleep(struct s_queue *q, int64_t ms)
{
    return s_sleep_until(q, ms, false);
}

static int
s_on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return s_stopping(arg) ? 1 : 0; // a non-zero return aborts the transfer
}

struct s_body {
    struct tsdb_json b;
    size_t max;
};

static size_t
s_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct s_body *b = arg;
    size_t len = size * n, room = b->max > b->b.len ? b->max - b->b.len : 0;
    tsdb_json_put(&b->b, p, len < room ? len : room);
    return len;
}

// The azuread bearer token, fetched or cached. NULL with err.
static char *
s_azure_token(struct s_queue *q, CURL *e, fw_err_t *err)
{
    const struct fw_rw_azuread_config *az = &q->conf->azuread;
    int64_t now = fw_time_now_ms() / 1000;
    pthread_mutex_lock(&q->lock);
    char *tok = q->token && now < q->token_expiry_s ? fw_strdup(q->token) : NULL;
    pthread_mutex_unlock(&q->lock);
    if (tok)
        return tok;
    const char *cloud = az->cloud ? az->cloud : "AzurePublic";
    bool china = strcmp(cloud, "AzureChina") == 0, gov = strcmp(cloud, "AzureGovernment") == 0;
    char *url = az->token_url ? fw_strdup(az->token_url)
                              : fw_asprintf("https://%s/%s/oauth2/v2.0/token",
                                            china ? "login.chinacloudapi.cn"
                                            : gov ? "login.microsoftonline.us"
                                                  : "login.microsoftonline.com",
                                            az->oauth.tenant_id);
    const char *scope = china ? "https://monitor.azure.cn//.default"
                        : gov ? "https://monitor.azure.us//.default"
                              : "https://monitor.azure.com//.default";
    char *id = curl_easy_escape(e, az->oauth.client_id, 0);
    char *secret = curl_easy_escape(e, az->oauth.client_secret, 0);
    char *sc = curl_easy_escape(e, scope, 0);
    char *form = fw_asprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
                             id, secret, sc);
    curl_free(id);
    curl_free(secret);
    curl_free(sc);
    struct s_body body = {{0}, S_TOKEN_BODY_MAX};
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->conf->remote_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    CURLcode cc = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    json_t *j = cc == CURLE_OK && body.b.p ? json_loads(body.b.p, 0, NULL) : NULL;
    const char *access = json_string_value(json_object_get(j, "access_token"));
    json_t *exp = json_object_get(j, "expires_in");
    int64_t expires = json_is_integer(exp)  ? (int64_t)json_integer_value(exp)
                      : json_is_string(exp) ? atoll(json_string_value(exp))
                                            : 3600;
    if (cc != CURLE_OK || code != 200 || !access) {
        fw_err_set(err, "azuread token from %s: %s", url,
                   cc != CURLE_OK ? curl_easy_strerror(cc)
                   : code != 200  ? "HTTP error status"
                                  : "no access_token in the answer");
    } else {
        tok = fw_strdup(access);
        pthread_mutex_lock(&q->lock);
        free(q->token);
        q->token = fw_strdup(access);
        q->token_expiry_s = now + expires - S_TOKEN_MARGIN_S;
        pthread_mutex_unlock(&q->lock);
    }
    json_decref(j);
    free(body.b.p);
    free(form);
    free(url);
    return tok;
}

// The Authorization header of a request, or NULL when none; -1 with err.
static int
s_auth_header(struct s_queue *q, CURL *e, char **out, fw_err_t *err)
{
    const struct fw_http_client_config *h = &q->conf->http;
    *out = NULL;
    if (q->conf->azuread_on) {
        char *tok = s_azure_token(q, e, err);
        if (!tok)
            return -1;
        *out = fw_asprintf("Authorization: Bearer %s", tok);
        free(tok);
        return 0;
    }
    char *cred = NULL;
    if (h->authorization.credentials_file) {
        if (fw_promcfg_http_read_secret(h->authorization.credentials_file, &cred, err) != 0)
            return -1;
    } else if (h->authorization.credentials) {
        cred = fw_strdup(h->authorization.credentials);
    }
    if (cred) {
        *out = fw_asprintf("Authorization: %s %s",
                           h->authorization.type ? h->authorization.type : "Bearer", cred);
        free(cred);
    }
    return 0;
}

// The basic_auth user and password on e (files read now). 0 or -1 with err.
static int
s_basic_auth(const struct fw_basic_auth *b, CURL *e, fw_err_t *err)
{
    if (!b->username && !b->username_file && !b->password && !b->password_file)
        return 0;
    char *user = NULL, *pass = NULL;
    if ((b->username_file && fw_promcfg_http_read_secret(b->username_file, &user, err) != 0) ||
        (b->password_file && fw_promcfg_http_read_secret(b->password_file, &pass, err) != 0)) {
        free(user);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, user ? user : b->username ? b->username : "");
    curl_easy_setopt(e, CURLOPT_PASSWORD, pass ? pass : b->password ? b->password : "");
    free(user);
    free(pass);
    return 0;
}

// One POST of body for q on e. The HTTP status (0: transport error, with err), or -1 when
// stopped.
static long
s_post_on(struct s_queue *q, CURL *e, const char *body, size_t len, fw_err_t *err)
{
    const struct fw_remote_write_config *rw = q->conf;
    char *auth = NULL;
    if (s_auth_header(q, e, &auth, err) != 0)
        return 0;
    curl_easy_reset(e);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Encoding: snappy");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
    hdrs = curl_slist_append(hdrs, "X-Prometheus-Remote-Write-Version: 0.1.0");
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; i < rw->headers.len; i++) {
        char *line = fw_asprintf("%s: %s", rw->headers.items[i].name, rw->headers.items[i].value);
        hdrs = curl_slist_append(hdrs, line);
        free(line);
    }
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    free(auth);
    struct s_body answer = {{0}, 512};
    curl_easy_setopt(e, CURLOPT_URL, rw->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rw->remote_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, q);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, rw->http.follow_redirects ? 1L : 0L);
    if (rw->http.proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, rw->http.proxy_url);
    fw_http_tls(e, &rw->http.tls_config);
    long code = 0;
    if (s_basic_auth(&rw->http.basic_auth, e, err) == 0) {
        CURLcode cc = curl_easy_perform(e);
        if (cc == CURLE_ABORTED_BY_CALLBACK)
            code = -1;
        else if (cc != CURLE_OK)
            fw_err_set(err, "%s", curl_easy_strerror(cc));
        else
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 300)
            fw_err_set(err, "server returned HTTP status %ld: %.200s", code,
                       answer.b.p ? answer.b.p : "");
    }
    curl_slist_free_all(hdrs);
    free(answer.b.p);
    return code;
}

static long
s_post(struct s_shard *s, const char *body, size_t len, fw_err_t *err)
{
    return s_post_on(s->q, s->easy, body, len, err);
}

// metadata_config's sender posts through the queue (tsdb_rwsend_meta_post_fn).
static long
s_meta_post(void *arg, CURL *e, const char *body, size_t len, fw_err_t *err)
{
    return s_post_on(arg, e, body, len, err);
}

static void
s_count(struct s_queue *q, const char *name, double n)
{
    fw_metrics_add(q->owner->metrics, name, q->metric_labels, n);
}

// Send entries[0..n) (one request), retrying until accepted, refused for good, or stopped.
// 1 accepted, 0 refused for good, -1 stopped.
static int
s_send(struct s_shard *s, struct s_cycle *c, struct tsdb_rwsend_entry *entries, size_t n)
{
    struct s_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    tsdb_rwsend_sort(entries, c->tmp, n, true);
    struct tsdb_json *pb = &c->pb;
    pb->len = 0;
    fw_mem_grow((void **)&c->smp, &c->cap_smp, n, sizeof(*c->smp));
    struct fw_sample *smp = c->smp;
    int64_t newest = INT64_MIN;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && entries[b].series == entries[a].series; b++) {
            smp[b - a] = (struct fw_sample){entries[b].t, entries[b].v};
            newest = entries[b].t > newest ? entries[b].t : newest;
        }
        const struct fw_labels *l = &c->sets[entries[a].series];
        fw_mem_grow((void **)&c->names, &c->cap_names, l->len, sizeof(*c->names));
        fw_mem_grow((void **)&c->values, &c->cap_values, l->len, sizeof(*c->values));
        for (size_t k = 0; k < l->len; k++) {
            c->names[k] = l->items[k].name;
            c->values[k] = l->items[k].value;
        }
        tsdb_rwproto_put_series(pb, c->names, c->values, l->len, smp, b - a);
    }
    char *z;
    size_t zlen;
    tsdb_pb_snappy(pb->p, pb->len, &z, &zlen);
    int64_t backoff = qc->min_backoff_ms, began = fw_time_now_ms();
    int rc = 0;
    for (;;) {
        fw_err_t err;
        fw_err_clear(&err);
        long code = s_post(s, z, zlen, &err);
        if (code < 0) {
            rc = -1;
            break;
        }
        if (code >= 200 && code < 300) {
            pthread_mutex_lock(&q->lock);
            tsdb_rwsend_ewma_add(&q->out, (double)n);
            q->last_send_ms = fw_time_now_ms();
            pthread_mutex_unlock(&q->lock);
            s_count(q, "fw_tsdb_remote_storage_samples_total", (double)n);
            fw_metrics_set(q->owner->metrics,
                           "fw_tsdb_remote_storage_highest_sent_timestamp_seconds",
                           q->metric_labels, (double)newest / 1000.0);
            rc = 1;
            break;
        }
        bool retry = code == 0 || code >= 500 || (code == 429 && qc->retry_on_http_429);
        if (!retry) {
            pthread_mutex_lock(&q->lock);
            tsdb_rwsend_ewma_add(&q->dropped, (double)n);
            pthread_mutex_unlock(&q->lock);
            s_count(q, "fw_tsdb_remote_storage_samples_failed_total", (double)n);
            fw_warn("remote_write.fail", "remote_name=%s samples=%zu err=\"%s\" action=dropped",
                    q->conf->name, n, err.msg);
            break;
        }
        s_count(q, "fw_tsdb_remote_storage_samples_retried_total", (double)n);
        fw_debug("remote_write.retry", "remote_name=%s samples=%zu backoff_ms=%lld err=\"%s\"",
                 q->conf->name, n, (long long)backoff, err.msg);
        if (!s_sleep(q, backoff)) {
            rc = -1;
            break;
        }
        backoff = backoff * 2 > qc->max_backoff_ms ? qc->max_backoff_ms : backoff * 2;
    }
    free(z);
    pthread_mutex_lock(&q->lock);
    tsdb_rwsend_ewma_add(&q->send, (double)(fw_time_now_ms() - began) / 1000.0);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

// Move shard s's position to pos and write the queue's positions down.
static void
s_advance(struct s_shard *s, int64_t pos)
{
    struct s_queue *q = s->q;
    pthread_mutex_lock(&q->lock);
    q->pos[s->index] = pos;
    s_pos_save(q);
    pthread_mutex_unlock(&q->lock);
}

// ---------------------------------------------------------------------------------------
// Late samples (tsdb_rwsend_late.h)

struct s_late_arg {
    struct s_shard *s;
    struct s_cycle *c;
};

// tsdb_rwsend_late_ops.set_of: the series' labels as sent, relabeled once (s_known).
static uint32_t
s_late_set(void *arg, tsdb_store_reader_t *r, uint64_t id)
{
    struct s_late_arg *a = arg;
    struct s_known *kn = s_known_find(a->c, id);
    struct fw_labels stored = FW_LABELS_INIT;
    struct tsdb_store_resume fresh = {0};
    if (!kn)
        kn = s_known_add(a->s->q, r, a->c, id, &stored, &fresh);
    fw_labels_clear(&stored);
    return kn && kn->set != S_DROPPED ? kn->set : TSDB_RWSEND_LATE_DROPPED;
}

// tsdb_rwsend_late_ops.send
static int
s_late_send(void *arg, struct tsdb_rwsend_entry *e, size_t n)
{
    struct s_late_arg *a = arg;
    fw_mem_grow((void **)&a->c->tmp, &a->c->cap_tmp, n, sizeof(*a->c->tmp));
    return s_send(a->s, a->c, e, n);
}

// Send shard s's late samples at or below pos (the store's records of samples stored after
// its window passed them). 0, or -1 when stopped; a store error is logged (every 10 s at
// most) and tried again later.
static int
s_late(struct s_shard *s, struct s_cycle *c, int64_t pos, uint64_t *after, int64_t *log_ms)
{
    struct s_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    pthread_mutex_lock(&q->lock);
    uint64_t mod = q->n_shards;
    pthread_mutex_unlock(&q->lock);
    size_t per = (size_t)qc->max_samples_per_send, cap = (size_t)qc->capacity;
    struct tsdb_rwsend_late_job job = {
        .store = q->owner->store,
        .key = q->late_key,
        .mod = mod,
        .rem = s->index,
        .pos = pos,
        .age_min =
            qc->sample_age_limit_ms > 0 ? fw_time_now_ms() - qc->sample_age_limit_ms : INT64_MIN,
        .per = per,
        .cap = cap > per ? cap : per,
        .after = after,
        .e = &c->e,
        .cap_e = &c->cap,
    };
    struct s_late_arg a = {s, c};
    struct tsdb_rwsend_late_ops ops = {s_late_set, s_late_send, &a};
    struct tsdb_rwsend_late_count n = {0};
    fw_err_t err;
    fw_err_clear(&err);
    int rc = tsdb_rwsend_late_drain(&job, &ops, &n, &err);
    if (n.sent)
        s_count(q, "fw_tsdb_remote_storage_late_samples_total", (double)n.sent);
    if (n.dropped)
        s_count(q, "fw_tsdb_remote_storage_samples_dropped_total", (double)n.dropped);
    if (n.records)
        fw_debug("remote_write.late", "remote_name=%s shard=%zu records=%zu sent=%zu failed=%zu",
                 q->conf->name, s->index, n.records, n.sent, n.failed);
    if (rc == 0 || s_stopping(q))
        return rc;
    int64_t now = fw_time_now_ms();
    if (now - *log_ms >= 10000) {
        fw_warn("remote_write.late.fail", "remote_name=%s err=\"%s\"", q->conf->name, err.msg);
        *log_ms = now;
    }
    return 0;
}

static void *
s_shard_run(void *arg)
{
    struct s_shard *s = arg;
    struct s_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    struct s_cycle c = {0};
    int64_t log_ms = 0;
    uint64_t late_after = 0; // where the late drain goes on
    // How far past its position a window reaches (tsdb_rwsend_window_span): a window cut
    // at capacity decodes and sorts what lies past the cut for nothing, and a catching-up
    // shard's windows of TSDB_RWSEND_WINDOW_MS held several capacities.
    int64_t span = TSDB_RWSEND_WINDOW_MS;
    // What the senders resend once tsdb is back (after a restart) is committed meanwhile.
    if (s->fresh)
        s_sleep(q, TSDB_RWSEND_DELAY_MS);
    while (!s_stopping(q)) {
        pthread_mutex_lock(&q->lock);
        int64_t pos = q->pos[s->index], barrier = q->barrier;
        pthread_mutex_unlock(&q->lock);
        if (pos >= barrier)
            break; // resharding: this shard is done up to the barrier
        if (q->late_key && s_late(s, &c, pos, &late_after, &log_ms) != 0)
            break; // stopped
        int64_t now = fw_time_now_ms(), end = now - TSDB_RWSEND_DELAY_MS;
        if (end - pos > span)
            end = pos + span;
        end = end < barrier ? end : barrier;
        if (end <= pos) {
            s_sleep(q, S_IDLE_MS);
            continue;
        }
        size_t dropped = 0;
        fw_err_t err;
        int64_t asked = end - pos;
        if (s_read(s, pos, &end, &c, &dropped, &err) != 0) {
            if (now - log_ms >= 10000)
                fw_warn("remote_write.read.fail", "remote_name=%s err=\"%s\"", q->conf->name,
                        err.msg);
            log_ms = now;
            s_sleep(q, S_IDLE_MS);
            continue;
        }
        s_count(q, "fw_tsdb_remote_storage_samples_read_total", (double)c.read);
        span = tsdb_rwsend_window_span(span, (double)qc->capacity, c.read, asked,
                                       TSDB_RWSEND_WINDOW_MS);
        pthread_mutex_lock(&q->lock);
        q->in_samples += (double)(c.n + dropped);
        q->in_span_ms += (double)(end - pos);
        tsdb_rwsend_ewma_add(&q->dropped, (double)dropped);
        pthread_mutex_unlock(&q->lock);
        if (dropped)
            s_count(q, "fw_tsdb_remote_storage_samples_dropped_total", (double)dropped);
        size_t per = (size_t)qc->max_samples_per_send;
        bool stopped = false;
        for (size_t a = 0; a < c.n && !stopped; a += per) {
            size_t b = a + per < c.n ? a + per : c.n;
            int64_t next = b < c.n ? c.e[b].t - 1 : end;
            stopped = s_send(s, &c, c.e + a, b - a) < 0;
            if (!stopped)
                s_advance(s, next);
        }
        if (stopped)
            break;
        if (c.n == 0) {
            pthread_mutex_lock(&q->lock);
            q->pos[s->index] = end; // nothing to say: written with the next send
            pthread_mutex_unlock(&q->lock);
        }
        if (end >= now - TSDB_RWSEND_DELAY_MS && c.n < per)
            s_sleep_until(
                q, qc->batch_send_deadline_ms > S_IDLE_MS ? qc->batch_send_deadline_ms : S_IDLE_MS,
                true);
    }
    s_cycle_forget(&c);
    free(c.sets);
    free(c.known);
    free(c.tails);
    free(c.prev);
    free(c.slow);
    free(c.pb.p);
    free(c.smp);
    free(c.names);
    free(c.values);
    free(c.map_id);
    free(c.map_val);
    free(c.e);
    free(c.tmp);
    return NULL;
}

// ---------------------------------------------------------------------------------------
// Queues

// Start shards 0..n_shards (fresh: the queue's first).
static void
s_shards_start(struct s_queue *q, bool fresh)
{
    for (size_t i = 0; i < q->n_shards; i++) {
        struct s_shard *s = &q->shards[i];
        s->q = q;
        s->index = i;
        s->fresh = fresh;
        if (!s->easy)
            s->easy = curl_easy_init();
        s->started = s->easy && pthread_create(&s->thread, NULL, s_shard_run, s) == 0;
        if (!s->started)
            fw_error("remote_write.start.fail", "remote_name=%s shard=%zu", q->conf->name, i);
    }
}

static void
s_shards_join(struct s_queue *q)
{
    for (size_t i = 0; i < q->max_shards; i++) {
        if (q->shards[i].started)
            pthread_join(q->shards[i].thread, NULL);
        q->shards[i].started = false;
    }
}

// The lowest and highest shard positions (under the lock).
static void
s_pos_range(const struct s_queue *q, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t i = 0; i < q->n_shards; i++) {
        *lo = q->pos[i] < *lo ? q->pos[i] : *lo;
        *hi = q->pos[i] > *hi ? q->pos[i] : *hi;
    }
}

// Move to n shards: every shard sends up to the highest position (a barrier) and stops,
// then n shards start from there, so no series is sent out of order nor twice. A shard
// that was mid-read when the barrier was set may pass it: then the others catch up to it
// too (once more, with no shard running when the barrier is set). False when stopped.
static bool
s_reshard(struct s_queue *q, size_t n)
{
    for (int round = 0; round < 3; round++) {
        int64_t lo, hi;
        pthread_mutex_lock(&q->lock);
        s_pos_range(q, &lo, &hi);
        q->barrier = hi;
        pthread_cond_broadcast(&q->wake);
        pthread_mutex_unlock(&q->lock);
        s_shards_join(q);
        if (s_stopping(q))
            return false;
        pthread_mutex_lock(&q->lock);
        s_pos_range(q, &lo, &hi);
        bool even = lo == hi;
        if (even) {
            q->n_shards = n;
            for (size_t i = 0; i < n; i++)
                q->pos[i] = hi;
            s_pos_save(q);
        }
        q->barrier = INT64_MAX;
        pthread_mutex_unlock(&q->lock);
        s_shards_start(q, false);
        if (even)
            return true;
    }
    return true; // not even yet: the next decision tries again
}

// The queue's manager: every TSDB_RWSEND_RESHARD_MS, Prometheus's decision of how many
// shards to run (tsdb_rwsend_shards.h), applied.
static void *
s_queue_run(void *arg)
{
    struct s_queue *q = arg;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    s_shards_start(q, true);
    int64_t last = fw_time_now_ms();
    while (s_sleep(q, TSDB_RWSEND_RESHARD_MS)) {
        int64_t now = fw_time_now_ms(), lo, hi;
        double interval_s = (double)(now - last) / 1000.0;
        last = now;
        pthread_mutex_lock(&q->lock);
        size_t current = q->n_shards;
        if (q->in_span_ms > 0) { // samples per second of their timestamps, all shards
            double in = q->in_samples / (q->in_span_ms / 1000.0) * (double)current;
            tsdb_rwsend_ewma_add(&q->in, in * interval_s);
            tsdb_rwsend_ewma_tick(&q->in, interval_s);
        }
        q->in_samples = q->in_span_ms = 0;
        tsdb_rwsend_ewma_tick(&q->out, interval_s);
        tsdb_rwsend_ewma_tick(&q->dropped, interval_s);
        tsdb_rwsend_ewma_tick(&q->send, interval_s);
        s_pos_range(q, &lo, &hi);
        int64_t behind = now - TSDB_RWSEND_DELAY_MS - lo;
        struct tsdb_rwsend_rates r = {q->in.rate, q->out.rate, q->dropped.rate, q->send.rate,
                                      behind > 0 ? (double)behind / 1000.0 : 0};
        bool sending = q->last_send_ms >= now - 2 * qc->batch_send_deadline_ms;
        pthread_mutex_unlock(&q->lock);
        size_t want = tsdb_rwsend_desired_shards(&r, current, q->min_shards, q->max_shards);
        fw_debug("remote_write.shards",
                 "remote_name=%s in=%.1f out=%.1f dropped=%.1f send_s=%.3f delay_s=%.1f "
                 "shards=%zu desired=%zu",
                 q->conf->name, r.in, r.out, r.dropped, r.send_s, r.delay_s, current, want);
        if (want == current || !sending) // as Prometheus: not while sends fail
            continue;
        fw_info("remote_write.reshard", "remote_name=%s from=%zu to=%zu", q->conf->name, current,
                want);
        if (!s_reshard(q, want))
            break;
        fw_metrics_set(q->owner->metrics, "fw_tsdb_remote_storage_shards", q->metric_labels,
                       (double)q->n_shards);
    }
    s_shards_join(q);
    return NULL;
}

static void
s_queue_stop(struct s_queue **qp)
{
    struct s_queue *q = *qp;
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    tsdb_rwsend_meta_destroy(&q->meta);
    if (q->manager_started)
        pthread_join(q->manager, NULL);
    for (size_t i = 0; i < q->max_shards; i++)
        if (q->shards[i].easy)
            curl_easy_cleanup(q->shards[i].easy);
    pthread_mutex_lock(&q->lock);
    s_pos_save(q);
    pthread_mutex_unlock(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    fw_labels_clear(&q->external);
    free(q->shards);
    free(q->pos);
    free(q->path);
    free(q->metric_labels);
    free(q->token);
    free(q);
    *qp = NULL;
}

// Watch for samples stored at or below what the queue read (tsdb_store.h, "Late samples"),
// keyed by its name as its position file is: from its highest position on disk.
static void
s_late_watch(struct s_queue *q)
{
    uint64_t key = fw_hash64(q->conf->name, strlen(q->conf->name));
    key = key ? key : 1; // 0 is the store's "none"
    int64_t hi = INT64_MIN;
    for (size_t i = 0; i < q->n_shards; i++)
        hi = q->pos[i] > hi ? q->pos[i] : hi;
    fw_err_t err;
    if (tsdb_store_late_watch(q->owner->store, key, hi, &err) == 0)
        q->late_key = key;
    else
        fw_warn("remote_write.late.off", "remote_name=%s err=\"%s\"", q->conf->name, err.msg);
}

static struct s_queue *
s_queue_start(tsdb_rwsend_t *self, const struct fw_remote_write_config *rw,
              const struct fw_labels *external)
{
    struct s_queue *q = fw_calloc(1, sizeof(*q));
    q->owner = self;
    q->conf = rw;
    q->external = (struct fw_labels)FW_LABELS_INIT;
    fw_labels_copy(&q->external, external);
    char *safe = fw_strdup(rw->name);
    for (char *p = safe; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    q->path = fw_asprintf("%s/%s.pos", self->dir, safe);
    free(safe);
    q->metric_labels = fw_asprintf("remote_name=\"%s\"", rw->name);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    int64_t lo = rw->queue_config.min_shards, hi = rw->queue_config.max_shards;
    lo = lo < 1 ? 1 : lo > TSDB_RWSEND_SHARDS_MAX ? TSDB_RWSEND_SHARDS_MAX : lo;
    hi = hi < lo ? lo : hi > TSDB_RWSEND_SHARDS_MAX ? TSDB_RWSEND_SHARDS_MAX : hi;
    q->min_shards = q->n_shards = (size_t)lo;
    q->max_shards = (size_t)hi;
    q->barrier = INT64_MAX;
    q->pos = fw_calloc(q->max_shards, sizeof(*q->pos));
    q->shards = fw_calloc(q->max_shards, sizeof(*q->shards));
    s_pos_load(q);
    s_late_watch(q);
    fw_metrics_set(self->metrics, "fw_tsdb_remote_storage_shards", q->metric_labels,
                   (double)q->n_shards);
    static const char *const counters[] = {"fw_tsdb_remote_storage_samples_total",
                                           "fw_tsdb_remote_storage_samples_failed_total",
                                           "fw_tsdb_remote_storage_samples_retried_total",
                                           "fw_tsdb_remote_storage_samples_dropped_total",
                                           "fw_tsdb_remote_storage_late_samples_total",
                                           "fw_tsdb_remote_storage_samples_read_total"};
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        s_count(q, counters[i], 0);
    if (rw->metadata_config.send && self->metadata) {
        struct tsdb_rwsend_meta_opts mo = {rw->metadata_config,
                                           rw->queue_config.min_backoff_ms,
                                           rw->queue_config.max_backoff_ms,
                                           rw->queue_config.retry_on_http_429,
                                           rw->name,
                                           q->metric_labels};
        q->meta = tsdb_rwsend_meta_new(self->metadata, self->metrics, &mo, s_meta_post, q);
    }
    q->manager_started = pthread_create(&q->manager, NULL, s_queue_run, q) == 0;
    if (!q->manager_started)
        fw_error("remote_write.start.fail", "remote_name=%s", rw->name);
    fw_info("remote_write.start", "remote_name=%s shards=%zu min_shards=%zu max_shards=%zu",
            rw->name, q->n_shards, q->min_shards, q->max_shards);
    return q;
}

// The late-sample records of queues no longer configured go (nobody would send them).
static int
s_late_keep(tsdb_rwsend_t *self, fw_err_t *err)
{
    uint64_t *keys = fw_calloc(self->n_queues + 1, sizeof(*keys));
    size_t n = 0;
    for (size_t i = 0; i < self->n_queues; i++)
        if (self->queues[i]->late_key)
            keys[n++] = self->queues[i]->late_key;
    int rc = tsdb_store_late_keep(self->store, keys, n, err);
    free(keys);
    return rc;
}

tsdb_rwsend_t *
tsdb_rwsend_new(tsdb_store_t *store, const char *dir, fw_metrics_t *metrics)
{
    tsdb_rwsend_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->dir = fw_strdup(dir);
    self->metrics = metrics;
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_total", FW_METRIC_COUNTER,
                       "Samples remote_write sent and the receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_failed_total", FW_METRIC_COUNTER,
                       "Samples the receiver refused for good (4xx), dropped, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_retried_total", FW_METRIC_COUNTER,
                       "Samples sent again after a 5xx, a 429 or a transport error.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_dropped_total", FW_METRIC_COUNTER,
                       "Samples not sent: older than sample_age_limit, or their series dropped "
                       "by write_relabel_configs.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_late_samples_total", FW_METRIC_COUNTER,
                       "Samples stored after the queue had read past their timestamp (late, "
                       "backfilled, imported) that the receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_read_total", FW_METRIC_COUNTER,
                       "Samples the shards read from the store, by remote_name: those past a "
                       "window cut at queue_config.capacity are read again by the next window.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_highest_sent_timestamp_seconds",
                       FW_METRIC_GAUGE, "The newest sample a receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_shards", FW_METRIC_GAUGE,
                       "Shards sending, by remote_name.");
    tsdb_rwsend_meta_declare(metrics);
    return self;
}

void
tsdb_rwsend_set_metadata(tsdb_rwsend_t *self, tsdb_metadata_t *md)
{
    self->metadata = md;
}

int
tsdb_rwsend_apply(tsdb_rwsend_t *self, const struct fw_promcfg *cfg, fw_err_t *err)
{
    for (size_t i = 0; i < self->n_queues; i++)
        s_queue_stop(&self->queues[i]);
    free(self->queues);
    self->queues = NULL;
    self->n_queues = 0;
    if (cfg->n_remote_writes == 0)
        return s_late_keep(self, err);
    if (mkdir(self->dir, 0755) != 0 && errno != EEXIST) {
        fw_err_set(err, "cannot create %s: %s", self->dir, strerror(errno));
        return -1;
    }
    self->queues = fw_calloc(cfg->n_remote_writes, sizeof(*self->queues));
    for (size_t i = 0; i < cfg->n_remote_writes; i++)
        self->queues[self->n_queues++] =
            s_queue_start(self, &cfg->remote_writes[i], &cfg->global.external_labels);
    return s_late_keep(self, err);
}

void
tsdb_rwsend_destroy(tsdb_rwsend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rwsend_t *self = *self_p;
    for (size_t i = 0; i < self->n_queues; i++)
        s_queue_stop(&self->queues[i]);
    free(self->queues);
    free(self->dir);
    free(self);
    *self_p = NULL;
}
