/*  scraper_target.c — target construction, label merging and the staleness memory.

    Design: merging builds a borrowed-string view (struct scraper_lset) so the per-sample
    path allocates nothing once the scratch arrays have grown; the only copies are the ones
    fw_batch_add_series() makes for the batch. The staleness memory keeps the sets sent, as
    packed copies (fw_labels_pack.h, one allocation each, made only for series new since the
    last scrape), in the order first tracked, with an index by fw_labels_hash() for lookups;
    the scrape cache's hint names a record, so a steady scrape writes one word a sample, in
    order, and its sweep (which counts what was tracked) reads nothing. A sweep that forgets
    series closes the survivors up and rebuilds the index.
*/
#include "scraper_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels_pack.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "scraper_cache.h"

// ---------------------------------------------------------------------------------------
//  Construction

// The labels Prometheus adds to every discovered target before relabeling, each only when
// discovery did not set it (scrape.PopulateLabels).
static void
s_scrape_defaults(struct fw_labels *lb, const struct fw_scrape_config *sc)
{
    char buf[32];
    const char *scheme = sc->scheme ? sc->scheme : "http";
    const char *path = sc->metrics_path ? sc->metrics_path : "/metrics";
    int64_t interval = sc->scrape_interval_ms > 0 ? sc->scrape_interval_ms : 60000;
    int64_t timeout = sc->scrape_timeout_ms > 0 ? sc->scrape_timeout_ms : 10000;
    const char *const defaults[][2] = {
        {"job", sc->job_name},
        {"__scheme__", scheme},
        {"__metrics_path__", path},
        {"__scrape_interval__", fw_duration_format(interval, buf, sizeof(buf))},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        const char *v = fw_labels_get(lb, defaults[i][0]);
        if (!v || !*v)
            fw_labels_set(lb, defaults[i][0], defaults[i][1]);
    }
    const char *v = fw_labels_get(lb, "__scrape_timeout__");
    if (!v || !*v)
        fw_labels_set(lb, "__scrape_timeout__", fw_duration_format(timeout, buf, sizeof(buf)));
}

// A host:port from discovery: no scheme or path, no spaces (config.CheckTargetAddress).
static bool
s_address_ok(const char *a)
{
    if (!*a)
        return false;
    for (const char *p = a; *p; p++)
        if (*p == '/' || *p == ' ' || *p == '\t' || *p == '\n')
            return false;
    return true;
}

// A duration label of a relabeled target: Prometheus's texts when it does not parse or is 0.
static int
s_duration_label(const struct fw_labels *lb, const char *name, const char *what, int64_t *ms,
                 fw_err_t *err)
{
    const char *v = fw_labels_get(lb, name);
    if (!v || fw_duration_parse(v, ms) != 0 || *ms < 0) {
        fw_err_set(err, "error parsing scrape %s: not a valid duration string: \"%s\"", what,
                   v ? v : "");
        return -1;
    }
    if (*ms == 0) {
        fw_err_set(err, "scrape %s cannot be 0", what);
        return -1;
    }
    return 0;
}

