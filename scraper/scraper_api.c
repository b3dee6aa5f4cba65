/*  scraper_api.c — /api/v1/targets and /api/v1/targets/relabel_steps as JSON (scraper_api.h).

    Design: the answer is built as a jansson tree and dumped compact; pools are visited in
    name order (Prometheus sorts them) and each pool's targets in the scraper's order.
*/
#include "scraper_api.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "fw_time.h"

// root as compact text, and root released. jansson fails only on memory: answer an error.
static char *
s_dump(json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text ? text
                : fw_strdup("{\"status\":\"error\",\"errorType\":\"internal\","
                            "\"error\":\"cannot encode the answer\"}");
}

static json_t *
s_target_json(const struct scraper_target *t)
{
    static const char *const health[] = {"unknown", "up", "down"};
    char buf[64];
    json_t *o = json_object();
    // Every json_object_set_new below steals the new value.
    json_object_set_new(o, "discoveredLabels", fw_labels_json(&t->discovered));
    json_object_set_new(o, "labels", fw_labels_json(&t->labels));
    json_object_set_new(o, "scrapePool", json_string(t->job));
    json_object_set_new(o, "scrapeUrl", json_string(t->url));
    json_object_set_new(o, "globalUrl", json_string(t->url));
    json_object_set_new(o, "lastError", json_string(t->last_error));
    json_object_set_new(o, "lastScrape",
                        json_string(t->last_scrape_ms
                                        ? fw_time_rfc3339(t->last_scrape_ms, buf, sizeof(buf))
                                        : "0001-01-01T00:00:00Z"));
    json_object_set_new(o, "lastScrapeDuration", json_real(t->last_duration_s));
    json_object_set_new(o, "health", json_string(health[t->health]));
    json_object_set_new(o, "scrapeInterval",
                        json_string(fw_duration_format(t->interval_ms, buf, sizeof(buf))));
    json_object_set_new(o, "scrapeTimeout",
                        json_string(fw_duration_format(t->timeout_ms, buf, sizeof(buf))));
    return o;
}

// How many targets of job relabeling dropped: all of them, also those keep_dropped_targets
// did not keep.
static size_t
s_drop_count(const struct scraper_target_drops *d, const char *job)
{
    for (size_t i = 0; d && i < d->n_jobs; i++)
        if (strcmp(d->jobs[i], job) == 0)
            return d->counts[i];
    return 0;
}

static int
s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The scrape pools in name order, each once (borrowed strings in an owned array).
static const char **
s_pools(const struct scraper_api_view *v, size_t *n_out)
{
    const struct scraper_target_drops *d = v->drops;
    size_t cap = v->n_active + (d ? d->n_jobs : 0);
    const char **p = fw_calloc(cap + 1, sizeof(*p));
    size_t n = 0;
    for (size_t i = 0; d && i < d->n_jobs; i++)
        p[n++] = d->jobs[i];
    for (size_t i = 0; i < v->n_active; i++)
        p[n++] = v->active[i]->job;
    qsort(p, n, sizeof(*p), s_cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(p[u - 1], p[i]) != 0)
            p[u++] = p[i];
    *n_out = u;
    return p;
}

char *
scraper_api_targets(const struct scraper_api_view *v, const char *state, const char *pool)
{
    bool any = !state || !*state || strcasecmp(state, "any") == 0;
    bool show_active = any || strcasecmp(state, "active") == 0;
    bool show_dropped = any || strcasecmp(state, "dropped") == 0;
    bool all_pools = !pool || !*pool;
    size_t n_pools;
    const char **pools = s_pools(v, &n_pools);
    json_t *active = json_array(), *dropped = json_array();
    json_t *counts = show_dropped ? json_object() : json_null();
    for (size_t p = 0; p < n_pools; p++) {
        bool shown = all_pools || strcmp(pools[p], pool) == 0;
        for (size_t i = 0; shown && show_active && i < v->n_active; i++)
            if (strcmp(v->active[i]->job, pools[p]) == 0)
                json_array_append_new(active, s_target_json(v->active[i])); // steals
        const struct scraper_target_drops *d = v->drops;
        for (size_t i = 0; d && show_dropped && i < d->n; i++) {
            if (!shown || strcmp(d->jobs[d->items[i].job], pools[p]) != 0)
                continue;
            json_t *o = json_object(); // set_new steals each value
            json_object_set_new(o, "discoveredLabels", fw_labels_json(&d->items[i].labels));
            json_object_set_new(o, "scrapePool", json_string(pools[p]));
            json_array_append_new(dropped, o);
        }
        if (show_dropped) // every pool, whatever the filter, as Prometheus
            json_object_set_new(counts, pools[p],
                                json_integer((json_int_t)s_drop_count(d, pools[p])));
    }
    free(pools);
    json_t *data = json_object(); // set_new steals each value
    json_object_set_new(data, "activeTargets", active);
    json_object_set_new(data, "droppedTargets", dropped);
    json_object_set_new(data, "droppedTargetCounts", counts);
    if (v->shard && v->shard->count > 1) {
        json_t *sh = json_object();
        json_object_set_new(sh, "index", json_integer((json_int_t)v->shard->index));
        json_object_set_new(sh, "count", json_integer((json_int_t)v->shard->count));
        json_object_set_new(sh, "otherShardTargets", json_integer((json_int_t)v->n_other_shards));
        json_object_set_new(data, "shard", sh);
    }
    json_t *root = json_object();
    json_object_set_new(root, "status", json_string("success"));
    json_object_set_new(root, "data", data);
    char *text = s_dump(root); // jansson fails only when out of memory
    return text;
}

