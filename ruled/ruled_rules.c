/*  ruled_rules.c — load and validate Prometheus rule files, and ruled's configuration.

    The YAML is walked by fw_cfg against the tables below, which catches unknown keys
    (`annotation:` for `annotations:`), wrong types and bad durations with their positions.
    What a table cannot say is checked afterwards, in the order promtool's rulefmt checks
    it, using the position fw_cfg recorded for each group and rule mapping. Expressions are
    parsed in the expr field's check hook, so a parse error points at the expression itself.

    Rule files come from the prometheus.yml's rule_files globs. When ruled runs on its
    embedded default configuration, the rule files it names (ruled.rules.yml, the plant's
    rules, and ruled.prices.yml, their price list) are also embedded, so the daemon starts
    with working rules and no files at all.
*/
#include "ruled_rules.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_time.h"
#include "fw_tmpl_alert.h"

extern const char fw_embed_ruled_default[];
extern const char fw_embed_ruled_rules[];
extern const char fw_embed_ruled_prices[];

#define S_EMBEDDED_CONFIG "ruled.example.yml"

// The rule files the embedded configuration names, compiled in with it.
static const struct {
    const char *name, *text;
} s_embedded_rules[] = {
    {"ruled.rules.yml", fw_embed_ruled_rules},
    {"ruled.prices.yml", fw_embed_ruled_prices},
};

// The embedded rule file called name, or NULL.
static const char *
s_embedded_rules_text(const char *name)
{
    for (size_t i = 0; i < sizeof(s_embedded_rules) / sizeof(s_embedded_rules[0]); i++)
        if (strcmp(name, s_embedded_rules[i].name) == 0)
            return s_embedded_rules[i].text;
    return NULL;
}

// =================================================================================
//  Tables
// =================================================================================

static int
s_check_expr(const char *value, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    fw_err_t perr = {0};
    fw_promql_expr_t *expr = fw_promql_parse(value, &perr);
    if (!expr) {
        fw_cfg_errors_add(errs, file, pos, "could not parse expression: %d:%d: parse error: %s",
                          perr.line > 0 ? perr.line : 1, perr.col, perr.msg);
        return -1;
    }
    fw_promql_expr_destroy(&expr);
    return 0;
}

static const struct fw_cfg_field s_rule_fields[] = {
    {.key = "record", .type = FW_CFG_STR, .off = offsetof(struct ruled_rule_cfg, record)},
    {.key = "alert", .type = FW_CFG_STR, .off = offsetof(struct ruled_rule_cfg, alert)},
    {.key = "expr",
     .type = FW_CFG_STR,
     .off = offsetof(struct ruled_rule_cfg, expr),
     .check = s_check_expr},
    {.key = "for", .type = FW_CFG_DURATION, .off = offsetof(struct ruled_rule_cfg, for_ms)},
    {.key = "keep_firing_for",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct ruled_rule_cfg, keep_firing_for_ms)},
    {.key = "labels", .type = FW_CFG_STR_MAP, .off = offsetof(struct ruled_rule_cfg, labels)},
    {.key = "annotations",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct ruled_rule_cfg, annotations)},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct ruled_rule_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_group_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct ruled_group_cfg, name)},
    {.key = "interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct ruled_group_cfg, interval_ms)},
    {.key = "limit",
     .type = FW_CFG_INT,
     .off = offsetof(struct ruled_group_cfg, limit),
     .min = 0,
     .max = 1e15},
    {.key = "query_offset",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct ruled_group_cfg, query_offset_ms)},
    {.key = "labels", .type = FW_CFG_STR_MAP, .off = offsetof(struct ruled_group_cfg, labels)},
    {.key = "rules",
     .type = FW_CFG_LIST,
     .off = offsetof(struct ruled_group_cfg, rules),
     .count_off = offsetof(struct ruled_group_cfg, n_rules),
     .elem_size = sizeof(struct ruled_rule_cfg),
     .child = s_rule_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct ruled_group_cfg, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_file_fields[] = {
    {.key = "groups",
     .type = FW_CFG_LIST,
     .off = offsetof(struct ruled_rulefile, groups),
     .count_off = offsetof(struct ruled_rulefile, n_groups),
     .elem_size = sizeof(struct ruled_group_cfg),
     .child = s_group_fields},
    {.key = NULL},
};

// =================================================================================
//  Validation (rulefmt)
// =================================================================================

bool
ruled_rules_is_alert(const struct ruled_rule_cfg *r)
{
    return r->alert != NULL && r->alert[0] != '\0';
}

// Label and annotation names under the name validation scheme (Prometheus 3: any non-empty
// UTF-8 by default; global.metric_name_validation_scheme legacy keeps the old character set).
static void
s_check_names(const char *file, const struct ruled_group_cfg *g, size_t ri,
              const struct ruled_rule_cfg *r, const char *rname, fw_names_scheme_t scheme,
              struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->labels.len; i++) {
        const char *n = r->labels.items[i].name;
        if (!fw_names_label_valid(n, scheme) || strcmp(n, "__name__") == 0)
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid label "
                              "name: %s",
                              g->name, ri + 1, rname, n);
    }
    for (size_t i = 0; i < r->annotations.len; i++) {
        const char *n = r->annotations.items[i].name;
        if (!fw_names_label_valid(n, scheme))
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid "
                              "annotation name: %s",
                              g->name, ri + 1, rname, n);
    }
}