struct scraper_target *
scraper_target_from_group(const struct fw_scrape_config *sc, const struct fw_labels *group,
                          const struct fw_labels *target, struct fw_labels *dropped, fw_err_t *err)
{
    // Discovered labels: the target's own over its group's, then the scrape defaults.
    struct fw_labels lb = FW_LABELS_INIT;
    if (group)
        fw_labels_copy(&lb, group);
    for (size_t i = 0; target && i < target->len; i++)
        fw_labels_set(&lb, target->items[i].name, target->items[i].value);
    // An empty value is no label (Prometheus's labels.Builder deletes on Set with "").
    for (size_t i = lb.len; i-- > 0;)
        if (!lb.items[i].value[0]) {
            char *name = fw_strdup(lb.items[i].name);
            fw_labels_del(&lb, name);
            free(name);
        }
    s_scrape_defaults(&lb, sc);
    scraper_client_param_defaults(&lb, sc);

    struct scraper_target *self = fw_calloc(1, sizeof(*self));
    fw_labels_copy(&self->discovered, &lb);

    // Target relabeling: it may drop the target, or change any label, __address__,
    // __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_*
    // included; everything below reads only the relabeled lb.
    if (!fw_relabel_process(sc->relabel_configs, sc->n_relabel_configs, &lb)) {
        if (dropped)
            fw_labels_copy(dropped, &self->discovered);
        goto fail;
    }

    const char *address = fw_labels_get(&lb, "__address__");
    int64_t interval = 0, timeout = 0;
    if (!address) {
        fw_err_set(err, "no address");
        goto fail;
    }
    if (!s_address_ok(address)) {
        fw_err_set(err, "\"%s\" is not a valid hostname", address);
        goto fail;
    }
    if (s_duration_label(&lb, "__scrape_interval__", "interval", &interval, err) != 0 ||
        s_duration_label(&lb, "__scrape_timeout__", "timeout", &timeout, err) != 0)
        goto fail;
    if (timeout > interval) {
        fw_err_set(err, "scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")",
                   fw_labels_get(&lb, "__scrape_timeout__"),
                   fw_labels_get(&lb, "__scrape_interval__"));
        goto fail;
    }
    // Relabeling may delete __scheme__ or __metrics_path__: Go's URL then has no scheme
    // (the scrape fails) or an empty path; keep ours well formed with the defaults.
    const char *scheme = fw_labels_get(&lb, "__scheme__");
    const char *path = fw_labels_get(&lb, "__metrics_path__");
    if (!scheme)
        scheme = "http";
    if (!path)
        path = "";
    self->job = fw_strdup(sc->job_name);
    self->address = fw_strdup(address);
    self->url = fw_asprintf("%s://%s%s%s", scheme, address, path[0] == '/' ? "" : "/", path);
    char *with_query = scraper_client_url(self->url, sc, &lb); // params and __param_*
    free(self->url);
    self->url = with_query;
    self->interval_ms = interval;
    self->timeout_ms = timeout;
    self->sample_limit = sc->sample_limit;
    self->honor_labels = sc->honor_labels;
    self->legacy_names = sc->metric_name_validation_scheme == FW_NAME_VALIDATION_LEGACY;
    self->name_escaping = sc->metric_name_escaping_scheme;
    self->honor_timestamps = sc->honor_timestamps;
    scraper_client_init(&self->client, sc);

    // Target labels: every label not starting with "__" (__meta_*, __tmp* and the scrape
    // settings are dropped), and instance defaults to the address.
    for (size_t i = 0; i < lb.len; i++)
        if (strncmp(lb.items[i].name, "__", 2) != 0)
            fw_labels_set(&self->labels, lb.items[i].name, lb.items[i].value);
    const char *instance = fw_labels_get(&self->labels, "instance");
    if (!instance || !*instance)
        fw_labels_set(&self->labels, "instance", address);
    fw_labels_clear(&lb);

    self->gen = 1;
    self->seen = fw_calloc(1, sizeof(*self->seen));
    self->seen->epoch = 1;
    return self;
fail:
    fw_labels_clear(&lb);
    scraper_target_destroy(&self);
    return NULL;
}

struct scraper_target *
scraper_target_new(const struct fw_scrape_config *sc, const char *address,
                   const struct fw_labels *static_labels)
{
    struct fw_labels t = FW_LABELS_INIT;
    fw_labels_set(&t, "__address__", address);
    struct scraper_target *self = scraper_target_from_group(sc, static_labels, &t, NULL, NULL);
    fw_labels_clear(&t);
    return self;
}

size_t
scraper_target_drops_job(struct scraper_target_drops *d, const char *job)
{
    for (size_t i = 0; i < d->n_jobs; i++)
        if (strcmp(d->jobs[i], job) == 0)
            return i;
    size_t cap = d->cap_jobs;
    fw_mem_grow((void **)&d->jobs, &d->cap_jobs, d->n_jobs + 1, sizeof(*d->jobs));
    fw_mem_grow((void **)&d->counts, &cap, d->n_jobs + 1, sizeof(*d->counts));
    d->jobs[d->n_jobs] = fw_strdup(job);
    d->counts[d->n_jobs] = 0;
    return d->n_jobs++;
}

