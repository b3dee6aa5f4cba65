/*  slod_cfg.c — load and validate slod's SLO configuration.

    fw_cfg walks the tables (unknown keys, types, durations, positions); the checks a table
    cannot express run afterwards from each SLO's recorded position. SLI queries are
    validated in their field's check hook by substituting a window and parsing them with
    fw_promql_parse, so a typo is a config error at the query's own line:col.
*/
#include "slod_cfg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_time.h"

// Find the next {{.window}} (inner spaces allowed) at or after s; its length in *len.
static const char *
s_find_placeholder(const char *s, size_t *len)
{
    for (const char *p = strstr(s, "{{"); p; p = strstr(p + 2, "{{")) {
        const char *q = p + 2;
        while (*q == ' ')
            q++;
        if (strncmp(q, ".window", 7) != 0)
            continue;
        q += 7;
        while (*q == ' ')
            q++;
        if (q[0] == '}' && q[1] == '}') {
            *len = (size_t)(q + 2 - p);
            return p;
        }
    }
    return NULL;
}

char *
slod_cfg_expand(const char *query, const char *window)
{
    size_t wlen = strlen(window), cap = strlen(query) + 1, len = 0;
    const char *p = query, *hit;
    size_t plen = 0;
    for (const char *s = query; (hit = s_find_placeholder(s, &plen)) != NULL; s = hit + plen)
        cap += wlen;
    char *out = fw_malloc(cap);
    while ((hit = s_find_placeholder(p, &plen)) != NULL) {
        memcpy(out + len, p, (size_t)(hit - p));
        len += (size_t)(hit - p);
        memcpy(out + len, window, wlen);
        len += wlen;
        p = hit + plen;
    }
    strcpy(out + len, p);
    return out;
}

static int
s_check_query(const char *value, const char *file, struct fw_cfg_pos pos,
              struct fw_cfg_errors *errs)
{
    char *q = slod_cfg_expand(value, "5m");
    fw_err_t perr = {0};
    fw_promql_expr_t *expr = fw_promql_parse(q, &perr);
    free(q);
    if (!expr) {
        fw_cfg_errors_add(errs, file, pos,
                          "could not parse SLI query (with {{.window}} = 5m): "
                          "%d:%d: parse error: %s",
                          perr.line > 0 ? perr.line : 1, perr.col, perr.msg);
        return -1;
    }
    fw_promql_expr_destroy(&expr);
    return 0;
}

static int
s_check_window(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    int64_t ms = 0;
    if (fw_duration_parse(value, &ms) < 0 || ms <= 0) {
        fw_cfg_errors_add(errs, file, pos, "'%s' is not a positive duration for key 'window'",
                          value);
        return -1;
    }
    return 0;
}

static const struct fw_cfg_field s_sli_fields[] = {
    {.key = "good",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_sli_cfg, good),
     .required = true,
     .check = s_check_query},
    {.key = "total",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_sli_cfg, total),
     .required = true,
     .check = s_check_query},
    {.key = NULL},
};

static const struct fw_cfg_field s_alerting_fields[] = {
    {.key = "page",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct slod_alerting_cfg, page),
     .def = "false"},
    {.key = "burn_rate",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct slod_alerting_cfg, burn_rate),
     .def = "14.4",
     .min = 0.0001,
     .max = 1e9},
    {.key = NULL},
};

static const struct fw_cfg_field s_slo_fields[] = {
    {.key = "name",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, name),
     .required = true},
    {.key = "service",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, service),
     .def = ""},
    {.key = "objective",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct slod_slo_cfg, objective),
     .required = true},
    {.key = "window",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, window),
     .required = true,
     .check = s_check_window},
    {.key = "sli",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_slo_cfg, sli),
     .child = s_sli_fields,
     .required = true},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct slod_slo_cfg, labels)},
    {.key = "alerting",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_slo_cfg, alerting),
     .child = s_alerting_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct slod_slo_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_fields[] = {
    {.key = "evaluation_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct slod_cfg, evaluation_interval_ms),
     .def = "30s",
     .min = 1000,
     .max = 86400000},
    {.key = "slos",
     .type = FW_CFG_LIST,
     .off = offsetof(struct slod_cfg, slos),
     .count_off = offsetof(struct slod_cfg, n_slos),
     .elem_size = sizeof(struct slod_slo_cfg),
     .child = s_slo_fields},
    {.key = NULL},
};

static void
s_validate(const char *file, struct slod_cfg *cfg, struct fw_cfg_errors *errs)
{
    static const char *const reserved[] = {"__name__", "slo",       "service",
                                           "window",   "alertname", NULL};
    for (size_t i = 0; i < cfg->n_slos; i++) {
        struct slod_slo_cfg *s = &cfg->slos[i];
        const char *name = s->name ? s->name : "";
        if (s->name && !s->name[0])
            fw_cfg_errors_add(errs, file, s->pos, "slo name must not be empty");
        for (size_t j = 0; j < i && s->name; j++)
            if (cfg->slos[j].name && strcmp(cfg->slos[j].name, s->name) == 0)
                fw_cfg_errors_add(errs, file, s->pos, "slo \"%s\" is defined twice", name);
        if (!(s->objective > 0 && s->objective < 100))
            fw_cfg_errors_add(errs, file, s->pos,
                              "slo \"%s\": objective %g must be a percentage "
                              "between 0 and 100 (exclusive)",
                              name, s->objective);
        if (s->window && fw_duration_parse(s->window, &s->window_ms) < 0)
            s->window_ms = 0;
        for (size_t r = 0; reserved[r]; r++)
            if (fw_labels_get(&s->labels, reserved[r]))
                fw_cfg_errors_add(errs, file, s->pos, "slo \"%s\": label '%s' is set by slod", name,
                                  reserved[r]);
    }
}

int
slod_cfg_load(const char *name, const char *text, struct slod_cfg *out, struct fw_cfg_errors *errs)
{
    memset(out, 0, sizeof(*out));
    fw_cfg_load(name, text, s_fields, out, errs);
    s_validate(name ? name : "config", out, errs);
    return errs->len > 0 || errs->dropped > 0 ? -1 : 0;
}

void
slod_cfg_free(struct slod_cfg *cfg)
{
    if (cfg)
        fw_cfg_free(s_fields, cfg);
}
