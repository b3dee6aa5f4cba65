/*  slod_cfg.c — load and validate slod's SLO configuration (native and Sloth prometheus/v1).

    fw_cfg walks the tables (unknown keys, types, durations, positions); the checks a table
    cannot express run afterwards from each SLO's recorded position. Every query is
    validated in its field's check hook by substituting a window and parsing it with
    fw_promql_parse, so a typo is an error at the query's own line:col. After the checks,
    loading derives what evaluation needs: the SLO's id, its bad/total queries, its windows
    and the alert windows' indexes into them.
*/
#include "slod_cfg.h"

#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_time.h"
#include "fw_tmpl_alert.h"
#include "slod_windows.h"

const char *const slod_fixed_windows[SLOD_N_FIXED_WINDOWS] = {"5m", "30m", "1h", "2h",
                                                              "6h", "1d",  "3d"};
const int64_t slod_fixed_window_ms[SLOD_N_FIXED_WINDOWS] = {300000,   1800000,  3600000,  7200000,
                                                            21600000, 86400000, 259200000};

#define S_MIN 60000LL
#define S_HOUR 3600000LL
#define S_DAY 86400000LL

// The Site Reliability Workbook's multiwindow, multi-burn-rate alerts (chapter 5, table 5-8).
static const struct slod_window_cfg s_default_windows[] = {
    {.severity = SLOD_PAGE, .long_ms = S_HOUR, .short_ms = 5 * S_MIN, .burn_rate = 14.4},
    {.severity = SLOD_PAGE, .long_ms = 6 * S_HOUR, .short_ms = 30 * S_MIN, .burn_rate = 6},
    {.severity = SLOD_TICKET, .long_ms = S_DAY, .short_ms = 2 * S_HOUR, .burn_rate = 3},
    {.severity = SLOD_TICKET, .long_ms = 3 * S_DAY, .short_ms = 6 * S_HOUR, .burn_rate = 1},
};

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

double
slod_cfg_budget(const struct slod_slo_cfg *s)
{
    return 1.0 - s->objective / 100.0;
}

// Parse query with {{.window}} = 5m; on failure add "what: ..." at pos. 0 or -1.
static int
s_parse_query(const char *what, const char *value, const char *file, struct fw_cfg_pos pos,
              struct fw_cfg_errors *errs)
{
    char *q = slod_cfg_expand(value, "5m");
    fw_err_t perr = {0};
    fw_promql_expr_t *expr = fw_promql_parse(q, &perr);
    free(q);
    if (!expr) {
        fw_cfg_errors_add(errs, file, pos,
                          "could not parse %s (with {{.window}} = 5m): "
                          "%d:%d: parse error: %s",
                          what, perr.line > 0 ? perr.line : 1, perr.col, perr.msg);
        return -1;
    }
    fw_promql_expr_destroy(&expr);
    return 0;
}

static int
s_check_query(const char *value, const char *file, struct fw_cfg_pos pos,
              struct fw_cfg_errors *errs)
{
    return s_parse_query("SLI query", value, file, pos, errs);
}

static int
s_check_window(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    int64_t ms = 0;
    if (fw_duration_parse(value, &ms) < 0 || ms < 5 * S_MIN || ms % (5 * S_MIN) != 0) {
        fw_cfg_errors_add(errs, file, pos, "'%s' is not a positive multiple of 5m for key 'window'",
                          value);
        return -1;
    }
    return 0;
}

static int
s_check_metric(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    if (fw_metric_name_valid(value))
        return 0;
    fw_cfg_errors_add(errs, file, pos, "'%s' is not a valid metric name", value);
    return -1;
}

static int
s_check_threshold(const char *value, const char *file, struct fw_cfg_pos pos,
                  struct fw_cfg_errors *errs)
{
    char *end = NULL;
    (void)strtod(value, &end);
    if (value[0] && end && *end == '\0')
        return 0;
    fw_cfg_errors_add(errs, file, pos, "threshold '%s' is not a number (a bucket's le)", value);
    return -1;
}

