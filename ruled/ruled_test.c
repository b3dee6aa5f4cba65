/*  ruled_test.c — `ruled test FILE...`: promtool's rule unit tests (see ruled_test.h).
    The sequence follows cmd/promtool/unittest.go: load the file strictly, glob the rule files,
    then for each test group load the rules, feed the series, evaluate at each step and compare.
*/
#include "ruled_test.h"

#include <czmq.h>
#include <glob.h>
#include <stdbool.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_cfg.h"
#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "ruled_group.h"
#include "ruled_rules.h"
#include "ruled_test_report.h"
#include "ruled_test_series.h"
#include "ruled_test_plan.h"
#include "ruled_test_tsdb.h"

// Samples per SAMPLES batch when feeding input series.
#define S_BATCH_SAMPLES 200000
// Evaluation steps per test group at most (each is a round trip per rule to the private
// tsdb: a million take minutes).
#define S_MAX_EVALS 1000000

struct s_exp_sample {
    char *labels;
    double value;
};
struct s_promql_test {
    char *expr;
    int64_t eval_time_ms;
    struct s_exp_sample *exp;
    size_t n_exp;
};
struct s_exp_alert {
    struct fw_labels labels, annotations;
};
struct s_alert_test {
    int64_t eval_time_ms;
    char *alertname;
    struct s_exp_alert *exp;
    size_t n_exp;
};
struct s_input {
    char *series, *values;
};
struct s_group {
    int64_t interval_ms;
    char *name;
    struct fw_labels external_labels;
    struct s_input *input;
    size_t n_input;
    struct s_alert_test *alerts;
    size_t n_alerts;
    struct s_promql_test *exprs;
    size_t n_exprs;
};
struct s_file {
    char **rule_files;
    size_t n_rule_files;
    int64_t evaluation_interval_ms;
    char **order;
    size_t n_order;
    struct s_group *tests;
    size_t n_tests;
};

#define S_LIST(k, T, m, n, E, c)                                                                   \
    {                                                                                              \
        .key = k, .type = FW_CFG_LIST, .off = offsetof(T, m), .count_off = offsetof(T, n),         \
        .elem_size = sizeof(E), .child = c                                                         \
    }
static const struct fw_cfg_field s_sample_fields[] = {
    {.key = "labels", .type = FW_CFG_STR, .off = offsetof(struct s_exp_sample, labels)},
    {.key = "value", .type = FW_CFG_FLOAT, .off = offsetof(struct s_exp_sample, value)},
    {0}};
static const struct fw_cfg_field s_promql_fields[] = {
    {.key = "expr", .type = FW_CFG_STR, .off = offsetof(struct s_promql_test, expr)},
    {.key = "eval_time",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_promql_test, eval_time_ms)},
    S_LIST("exp_samples", struct s_promql_test, exp, n_exp, struct s_exp_sample, s_sample_fields),
    {0}};
static const struct fw_cfg_field s_exp_alert_fields[] = {
    {.key = "exp_labels", .type = FW_CFG_STR_MAP, .off = offsetof(struct s_exp_alert, labels)},
    {.key = "exp_annotations",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct s_exp_alert, annotations)},
    {0}};
static const struct fw_cfg_field s_alert_fields[] = {
    {.key = "eval_time",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_alert_test, eval_time_ms)},
    {.key = "alertname", .type = FW_CFG_STR, .off = offsetof(struct s_alert_test, alertname)},
    S_LIST("exp_alerts", struct s_alert_test, exp, n_exp, struct s_exp_alert, s_exp_alert_fields),
    {0}};
static const struct fw_cfg_field s_input_fields[] = {
    {.key = "series", .type = FW_CFG_STR, .off = offsetof(struct s_input, series)},
    {.key = "values", .type = FW_CFG_STR, .off = offsetof(struct s_input, values)},
    {0}};
static const struct fw_cfg_field s_group_fields[] = {
    {.key = "interval", .type = FW_CFG_DURATION, .off = offsetof(struct s_group, interval_ms)},
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct s_group, name)},
    {.key = "external_labels",
     .type = FW_CFG_LABELS,
     .off = offsetof(struct s_group, external_labels)},
    S_LIST("input_series", struct s_group, input, n_input, struct s_input, s_input_fields),
    S_LIST("alert_rule_test", struct s_group, alerts, n_alerts, struct s_alert_test,
           s_alert_fields),
    S_LIST("promql_expr_test", struct s_group, exprs, n_exprs, struct s_promql_test,
           s_promql_fields),
    {0}};