static void
s_check_templates(const char *file, const struct ruled_group_cfg *g, size_t ri,
                  const struct ruled_rule_cfg *r, struct fw_cfg_errors *errs)
{
    const struct fw_labels *sets[2] = {&r->labels, &r->annotations};
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < sets[s]->len; i++) {
            fw_err_t terr = {0};
            if (fw_tmpl_alert_check(sets[s]->items[i].value, &terr) < 0)
                fw_cfg_errors_add(errs, file, r->pos,
                                  "group \"%s\", rule %zu, \"%s\": "
                                  "template: %s \"%s\": %s (at byte %d)",
                                  g->name, ri + 1, r->alert, s == 0 ? "label" : "annotation",
                                  sets[s]->items[i].name, terr.msg, terr.col);
        }
    }
}

static void
s_check_rule(const char *file, const struct ruled_group_cfg *g, size_t ri, fw_names_scheme_t scheme,
             struct fw_cfg_errors *errs)
{
    const struct ruled_rule_cfg *r = &g->rules[ri];
    bool rec = r->record && r->record[0];
    bool alert = ruled_rules_is_alert(r);
    const char *rname = rec ? r->record : alert ? r->alert : "";
    if (rec && alert)
        fw_cfg_errors_add(errs, file, r->pos,
                          "group \"%s\", rule %zu, \"%s\": only one of "
                          "'record' and 'alert' must be set",
                          g->name, ri + 1, rname);
    if (!rec && !alert)
        fw_cfg_errors_add(errs, file, r->pos,
                          "group \"%s\", rule %zu: one of 'record' or "
                          "'alert' must be set",
                          g->name, ri + 1);
    if (!r->expr || !r->expr[0])
        fw_cfg_errors_add(errs, file, r->pos,
                          "group \"%s\", rule %zu, \"%s\": field 'expr' "
                          "must be set in rule",
                          g->name, ri + 1, rname);
    if (rec && !alert) {
        if (strchr(r->record, '{') || strchr(r->record, '}'))
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": braces "
                              "present in the recording rule name; should it be in expr?",
                              g->name, ri + 1, rname);
        else if (!fw_names_metric_valid(r->record, scheme))
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid "
                              "recording rule name: %s",
                              g->name, ri + 1, rname, r->record);
        if (r->for_ms != 0)
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid "
                              "field 'for' in recording rule",
                              g->name, ri + 1, rname);
        if (r->keep_firing_for_ms != 0)
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid "
                              "field 'keep_firing_for' in recording rule",
                              g->name, ri + 1, rname);
        if (r->annotations.len > 0)
            fw_cfg_errors_add(errs, file, r->pos,
                              "group \"%s\", rule %zu, \"%s\": invalid "
                              "field 'annotations' in recording rule",
                              g->name, ri + 1, rname);
    }
    s_check_names(file, g, ri, r, rname, scheme, errs);
    if (alert && !rec)
        s_check_templates(file, g, ri, r, errs);
}

