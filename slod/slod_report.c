/*  slod_report.c — SLO status as JSON and as a table; the `slod report` command.
 */
#include "slod_report.h"

#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_ports.h"
#include "fw_query.h"
#include "fw_time.h"
#include "slod.h"
#include "slod_alert.h"

json_t *
slod_report_json(const struct slod_cfg *cfg, const slod_eval_t *eval)
{
    json_t *slos = json_array();
    for (size_t i = 0; i < cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &cfg->slos[i];
        const struct slod_status *st = slod_eval_status(eval, i);
        // jansson: every *_set_new / append_new below steals the new value.
        json_t *o = json_object(), *windows = json_object(), *alerts = json_object();
        json_object_set_new(o, "id", json_string(s->id));
        json_object_set_new(o, "name", json_string(s->name));
        json_object_set_new(o, "service", json_string(s->service));
        json_object_set_new(o, "objective", json_real(s->objective));
        json_object_set_new(o, "window", json_string(s->window));
        for (size_t w = 0; w < s->n_windows; w++) {
            if (!st->have[w])
                continue;
            json_object_set_new(windows, s->window_names[w],
                                json_pack("{s:f, s:f, s:f}", "errorRatio", st->error_ratio[w],
                                          "sli", 1 - st->error_ratio[w], "burnRate",
                                          st->burn_rate[w]));
        }
        json_object_set_new(o, "windows", windows);
        if (st->have[s->period_i]) {
            double burn = st->burn_rate[s->period_i];
            json_object_set_new(o, "sli", json_real(1 - st->error_ratio[s->period_i]));
            json_object_set_new(o, "errorBudgetRemaining", json_real(1 - burn));
            json_object_set_new(o, "errorBudgetConsumed", json_real(burn));
        }
        json_object_set_new(o, "periodBuckets", json_integer((json_int_t)st->period_buckets));
        for (int sev = 0; sev < SLOD_N_SEVERITIES; sev++) {
            const struct slod_alert_cfg *ac =
                sev == SLOD_PAGE ? &s->alerting.page_alert : &s->alerting.ticket_alert;
            const char *state = ac->disable ? "disabled" : st->firing[sev] ? "firing" : "inactive";
            json_object_set_new(alerts, slod_alert_severity_name(sev), json_string(state));
        }
        json_object_set_new(o, "alerts", alerts);
        json_array_append_new(slos, o);
    }
    return json_pack("{s:o}", "slos", slos); // o steals slos
}

static void
s_cell(char *buf, size_t size, bool have, double v, double scale, const char *unit)
{
    if (have)
        snprintf(buf, size, "%.4g%s", v * scale, unit);
    else
        snprintf(buf, size, "-");
}

void
slod_report_table(FILE *out, const struct slod_cfg *cfg, const slod_eval_t *eval)
{
    fprintf(out, "%-32s %9s %6s %10s %12s", "SLO", "OBJECTIVE", "WINDOW", "SLI", "BUDGET LEFT");
    for (size_t w = 0; w < SLOD_N_FIXED_WINDOWS; w++)
        fprintf(out, " %8s", slod_fixed_windows[w]);
    fprintf(out, " %8s  %s\n", "PERIOD", "ALERTS");
    for (size_t i = 0; i < cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &cfg->slos[i];
        const struct slod_status *st = slod_eval_status(eval, i);
        char obj[32], sli[32], left[32], cell[32];
        snprintf(obj, sizeof(obj), "%g%%", s->objective);
        bool hp = st->have[s->period_i];
        s_cell(sli, sizeof(sli), hp, 1 - st->error_ratio[s->period_i], 100, "%");
        s_cell(left, sizeof(left), hp, 1 - st->burn_rate[s->period_i], 100, "%");
        fprintf(out, "%-32s %9s %6s %10s %12s", s->id, obj, s->window, sli, left);
        for (size_t w = 0; w < SLOD_N_FIXED_WINDOWS; w++) {
            s_cell(cell, sizeof(cell), st->have[w], st->burn_rate[w], 1, "x");
            fprintf(out, " %8s", cell);
        }
        s_cell(cell, sizeof(cell), hp, st->burn_rate[s->period_i], 1, "x");
        fprintf(out, " %8s  ", cell);
        const char *sep = "";
        for (int sev = 0; sev < SLOD_N_SEVERITIES; sev++)
            if (st->firing[sev]) {
                fprintf(out, "%s%s", sep, slod_alert_severity_name(sev));
                sep = ",";
            }
        fprintf(out, "%s\n", sep[0] ? "" : "-");
    }
}

