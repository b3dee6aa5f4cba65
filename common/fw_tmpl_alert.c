/*  fw_tmpl_alert.c — alert label and annotation templates over the project's Go template engine
    (common/fw_tmpl), with the data and variables Prometheus gives them.

    Prometheus (rules/alerting.go) prefixes every text with
        {{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}
        {{$externalURL := .ExternalURL}}{{$value := .Value}}
    (one line) and runs it as template "__alert_<rule>" over AlertTemplateData; we do the same,
    so positions in errors are Prometheus's. Functions: Prometheus's (fw_tmpl_set_use_prometheus);
    `query` calls the expansion's query function, found through a thread-local pointer because
    the template sets are shared by every thread (template/template.go's query: each sample
    becomes {Labels: map, Value: float}). Shared by ruled (alerting rules) and slod (SLO
    alerts, no query function).
*/
#include "fw_tmpl_alert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_mem.h"
#include "fw_tmpl.h"

static const char s_prefix[] = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
                               "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

// The data of the expansion running on this thread (NULL outside fw_tmpl_alert_expand).
static _Thread_local const struct fw_tmpl_alert_data *s_current;

static json_t *
s_labels(const struct fw_labels *l)
{
    json_t *o = json_object();
    for (size_t i = 0; l && i < l->len; i++)
        json_object_set_new(o, l->items[i].name, json_string(l->items[i].value));
    return o;
}

static int
s_query(void *user, json_t *const *args, size_t nargs, json_t **result, char *errbuf,
        size_t errsize)
{
    (void)user, (void)nargs;
    const struct fw_tmpl_alert_data *d = s_current;
    if (!d || !d->query) {
        snprintf(errbuf, errsize, "query is not supported in these templates");
        return -1;
    }
    struct fw_vector vec = {0};
    fw_err_t err = {0};
    if (d->query(d->query_arg, json_string_value(args[0]), d->query_t_ms, &vec, &err) < 0) {
        snprintf(errbuf, errsize, "%s", err.msg);
        fw_vector_clear(&vec);
        return -1;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < vec.len; i++) // jansson *_new steal their argument
        json_array_append_new(out, json_pack("{s:o, s:f}", "Labels", s_labels(&vec.items[i].labels),
                                             "Value", vec.items[i].v));
    fw_vector_clear(&vec);
    *result = out;
    return 0;
}

static fw_tmpl_set_t *
s_set(const char *external_url)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_prometheus(set, external_url, s_query, NULL);
    // rules/alerting.go expands with missingkey=zero: a missing label is "" (promtool 2.42)
    fw_tmpl_set_missingkey(set, FW_TMPL_MISSINGKEY_ZERO);
    return set;
}

// Sets are read-only once built (expansion uses fw_tmpl_exec_text, which does not change
// them), so one per external URL is shared by every thread and kept until exit; past a few
// URLs (reloads changing --web.external-url do not happen often) a set is built per call.
enum { S_CACHED_SETS = 4 };
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *url;
    fw_tmpl_set_t *set;
} s_cache[S_CACHED_SETS];

static fw_tmpl_set_t *
s_set_get(const char *external_url, bool *owned)
{
    const char *url = external_url ? external_url : "";
    fw_tmpl_set_t *set = NULL;
    pthread_mutex_lock(&s_cache_lock);
    for (size_t i = 0; i < S_CACHED_SETS && !set; i++) {
        if (!s_cache[i].url) {
            s_cache[i].url = fw_strdup(url);
            s_cache[i].set = s_set(url);
        }
        if (strcmp(s_cache[i].url, url) == 0)
            set = s_cache[i].set;
    }
    pthread_mutex_unlock(&s_cache_lock);
    *owned = set == NULL;
    return set ? set : s_set(url);
}