static const struct fw_cfg_field s_file_fields[] = {
    {.key = "rule_files",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct s_file, rule_files),
     .count_off = offsetof(struct s_file, n_rule_files)},
    {.key = "evaluation_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_file, evaluation_interval_ms)},
    {.key = "group_eval_order",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct s_file, order),
     .count_off = offsetof(struct s_file, n_order)},
    S_LIST("tests", struct s_file, tests, n_tests, struct s_group, s_group_fields),
    {0}};

// A JSON string's value, "" for anything else.
static const char *
s_str(const json_t *j)
{
    const char *s = json_string_value(j);
    return s ? s : "";
}

// The errors of one test file, each a text promtool would print.
struct s_errs {
    char **items;
    size_t len;
};

static void
s_err_take(struct s_errs *e, struct ruled_test_buf *b)
{
    e->items = fw_realloc(e->items, (e->len + 1) * sizeof(*e->items));
    e->items[e->len++] = b->s ? b->s : fw_strdup("");
    memset(b, 0, sizeof(*b));
}

static void
s_err_str(struct s_errs *e, const char *msg)
{
    struct ruled_test_buf b = {0};
    ruled_test_buf_printf(&b, "%s", msg);
    s_err_take(e, &b);
}

// The rule files and the groups built from them for one test group.
// Each rule runs as a group of its own (a shallow copy of its group's configuration holding
// that rule alone, in subs), and its samples are pushed before the next rule runs: so a rule
// sees the records of the rules before it at the same evaluation, as in Prometheus, whose
// rules append to storage one by one (the daemon's groups push once per evaluation).
struct s_rules {
    struct ruled_rulefile *files;
    size_t n_files;
    struct ruled_group_cfg *subs; // owned array; members borrowed from files
    ruled_group_t **groups;       // one per rule, in evaluation order
    const char **group_files;     // owned array: each group's file (borrowed)
    size_t n_groups;
    const struct ruled_group_env *env; // borrowed
};

static void
s_rules_free(struct s_rules *r)
{
    for (size_t i = 0; i < r->n_groups; i++)
        ruled_group_destroy(&r->groups[i]);
    for (size_t i = 0; i < r->n_files; i++)
        ruled_rules_free(&r->files[i]);
    free(r->groups);
    free(r->group_files);
    free(r->subs);
    free(r->files);
    memset(r, 0, sizeof(*r));
}

static size_t
s_order_of(const struct s_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_order; i++)
        if (strcmp(f->order[i], name) == 0)
            return i;
    return 0; // as a Go map lookup of a missing key
}

static bool
s_pos_le(struct fw_cfg_pos a, int line, int col)
{
    return a.line < line || (a.line == line && a.col <= col);
}

// One error of rule file `path` (rf: what was loaded of it) as promtool words it: inside a
// rule, `path: L:C: group "G", rule N, "NAME": msg` (rulefmt.Error); else file:line:col.
static void
s_rule_file_error(struct s_errs *errs, const char *path, const struct ruled_rulefile *rf,
                  const fw_err_t *e)
{
    const struct ruled_group_cfg *group = NULL;
    const struct ruled_rule_cfg *rule = NULL;
    size_t rule_no = 0;
    for (size_t g = 0; e->line > 0 && g < rf->n_groups; g++) {
        if (!s_pos_le(rf->groups[g].pos, e->line, e->col))
            break;
        group = &rf->groups[g], rule = NULL;
        for (size_t k = 0; k < group->n_rules && s_pos_le(group->rules[k].pos, e->line, e->col);
             k++)
            rule = &group->rules[k], rule_no = k + 1;
    }
    struct ruled_test_buf b = {0};
    if (rule && strncmp(e->msg, "group \"", 7) == 0) { // the loader named the rule already
        ruled_test_buf_printf(&b, "%s: %d:%d: %s", path, e->line, e->col, e->msg);
    } else if (rule) {
        ruled_test_buf_printf(&b, "%s: %d:%d: group ", path, e->line, e->col);
        ruled_test_quote(&b, group->name ? group->name : "");
        ruled_test_buf_printf(&b, ", rule %zu, ", rule_no);
        ruled_test_quote(&b, rule->record ? rule->record : rule->alert ? rule->alert : "");
        ruled_test_buf_printf(&b, ": %s", e->msg);
    } else {
        char buf[1024];
        ruled_test_buf_printf(&b, "%s", fw_err_format(e, buf, sizeof(buf)));
    }
    s_err_take(errs, &b);
}