static const char *const s_severity_names[] = {"page", "ticket", NULL};

static const struct fw_cfg_field s_latency_fields[] = {
    {.key = "metric",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_latency_cfg, metric),
     .check = s_check_metric},
    {.key = "selector",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_latency_cfg, selector),
     .def = ""},
    {.key = "threshold",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_latency_cfg, threshold),
     .check = s_check_threshold},
    {.key = NULL},
};

static const struct fw_cfg_field s_events_fields[] = {
    {.key = "error_query",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_events_cfg, error_query),
     .check = s_check_query},
    {.key = "total_query",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_events_cfg, total_query),
     .check = s_check_query},
    {.key = NULL},
};

static const struct fw_cfg_field s_raw_fields[] = {
    {.key = "error_ratio_query",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_raw_cfg, error_ratio_query),
     .check = s_check_query},
    {.key = NULL},
};

static const struct fw_cfg_field s_sli_fields[] = {
    {.key = "good",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_sli_cfg, good),
     .check = s_check_query},
    {.key = "bad",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_sli_cfg, bad),
     .check = s_check_query},
    {.key = "total",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_sli_cfg, total),
     .check = s_check_query},
    {.key = "latency",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_sli_cfg, latency),
     .child = s_latency_fields},
    {.key = "events",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_sli_cfg, events),
     .child = s_events_fields},
    {.key = "raw",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_sli_cfg, raw),
     .child = s_raw_fields},
    FW_CFG_WHY("plugin", "Sloth SLI plugins: write the SLI as events or raw queries"),
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct slod_sli_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_alert_fields[] = {
    {.key = "disable",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct slod_alert_cfg, disable),
     .def = "false"},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct slod_alert_cfg, labels)},
    {.key = "annotations",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct slod_alert_cfg, annotations)},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct slod_alert_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_window_fields[] = {
    {.key = "severity",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct slod_window_cfg, severity),
     .enum_names = s_severity_names,
     .required = true},
    {.key = "long",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct slod_window_cfg, long_ms),
     .required = true,
     .min = 1,
     .max = 1e12},
    {.key = "short",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct slod_window_cfg, short_ms),
     .required = true,
     .min = 1,
     .max = 1e12},
    {.key = "burn_rate",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct slod_window_cfg, burn_rate),
     .required = true,
     .min = 0.0001,
     .max = 1e9},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct slod_window_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_alerting_fields[] = {
    {.key = "name",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_alerting_cfg, name),
     .def = "SLOBurnRateHigh"},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct slod_alerting_cfg, labels)},
    {.key = "annotations",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct slod_alerting_cfg, annotations)},
    {.key = "page_alert",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_alerting_cfg, page_alert),
     .child = s_alert_fields},
    {.key = "ticket_alert",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct slod_alerting_cfg, ticket_alert),
     .child = s_alert_fields},
    {.key = "windows",
     .type = FW_CFG_LIST,
     .off = offsetof(struct slod_alerting_cfg, windows),
     .count_off = offsetof(struct slod_alerting_cfg, n_windows),
     .elem_size = sizeof(struct slod_window_cfg),
     .child = s_window_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct slod_alerting_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_slo_fields[] = {
    {.key = "name",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, name),
     .required = true},
    {.key = "service", .type = FW_CFG_STR, .off = offsetof(struct slod_slo_cfg, service)},
    {.key = "description",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, description),
     .def = ""},
    {.key = "objective",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct slod_slo_cfg, objective),
     .required = true},
    {.key = "window",
     .type = FW_CFG_STR,
     .off = offsetof(struct slod_slo_cfg, window),
     .def = "30d",
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
    {.key = "version", .type = FW_CFG_STR, .off = offsetof(struct slod_cfg, version)},
    {.key = "service", .type = FW_CFG_STR, .off = offsetof(struct slod_cfg, service)},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct slod_cfg, labels)},
    FW_CFG_WHY("apiVersion", "Sloth's Kubernetes PrometheusServiceLevel resource: give slod "
                             "its spec as a prometheus/v1 file"),
    FW_CFG_WHY("kind", "Sloth's Kubernetes PrometheusServiceLevel resource: give slod its "
                       "spec as a prometheus/v1 file"),
    {.key = "evaluation_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct slod_cfg, evaluation_interval_ms),
     .def = "30s",
     .min = 1000,
     .max = 86400000},
    {.key = "alert_windows_files",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct slod_cfg, alert_windows_files),
     .count_off = offsetof(struct slod_cfg, n_alert_windows_files),
     .pos_off = offsetof(struct slod_cfg, alert_windows_pos)},
    {.key = "external_labels",
     .type = FW_CFG_LABELS,
     .off = offsetof(struct slod_cfg, external_labels)},
    {.key = "slos",
     .type = FW_CFG_LIST,
     .off = offsetof(struct slod_cfg, slos),
     .count_off = offsetof(struct slod_cfg, n_slos),
     .elem_size = sizeof(struct slod_slo_cfg),
     .child = s_slo_fields},
    {.key = NULL},
};