char *
fw_tmpl_alert_expand(const char *text, const struct fw_tmpl_alert_data *data, fw_err_t *err)
{
    char *name = fw_asprintf("__alert_%s", data->rule_name ? data->rule_name : "");
    char *full = fw_asprintf("%s%s", s_prefix, text);
    json_t *d = json_object();
    json_object_set_new(d, "Labels", s_labels(data->labels));
    json_object_set_new(d, "ExternalLabels", s_labels(data->external_labels));
    json_object_set_new(d, "ExternalURL",
                        json_string(data->external_url ? data->external_url : ""));
    json_object_set_new(d, "Value", json_real(data->value));
    bool owned;
    fw_tmpl_set_t *set = s_set_get(data->external_url, &owned);
    char *out = NULL;
    fw_err_t e = {0};
    const struct fw_tmpl_alert_data *outer = s_current; // a query function may expand too
    s_current = data;
    int rc = fw_tmpl_exec_text(set, name, full, d, &out, &e);
    s_current = outer;
    if (rc < 0) {
        fw_err_t pe;
        bool parse = fw_tmpl_check(set, name, full, &pe) < 0;
        fw_err_set(err, "error %s template %s: %s", parse ? "parsing" : "executing", name, e.msg);
    }
    if (owned)
        fw_tmpl_set_destroy(&set);
    json_decref(d);
    free(full);
    free(name);
    return out;
}

char *
fw_tmpl_alert_render(const char *text, const struct fw_tmpl_alert_data *data, fw_err_t *err)
{
    char *s = fw_tmpl_alert_expand(text, data, err);
    return s ? s : fw_asprintf("<error expanding template: %s>", err->msg);
}

int
fw_tmpl_alert_check(const char *text, fw_err_t *err)
{
    return fw_tmpl_alert_check_query(text, true, err);
}

int
fw_tmpl_alert_check_query(const char *text, bool query, fw_err_t *err)
{
    char *full = fw_asprintf("%s%s", s_prefix, text);
    bool owned = true;
    fw_tmpl_set_t *set = NULL;
    if (query) {
        set = s_set_get(NULL, &owned);
    } else { // a load-time check: a set of its own, without query
        set = fw_tmpl_set_new();
        fw_tmpl_set_use_prometheus(set, "", NULL, NULL);
        fw_tmpl_set_missingkey(set, FW_TMPL_MISSINGKEY_ZERO);
    }
    fw_err_t e = {0};
    int rc = fw_tmpl_check(set, "__alert_", full, &e);
    if (owned)
        fw_tmpl_set_destroy(&set);
    free(full);
    if (rc == 0)
        return 0;
    if (!query && strstr(e.msg, "function \"query\" not defined")) {
        char *p = strstr(e.msg, "function \"query\" not defined");
        snprintf(p, sizeof e.msg - (size_t)(p - e.msg),
                 "query: not supported by floorwatch in these templates");
    }
    // Go's message without "template: NAME:LINE: ", and the byte offset in text
    const char *msg = e.msg;
    const char *p = strstr(msg, "__alert_:");
    if (p && (p = strstr(p, ": ")) != NULL)
        msg = p + 2;
    size_t off = 0;
    int line = 1;
    for (; text[off] && line < e.line; off++)
        line += text[off] == '\n';
    int col = (int)off + e.col - (e.line <= 1 ? (int)sizeof(s_prefix) - 1 : 0);
    fw_err_set_at(err, NULL, e.line, col > 0 ? col : 1, "%s", msg);
    return -1;
}

static const char *
s_call(const char *fn, double v, char *buf, size_t size)
{
    bool owned;
    fw_tmpl_set_t *set = s_set_get(NULL, &owned);
    char *text = fw_asprintf("{{ %s . }}", fn);
    json_t *d = json_real(v);
    char *out = NULL;
    fw_err_t e;
    if (fw_tmpl_exec_text(set, "f", text, d, &out, &e) == 0)
        snprintf(buf, size, "%s", out);
    else
        snprintf(buf, size, "%s", "");
    free(out);
    json_decref(d);
    free(text);
    if (owned)
        fw_tmpl_set_destroy(&set);
    return buf;
}

const char *
fw_tmpl_alert_format_value(double v, char *buf, size_t size)
{
    return fw_gofloat_format(v, 'g', buf, size); // Go's %v of a float64
}

const char *
fw_tmpl_alert_humanize(double v, char *buf, size_t size)
{
    return s_call("humanize", v, buf, size);
}

const char *
fw_tmpl_alert_humanize_percentage(double v, char *buf, size_t size)
{
    return s_call("humanizePercentage", v, buf, size);
}

const char *
fw_tmpl_alert_humanize_duration(double v, char *buf, size_t size)
{
    return s_call("humanizeDuration", v, buf, size);
}
