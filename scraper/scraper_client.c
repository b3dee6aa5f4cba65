/*  scraper_client.c — one target's scrape client settings and limits.

    Design: everything is copied out of the job's fw_scrape_config at construction, so the
    target owns it; equality compares every field, so a reload that changes a job's auth,
    TLS or limits builds the target anew. URL query strings are built once per target, not
    per scrape.
*/
#include "scraper_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_url.h"

void
scraper_client_init(struct scraper_client *c, const struct fw_scrape_config *sc)
{
    memset(c, 0, sizeof(*c));
    fw_promcfg_http_copy(&c->http, &sc->http);
    c->enable_compression = sc->enable_compression;
    c->track_timestamps_staleness = sc->track_timestamps_staleness;
    c->sample_limit = sc->sample_limit;
    c->sample_limit_mode = sc->sample_limit_mode;
    c->label_limit = sc->label_limit;
    c->label_name_length_limit = sc->label_name_length_limit;
    c->label_value_length_limit = sc->label_value_length_limit;
    c->body_size_limit = sc->body_size_limit;
    c->target_limit = sc->target_limit;
}

void
scraper_client_clear(struct scraper_client *c)
{
    fw_promcfg_http_free(&c->http);
    memset(c, 0, sizeof(*c));
}

bool
scraper_client_equal(const struct scraper_client *a, const struct scraper_client *b)
{
    return fw_promcfg_http_equal(&a->http, &b->http) &&
           a->enable_compression == b->enable_compression &&
           a->track_timestamps_staleness == b->track_timestamps_staleness &&
           a->sample_limit == b->sample_limit && a->sample_limit_mode == b->sample_limit_mode &&
           a->label_limit == b->label_limit &&
           a->label_name_length_limit == b->label_name_length_limit &&
           a->label_value_length_limit == b->label_value_length_limit &&
           a->body_size_limit == b->body_size_limit && a->target_limit == b->target_limit;
}

// ---------------------------------------------------------------------------------------
//  URL query

void
scraper_client_param_defaults(struct fw_labels *lb, const struct fw_scrape_config *sc)
{
    for (size_t i = 0; i + 1 < sc->n_params; i += 2) {
        char *name = fw_asprintf("__param_%s", sc->params[i]);
        if (!fw_labels_get(lb, name))
            fw_labels_set(lb, name, sc->params[i + 1]);
        free(name);
    }
}

struct s_kv {
    const char *name;  // borrowed
    const char *value; // borrowed
    size_t order;
};

static int
s_kv_cmp(const void *a, const void *b)
{
    const struct s_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

char *
scraper_client_url(const char *url, const struct fw_scrape_config *sc, const struct fw_labels *lb)
{
    size_t n = 0, cap = 0;
    struct s_kv *kv = NULL;
    // The config's values, the first of each name replaced by its __param_ label.
    for (size_t i = 0; i + 1 < sc->n_params; i += 2) {
        const char *value = sc->params[i + 1];
        bool first = true;
        for (size_t j = 0; j < i; j += 2)
            first = first && strcmp(sc->params[j], sc->params[i]) != 0;
        if (first && lb) {
            char *name = fw_asprintf("__param_%s", sc->params[i]);
            const char *v = fw_labels_get(lb, name);
            free(name);
            if (v)
                value = v;
        }
        fw_mem_grow((void **)&kv, &cap, n + 1, sizeof(*kv));
        kv[n] = (struct s_kv){sc->params[i], value, n};
        n++;
    }
    // __param_ labels naming a parameter the config does not have.
    for (size_t i = 0; lb && i < lb->len; i++) {
        const char *name = lb->items[i].name;
        if (strncmp(name, "__param_", 8) != 0)
            continue;
        bool known = false;
        for (size_t j = 0; j + 1 < sc->n_params && !known; j += 2)
            known = strcmp(sc->params[j], name + 8) == 0;
        if (known)
            continue;
        fw_mem_grow((void **)&kv, &cap, n + 1, sizeof(*kv));
        kv[n] = (struct s_kv){name + 8, lb->items[i].value, n};
        n++;
    }
    if (n == 0) {
        free(kv);
        return fw_strdup(url);
    }
    qsort(kv, n, sizeof(*kv), s_kv_cmp);
    size_t len = strlen(url), bcap = len + 2;
    char *out = fw_malloc(bcap);
    memcpy(out, url, len + 1);
    for (size_t i = 0; i < n; i++) {
        fw_mem_grow((void **)&out, &bcap, len + 2, 1);
        out[len++] = i == 0 ? (strchr(url, '?') ? '&' : '?') : '&';
        out[len] = '\0';
        fw_url_query_escape(&out, &len, &bcap, kv[i].name);
        fw_mem_grow((void **)&out, &bcap, len + 2, 1);
        out[len++] = '=';
        out[len] = '\0';
        fw_url_query_escape(&out, &len, &bcap, kv[i].value);
    }
    free(kv);
    return out;
}

// ---------------------------------------------------------------------------------------
//  Label limits

// Go's %.50q: the first 50 characters of s, quoted with \" \\ \n \t escaped.
static void
s_quote50(char *buf, size_t size, const char *s)
{
    size_t w = 0, chars = 0;
    buf[w++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && chars < 50 && w + 8 < size; p++) {
        if ((*p & 0xC0) != 0x80)
            chars++;
        if (chars > 50)
            break;
        if (*p == '"' || *p == '\\') {
            buf[w++] = '\\';
            buf[w++] = (char)*p;
        } else if (*p == '\n') {
            buf[w++] = '\\';
            buf[w++] = 'n';
        } else if (*p == '\t') {
            buf[w++] = '\\';
            buf[w++] = 't';
        } else {
            buf[w++] = (char)*p;
        }
    }
    buf[w++] = '"';
    buf[w] = '\0';
}

int
scraper_client_check_labels(const struct scraper_client *c, int64_t def_value_len,
                            const struct fw_labels *lset, char *err, size_t size)
{
    const char *met = fw_labels_get(lset, "__name__");
    if (!met)
        met = "";
    if (c->label_limit > 0 && (int64_t)lset->len > c->label_limit) {
        snprintf(err, size,
                 "label_limit exceeded (metric: %.50s, number of labels: %zu, limit: %lld)", met,
                 lset->len, (long long)c->label_limit);
        return -1;
    }
    int64_t vmax = c->label_value_length_limit > 0 ? c->label_value_length_limit : def_value_len;
    if (c->label_name_length_limit <= 0 && vmax <= 0)
        return 0;
    for (size_t i = 0; i < lset->len; i++) {
        const struct fw_label *l = &lset->items[i];
        size_t nl = strlen(l->name);
        if (c->label_name_length_limit > 0 && (int64_t)nl > c->label_name_length_limit) {
            snprintf(err, size,
                     "label_name_length_limit exceeded (metric: %.50s, label name: %.50s, length: "
                     "%zu, limit: %lld)",
                     met, l->name, nl, (long long)c->label_name_length_limit);
            return -1;
        }
        size_t vl = strlen(l->value);
        if (vmax > 0 && (int64_t)vl > vmax) {
            char q[128];
            s_quote50(q, sizeof(q), l->value);
            snprintf(err, size,
                     "label_value_length_limit exceeded (metric: %.50s, label name: %.50s, "
                     "value: %s, length: %zu, limit: %lld)",
                     met, l->name, q, vl, (long long)vmax);
            return -1;
        }
    }
    return 0;
}