// Load every rule file and make the groups, in group_eval_order (stable otherwise).
static int
s_rules_load(const struct s_file *f, char **paths, size_t n_paths, const struct s_group *tg,
             struct ruled_group_env *env, struct s_rules *out, struct s_errs *errs)
{
    out->files = fw_calloc(n_paths ? n_paths : 1, sizeof(*out->files));
    int rc = 0;
    for (size_t i = 0; i < n_paths; i++) {
        struct fw_cfg_errors ce = {0};
        out->n_files++;
        if (ruled_rules_load(paths[i], NULL, &out->files[i], &ce) < 0) {
            struct ruled_test_buf b = {0};
            ruled_test_buf_printf(&b, "%s: ", paths[i]);
            if (ruled_test_yaml_unknown_keys(&b, &ce, true)) {
                s_err_take(errs, &b);
                ce.len = 0;
            }
            ruled_test_buf_clear(&b);
            for (size_t j = 0; j < ce.len; j++)
                s_rule_file_error(errs, paths[i], &out->files[i], &ce.items[j]);
            rc = -1;
        }
    }
    if (rc < 0)
        return -1;
    env->default_interval_ms = tg->interval_ms;
    size_t n_groups = 0, n_rules = 0;
    for (size_t i = 0; i < out->n_files; i++) {
        n_groups += out->files[i].n_groups;
        for (size_t j = 0; j < out->files[i].n_groups; j++)
            n_rules += out->files[i].groups[j].n_rules;
    }
    // The groups in group_eval_order (stable: insertion sort, the count is small).
    const struct ruled_group_cfg **gs = fw_calloc(n_groups + 1, sizeof(*gs));
    const char **gpath = fw_calloc(n_groups + 1, sizeof(*gpath));
    size_t n = 0;
    for (size_t i = 0; i < out->n_files; i++)
        for (size_t j = 0; j < out->files[i].n_groups; j++) {
            const struct ruled_group_cfg *g = &out->files[i].groups[j];
            size_t k = s_order_of(f, g->name), m = n++;
            for (; m > 0 && s_order_of(f, gs[m - 1]->name) > k; m--) {
                gs[m] = gs[m - 1];
                gpath[m] = gpath[m - 1];
            }
            gs[m] = g;
            gpath[m] = paths[i];
        }
    out->subs = fw_calloc(n_rules + 1, sizeof(*out->subs));
    out->groups = fw_calloc(n_rules + 1, sizeof(*out->groups));
    out->group_files = fw_calloc(n_rules + 1, sizeof(*out->group_files));
    out->env = env;
    for (size_t i = 0; i < n_groups; i++)
        for (size_t k = 0; k < gs[i]->n_rules; k++) {
            struct ruled_group_cfg *sub = &out->subs[out->n_groups];
            *sub = *gs[i];
            sub->rules = &gs[i]->rules[k];
            sub->n_rules = 1;
            out->group_files[out->n_groups] = gpath[i];
            out->groups[out->n_groups] = ruled_group_new(gpath[i], sub, env);
            ruled_group_skip_restore(out->groups[out->n_groups++]);
        }
    free(gs);
    free(gpath);
    return 0;
}

// The input series of a test group, parsed, and how much of each tsdb has been given.
struct s_inputs {
    struct fw_labels *labels;      // owned, n of them
    struct ruled_test_points *pts; // owned
    size_t *next;                  // owned: first point not pushed yet
    size_t n;
};

static void
s_inputs_free(struct s_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        fw_labels_clear(&in->labels[i]);
        ruled_test_points_clear(&in->pts[i]);
    }
    free(in->labels);
    free(in->pts);
    free(in->next);
    memset(in, 0, sizeof(*in));
}