// =================================================================================
//  Derivation and cross-field checks
// =================================================================================

// The SLI's kind and bad/total queries; errors when not exactly one kind is given.
static void
s_derive_sli(const char *file, struct slod_slo_cfg *s, struct fw_cfg_errors *errs)
{
    struct slod_sli_cfg *q = &s->sli;
    bool latency = q->latency.metric || q->latency.threshold;
    bool events = q->events.error_query || q->events.total_query;
    int kinds =
        (q->good || q->bad || q->total) + latency + events + (q->raw.error_ratio_query != NULL);
    if (kinds != 1) {
        fw_cfg_errors_add(errs, file, q->pos,
                          "slo \"%s\": the sli needs exactly one of good/bad with total, "
                          "latency, events or raw",
                          s->name);
        return;
    }
    q->kind = SLOD_SLI_EVENTS;
    if (q->good || q->bad || q->total) {
        if (!q->total || (q->good != NULL) == (q->bad != NULL)) {
            fw_cfg_errors_add(errs, file, q->pos,
                              "slo \"%s\": the sli needs total and one of good or bad", s->name);
            return;
        }
        q->q_total = fw_strdup(q->total);
        q->q_bad = q->bad ? fw_strdup(q->bad) : fw_asprintf("(%s) - (%s)", q->total, q->good);
    } else if (latency) {
        const struct slod_latency_cfg *l = &q->latency;
        if (!l->metric || !l->threshold) {
            fw_cfg_errors_add(errs, file, q->pos,
                              "slo \"%s\": a latency sli needs metric and threshold", s->name);
            return;
        }
        const char *sep = l->selector[0] ? "," : "";
        q->q_total = fw_asprintf("sum(rate(%s_count{%s}[{{.window}}]))", l->metric, l->selector);
        q->q_bad = fw_asprintf("%s - sum(rate(%s_bucket{%s%sle=\"%s\"}[{{.window}}]))", q->q_total,
                               l->metric, l->selector, sep, l->threshold);
        if (s_parse_query("latency SLI selector", q->q_bad, file, q->pos, errs) < 0)
            return;
    } else if (events) {
        if (!q->events.error_query || !q->events.total_query) {
            fw_cfg_errors_add(errs, file, q->pos,
                              "slo \"%s\": an events sli needs error_query and total_query",
                              s->name);
            return;
        }
        q->q_bad = fw_strdup(q->events.error_query);
        q->q_total = fw_strdup(q->events.total_query);
    } else {
        q->kind = SLOD_SLI_RAW;
        q->q_bad = fw_strdup(q->raw.error_ratio_query);
    }
}