static void
s_validate(const struct ruled_rulefile *rf, fw_names_scheme_t scheme, struct fw_cfg_errors *errs)
{
    for (size_t gi = 0; gi < rf->n_groups; gi++) {
        const struct ruled_group_cfg *g = &rf->groups[gi];
        if (!g->name || !g->name[0]) {
            fw_cfg_errors_add(errs, rf->name, g->pos, "group name must not be empty");
            continue;
        }
        for (size_t j = 0; j < gi; j++) {
            if (rf->groups[j].name && strcmp(rf->groups[j].name, g->name) == 0) {
                fw_cfg_errors_add(errs, rf->name, g->pos,
                                  "groupname: \"%s\" is repeated in "
                                  "the same file",
                                  g->name);
                break;
            }
        }
        for (size_t i = 0; i < g->labels.len; i++) {
            const char *n = g->labels.items[i].name;
            if (!fw_names_label_valid(n, scheme) || strcmp(n, "__name__") == 0)
                fw_cfg_errors_add(errs, rf->name, g->pos,
                                  "group \"%s\": invalid label name: "
                                  "%s",
                                  g->name, n);
        }
        for (size_t ri = 0; ri < g->n_rules; ri++)
            s_check_rule(rf->name, g, ri, scheme, errs);
    }
}

// Flap damping from the reserved floorwatch_* annotations (ruled_rules.h) into each
// alerting rule's clear_expr and hold_ms; every problem into errs.
static void
s_damping(const struct ruled_rulefile *rf, struct fw_cfg_errors *errs)
{
    static const char prefix[] = "floorwatch_";
    for (size_t gi = 0; gi < rf->n_groups; gi++) {
        struct ruled_group_cfg *g = &rf->groups[gi];
        for (size_t ri = 0; ri < g->n_rules; ri++) {
            struct ruled_rule_cfg *r = &g->rules[ri];
            for (size_t i = 0; i < r->annotations.len; i++) {
                const char *n = r->annotations.items[i].name, *v = r->annotations.items[i].value;
                if (strncmp(n, prefix, sizeof(prefix) - 1) != 0)
                    continue;
                const char *what = r->alert ? r->alert : r->record ? r->record : "";
                if (strcmp(n, "floorwatch_clear") == 0) {
                    fw_err_t perr = {0};
                    fw_promql_expr_t *e = fw_promql_parse(v, &perr);
                    if (!e)
                        fw_cfg_errors_add(errs, rf->name, r->pos,
                                          "group \"%s\", rule %zu, \"%s\": annotation "
                                          "floorwatch_clear: could not parse expression: %d:%d: "
                                          "parse error: %s",
                                          g->name, ri + 1, what, perr.line > 0 ? perr.line : 1,
                                          perr.col, perr.msg);
                    fw_promql_expr_destroy(&e);
                    r->clear_expr = v;
                } else if (strcmp(n, "floorwatch_hold") == 0) {
                    if (fw_duration_parse(v, &r->hold_ms) != 0 || r->hold_ms <= 0)
                        fw_cfg_errors_add(errs, rf->name, r->pos,
                                          "group \"%s\", rule %zu, \"%s\": annotation "
                                          "floorwatch_hold: \"%s\" is not a positive duration",
                                          g->name, ri + 1, what, v);
                } else {
                    fw_cfg_errors_add(errs, rf->name, r->pos,
                                      "group \"%s\", rule %zu, \"%s\": annotation %s: not "
                                      "supported (floorwatch's are floorwatch_clear and "
                                      "floorwatch_hold)",
                                      g->name, ri + 1, what, n);
                }
            }
        }
    }
}

// Append every error of src to dst (fw_cfg_load starts each load with a cleared record).
static void
s_errors_merge(struct fw_cfg_errors *dst, const struct fw_cfg_errors *src)
{
    for (size_t i = 0; i < src->len; i++) {
        const fw_err_t *e = &src->items[i];
        fw_cfg_errors_add(dst, e->file, (struct fw_cfg_pos){e->line, e->col}, "%s", e->msg);
    }
    dst->dropped += src->dropped;
}