void
scraper_target_drops_add(struct scraper_target_drops *d, const char *job, struct fw_labels *labels)
{
    size_t j = scraper_target_drops_job(d, job);
    d->counts[j]++;
    fw_mem_grow((void **)&d->items, &d->cap, d->n + 1, sizeof(*d->items));
    d->items[d->n].job = j;
    d->items[d->n].labels = *labels;
    *labels = (struct fw_labels)FW_LABELS_INIT;
    d->n++;
}

void
scraper_target_drops_clear(struct scraper_target_drops *d)
{
    for (size_t i = 0; i < d->n; i++)
        fw_labels_clear(&d->items[i].labels);
    for (size_t i = 0; i < d->n_jobs; i++)
        free(d->jobs[i]);
    free(d->items);
    free(d->jobs);
    free(d->counts);
    memset(d, 0, sizeof(*d));
}

static void
s_seen_free(struct scraper_seen *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->len; i++)
        free(s->recs[i].items);
    free(s->recs);
    free(s->gens);
    free(s->index);
    free(s);
}

void
scraper_target_destroy(struct scraper_target **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct scraper_target *self = *self_p;
    s_seen_free(self->seen);
    scraper_cache_destroy(&self->cache);
    scraper_client_clear(&self->client);
    fw_labels_clear(&self->discovered);
    fw_labels_clear(&self->labels);
    free(self->url);
    free(self->address);
    free(self->job);
    free(self);
    *self_p = NULL;
}

bool
scraper_target_same(const struct scraper_target *a, const struct scraper_target *b)
{
    return strcmp(a->job, b->job) == 0 && strcmp(a->url, b->url) == 0 &&
           fw_labels_cmp(&a->labels, &b->labels) == 0 && a->interval_ms == b->interval_ms &&
           a->timeout_ms == b->timeout_ms && a->sample_limit == b->sample_limit &&
           a->honor_labels == b->honor_labels && a->honor_timestamps == b->honor_timestamps &&
           a->legacy_names == b->legacy_names && a->name_escaping == b->name_escaping &&
           scraper_client_equal(&a->client, &b->client);
}

// ---------------------------------------------------------------------------------------
//  Label merging

void
scraper_lset_free(struct scraper_lset *l)
{
    for (size_t i = 0; i < l->n_interned; i++)
        free(l->interned[i]);
    free(l->interned);
    free(l->view.items);
    free(l->conflicts);
    memset(l, 0, sizeof(*l));
}

// Put name=value into the view (strings borrowed), replacing an existing value.
static void
s_view_put(struct fw_labels *v, const char *name, const char *value)
{
    ssize_t at = fw_labels_index(v, name);
    if (at >= 0) {
        v->items[at].value = (char *)value;
        return;
    }
    size_t pos = (size_t)(-at - 1);
    fw_mem_grow((void **)&v->items, &v->cap, v->len + 1, sizeof(*v->items));
    memmove(&v->items[pos + 1], &v->items[pos], (v->len - pos) * sizeof(*v->items));
    v->items[pos].name = (char *)name;
    v->items[pos].value = (char *)value;
    v->len++;
}

// "exported_" + name, interned in l so it outlives this merge.
static const char *
s_exported(struct scraper_lset *l, const char *name)
{
    for (size_t i = 0; i < l->n_interned; i++) {
        const char *s = l->interned[i];
        if (strncmp(s, "exported_", 9) == 0 && strcmp(s + 9, name) == 0)
            return s;
    }
    fw_mem_grow((void **)&l->interned, &l->cap_interned, l->n_interned + 1, sizeof(*l->interned));
    l->interned[l->n_interned] = fw_asprintf("exported_%s", name);
    return l->interned[l->n_interned++];
}