// The evaluated windows, and the alert windows' indexes into them: the SLO's own, else the
// catalog's for its period, else the SRE Workbook's.
static void
s_derive_windows(const char *file, const struct slod_catalog *catalog, struct slod_slo_cfg *s,
                 struct fw_cfg_errors *errs)
{
    s->n_windows = 0;
    s->period_i = SIZE_MAX;
    for (size_t w = 0; w < SLOD_N_FIXED_WINDOWS; w++) {
        if (slod_fixed_window_ms[w] == s->window_ms)
            s->period_i = s->n_windows;
        s->window_names[s->n_windows] = slod_fixed_windows[w];
        s->window_ms_list[s->n_windows++] = slod_fixed_window_ms[w];
    }
    if (s->period_i == SIZE_MAX) {
        s->period_i = s->n_windows;
        s->window_names[s->n_windows] = s->window;
        s->window_ms_list[s->n_windows++] = s->window_ms;
    }
    struct slod_alerting_cfg *a = &s->alerting;
    const struct slod_period_windows *pw = slod_catalog_find(catalog, s->window_ms);
    if (a->n_windows == 0) {
        const struct slod_window_cfg *from = pw ? pw->windows : s_default_windows;
        a->n_windows =
            pw ? SLOD_CATALOG_WINDOWS : sizeof(s_default_windows) / sizeof(s_default_windows[0]);
        a->windows = fw_malloc(a->n_windows * sizeof(*a->windows));
        memcpy(a->windows, from, a->n_windows * sizeof(*a->windows));
    }
    for (size_t i = 0; i < a->n_windows; i++) {
        struct slod_window_cfg *aw = &a->windows[i];
        aw->long_i = aw->short_i = SIZE_MAX;
        for (size_t w = 0; w < s->n_windows; w++) {
            if (s->window_ms_list[w] == aw->long_ms)
                aw->long_i = w;
            if (s->window_ms_list[w] == aw->short_ms)
                aw->short_i = w;
        }
        if (aw->long_i == SIZE_MAX || aw->short_i == SIZE_MAX) {
            char b[32];
            fw_cfg_errors_add(
                errs, file, aw->pos,
                "slo \"%s\": alert window %s is not one slod evaluates "
                "(5m, 30m, 1h, 2h, 6h, 1d, 3d or the slo's window %s)",
                s->name,
                fw_duration_format(aw->long_i == SIZE_MAX ? aw->long_ms : aw->short_ms, b,
                                   sizeof(b)),
                s->window);
            aw->long_i = aw->short_i = 0;
        }
    }
}

// Alert labels and annotations are Go templates (Prometheus parses them when it loads the rule
// files `slod generate` writes): one that does not parse is an error at its mapping's position
// (the SLO's when the mapping is absent), with the line and byte in the value.
static void
s_check_templates(const char *file, const struct slod_slo_cfg *s, struct fw_cfg_errors *errs)
{
    const struct {
        const char *where;
        const struct fw_labels *set;
        struct fw_cfg_pos pos;
    } sets[] = {
        {"alerting label", &s->alerting.labels, s->alerting.pos},
        {"alerting annotation", &s->alerting.annotations, s->alerting.pos},
        {"page_alert label", &s->alerting.page_alert.labels, s->alerting.page_alert.pos},
        {"page_alert annotation", &s->alerting.page_alert.annotations, s->alerting.page_alert.pos},
        {"ticket_alert label", &s->alerting.ticket_alert.labels, s->alerting.ticket_alert.pos},
        {"ticket_alert annotation", &s->alerting.ticket_alert.annotations,
         s->alerting.ticket_alert.pos},
    };
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
        struct fw_cfg_pos pos = sets[k].pos.line > 0 ? sets[k].pos : s->pos;
        for (size_t i = 0; i < sets[k].set->len; i++) {
            fw_err_t terr = {0};
            // slod expands them on its loop, which runs no queries: query refused here
            if (fw_tmpl_alert_check_query(sets[k].set->items[i].value, false, &terr) < 0)
                fw_cfg_errors_add(errs, file, pos,
                                  "slo \"%s\": %s \"%s\": template: %s (line %d, byte %d of "
                                  "the value)",
                                  s->name, sets[k].where, sets[k].set->items[i].name, terr.msg,
                                  terr.line, terr.col);
        }
    }
}

