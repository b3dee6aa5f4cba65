/*  slod_gen.c — write the Prometheus rules equivalent to slod's evaluation (slod_gen.h).

    Strings go out as YAML double-quoted scalars through jansson's JSON string encoding
    (JSON strings are valid YAML), and expressions as literal block scalars, so no query or
    label value can break the file.
*/
#include "slod_gen.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_mem.h"
#include "slod.h"
#include "slod_alert.h"

// Print s as a YAML double-quoted scalar.
static void
s_q(FILE *out, const char *s)
{
    json_t *j = json_string(s ? s : "");
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(t ? t : "\"\"", out);
    free(t);
    json_decref(j);
}

// Print expr as a literal block scalar indented by `indent` spaces.
static void
s_block(FILE *out, const char *expr, int indent)
{
    fputs("|-\n", out);
    for (const char *p = expr; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(out, "%*s%.*s\n", indent, "", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
}

// The selector of the SLO's id labels: {sloth_id="..", sloth_service="..", sloth_slo=".."}.
static void
s_sel(FILE *out, const struct slod_slo_cfg *s)
{
    fputs("{sloth_id=", out);
    s_q(out, s->id);
    fputs(", sloth_service=", out);
    s_q(out, s->service);
    fputs(", sloth_slo=", out);
    s_q(out, s->name);
    fputs("}", out);
}

static void
s_labels(FILE *out, const struct slod_slo_cfg *s, const char *window, int indent)
{
    fprintf(out, "%*slabels:\n", indent, "");
    for (size_t i = 0; i < s->labels.len; i++) {
        fprintf(out, "%*s  %s: ", indent, "", s->labels.items[i].name);
        s_q(out, s->labels.items[i].value);
        fputs("\n", out);
    }
    fprintf(out, "%*s  sloth_id: ", indent, "");
    s_q(out, s->id);
    fprintf(out, "\n%*s  sloth_service: ", indent, "");
    s_q(out, s->service);
    fprintf(out, "\n%*s  sloth_slo: ", indent, "");
    s_q(out, s->name);
    fputs("\n", out);
    if (window) {
        fprintf(out, "%*s  sloth_window: ", indent, "");
        s_q(out, window);
        fputs("\n", out);
    }
}

static void
s_record(FILE *out, const char *record, const char *expr, const struct slod_slo_cfg *s,
         const char *window)
{
    fprintf(out, "  - record: %s\n    expr: ", record);
    s_block(out, expr, 6);
    s_labels(out, s, window, 4);
}

// Start the group slod-slo-<kind>-<id>.
static void
s_group(FILE *out, const char *kind, const struct slod_slo_cfg *s)
{
    fputs("- name: ", out);
    char *name = fw_asprintf("slod-slo-%s-%s", kind, s->id);
    s_q(out, name);
    free(name);
    fputs("\n  rules:\n", out);
}

static void
s_sli_group(FILE *out, const struct slod_slo_cfg *s)
{
    s_group(out, "sli-recordings", s);
    char rec[96];
    for (size_t w = 0; w < s->n_windows; w++) {
        const char *win = s->window_names[w];
        snprintf(rec, sizeof(rec), "slo:sli_error:ratio_rate%s", win);
        char *expr;
        if (w >= SLOD_N_FIXED_WINDOWS) {
            // The period: the 5-minute ratio averaged over it, as Sloth records it.
            char *b = NULL;
            size_t bl = 0;
            FILE *m = open_memstream(&b, &bl);
            fputs("sum_over_time(slo:sli_error:ratio_rate5m", m);
            s_sel(m, s);
            fprintf(m,
                    "[%s])\n/ ignoring (sloth_window)\ncount_over_time(slo:sli_error:ratio_rate5m",
                    win);
            s_sel(m, s);
            fprintf(m, "[%s])", win);
            fclose(m);
            expr = b;
        } else {
            char *bad = slod_cfg_expand(s->sli.q_bad, win);
            if (s->sli.kind == SLOD_SLI_RAW) {
                expr = bad;
                bad = NULL;
            } else {
                char *total = slod_cfg_expand(s->sli.q_total, win);
                expr = fw_asprintf("(%s)\n/\n(%s)", bad, total);
                free(total);
            }
            free(bad);
        }
        s_record(out, rec, expr, s, win);
        free(expr);
    }
}

static void
s_meta_group(FILE *out, const struct slod_slo_cfg *s)
{
    s_group(out, "meta-recordings", s);
    char *e = fw_asprintf("vector(%.17g)", s->objective / 100.0);
    s_record(out, "slo:objective:ratio", e, s, NULL);
    free(e);
    e = fw_asprintf("vector(%.17g)", slod_cfg_budget(s));
    s_record(out, "slo:error_budget:ratio", e, s, NULL);
    free(e);
    e = fw_asprintf("vector(%.17g)", (double)s->window_ms / 86400000.0);
    s_record(out, "slo:time_period:days", e, s, NULL);
    free(e);
    const char *burns[2][2] = {{"slo:current_burn_rate:ratio", "5m"},
                               {"slo:period_burn_rate:ratio", s->window}};
    for (size_t k = 0; k < 2; k++) {
        char *b = NULL;
        size_t bl = 0;
        FILE *m = open_memstream(&b, &bl);
        fprintf(m, "slo:sli_error:ratio_rate%s", burns[k][1]);
        s_sel(m, s);
        fputs("\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio", m);
        s_sel(m, s);
        fclose(m);
        s_record(out, burns[k][0], b, s, NULL);
        free(b);
    }
    char *b = NULL;
    size_t bl = 0;
    FILE *m = open_memstream(&b, &bl);
    fputs("1 - slo:period_burn_rate:ratio", m);
    s_sel(m, s);
    fclose(m);
    s_record(out, "slo:period_error_budget_remaining:ratio", b, s, NULL);
    free(b);
    s_record(out, "sloth_slo_info", "vector(1)", s, NULL);
    fprintf(out,
            "      sloth_mode: \"slod\"\n      sloth_spec: \"prometheus/v1\"\n"
            "      sloth_objective: \"%g\"\n",
            s->objective);
}

static void
s_alert(FILE *out, const struct slod_slo_cfg *s, int sev)
{
    const struct slod_alert_cfg *ac =
        sev == SLOD_PAGE ? &s->alerting.page_alert : &s->alerting.ticket_alert;
    char *b = NULL;
    size_t bl = 0;
    FILE *m = open_memstream(&b, &bl);
    const char * or = "";
    for (size_t k = 0; k < s->alerting.n_windows; k++) {
        const struct slod_window_cfg *aw = &s->alerting.windows[k];
        if (aw->severity != sev)
            continue;
        size_t ws[2] = {aw->short_i, aw->long_i};
        fprintf(m, "%s(\n", or);
        for (size_t j = 0; j < 2; j++) {
            fprintf(m, "    %smax(slo:sli_error:ratio_rate%s", j ? "and\n    " : "",
                    s->window_names[ws[j]]);
            s_sel(m, s);
            fprintf(m, " > (%.17g * %.17g)) without (sloth_window)\n", aw->burn_rate,
                    slod_cfg_budget(s));
        }
        fputs(")", m);
        or = "\nor\n";
    }
    fclose(m);
    const char *name = slod_alert_severity_name(sev);
    fputs("  - alert: ", out);
    s_q(out, s->alerting.name);
    fputs("\n    expr: ", out);
    s_block(out, b, 6);
    free(b);
    fprintf(out, "    labels:\n      sloth_severity: \"%s\"\n", name);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "severity", name);
    // The id labels are on the expression's result already; on the rule they keep two SLOs'
    // alerts of one name apart for promtool's duplicate-rule lint.
    fw_labels_set(&l, "sloth_id", s->id);
    fw_labels_set(&l, "sloth_service", s->service);
    fw_labels_set(&l, "sloth_slo", s->name);
    for (size_t pass = 0; pass < 2; pass++) {
        const struct fw_labels *src = pass ? &ac->labels : &s->alerting.labels;
        for (size_t i = 0; i < src->len; i++)
            fw_labels_set(&l, src->items[i].name, src->items[i].value);
    }
    for (size_t i = 0; i < l.len; i++) {
        fprintf(out, "      %s: ", l.items[i].name);
        s_q(out, l.items[i].value);
        fputs("\n", out);
    }
    fw_labels_clear(&l);
    struct fw_labels ann = FW_LABELS_INIT;
    fw_labels_set(&ann, "summary",
                  "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate "
                  "is over expected.");
    char *t = fw_asprintf("(%s) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error "
                          "budget burn rate is too fast.",
                          name);
    fw_labels_set(&ann, "title", t);
    free(t);
    for (size_t pass = 0; pass < 2; pass++) {
        const struct fw_labels *a = pass ? &ac->annotations : &s->alerting.annotations;
        for (size_t i = 0; i < a->len; i++)
            fw_labels_set(&ann, a->items[i].name, a->items[i].value);
    }
    fputs("    annotations:\n", out);
    for (size_t i = 0; i < ann.len; i++) {
        fprintf(out, "      %s: ", ann.items[i].name);
        s_q(out, ann.items[i].value);
        fputs("\n", out);
    }
    fw_labels_clear(&ann);
}

// Whether severity sev has an alert to write.
static bool
s_has_alert(const struct slod_slo_cfg *s, int sev)
{
    const struct slod_alert_cfg *ac =
        sev == SLOD_PAGE ? &s->alerting.page_alert : &s->alerting.ticket_alert;
    for (size_t k = 0; !ac->disable && k < s->alerting.n_windows; k++)
        if (s->alerting.windows[k].severity == sev)
            return true;
    return false;
}

void
slod_gen_rules(FILE *out, const struct slod_cfg *cfg, const char *source)
{
    fprintf(out,
            "# Generated by slod generate from %s: the recording and alerting rules\n"
            "# equivalent to slod's evaluation (Sloth's layout). Do not edit.\n\ngroups:\n",
            source);
    for (size_t i = 0; i < cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &cfg->slos[i];
        s_sli_group(out, s);
        s_meta_group(out, s);
        s_group(out, "alerts", s);
        bool any = false;
        for (int sev = 0; sev < SLOD_N_SEVERITIES; sev++)
            if (s_has_alert(s, sev)) {
                s_alert(out, s, sev);
                any = true;
            }
        if (!any)
            fputs("    []\n", out);
    }
}

// =================================================================================
//  slod generate
// =================================================================================

struct s_gen_opts {
    const char *config_file, *output;
};

static const struct fw_flag s_gen_flags[] = {
    {"config.file", FW_FLAG_STR, offsetof(struct s_gen_opts, config_file), NULL,
     "SLO configuration (default: the embedded example config)"},
    {"output", FW_FLAG_STR, offsetof(struct s_gen_opts, output), "-",
     "rule file to write; - for stdout"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
slod_gen_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct s_gen_opts o = {0};
    int rc = fw_flags_parse(argc, argv, "slod generate",
                            "writes the equivalent Prometheus recording and alerting rules",
                            s_gen_flags, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    rc = slod_load_config(o.config_file, &cfg, errs);
    if (rc < 0)
        fw_cfg_errors_report(errs, true);
    free(errs);
    if (rc < 0) {
        slod_cfg_free(&cfg);
        return 2;
    }
    FILE *f = strcmp(o.output, "-") == 0 ? out : fopen(o.output, "w");
    if (!f) {
        fprintf(err, "slod generate: cannot write %s\n", o.output);
        slod_cfg_free(&cfg);
        return 1;
    }
    slod_gen_rules(f, &cfg, o.config_file ? o.config_file : "the embedded default");
    rc = f != out && fclose(f) != 0 ? 1 : 0;
    if (f == out && fflush(out) != 0)
        rc = 1;
    slod_cfg_free(&cfg);
    return rc;
}
