/*  scraper_targets.c — the scraper's target list: built from the config's static_configs
    and what discovery found (relabel_configs applied, only this shard's targets kept), and
    swapped on a reload or a discovery change, keeping the schedule and series memory of
    each target that is still there (scraper_int.h).
*/
#include <czmq.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_daemon.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "scraper_int.h"

// ---------------------------------------------------------------------------------------
//  Configuration

int
scraper_config_load(const char *file, struct fw_promcfg *out, struct fw_cfg_errors *errs)
{
    int rc = file ? fw_promcfg_load(file, NULL, out, errs)
                  : fw_promcfg_load("scraper.example.yml (embedded)", fw_embed_scraper_default, out,
                                    errs);
    // tls_config's files are not read here: the fetch actor reads them at each scrape
    // (fw_tlsfiles), as Prometheus's tlsRoundTripper does.
    return rc;
}

struct s_build {
    const struct fw_scrape_config *sc; // borrowed
    struct scraper_target **arr;       // owned
    size_t n, cap;
    struct scraper_target_drops drops; // owned: dropped by relabel_configs
    size_t invalid;                    // invalid after relabeling (logged at debug)
    const struct scraper_shard *shard; // borrowed: which targets are ours
    size_t other;                      // targets (active or dropped) of other shards
};

static void
s_build_add(const struct fw_labels *group, const struct fw_labels *target, void *arg)
{
    struct s_build *b = arg;
    fw_err_t err = {0};
    struct fw_labels dropped = FW_LABELS_INIT;
    struct scraper_target *t = scraper_target_from_group(b->sc, group, target, &dropped, &err);
    if (dropped.len) {
        // A dropped target has no final labels: its shard is that of its discovered ones,
        // so that N shards list it once between them.
        if (scraper_shard_owns(b->shard, &dropped)) {
            // keep_dropped_targets: past it only counted (droppedTargetCounts), as Prometheus.
            size_t j = scraper_target_drops_job(&b->drops, b->sc->job_name);
            if (b->sc->keep_dropped_targets > 0 &&
                b->drops.counts[j] >= (size_t)b->sc->keep_dropped_targets)
                b->drops.counts[j]++;
            else
                scraper_target_drops_add(&b->drops, b->sc->job_name, &dropped);
        } else
            b->other++;
        fw_labels_clear(&dropped);
        return;
    }
    if (!t) {
        b->invalid++;
        fw_debug("target.invalid", "job=%s err=%s", b->sc->job_name, err.msg);
        return;
    }
    if (!scraper_shard_owns(b->shard, &t->labels)) { // another replica scrapes it
        b->other++;
        scraper_target_destroy(&t);
        return;
    }
    fw_mem_grow((void **)&b->arr, &b->cap, b->n + 1, sizeof(*b->arr));
    b->arr[b->n++] = t;
}

void
scraper_int_build_targets(fw_metrics_t *m, const struct fw_promcfg *cfg, scraper_sd_t *sd,
                          const struct scraper_shard *shard, struct scraper_target ***out,
                          size_t *n_out, struct scraper_target_drops *drops, size_t *other)
{
    struct s_build b = {.shard = shard};
    struct fw_labels t = FW_LABELS_INIT;
    for (size_t j = 0; j < cfg->n_scrape_configs; j++) {
        const struct fw_scrape_config *sc = &cfg->scrape_configs[j];
        int64_t t0 = zclock_usecs();
        b.sc = sc;
        if (sc->job_name)
            (void)scraper_target_drops_job(&b.drops, sc->job_name);
        for (size_t k = 0; k < sc->n_static_configs; k++) {
            const struct fw_static_config *st = &sc->static_configs[k];
            for (size_t i = 0; i < st->n_targets; i++) {
                fw_labels_set(&t, "__address__", st->targets[i]);
                s_build_add(&st->labels, &t, &b);
            }
        }
        if (sd)
            scraper_sd_each(sd, j, s_build_add, &b);
        char lj[320];
        fw_metrics_label(lj, sizeof(lj), "scrape_job", sc->job_name ? sc->job_name : "");
        fw_metrics_observe(m, "prometheus_target_sync_length_seconds", lj,
                           (double)(zclock_usecs() - t0) / 1e6);
    }
    fw_labels_clear(&t);
    if (b.invalid)
        fw_warn("target.invalid", "targets=%zu reason=%s", b.invalid,
                "no or invalid __address__, or invalid scrape interval/timeout after "
                "relabeling (see debug log)");
    *out = b.arr;
    *n_out = b.n;
    *drops = b.drops;
    *other = b.other;
}