void
scraper_target_merge(struct scraper_lset *out, const struct fw_labels *target_labels,
                     bool honor_labels, const struct fw_expfmt_sample *s)
{
    struct fw_labels *v = &out->view;
    v->len = 0;
    s_view_put(v, "__name__", s->name);
    for (size_t i = 0; i < s->n_labels; i++) {
        if (s->label_values[i][0] != '\0')
            s_view_put(v, s->label_names[i], s->label_values[i]);
    }
    size_t n_conf = 0;
    for (size_t i = 0; i < target_labels->len; i++) {
        const struct fw_label *t = &target_labels->items[i];
        ssize_t at = fw_labels_index(v, t->name);
        if (honor_labels) {
            if (at < 0)
                s_view_put(v, t->name, t->value);
            continue;
        }
        if (at >= 0) {
            fw_mem_grow((void **)&out->conflicts, &out->cap_conflicts, 2 * (n_conf + 1),
                        sizeof(*out->conflicts));
            out->conflicts[2 * n_conf] = t->name;
            out->conflicts[2 * n_conf + 1] = v->items[at].value;
            n_conf++;
        }
        s_view_put(v, t->name, t->value);
    }
    // As Prometheus's resolveConflictingExposedLabels: prefix until the name is free.
    for (size_t i = 0; i < n_conf; i++) {
        const char *name = s_exported(out, out->conflicts[2 * i]);
        while (fw_labels_index(v, name) >= 0)
            name = s_exported(out, name);
        s_view_put(v, name, out->conflicts[2 * i + 1]);
    }
}

// ---------------------------------------------------------------------------------------
//  Staleness memory

static void
s_seen_moved(struct scraper_seen *s)
{
    if (++s->epoch == 0)
        s->epoch = 1;
}

// Index every record into a fresh index of cap slots (records do not move: hints stay).
static void
s_seen_reindex(struct scraper_seen *s, size_t cap)
{
    if (cap != s->cap) {
        free(s->index);
        s->index = fw_calloc(cap, sizeof(*s->index));
        s->cap = cap;
    } else {
        memset(s->index, 0, cap * sizeof(*s->index));
    }
    for (size_t r = 0; r < s->len; r++) {
        size_t j = (size_t)s->recs[r].hash & (cap - 1);
        while (s->index[j])
            j = (j + 1) & (cap - 1);
        s->index[j] = (uint32_t)(r + 1);
    }
}

// The index slot of labels (hash h): it names the record (index[j] != 0), or is the free
// slot where it would go.
static size_t
s_seen_find(const struct scraper_seen *s, const struct fw_labels *labels, uint64_t h)
{
    size_t j = (size_t)h & (s->cap - 1);
    for (; s->index[j]; j = (j + 1) & (s->cap - 1)) {
        const struct scraper_seen_rec *r = &s->recs[s->index[j] - 1];
        if (r->hash == h && r->len == labels->len) {
            struct fw_labels v = fw_labels_pack_view(r->items, r->len);
            if (fw_labels_cmp(&v, labels) == 0)
                break;
        }
    }
    return j;
}

// Track labels (hash h); its record's number in *rec.
static bool
s_seen_track(struct scraper_target *self, const struct fw_labels *labels, uint64_t h, size_t *rec)
{
    struct scraper_seen *s = self->seen;
    uint32_t gen = self->gen & SCRAPER_SEEN_GEN_MASK;
    if ((s->len + 1) * 2 > s->cap)
        s_seen_reindex(s, s->cap ? s->cap * 2 : 64);
    size_t j = s_seen_find(s, labels, h);
    if (s->index[j]) {
        *rec = s->index[j] - 1;
        scraper_seen_mark(s, *rec, gen);
        return false;
    }
    if (s->len == s->cap_recs) {
        size_t cap = s->cap_recs;
        fw_mem_grow((void **)&s->recs, &cap, s->len + 1, sizeof(*s->recs));
        s->gens = fw_realloc(s->gens, cap * sizeof(*s->gens));
        s->cap_recs = cap;
    }
    *rec = s->len;
    s->recs[s->len] = (struct scraper_seen_rec){h, fw_labels_pack(labels), (uint32_t)labels->len};
    s->gens[s->len] = gen | SCRAPER_SEEN_FRESH;
    s->index[j] = (uint32_t)(s->len + 1);
    s->len++;
    s->n_gen++;
    s->n_fresh++;
    return true;
}