// ---------------------------------------------------------------------------------------
//  relabel_steps

static const char *const s_action_json[] = {"replace",   "keep",      "drop",     "keepequal",
                                            "dropequal", "hashmod",   "labelmap", "labeldrop",
                                            "labelkeep", "lowercase", "uppercase"};

json_t *
scraper_api_rule_json(const struct fw_relabel_config *rc)
{
    // Field order and omissions as encoding/json writes relabel.Config.
    json_t *o = json_object();
    if (rc->n_source_labels > 0) {
        json_t *sl = json_array();
        for (size_t i = 0; i < rc->n_source_labels; i++)
            json_array_append_new(sl, json_string(rc->source_labels[i]));
        json_object_set_new(o, "source_labels", sl);
    }
    json_object_set_new(o, "separator", json_string(rc->separator ? rc->separator : ";"));
    json_object_set_new(o, "regex", json_string(rc->regex ? rc->regex : "(.*)"));
    if (rc->modulus > 0)
        json_object_set_new(o, "modulus", json_integer((json_int_t)rc->modulus));
    if (rc->target_label && *rc->target_label)
        json_object_set_new(o, "target_label", json_string(rc->target_label));
    json_object_set_new(o, "replacement", json_string(rc->replacement ? rc->replacement : "$1"));
    size_t act = (size_t)rc->act;
    json_object_set_new(o, "action",
                        json_string(act < sizeof(s_action_json) / sizeof(*s_action_json)
                                        ? s_action_json[act]
                                        : "replace"));
    return o;
}

static char *
s_error(int *status, const char *msg)
{
    json_t *root = json_object(); // set_new steals each value
    json_object_set_new(root, "status", json_string("error"));
    json_object_set_new(root, "errorType", json_string("bad_data"));
    json_object_set_new(root, "error", json_string(msg));
    *status = 400;
    return s_dump(root);
}

char *
scraper_api_relabel_steps(const struct fw_promcfg *cfg, const char *pool, const char *labels_json,
                          int *status)
{
    if (!pool || !*pool)
        return s_error(status, "no scrapePool parameter provided");
    if (!labels_json || !*labels_json)
        return s_error(status, "no labels parameter provided");
    char msg[512];
    json_error_t jerr;
    json_t *in = json_loads(labels_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!in || !json_is_object(in)) {
        json_decref(in);
        snprintf(msg, sizeof(msg), "error parsing labels: %s",
                 in ? "want a JSON object of label names to values" : jerr.text);
        return s_error(status, msg);
    }
    struct fw_labels lb = FW_LABELS_INIT;
    const char *name;
    json_t *value;
    json_object_foreach(in, name, value)
    {
        if (!json_is_string(value)) {
            snprintf(msg, sizeof(msg), // before in, which owns name, goes
                     "error parsing labels: the value of \"%.200s\" is not a string", name);
            fw_labels_clear(&lb);
            json_decref(in);
            return s_error(status, msg);
        }
        fw_labels_set(&lb, name, json_string_value(value));
    }
    json_decref(in);
    const struct fw_scrape_config *sc = NULL;
    for (size_t i = 0; cfg && i < cfg->n_scrape_configs; i++)
        if (strcmp(cfg->scrape_configs[i].job_name, pool) == 0)
            sc = &cfg->scrape_configs[i];
    if (!sc) {
        fw_labels_clear(&lb);
        snprintf(msg, sizeof(msg),
                 "error retrieving scrape config: scrape pool \"%.300s\" not found", pool);
        return s_error(status, msg);
    }
    json_t *steps = json_array();
    bool keep = true;
    for (size_t i = 0; i < sc->n_relabel_configs; i++) {
        if (keep)
            keep = fw_relabel_process(&sc->relabel_configs[i], 1, &lb);
        json_t *step = json_object(); // set_new steals each value
        json_object_set_new(step, "rule", scraper_api_rule_json(&sc->relabel_configs[i]));
        json_object_set_new(step, "output", keep ? fw_labels_json(&lb) : json_object());
        json_object_set_new(step, "keep", json_boolean(keep));
        json_array_append_new(steps, step);
    }
    fw_labels_clear(&lb);
    json_t *data = json_object();
    json_object_set_new(data, "steps", steps);
    json_t *root = json_object();
    json_object_set_new(root, "status", json_string("success"));
    json_object_set_new(root, "data", data);
    char *text = s_dump(root);
    *status = 200;
    return text;
}
