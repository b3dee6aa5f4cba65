/*  ruled_deps.c — which rules of a group read what an earlier rule of it wrote (see
    ruled_deps.h), from the selectors of their parsed expressions.
*/
#include "ruled_deps.h"

#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"

// Whether a selector in e can select a series named one of names[0..n): each of its
// __name__ matchers accepts the name (a selector without one may select anything).
static bool
s_expr_reads(const fw_promql_expr_t *e, const char *const *names, size_t n)
{
    if (!e)
        return false;
    if (e->kind == FW_PQ_SELECTOR) {
        for (size_t k = 0; k < n; k++) {
            bool all = true;
            for (size_t j = 0; j < e->n_matchers && all; j++)
                if (strcmp(e->matchers[j].name, "__name__") == 0)
                    all = fw_matcher_matches(&e->matchers[j], names[k]);
            if (all)
                return true;
        }
        return false;
    }
    if (s_expr_reads(e->param, names, n))
        return true;
    for (size_t i = 0; i < e->n_args; i++)
        if (s_expr_reads(e->args[i], names, n))
            return true;
    return false;
}

static bool
s_text_reads(const char *text, const char *const *names, size_t n)
{
    if (!text || n == 0)
        return false;
    fw_err_t err = {0};
    fw_promql_expr_t *e = fw_promql_parse(text, &err);
    bool reads = !e || s_expr_reads(e, names, n); // unparsable: assume it does
    fw_promql_expr_destroy(&e);
    return reads;
}

void
ruled_deps_plan(const struct ruled_group_cfg *cfg, bool *reads)
{
    const char **names = fw_calloc(cfg->n_rules + 2, sizeof(*names));
    size_t n = 0;
    bool alerts = false;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct ruled_rule_cfg *r = &cfg->rules[i];
        reads[i] = s_text_reads(r->expr, names, n) || s_text_reads(r->clear_expr, names, n);
        if (r->record) {
            names[n++] = r->record;
        } else if (!alerts) {
            alerts = true;
            names[n++] = "ALERTS";
            names[n++] = "ALERTS_FOR_STATE";
        }
    }
    free(names);
}

// Whether e may differ between an instant query and a range query's step at the same time.
static bool
s_expr_unsafe(const fw_promql_expr_t *e)
{
    if (!e)
        return false;
    if (e->at != FW_PQ_AT_NONE || e->offset_ms < 0 || e->range_expr || e->offset_expr ||
        e->step_expr)
        return true;
    if (s_expr_unsafe(e->param))
        return true;
    for (size_t i = 0; i < e->n_args; i++)
        if (s_expr_unsafe(e->args[i]))
            return true;
    return false;
}

void
ruled_deps_matrix(const struct ruled_rule_cfg *const *rules, size_t n, bool *reads, bool *unsafe)
{
    fw_promql_expr_t **e = fw_calloc(2 * n + 1, sizeof(*e)); // expr and clear expr of each
    for (size_t i = 0; i < n; i++) {
        fw_err_t err = {0};
        e[2 * i] = fw_promql_parse(rules[i]->expr ? rules[i]->expr : "", &err);
        if (rules[i]->clear_expr)
            e[2 * i + 1] = fw_promql_parse(rules[i]->clear_expr, &err);
        unsafe[i] = !e[2 * i] || (rules[i]->clear_expr && !e[2 * i + 1]) ||
                    s_expr_unsafe(e[2 * i]) || s_expr_unsafe(e[2 * i + 1]);
    }
    static const char *const alert_names[] = {"ALERTS", "ALERTS_FOR_STATE"};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            const char *const *names =
                rules[j]->record ? (const char *const *)&rules[j]->record : alert_names;
            size_t k = rules[j]->record ? 1 : 2;
            reads[i * n + j] = unsafe[i] || s_expr_reads(e[2 * i], names, k) ||
                               s_expr_reads(e[2 * i + 1], names, k);
        }
    for (size_t i = 0; i < 2 * n; i++)
        fw_promql_expr_destroy(&e[i]);
    free(e);
}