bool
scraper_target_track_hashed(struct scraper_target *self, const struct fw_labels *labels, uint64_t h)
{
    size_t rec;
    return s_seen_track(self, labels, h, &rec);
}

bool
scraper_target_track_miss(struct scraper_target *self, const struct fw_labels *labels, uint64_t h,
                          uint32_t *slot, uint32_t *epoch)
{
    struct scraper_seen *s = self->seen;
    size_t rec;
    bool added = s_seen_track(self, labels, h, &rec);
    *slot = (uint32_t)rec;
    *epoch = s->epoch;
    return added;
}

bool
scraper_target_tracked_hint(const struct scraper_target *self, const struct fw_labels *labels,
                            uint64_t h, uint32_t *slot, uint32_t *epoch)
{
    const struct scraper_seen *s = self->seen;
    if (scraper_seen_hinted(s, *slot, *epoch))
        return true;
    if (s->cap == 0)
        return false;
    size_t j = s_seen_find(s, labels, h);
    if (!s->index[j])
        return false;
    *slot = s->index[j] - 1;
    *epoch = s->epoch;
    return true;
}

bool
scraper_target_track(struct scraper_target *self, const struct fw_labels *labels)
{
    return scraper_target_track_hashed(self, labels, fw_labels_hash(labels));
}

// End the scrape: forget (with a stale marker, unless never sent) the records it did not
// track, or all of them; the survivors close up in their order. A scrape that tracked every
// record (the steady state, known from the count) reads none of them.
static size_t
s_sweep(struct scraper_target *self, struct fw_batch *batch, int64_t t_ms, bool all)
{
    struct scraper_seen *s = self->seen;
    size_t marked = 0;
    uint32_t gen = self->gen & SCRAPER_SEEN_GEN_MASK;
    if (!all && s->n_gen == s->len) { // every remembered series was tracked: nothing goes
        if (s->n_fresh > 0)
            for (size_t r = 0; r < s->len; r++)
                s->gens[r] &= SCRAPER_SEEN_GEN_MASK;
    } else {
        size_t w = 0;
        for (size_t r = 0; r < s->len; r++) {
            struct scraper_seen_rec *e = &s->recs[r];
            if (all || (s->gens[r] & SCRAPER_SEEN_GEN_MASK) != gen) {
                // A series first tracked by a scrape that then failed was never sent.
                if (!(s->gens[r] & SCRAPER_SEEN_FRESH)) {
                    struct fw_labels v = fw_labels_pack_view(e->items, e->len);
                    struct fw_series *series = fw_batch_add_series(batch, &v);
                    fw_series_add(series, t_ms, fw_stale_nan());
                    marked++;
                }
                free(e->items);
                continue;
            }
            s->recs[w] = *e;
            s->gens[w] = s->gens[r] & SCRAPER_SEEN_GEN_MASK;
            w++;
        }
        if (w != s->len) {
            s->len = w;
            s_seen_moved(s);
            if (s->cap)
                s_seen_reindex(s, s->cap);
        }
    }
    s->n_gen = 0;
    s->n_fresh = 0;
    self->gen = (self->gen + 1) & SCRAPER_SEEN_GEN_MASK;
    return marked;
}

size_t
scraper_target_sweep(struct scraper_target *self, struct fw_batch *batch, int64_t t_ms)
{
    return s_sweep(self, batch, t_ms, false);
}

size_t
scraper_target_stale_all(struct scraper_target *self, struct fw_batch *batch, int64_t t_ms)
{
    return s_sweep(self, batch, t_ms, true);
}

bool
scraper_target_tracked_hashed(const struct scraper_target *self, const struct fw_labels *labels,
                              uint64_t h)
{
    const struct scraper_seen *s = self->seen;
    return s->cap > 0 && s->index[s_seen_find(s, labels, h)] != 0;
}

bool
scraper_target_tracked(const struct scraper_target *self, const struct fw_labels *labels)
{
    return scraper_target_tracked_hashed(self, labels, fw_labels_hash(labels));
}

size_t
scraper_target_series(const struct scraper_target *self)
{
    return self->seen->len;
}