int
ruled_rules_load(const char *name, const char *text, struct ruled_rulefile *out,
                 struct fw_cfg_errors *errs)
{
    return ruled_rules_load_scheme(name, text, FW_NAMES_UTF8, out, errs);
}

int
ruled_rules_load_scheme(const char *name, const char *text, fw_names_scheme_t scheme,
                        struct ruled_rulefile *out, struct fw_cfg_errors *errs)
{
    struct fw_cfg_errors *local = fw_calloc(1, sizeof(*local));
    memset(out, 0, sizeof(*out));
    // name is not in the table, so fw_cfg_load leaves it alone.
    out->name = fw_strdup(name);
    fw_cfg_load(name, text, s_file_fields, out, local);
    s_validate(out, scheme, local);
    s_damping(out, local);
    int rc = local->len > 0 || local->dropped > 0 ? -1 : 0;
    s_errors_merge(errs, local);
    free(local);
    return rc;
}

void
ruled_rules_free(struct ruled_rulefile *rf)
{
    if (!rf)
        return;
    free(rf->name);
    rf->name = NULL;
    fw_cfg_free(s_file_fields, rf);
}

// =================================================================================
//  Configuration: prometheus.yml + rule files
// =================================================================================

static void
s_add_file(struct ruled_config *cfg, const char *name, const char *text, struct fw_cfg_errors *errs,
           size_t *cap)
{
    for (size_t i = 0; i < cfg->n_files; i++)
        if (strcmp(cfg->files[i].name, name) == 0)
            return; // matched by two patterns: load once
    fw_mem_grow((void **)&cfg->files, cap, cfg->n_files + 1, sizeof(*cfg->files));
    bool legacy = cfg->prom.global.metric_name_validation_scheme == FW_NAME_VALIDATION_LEGACY;
    ruled_rules_load_scheme(name, text, legacy ? FW_NAMES_LEGACY : FW_NAMES_UTF8,
                            &cfg->files[cfg->n_files++], errs);
}

// Directory part of path ("." when none), as a new string.
static char *
s_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return fw_strdup(".");
    if (slash == path)
        return fw_strdup("/");
    return fw_strndup(path, (size_t)(slash - path));
}

int
ruled_rules_config_load(const char *path, struct ruled_config *out, struct fw_cfg_errors *errs)
{
    memset(out, 0, sizeof(*out));
    memset(errs, 0, sizeof(*errs));
    bool embedded = path == NULL;
    if (fw_promcfg_load(embedded ? S_EMBEDDED_CONFIG : path,
                        embedded ? fw_embed_ruled_default : NULL, &out->prom, errs) < 0)
        return -1;

    char *dir = embedded ? fw_strdup(".") : s_dirname(path);
    size_t cap = 0;
    for (size_t i = 0; i < out->prom.n_rule_files; i++) {
        const char *pat = out->prom.rule_files[i];
        const char *text = embedded ? s_embedded_rules_text(pat) : NULL;
        if (text) {
            s_add_file(out, pat, text, errs, &cap);
            continue;
        }
        char *full = pat[0] == '/' ? fw_strdup(pat) : fw_asprintf("%s/%s", dir, pat);
        glob_t g;
        memset(&g, 0, sizeof(g));
        int rc = glob(full, 0, NULL, &g);
        if (rc == GLOB_NOMATCH) {
            fw_warn("rules.nomatch", "pattern=%s", full);
        } else if (rc != 0) {
            fw_cfg_errors_add(errs, out->prom.path, (struct fw_cfg_pos){0, 0},
                              "rule_files: cannot expand pattern '%s'", pat);
        } else {
            for (size_t j = 0; j < g.gl_pathc; j++)
                s_add_file(out, g.gl_pathv[j], NULL, errs, &cap);
        }
        globfree(&g);
        free(full);
    }
    free(dir);
    return errs->len > 0 || errs->dropped > 0 ? -1 : 0;
}

void
ruled_rules_config_free(struct ruled_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_files; i++)
        ruled_rules_free(&cfg->files[i]);
    free(cfg->files);
    cfg->files = NULL;
    cfg->n_files = 0;
    fw_promcfg_free(&cfg->prom);
}