// Parse every input series. 0, or -1 with the error in errs.
static int
s_inputs_load(const struct s_group *tg, struct s_inputs *in, struct s_errs *errs)
{
    in->labels = fw_calloc(tg->n_input + 1, sizeof(*in->labels));
    in->pts = fw_calloc(tg->n_input + 1, sizeof(*in->pts));
    in->next = fw_calloc(tg->n_input + 1, sizeof(*in->next));
    fw_err_t err = {0};
    for (size_t i = 0; i < tg->n_input; i++) {
        const struct s_input *x = &tg->input[i];
        in->n++;
        if (ruled_test_series_parse_metric(x->series ? x->series : "", &in->labels[i], &err) < 0 ||
            ruled_test_series_expand(x->values, tg->interval_ms, &in->pts[i], &err) < 0) {
            s_err_str(errs, err.msg);
            return -1;
        }
    }
    return 0;
}

// Push the input samples up to till (inclusive) not pushed yet, as promtool's lazy loader
// loads them before each evaluation (so `offset -1m` or `@ end()` never sees the future).
// 0, or -1 with the error in errs.
static int
s_inputs_feed(struct s_inputs *in, int64_t till, ruled_test_tsdb_t *db, struct s_errs *errs)
{
    struct fw_batch *batch = fw_batch_new();
    int rc = 0;
    fw_err_t err = {0};
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        const struct ruled_test_points *p = &in->pts[i];
        size_t k = in->next[i];
        if (k >= p->len || p->t[k] > till)
            continue;
        struct fw_series *s = fw_batch_add_series(batch, &in->labels[i]);
        for (; k < p->len && p->t[k] <= till; k++)
            fw_series_add(s, p->t[k], p->v[k]);
        in->next[i] = k;
        if (fw_batch_samples(batch) >= S_BATCH_SAMPLES) {
            rc = ruled_test_tsdb_push(db, &batch, &err);
            batch = fw_batch_new();
        }
    }
    if (rc == 0 && fw_batch_samples(batch) > 0)
        rc = ruled_test_tsdb_push(db, &batch, &err);
    if (rc < 0)
        s_err_str(errs, err.msg);
    fw_batch_destroy(&batch);
    return rc;
}

// Firing alerts of alerting rules named name across groups.
static size_t
s_got_alerts(const struct s_rules *r, const char *name, struct ruled_test_alert **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t g = 0; g < r->n_groups; g++) {
        json_t *grp = ruled_group_rules_json(r->groups[g]);
        json_t *rules = json_object_get(grp, "rules"), *rule, *a;
        size_t i, j;
        json_array_foreach(rules, i, rule)
        {
            if (strcmp(s_str(json_object_get(rule, "type")), "alerting") != 0 ||
                strcmp(s_str(json_object_get(rule, "name")), name) != 0)
                continue;
            json_array_foreach(json_object_get(rule, "alerts"), j, a)
            {
                if (strcmp(s_str(json_object_get(a, "state")), "firing") != 0)
                    continue;
                *out = fw_realloc(*out, (n + 1) * sizeof(**out));
                struct ruled_test_alert *x = &(*out)[n++];
                *x = (struct ruled_test_alert){FW_LABELS_INIT, FW_LABELS_INIT};
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(a, "labels"), k, v)
                    fw_labels_set(&x->labels, k, json_string_value(v));
                json_object_foreach(json_object_get(a, "annotations"), k, v)
                    fw_labels_set(&x->annotations, k, json_string_value(v));
            }
        }
        json_decref(grp);
    }
    return n;
}

static void
s_alerts_free(struct ruled_test_alert *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fw_labels_clear(&a[i].labels);
        fw_labels_clear(&a[i].annotations);
    }
    free(a);
}

