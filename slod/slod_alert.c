/*  slod_alert.c — SLO alert state and JSON (see slod_alert.h).
 */
#include "slod_alert.h"

#include <stdio.h>
#include <stdlib.h>

#include "fw_log.h"
#include "fw_time.h"
#include "fw_tmpl_alert.h"
#include "slod_eval.h"

#define S_RESEND_DELAY_MS (60 * 1000)

const char *
slod_alert_severity_name(int severity)
{
    return severity == SLOD_PAGE ? "page" : "ticket";
}

void
slod_alert_step(struct slod_alert_state *as, const struct slod_slo_cfg *s, int severity,
                bool burning, size_t which, const struct slod_status *st, int64_t t_ms)
{
    if (burning) {
        const struct slod_window_cfg *aw = &s->alerting.windows[which];
        as->window = which;
        as->burn_long = st->burn_rate[aw->long_i];
        as->burn_short = st->burn_rate[aw->short_i];
    }
    if (burning && as->firing_since_ms == 0) {
        as->firing_since_ms = t_ms;
        as->resolved_at_ms = 0;
        fw_info("slo.alert.firing", "slo=%s severity=%s burn_long=%g burn_short=%g", s->id,
                slod_alert_severity_name(severity), as->burn_long, as->burn_short);
    } else if (!burning && as->firing_since_ms != 0) {
        as->resolved_start_ms = as->firing_since_ms;
        as->firing_since_ms = 0;
        as->resolved_at_ms = t_ms;
        fw_info("slo.alert.resolved", "slo=%s severity=%s", s->id,
                slod_alert_severity_name(severity));
    }
}

static json_t *
s_time_json(int64_t ms)
{
    char buf[40];
    return json_string(fw_time_rfc3339(ms, buf, sizeof(buf)));
}

// jansson: json_object_set_new steals each new value.
static void
s_set_all(json_t *o, const struct fw_labels *l)
{
    for (size_t j = 0; j < l->len; j++)
        json_object_set_new(o, l->items[j].name, json_string(l->items[j].value));
}

// Set every value of l, expanded as a Go template over d (as Prometheus expands the rules
// `slod generate` writes); one that fails is logged and sent as Prometheus sends it.
static void
s_set_expanded(json_t *o, const struct fw_labels *l, const struct fw_tmpl_alert_data *d,
               const char *sev)
{
    for (size_t j = 0; j < l->len; j++) {
        fw_err_t err = {0};
        char *v = fw_tmpl_alert_render(l->items[j].value, d, &err);
        if (err.msg[0])
            fw_warn("slo.alert.template.fail", "slo=%s severity=%s key=%s err=%s", d->rule_name,
                    sev, l->items[j].name, err.msg);
        json_object_set_new(o, l->items[j].name, json_string(v));
        free(v);
    }
}

void
slod_alert_json(const struct slod_alert_state *as, const struct slod_cfg *cfg,
                const struct slod_slo_cfg *s, int severity, int64_t t_ms, json_t *alerts)
{
    int64_t interval_ms = cfg->evaluation_interval_ms;
    bool firing = as->firing_since_ms != 0;
    if (!firing && as->resolved_at_ms == 0)
        return;
    const struct slod_alert_cfg *ac =
        severity == SLOD_PAGE ? &s->alerting.page_alert : &s->alerting.ticket_alert;
    const char *sev = slod_alert_severity_name(severity);
    int64_t delta = interval_ms > S_RESEND_DELAY_MS ? interval_ms : S_RESEND_DELAY_MS;
    // jansson: every json_object_set_new below steals the new value.
    // Template data as Prometheus has it for the generated rule: $labels are the result
    // series' (the SLO's labels and sloth_id/service/slo), $value the short window's error
    // ratio (the left operand of the first `and` that holds).
    struct fw_labels series = FW_LABELS_INIT;
    fw_labels_copy(&series, &s->labels);
    fw_labels_set(&series, "sloth_id", s->id);
    fw_labels_set(&series, "sloth_service", s->service);
    fw_labels_set(&series, "sloth_slo", s->name);
    const struct fw_tmpl_alert_data d = {&series,
                                         &cfg->external_labels,
                                         cfg->external_url,
                                         as->burn_short * slod_cfg_budget(s),
                                         s->alerting.name,
                                         NULL,
                                         NULL,
                                         0};
    json_t *labels = json_object();
    s_set_all(labels, &series);
    s_set_expanded(labels, &s->alerting.labels, &d, sev);
    json_object_set_new(labels, "alertname", json_string(s->alerting.name));
    json_object_set_new(labels, "sloth_severity", json_string(sev));
    json_object_set_new(labels, "severity", json_string(sev));
    s_set_expanded(labels, &ac->labels, &d, sev);
    for (size_t j = 0; j < cfg->external_labels.len; j++)
        if (!json_object_get(labels, cfg->external_labels.items[j].name))
            json_object_set_new(labels, cfg->external_labels.items[j].name,
                                json_string(cfg->external_labels.items[j].value));

    const struct slod_window_cfg *aw = &s->alerting.windows[as->window];
    char summary[512], title[512], desc[768];
    snprintf(summary, sizeof(summary), "%s %s SLO error budget burn rate is over expected.",
             s->service, s->name);
    snprintf(title, sizeof(title), "(%s) %s %s SLO error budget burn rate is too fast.", sev,
             s->service, s->name);
    snprintf(desc, sizeof(desc),
             "Burn rate %.4g over %s and %.4g over %s, both above %.4g: at this rate the %s "
             "error budget of SLO %s (objective %g%%) runs out early.",
             as->burn_long, s->window_names[aw->long_i], as->burn_short,
             s->window_names[aw->short_i], aw->burn_rate, s->window, s->id, s->objective);
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(summary));
    json_object_set_new(ann, "title", json_string(title));
    json_object_set_new(ann, "description", json_string(desc));
    s_set_expanded(ann, &s->alerting.annotations, &d, sev);
    s_set_expanded(ann, &ac->annotations, &d, sev);
    fw_labels_clear(&series);
    json_t *a = json_object();
    json_object_set_new(a, "labels", labels);
    json_object_set_new(a, "annotations", ann);
    json_object_set_new(a, "startsAt",
                        s_time_json(firing ? as->firing_since_ms : as->resolved_start_ms));
    json_object_set_new(a, "endsAt", s_time_json(firing ? t_ms + 4 * delta : as->resolved_at_ms));
    json_array_append_new(alerts, a); // steals a
}