static void
s_set_other_shards(scraper_t *self, size_t n)
{
    pthread_mutex_lock(&self->mu);
    self->n_other_shards = n;
    pthread_mutex_unlock(&self->mu);
}

// ---------------------------------------------------------------------------------------
//  Reload and housekeeping

// Make fresh (owned, moved in) the target list and drops (moved in) the dropped ones: a
// fresh target equal to a running one (scraper_target_same) is replaced by it, keeping its
// schedule and series memory; the running targets left over stop (stale markers) and go.
// Returns how many were kept.
static size_t
s_swap_targets(scraper_t *self, struct scraper_target **fresh, size_t n_fresh,
               struct scraper_target_drops *drops)
{
    // Running targets by URL, so matching is linear in the number of targets.
    zhashx_t *by_url = zhashx_new();
    zhashx_set_key_duplicator(by_url, NULL);
    zhashx_set_key_destructor(by_url, NULL);
    zhashx_set_duplicator(by_url, NULL);
    zhashx_set_destructor(by_url, NULL);
    zlistx_t **lists = fw_calloc(self->n_targets + 1, sizeof(*lists));
    size_t n_lists = 0;
    for (size_t j = 0; j < self->n_targets; j++) {
        zlistx_t *l = zhashx_lookup(by_url, self->targets[j]->url);
        if (!l) {
            l = lists[n_lists++] = zlistx_new();
            zhashx_insert(by_url, self->targets[j]->url, l);
        }
        zlistx_add_end(l, (void *)(uintptr_t)(j + 1));
    }
    size_t kept = 0;
    // Under the lock from here: the HTTP thread must not see the half-moved old array.
    pthread_mutex_lock(&self->mu);
    for (size_t i = 0; i < n_fresh; i++) {
        zlistx_t *l = zhashx_lookup(by_url, fresh[i]->url);
        for (void *it = l ? zlistx_first(l) : NULL; it; it = zlistx_next(l)) {
            size_t j = (size_t)(uintptr_t)it - 1;
            struct scraper_target *old = self->targets[j];
            if (old && scraper_target_same(old, fresh[i])) {
                // Kept, with the discovered labels of now (a node label or annotation that
                // relabeling does not use changes only these), as Prometheus's
                // SetDiscoveredLabels.
                struct fw_labels d = old->discovered;
                old->discovered = fresh[i]->discovered;
                fresh[i]->discovered = d;
                scraper_target_destroy(&fresh[i]);
                fresh[i] = old;
                self->targets[j] = NULL;
                kept++;
                break;
            }
        }
    }
    struct scraper_target **old = self->targets;
    size_t n_old = self->n_targets;
    self->targets = fresh;
    self->n_targets = self->cap_targets = n_fresh;
    struct scraper_target_drops old_drops = self->drops;
    self->drops = *drops;
    memset(drops, 0, sizeof(*drops));
    pthread_mutex_unlock(&self->mu);
    scraper_target_drops_clear(&old_drops);
    for (size_t i = 0; i < n_lists; i++)
        zlistx_destroy(&lists[i]);
    free(lists);
    zhashx_destroy(&by_url);
    for (size_t j = 0; j < n_old; j++) {
        if (old[j] && old[j]->working) { // its scrape is out: retired when the job is back
            if (old[j]->inflight)
                scraper_int_cancel_add(self, old[j]->inflight);
            fw_mem_grow((void **)&self->zombies, &self->cap_zombies, self->n_zombies + 1,
                        sizeof(*self->zombies));
            self->zombies[self->n_zombies++] = old[j];
        } else if (old[j]) {
            scraper_int_target_retire(self, old[j]);
            scraper_target_destroy(&old[j]);
        }
    }
    free(old);
    scraper_int_cancel_flush(self); // with the reload's own: one batch
    for (size_t i = 0; i < n_fresh; i++) {
        if (!fresh[i]->owner)
            scraper_int_target_start(self, fresh[i]);
    }
    return kept;
}