static void
s_check_alert(const struct s_group *tg, const struct s_alert_test *at, const struct s_rules *r,
              struct s_errs *errs)
{
    struct ruled_test_alert *got;
    size_t ngot = s_got_alerts(r, at->alertname, &got);
    struct ruled_test_alert *exp = fw_calloc(at->n_exp + 1, sizeof(*exp));
    for (size_t i = 0; i < at->n_exp; i++) {
        fw_labels_copy(&exp[i].labels, &at->exp[i].labels);
        fw_labels_set(&exp[i].labels, "alertname", at->alertname);
        fw_labels_copy(&exp[i].annotations, &at->exp[i].annotations);
    }
    ruled_test_alerts_sort(got, ngot);
    ruled_test_alerts_sort(exp, at->n_exp);
    if (!ruled_test_alerts_equal(exp, at->n_exp, got, ngot)) {
        struct ruled_test_buf b = {0};
        char dur[64];
        if (tg->name && *tg->name)
            ruled_test_buf_printf(&b, "    name: %s,\n", tg->name);
        ruled_test_buf_printf(&b, "    alertname: %s, time: %s, \n        exp:", at->alertname,
                              fw_duration_format(at->eval_time_ms, dur, sizeof(dur)));
        ruled_test_alerts_str(&b, exp, at->n_exp);
        ruled_test_buf_printf(&b, ", \n        got:");
        ruled_test_alerts_str(&b, got, ngot);
        s_err_take(errs, &b);
    }
    s_alerts_free(got, ngot);
    s_alerts_free(exp, at->n_exp);
}

static void
s_samples_free(struct ruled_test_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fw_labels_clear(&s[i].labels);
    free(s);
}

static void
s_check_expr(const struct s_promql_test *pt, ruled_test_tsdb_t *db, struct s_errs *errs)
{
    char dur[64];
    fw_duration_format(pt->eval_time_ms, dur, sizeof(dur));
    struct fw_vector v = {0};
    fw_err_t err = {0};
    struct ruled_test_buf b = {0};
    const char *expr = pt->expr ? pt->expr : "";
    if (ruled_test_tsdb_query(db, expr, pt->eval_time_ms, &v, &err) < 0) {
        ruled_test_buf_printf(&b, "    expr: ");
        ruled_test_quote(&b, expr);
        ruled_test_buf_printf(&b, ", time: %s, err: %s", dur, err.msg);
        s_err_take(errs, &b);
        return;
    }
    struct ruled_test_sample *got = fw_calloc(v.len + 1, sizeof(*got));
    for (size_t i = 0; i < v.len; i++) {
        fw_labels_copy(&got[i].labels, &v.items[i].labels);
        got[i].v = v.items[i].v;
    }
    size_t ngot = v.len;
    fw_vector_clear(&v);
    struct ruled_test_sample *exp = fw_calloc(pt->n_exp + 1, sizeof(*exp));
    size_t nexp = 0;
    for (; nexp < pt->n_exp; nexp++) {
        const char *text = pt->exp[nexp].labels ? pt->exp[nexp].labels : "";
        exp[nexp].v = pt->exp[nexp].value;
        if (*text && ruled_test_series_parse_metric(text, &exp[nexp].labels, &err) < 0) {
            ruled_test_buf_printf(&b, "    expr: ");
            ruled_test_quote(&b, expr);
            ruled_test_buf_printf(&b, ", time: %s, err: labels ", dur);
            ruled_test_quote(&b, text);
            ruled_test_buf_printf(&b, ": %s", err.msg);
            s_err_take(errs, &b);
            goto out;
        }
    }
    ruled_test_samples_sort(exp, nexp);
    ruled_test_samples_sort(got, ngot);
    if (!ruled_test_samples_equal(exp, nexp, got, ngot)) {
        ruled_test_buf_printf(&b, "    expr: ");
        ruled_test_quote(&b, expr);
        ruled_test_buf_printf(&b, ", time: %s,\n        exp: ", dur);
        ruled_test_samples_str(&b, exp, nexp);
        ruled_test_buf_printf(&b, "\n        got: ");
        ruled_test_samples_str(&b, got, ngot);
        s_err_take(errs, &b);
    }
out:
    s_samples_free(exp, nexp);
    s_samples_free(got, ngot);
}

// Rules of g whose last evaluation failed, as "rule: NAME, time: T, err: E". Returns how many.
static size_t
s_rule_errors(ruled_group_t *g, int64_t ts, struct s_errs *errs)
{
    size_t n = 0;
    char dur[64];
    json_t *grp = ruled_group_rules_json(g), *rule;
    size_t i;
    json_array_foreach(json_object_get(grp, "rules"), i, rule)
    {
        if (strcmp(s_str(json_object_get(rule, "health")), "err") != 0)
            continue;
        struct ruled_test_buf b = {0};
        const char *e = ruled_test_tsdb_error_text(s_str(json_object_get(rule, "lastError")));
        ruled_test_buf_printf(&b, "    rule: %s, time: %s, err: %s",
                              s_str(json_object_get(rule, "name")),
                              ruled_test_go_duration(ts, dur, sizeof(dur)), e);
        s_err_take(errs, &b);
        n++;
    }
    json_decref(grp);
    return n;
}

