/*  fw_promql_info.c — info()'s arguments (Prometheus 3's experimental function, enabled in
    floorwatch): `info(v [, {data-label selector}])`.

    The second argument names the info metrics and the data labels wanted; it must be a
    selector without a metric name and may match empty values. From it the parser builds,
    in the call's param, the selector of the info series the evaluator reads (tsdb's
    tsdb_eval_fn_info): the effective name matchers (target_info by default; `.+_info` in
    front of negative ones), the other data-label matchers, and the offset and @ of the
    first selector of the first argument, as Prometheus's infoSelectTimestampAndOffset.
*/
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql_lex.h"

static int
s_add(fw_promql_parser_t *p, fw_promql_expr_t *sel, fw_match_op_t op, const char *name,
      const char *value)
{
    struct fw_matcher m;
    fw_err_t err;
    if (fw_matcher_init(&m, op, name, value, FW_REGEX_PROMETHEUS, &err) != 0) {
        fw_promql_lex_fail(p, sel->pos, "%s", err.msg);
        return -1;
    }
    sel->matchers = fw_realloc(sel->matchers, (sel->n_matchers + 1) * sizeof(*sel->matchers));
    sel->matchers[sel->n_matchers++] = m;
    return 0;
}

// The first selector under e, depth first, and the subqueries on the way to it.
static const fw_promql_expr_t *
s_first_selector(const fw_promql_expr_t *e, const fw_promql_expr_t **path, int *depth)
{
    if (e->kind == FW_PQ_SELECTOR)
        return e;
    if (*depth >= FW_PROMQL_MAX_DEPTH)
        return NULL;
    path[(*depth)++] = e;
    for (size_t k = 0; k < e->n_args; k++) {
        const fw_promql_expr_t *s = s_first_selector(e->args[k], path, depth);
        if (s)
            return s;
    }
    if (e->param) {
        const fw_promql_expr_t *s = s_first_selector(e->param, path, depth);
        if (s)
            return s;
    }
    (*depth)--;
    return NULL;
}

// The info selector's offset and @: the first selector's, else (going up) the nearest
// subquery's @, its offset and those of the subqueries below it added.
static void
s_time_of(const fw_promql_expr_t *v, fw_promql_expr_t *sel)
{
    const fw_promql_expr_t **path = fw_malloc(FW_PROMQL_MAX_DEPTH * sizeof(*path));
    int depth = 0;
    const fw_promql_expr_t *first = s_first_selector(v, path, &depth);
    if (first) {
        sel->offset_ms = first->offset_ms;
        sel->at = first->at;
        sel->at_ms = first->at_ms;
        for (int i = depth - 1; sel->at == FW_PQ_AT_NONE && i >= 0; i--)
            if (path[i]->kind == FW_PQ_SUBQUERY) {
                sel->offset_ms += path[i]->offset_ms;
                sel->at = path[i]->at;
                sel->at_ms = path[i]->at_ms;
            }
    }
    free(path);
}

int
fw_promql_info_prepare(fw_promql_parser_t *p, fw_promql_expr_t *call)
{
    const fw_promql_expr_t *labels = call->n_args > 1 ? call->args[1] : NULL;
    if (labels && (labels->kind != FW_PQ_SELECTOR || labels->metric)) {
        fw_promql_lex_fail(p, labels->pos, "%s",
                           labels->kind == FW_PQ_SELECTOR
                               ? "expected label selectors only, got vector selector instead"
                               : "expected label selectors only");
        return -1;
    }
    fw_promql_expr_t *sel = fw_promql_node(FW_PQ_SELECTOR, FW_PQ_VECTOR, call->pos);
    size_t n_names = 0;
    bool positive = false;
    for (size_t k = 0; labels && k < labels->n_matchers; k++)
        if (strcmp(labels->matchers[k].name, "__name__") == 0) {
            n_names++;
            positive |=
                labels->matchers[k].op == FW_MATCH_EQ || labels->matchers[k].op == FW_MATCH_RE;
        }
    int rc = 0;
    if (n_names == 0)
        rc = s_add(p, sel, FW_MATCH_EQ, "__name__", "target_info");
    else if (!positive)
        rc = s_add(p, sel, FW_MATCH_RE, "__name__", ".+_info");
    for (size_t k = 0; rc == 0 && labels && k < labels->n_matchers; k++) {
        const struct fw_matcher *m = &labels->matchers[k];
        rc = s_add(p, sel, m->op, m->name, m->value);
    }
    if (rc != 0) {
        fw_promql_expr_destroy(&sel);
        return -1;
    }
    s_time_of(call->args[0], sel);
    call->param = sel;
    if (call->height < sel->height + 1)
        call->height = sel->height + 1;
    return 0;
}