static void
s_validate(const char *file, struct slod_cfg *cfg, struct fw_cfg_errors *errs)
{
    static const char *const reserved[] = {
        "__name__",     "sloth_id",       "sloth_service", "sloth_slo",
        "sloth_window", "sloth_severity", "alertname",     NULL};
    if (cfg->version && strcmp(cfg->version, "prometheus/v1") != 0)
        fw_cfg_errors_add(errs, file, (struct fw_cfg_pos){1, 1},
                          "version \"%s\" is not supported: slod reads Sloth's prometheus/v1 "
                          "spec and its own format (no version)",
                          cfg->version);
    if (cfg->n_alert_windows_files > 0) {
        cfg->catalog = fw_calloc(1, sizeof(*cfg->catalog));
        slod_catalog_load(file, cfg->alert_windows_files, cfg->alert_windows_pos,
                          cfg->n_alert_windows_files, cfg->catalog, errs);
    }
    for (size_t i = 0; i < cfg->n_slos; i++) {
        struct slod_slo_cfg *s = &cfg->slos[i];
        if (!s->name)
            s->name = fw_strdup("");
        if (!s->service)
            s->service = fw_strdup(cfg->service ? cfg->service : "");
        if (!s->name[0])
            fw_cfg_errors_add(errs, file, s->pos, "slo name must not be empty");
        s->id = s->service[0] ? fw_asprintf("%s-%s", s->service, s->name) : fw_strdup(s->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->slos[j].id, s->id) == 0)
                fw_cfg_errors_add(errs, file, s->pos, "slo \"%s\" is defined twice", s->id);
        if (!(s->objective > 0 && s->objective < 100))
            fw_cfg_errors_add(errs, file, s->pos,
                              "slo \"%s\": objective %g must be a percentage "
                              "between 0 and 100 (exclusive)",
                              s->name, s->objective);
        for (size_t r = 0; reserved[r]; r++)
            if (fw_labels_get(&s->labels, reserved[r]) ||
                fw_labels_get(&s->alerting.labels, reserved[r]) ||
                fw_labels_get(&s->alerting.page_alert.labels, reserved[r]) ||
                fw_labels_get(&s->alerting.ticket_alert.labels, reserved[r]))
                fw_cfg_errors_add(errs, file, s->pos, "slo \"%s\": label '%s' is set by slod",
                                  s->name, reserved[r]);
        for (size_t l = 0; l < cfg->labels.len; l++)
            if (!fw_labels_get(&s->labels, cfg->labels.items[l].name))
                fw_labels_set(&s->labels, cfg->labels.items[l].name, cfg->labels.items[l].value);
        if (!s->window || fw_duration_parse(s->window, &s->window_ms) < 0)
            s->window_ms = 30 * S_DAY;
        s_check_templates(file, s, errs);
        s_derive_sli(file, s, errs);
        s_derive_windows(file, cfg->catalog, s, errs);
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
    if (!cfg)
        return;
    for (size_t i = 0; cfg->slos && i < cfg->n_slos; i++) {
        struct slod_slo_cfg *s = &cfg->slos[i];
        free(s->id);
        free(s->sli.q_bad);
        free(s->sli.q_total);
        s->id = s->sli.q_bad = s->sli.q_total = NULL;
    }
    slod_catalog_free(cfg->catalog);
    free(cfg->catalog);
    cfg->catalog = NULL;
    fw_cfg_free(s_fields, cfg);
}
