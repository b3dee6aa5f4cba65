/*  tsdb_config.c — tsdb's configuration: prometheus.yml read and checked (tsdb.h
    tsdb_config_load), and storage.tsdb.fw_retention's per-series policies (tsdb_config.h).

    The file's text, or the embedded tsdb.example.yml, goes through fw_promcfg; the text
    /api/v1/status/config shows is fw_promcfg_shown's, every secret masked.
*/
#include "tsdb_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "tsdb.h"

extern const char fw_embed_tsdb_default[];

static char *
s_read_file(const char *path, fw_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fw_err_set(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        fw_mem_grow((void **)&buf, &cap, len + n + 1, 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    fw_mem_grow((void **)&buf, &cap, len + 1, 1);
    buf[len] = '\0';
    return buf;
}

int
tsdb_config_policies(const struct fw_promcfg *cfg, const char *file, struct fw_cfg_errors *errs,
                     tsdb_store_t *store)
{
    size_t n = cfg->storage.n_retention;
    fw_promql_expr_t **e = fw_calloc(n ? n : 1, sizeof(*e));
    struct tsdb_store_policy *p = fw_calloc(n ? n : 1, sizeof(*p));
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        const struct fw_retention_policy *r = &cfg->storage.retention[k];
        fw_err_t err;
        e[k] = fw_promql_parse(r->match, &err);
        bool plain = e[k] && e[k]->kind == FW_PQ_SELECTOR && e[k]->range_ms == 0 &&
                     !e[k]->range_expr && e[k]->offset_ms == 0 && !e[k]->offset_expr &&
                     e[k]->at == FW_PQ_AT_NONE;
        if (e[k] && !plain)
            fw_err_set(&err, "a series selector without range, offset or @ is needed");
        if (!plain) {
            fw_cfg_errors_add(errs, file, r->pos, "storage.tsdb.fw_retention[%zu].match %s: %s", k,
                              r->match, err.msg);
            rc = -1;
            continue;
        }
        p[k] = (struct tsdb_store_policy){e[k]->matchers, e[k]->n_matchers, r->time_ms};
    }
    if (rc == 0 && store)
        tsdb_store_set_policies(store, p, n);
    for (size_t k = 0; k < n; k++)
        fw_promql_expr_destroy(&e[k]);
    free(e);
    free(p);
    return rc;
}

int
tsdb_config_load(const char *path, struct fw_promcfg *cfg, char **text_out,
                 struct fw_cfg_errors *errs)
{
    char *text;
    const char *name = path ? path : "tsdb.example.yml";
    if (path) {
        fw_err_t err;
        text = s_read_file(path, &err);
        if (!text) {
            memset(cfg, 0, sizeof(*cfg));
            fw_cfg_errors_add(errs, path, (struct fw_cfg_pos){0, 0}, "%s", err.msg);
            return -1;
        }
    } else {
        text = fw_strdup(fw_embed_tsdb_default);
    }
    int rc = fw_promcfg_load(name, text, cfg, errs);
    if (rc == 0 && tsdb_config_policies(cfg, name, errs, NULL) != 0) {
        fw_promcfg_free(cfg);
        rc = -1;
    }
    if (rc == 0 && text_out) {
        // What /api/v1/status/config shows: never the raw file, whose secrets it would leak.
        fw_err_t err;
        fw_err_clear(&err);
        *text_out = fw_promcfg_shown(text, &err);
        if (!*text_out) {
            fw_cfg_errors_add(errs, name, (struct fw_cfg_pos){1, 1},
                              "cannot show the configuration with its secrets masked: %s", err.msg);
            fw_promcfg_free(cfg);
            rc = -1;
        }
    }
    free(text);
    return rc;
}