static int
s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

// ruled_test_plan_group_fn: a fresh group for rule i of r.
static ruled_group_t *
s_make_group(void *arg, size_t i)
{
    struct s_rules *r = arg;
    ruled_group_t *g = ruled_group_new(r->group_files[i], &r->subs[i], r->env);
    ruled_group_skip_restore(g);
    return g;
}

// Plan the rules' queries (ruled_test_plan.h) and answer ahead what can be, against a new
// tsdb holding the inputs up to maxt. Without a plan (or when answering fails) the tsdb
// starts empty and the inputs are fed step by step. 0, or -1 with errs.
static int
s_plan_start(struct s_rules *r, struct s_inputs *in, int64_t step, int64_t maxt,
             const char *tsdb_bin, ruled_test_plan_t **plan, ruled_test_tsdb_t **db,
             struct s_errs *errs)
{
    const struct ruled_rule_cfg **cfgs = fw_calloc(r->n_groups + 1, sizeof(*cfgs));
    for (size_t i = 0; i < r->n_groups; i++)
        cfgs[i] = r->subs[i].rules;
    *plan = ruled_test_plan_new(cfgs, r->n_groups, step, maxt);
    free(cfgs);
    fw_err_t err = {0};
    *db = ruled_test_tsdb_start(tsdb_bin, &err);
    if (!*db) {
        s_err_str(errs, err.msg);
        return -1;
    }
    if (!ruled_test_plan_active(*plan))
        return 0;
    if (s_inputs_feed(in, maxt, *db, errs) < 0)
        return -1;
    if (ruled_test_plan_run(*plan, *db, s_make_group, r, &err) == 0)
        return 0;
    // Start over without the plan: the instant queries give the error at its step.
    ruled_test_plan_destroy(plan);
    ruled_test_tsdb_stop(db);
    memset(in->next, 0, in->n * sizeof(*in->next));
    *db = ruled_test_tsdb_start(tsdb_bin, &err);
    if (!*db) {
        s_err_str(errs, err.msg);
        return -1;
    }
    return 0;
}