void
scraper_int_sync_discovered(scraper_t *self)
{
    struct scraper_target **fresh;
    size_t n_fresh;
    struct scraper_target_drops drops;
    size_t other;
    scraper_int_build_targets(self->metrics, &self->cfg, self->sd, &self->opts->shard, &fresh,
                              &n_fresh, &drops, &other);
    size_t n_before = self->n_targets;
    size_t kept = s_swap_targets(self, fresh, n_fresh, &drops);
    s_set_other_shards(self, other);
    fw_info("sd.targets", "targets=%zu kept=%zu added=%zu removed=%zu", n_fresh, kept,
            n_fresh - kept, n_before - kept);
}

int
scraper_int_reload(void *arg, char *errmsg, size_t size)
{
    scraper_t *self = arg;
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs = {0};
    if (scraper_config_load(self->opts->common.config_file, &cfg, &errs) != 0) {
        fw_daemon_reload_failed(&errs, errmsg, size);
        fw_promcfg_free(&cfg);
        fw_metrics_set(self->metrics, "fw_scraper_config_last_reload_successful", "", 0);
        return -1;
    }
    scraper_sd_t *sd = scraper_sd_new(self->metrics);
    fw_err_t err = {0};
    if (scraper_sd_start(sd, &cfg, self->sd, self->loop, &err) != 0) {
        snprintf(errmsg, size, "%s", err.msg);
        scraper_sd_destroy(&sd);
        fw_promcfg_free(&cfg);
        fw_metrics_set(self->metrics, "fw_scraper_config_last_reload_successful", "", 0);
        return -1;
    }
    struct scraper_target **fresh;
    size_t n_fresh;
    struct scraper_target_drops drops;
    size_t other;
    scraper_int_build_targets(self->metrics, &cfg, sd, &self->opts->shard, &fresh, &n_fresh, &drops,
                              &other);
    // The new config first, so that the targets the swap starts make their jobs with its
    // rules; the jobs out (every target has one) borrow the old one's, which is kept.
    pthread_mutex_lock(&self->mu); // relabel_steps reads the config on the HTTP thread
    struct fw_promcfg old = self->cfg;
    self->cfg = cfg;
    pthread_mutex_unlock(&self->mu);
    if (self->cfg_jobs) { // jobs out still use its metric relabel rules
        self->retired = realloc(self->retired, (self->n_retired + 1) * sizeof(*self->retired));
        if (!self->retired)
            abort();
        self->retired[self->n_retired++] =
            (struct scraper_retired){old, self->cfg_gen, self->cfg_jobs};
        memset(&old, 0, sizeof(old));
    }
    self->cfg_gen++;
    self->cfg_jobs = 0;
    // The scrapes scheduled with the old rules are made again (s_on_fetch); those already
    // started finish with them.
    for (size_t i = 0; i < self->n_targets; i++)
        if (self->targets[i]->inflight)
            scraper_int_cancel_add(self, self->targets[i]->inflight);
    size_t kept = s_swap_targets(self, fresh, n_fresh, &drops);
    s_set_other_shards(self, other);
    scraper_sd_destroy(&self->sd); // before the config its providers borrow goes
    self->sd = sd;
    fw_promcfg_free(&old);
    fw_metrics_set(self->metrics, "fw_scraper_config_last_reload_successful", "", 1);
    fw_info("config.reload", "targets=%zu kept=%zu", n_fresh, kept);
    return 0;
}