// =================================================================================
//  slod report
// =================================================================================

struct s_report_opts {
    const char *config_file, *query_address, *time, *output, *storage_path;
    int64_t query_timeout_ms;
};

static const struct fw_flag s_report_flags[] = {
    {"config.file", FW_FLAG_STR, offsetof(struct s_report_opts, config_file), NULL,
     "SLO configuration (default: the embedded example config)"},
    {"zmq.query-address", FW_FLAG_STR, offsetof(struct s_report_opts, query_address),
     FW_ZMQ_TSDB_QUERY, "tsdb's query endpoint"},
    {"time", FW_FLAG_STR, offsetof(struct s_report_opts, time), NULL,
     "evaluation time, RFC 3339 or Unix seconds (default: now)"},
    {"output", FW_FLAG_STR, offsetof(struct s_report_opts, output), "table", "table or json"},
    {"storage.path", FW_FLAG_STR, offsetof(struct s_report_opts, storage_path), "",
     "slod's --storage.path, to start from its rings (read only)"},
    {"query.timeout", FW_FLAG_DURATION, offsetof(struct s_report_opts, query_timeout_ms), "30s",
     "how long one query may take"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
slod_report_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct s_report_opts o = {0};
    int rc = fw_flags_parse(argc, argv, "slod report",
                            "evaluates every SLO once and prints the result", s_report_flags, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    bool json = strcmp(o.output, "json") == 0;
    if (!json && strcmp(o.output, "table") != 0) {
        fprintf(err, "slod report: --output must be table or json, not '%s'\n", o.output);
        return 2;
    }
    int64_t t_ms = fw_time_now_ms();
    if (o.time && fw_time_parse(o.time, &t_ms) < 0) {
        fprintf(err, "slod report: --time '%s' is not RFC 3339 or Unix seconds\n", o.time);
        return 2;
    }
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    if (slod_load_config(o.config_file, &cfg, errs) < 0) {
        fw_cfg_errors_report(errs, true);
        slod_cfg_free(&cfg);
        free(errs);
        return 2;
    }
    free(errs);
    struct slod_query_client c = {fw_query_client_new(o.query_address, 1LL << 30, NULL),
                                  (int)o.query_timeout_ms};
    if (!c.client) {
        fprintf(err, "slod report: bad --zmq.query-address '%s'\n", o.query_address);
        slod_cfg_free(&cfg);
        return 2;
    }
    slod_eval_t *eval = slod_eval_new(&cfg, 0);
    if (o.storage_path[0])
        slod_eval_load_journal(eval, o.storage_path);
    struct slod_eval_result res;
    slod_eval_run(eval, t_ms, slod_eval_query, &c, &res, NULL);
    size_t failed = res.queries_failed;
    slod_eval_result_clear(&res);
    if (json) {
        json_t *j = slod_report_json(&cfg, eval);
        json_object_set_new(j, "time", json_real((double)t_ms / 1000.0)); // steals
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        fprintf(out, "%s\n", text);
        free(text);
        json_decref(j);
    } else {
        slod_report_table(out, &cfg, eval);
    }
    if (failed)
        fprintf(err, "slod report: %zu queries failed (see the log)\n", failed);
    slod_eval_destroy(&eval);
    fw_query_client_destroy(&c.client);
    slod_cfg_free(&cfg);
    return failed ? 1 : 0;
}