// One test group (unittest.go testGroup.test). Appends its failures to errs.
static void
s_run_group(const struct s_file *f, char **paths, size_t n_paths, const struct s_group *tg,
            const char *tsdb_bin, struct s_errs *errs)
{
    struct ruled_group_env env = {.external_labels = &tg->external_labels};
    struct s_rules r = {0};
    ruled_test_tsdb_t *db = NULL;
    ruled_test_plan_t *plan = NULL;
    int64_t *times = NULL;
    struct s_inputs in = {0};
    if (s_inputs_load(tg, &in, errs) < 0 || s_rules_load(f, paths, n_paths, tg, &env, &r, errs) < 0)
        goto out;
    for (size_t i = 0; i < tg->n_alerts; i++)
        if (!tg->alerts[i].alertname || !*tg->alerts[i].alertname) {
            char dur[64];
            struct ruled_test_buf b = {0};
            ruled_test_buf_printf(&b,
                                  "an item under alert_rule_test misses required attribute "
                                  "alertname at eval_time %s",
                                  fw_duration_format(tg->alerts[i].eval_time_ms, dur, sizeof(dur)));
            if (tg->name && *tg->name)
                ruled_test_buf_printf(&b, " (in TestGroup %s)", tg->name);
            s_err_take(errs, &b);
            goto out;
        }

    int64_t maxt = 0;
    times = fw_calloc(tg->n_alerts + 1, sizeof(*times));
    for (size_t i = 0; i < tg->n_alerts; i++) {
        times[i] = tg->alerts[i].eval_time_ms;
        if (times[i] > maxt)
            maxt = times[i];
    }
    for (size_t i = 0; i < tg->n_exprs; i++)
        if (tg->exprs[i].eval_time_ms > maxt)
            maxt = tg->exprs[i].eval_time_ms;
    qsort(times, tg->n_alerts, sizeof(*times), s_cmp_i64);
    size_t n_times = 0; // unique
    for (size_t i = 0; i < tg->n_alerts; i++)
        if (n_times == 0 || times[n_times - 1] != times[i])
            times[n_times++] = times[i];

    int64_t step = f->evaluation_interval_ms;
    if (maxt / step >= S_MAX_EVALS) {
        char a[64], b2[64];
        struct ruled_test_buf b = {0};
        ruled_test_buf_printf(&b,
                              "eval_time %s at evaluation_interval %s takes more than %d "
                              "evaluations: not supported",
                              fw_duration_format(maxt, a, sizeof(a)),
                              fw_duration_format(step, b2, sizeof(b2)), S_MAX_EVALS);
        s_err_take(errs, &b);
        goto out;
    }
    fw_err_t err = {0};
    if (s_plan_start(&r, &in, step, maxt, tsdb_bin, &plan, &db, errs) < 0)
        goto out;
    size_t curr = 0;
    for (int64_t ts = 0; ts <= maxt; ts += step) {
        if (zsys_interrupted) { // SIGINT/SIGTERM (czmq's handler): stop, clean up
            s_err_str(errs, "interrupted");
            goto out;
        }
        if (s_inputs_feed(&in, ts, db, errs) < 0)
            goto out;
        size_t failed = 0;
        for (size_t g = 0; g < r.n_groups; g++) {
            struct ruled_group_result res = {0};
            struct ruled_test_plan_query q = {plan, db, g};
            ruled_group_eval(r.groups[g], ts, ruled_test_plan_query, &q, &res);
            // a rule answered ahead stored what it writes already
            if (res.batch && fw_batch_samples(res.batch) > 0 && !ruled_test_plan_ahead(plan, g) &&
                ruled_test_tsdb_push(db, &res.batch, &err) < 0) {
                s_err_str(errs, err.msg);
                ruled_group_result_clear(&res);
                goto out;
            }
            ruled_group_result_clear(&res);
            failed += s_rule_errors(r.groups[g], ts, errs);
        }
        if (failed)
            goto out;
        while (curr < n_times && ts <= times[curr] && times[curr] - ts < step) {
            for (size_t i = 0; i < tg->n_alerts; i++)
                if (tg->alerts[i].eval_time_ms == times[curr])
                    s_check_alert(tg, &tg->alerts[i], &r, errs);
            curr++;
        }
        if (ts > INT64_MAX - step)
            break;
    }
    for (size_t i = 0; i < tg->n_exprs; i++)
        s_check_expr(&tg->exprs[i], db, errs);
out:
    free(times);
    s_inputs_free(&in);
    ruled_test_tsdb_stop(&db);
    ruled_test_plan_destroy(&plan);
    s_rules_free(&r);
}

// Relative rule_files are taken from the test file's directory; globs are expanded.
static char **
s_glob_rule_files(const char *filename, const struct s_file *f, size_t *n_out, FILE *errout)
{
    char *copy = fw_strdup(filename);
    const char *dir = dirname(copy);
    char **paths = NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->n_rule_files; i++) {
        const char *rf = f->rule_files[i];
        // filepath.Join: no "./" in front of a file next to a test file given bare.
        bool here = rf[0] == '/' || rf[0] == '\0' || strcmp(dir, ".") == 0;
        char *pat = here ? fw_strdup(rf) : fw_asprintf("%s/%s", dir, rf);
        glob_t g = {0};
        if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0)
            fprintf(errout, "  WARNING: no file match pattern %s\n", pat);
        for (size_t k = 0; k < g.gl_pathc; k++) {
            paths = fw_realloc(paths, (n + 1) * sizeof(*paths));
            paths[n++] = fw_strdup(g.gl_pathv[k]);
        }
        globfree(&g);
        free(pat);
    }
    free(copy);
    *n_out = n;
    return paths;
}

// One file: its errors (NULL when it passed) into errs.
static void
s_run_file(const char *filename, const char *tsdb_bin, FILE *out, FILE *errout, struct s_errs *errs)
{
    fprintf(out, "Unit Testing:  %s\n", filename);
    fflush(out);
    struct s_file f = {0};
    struct fw_cfg_errors ce = {0};
    if (fw_cfg_load(filename, NULL, s_file_fields, &f, &ce) < 0) {
        struct ruled_test_buf b = {0};
        bool go = ruled_test_yaml_unknown_keys(&b, &ce, false); // else file:line:col: error:
        for (size_t j = 0; !go && j < ce.len; j++) {
            char buf[1024];
            ruled_test_buf_printf(&b, "%s%s", j ? "\n" : "",
                                  fw_err_format(&ce.items[j], buf, sizeof(buf)));
        }
        s_err_take(errs, &b);
        fw_cfg_free(s_file_fields, &f);
        return;
    }
    size_t n_paths = 0;
    char **paths = s_glob_rule_files(filename, &f, &n_paths, errout);
    if (f.evaluation_interval_ms <= 0)
        f.evaluation_interval_ms = 60000;
    for (size_t i = 0; i < f.n_order; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(f.order[i], f.order[j]) == 0 && errs->len == 0) {
                {
                    struct ruled_test_buf b = {0};
                    ruled_test_buf_printf(&b, "group name repeated in evaluation order: %s",
                                          f.order[i]);
                    s_err_take(errs, &b);
                }
                goto out;
            }
    for (size_t i = 0; i < f.n_tests; i++)
        s_run_group(&f, paths, n_paths, &f.tests[i], tsdb_bin, errs);
out:
    for (size_t i = 0; i < n_paths; i++)
        free(paths[i]);
    free(paths);
    fw_cfg_free(s_file_fields, &f);
}

// --enable-feature=a,b: promtool 2.42's two PromQL features are always on here (promtool
// says so too); anything else is unknown, as promtool warns and goes on.
static void
s_features(const char *list, FILE *errout)
{
    char *copy = fw_strdup(list), *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (strcmp(f, "promql-at-modifier") == 0 || strcmp(f, "promql-negative-offset") == 0)
            fprintf(errout,
                    "  WARNING: Option for --enable-feature is a no-op after promotion to a "
                    "stable feature: \"%s\"\n",
                    f);
        else
            fprintf(errout, "  WARNING: Unknown option for --enable-feature: \"%s\"\n", f);
    }
    free(copy);
}

// Flags and paths as promtool checks them (kingpin): an error is "ruled: error: ..., try
// --help" and exit 1 before any test runs. Files are moved to the front of argv; returns
// their count, or -1 (printed), or -2 for --help (printed).
static int
s_args(int argc, char **argv, FILE *out, FILE *errout)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fprintf(out, "usage: ruled test [--enable-feature=LIST] FILE...\n"
                         "Run rule unit tests in promtool's format (ruled.8, RULE UNIT TESTS).\n");
            return -2;
        }
        if (strncmp(a, "--enable-feature=", 17) == 0) {
            s_features(a + 17, errout);
        } else if (strcmp(a, "--enable-feature") == 0 && i + 1 < argc) {
            s_features(argv[++i], errout);
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(errout, "ruled: error: unknown %s flag '%s', try --help\n",
                    a[1] == '-' ? "long" : "short", a);
            return -1;
        } else if (access(a, F_OK) != 0) {
            fprintf(errout, "ruled: error: path '%s' does not exist, try --help\n", a);
            return -1;
        } else {
            argv[n++] = argv[i];
        }
    }
    if (n == 0) {
        fprintf(errout, "ruled: error: required argument 'test-rule-file' not provided, try "
                        "--help\n");
        return -1;
    }
    return n;
}

int
ruled_test_main(int argc, char **argv, FILE *out, FILE *errout)
{
    int n_files = s_args(argc, argv, out, errout);
    if (n_files < 0)
        return n_files == -2 ? 0 : 1;
    fw_log_init("ruled", FW_LOG_ERROR, FW_LOG_LOGFMT);
    fw_process_init();
    char *bin = ruled_test_tsdb_binary();
    bool failed = false;
    for (int i = 0; i < n_files && !zsys_interrupted; i++) {
        struct s_errs errs = {0};
        s_run_file(argv[i], bin, out, errout, &errs);
        if (errs.len) {
            fflush(out);
            fprintf(errout, "  FAILED:\n");
            for (size_t k = 0; k < errs.len; k++) {
                fprintf(errout, "%s\n", errs.items[k]);
                fflush(errout);
                fprintf(out, "\n");
                fflush(out);
                free(errs.items[k]);
            }
            free(errs.items);
            failed = true;
        } else {
            fprintf(out, "  SUCCESS\n");
        }
        fprintf(out, "\n");
        fflush(out);
    }
    free(bin);
    return failed || zsys_interrupted ? 1 : 0;
}
