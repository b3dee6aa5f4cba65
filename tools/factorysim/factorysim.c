/*  factorysim.c — a demo factory-floor exporter: production lines whose OEE can be broken.

    Serves /metrics (Prometheus text format 0.0.4) for N lines of 2 machines each, plus
    POST /trouble?line=X, POST /recover?line=X and GET /state (JSON).

    Design: no background ticking. Each line's counters are piecewise-linear in monotonic
    time: at every state change (trouble, recover) the accumulated values are brought up to
    date with the old rates, then the rates switch. A scrape evaluates acc + rate * elapsed,
    so the counters are monotonic, mutually consistent, and change slope the instant a line
    gets into trouble. Rates follow the OEE model the recording rules use:

        availability = actual runtime / planned runtime          (0.90 healthy, 0.40 trouble)
        performance  = ideal_cycle_time * units / actual runtime (0.95)
        quality      = good units / units                        (0.98 healthy, 0.80 trouble)

    factory_ideal_cycle_time_seconds{line} is the line's ideal time per unit with both
    machines running (one machine's cycle / 2), so the line's units per second is
    performance * availability / ideal_cycle_time, split evenly between its machines. Unit
    counters are whole numbers that stay monotonic: good and bad are floors of their own
    accumulators and produced = good + bad (flooring produced and good separately would let
    bad = produced - good step back, which Prometheus reads as a counter reset).
    Healthy OEE = 0.9 * 0.95 * 0.98 = 0.838; in trouble 0.4 * 0.95 * 0.8 = 0.304.

    The plant's rules (ruled/ruled.rules.yml) need more than OEE, and it follows from the same
    state: a production target per line (80 units/s, so a healthy line makes 105% of it and a
    troubled one 38%); rejected units split by scrap reason (dimension 50%, surface 30%,
    assembly 20%, each a floor of its own share, so each stays monotonic); Andon calls raised
    at trouble (quality and maintenance), acknowledged S_ANDON_ACK_S after they were raised
    or at recovery if sooner, and resolved at recovery, with the time to acknowledge and to
    resolve as summaries (_sum and _count); machine m1 of a line fails when the line gets
    into trouble and is repaired when it recovers (failures, repairs, up and down time per
    machine, for availability, MTBF and MTTR); each machine's tool wears with the units it
    makes and is changed at 1.0; for the cost rules, kube-state-metrics' and cAdvisor's
    series for two namespaces (floorwatch, production) as a cluster would expose them; and
    for the disk predictions, node_exporter's filesystem series of a data disk that fills.

    All state sits behind one mutex: libmicrohttpd answers on its own thread.
*/
#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_ports.h"
#include "fw_time.h"

#define S_MACHINES 2
#define S_MAX_LINES 64
#define S_MACHINE_CYCLE_S 0.02 // one machine's ideal time per unit
#define S_IDEAL_CYCLE_S (S_MACHINE_CYCLE_S / S_MACHINES)
#define S_PERFORMANCE 0.95

static const char *const s_kinds[] = {"quality", "material", "maintenance"};
#define S_KINDS 3
#define S_TARGET_UNITS_PER_S 80.0 // a line's production target
#define S_ANDON_ACK_S 45.0        // an Andon call is acknowledged this long after it is raised
#define S_WEAR_PER_UNIT 1e-6      // tool wear per unit made (a tool lasts ~6.5 h at 42.75/s)

static const struct {
    const char *name;
    double share;
} s_reasons[] = {{"dimension", 0.5}, {"surface", 0.3}, {"assembly", 0.2}};
#define S_REASONS 3

// Kubernetes workloads for the cost rules: requests, and what they use.
static const struct {
    const char *ns, *pod, *container;
    double cpu_request, mem_request, cpu_used, mem_used; // cores, bytes
} s_pods[] = {
    {"floorwatch", "tsdb-0", "tsdb", 0.5, 1073741824.0, 0.35, 805306368.0},
    {"floorwatch", "ruled-7d9f", "ruled", 0.05, 33554432.0, 0.02, 20971520.0},
    {"production", "mes-api-5c4b", "mes-api", 2.0, 4294967296.0, 2.6, 3221225472.0},
};
#define S_PODS 3
#define S_DISK_SIZE 100e9   // the line controller's data disk
#define S_DISK_FILL_BPS 1e6 // bytes a second written to it (60 GB free: full in ~17 h)

struct s_line {
    char name[24];
    bool trouble;
    int64_t since_mono; // ms of the last state change
    // values accumulated up to since_mono
    double planned_s, actual_s;
    double good[S_MACHINES], bad[S_MACHINES];
    double andon[S_KINDS];
    int64_t andon_raised[S_KINDS]; // ms of the open call's raise; 0: none open
    bool andon_acked[S_KINDS];
    double ack_n[S_KINDS], ack_s[S_KINDS]; // acknowledged calls, seconds to acknowledge
    double res_n[S_KINDS], res_s[S_KINDS]; // resolved calls, seconds to resolve
    double up_s[S_MACHINES], down_s[S_MACHINES];
    double failures[S_MACHINES], repairs[S_MACHINES];
};

struct s_opts {
    const char *listen;
    int64_t lines;
    const char *trouble;
    const char *log_level;
};

struct s_sim {
    pthread_mutex_t mu;
    int64_t start_mono;
    struct s_line lines[S_MAX_LINES];
    size_t n_lines;
};

struct s_conn {
    char body[256];
    size_t len;
};

// ---------------------------------------------------------------------------------------
//  The model

static double
s_availability(const struct s_line *l)
{
    return l->trouble ? 0.40 : 0.90;
}

static double
s_quality(const struct s_line *l)
{
    return l->trouble ? 0.80 : 0.98;
}

// Values of l at monotonic time now_ms, without changing l.
static void
s_line_at(const struct s_line *l, int64_t now_ms, struct s_line *out)
{
    *out = *l;
    double dt = (double)(now_ms - l->since_mono) / 1000.0;
    if (dt < 0)
        dt = 0;
    double a = s_availability(l);
    double units_per_s = S_PERFORMANCE * a / S_IDEAL_CYCLE_S;
    out->planned_s += dt;
    out->actual_s += a * dt;
    for (int m = 0; m < S_MACHINES; m++) {
        double produced = units_per_s / S_MACHINES * dt;
        out->good[m] += produced * s_quality(l);
        out->bad[m] += produced * (1 - s_quality(l));
        bool down = m == 0 && l->trouble; // a troubled line's first machine is broken
        out->down_s[m] += down ? dt : 0;
        out->up_s[m] += down ? 0 : dt;
    }
    // Calls still open get acknowledged S_ANDON_ACK_S after they were raised.
    for (int k = 0; k < S_KINDS; k++) {
        if (l->andon_raised[k] && !l->andon_acked[k] &&
            now_ms - l->andon_raised[k] >= (int64_t)(S_ANDON_ACK_S * 1000)) {
            out->andon_acked[k] = true;
            out->ack_n[k] += 1;
            out->ack_s[k] += S_ANDON_ACK_S;
        }
    }
    out->since_mono = now_ms;
}

static void
s_line_set_trouble(struct s_line *l, bool trouble, int64_t now_ms)
{
    if (l->trouble == trouble)
        return;
    s_line_at(l, now_ms, l);
    l->trouble = trouble;
    for (int k = 0; k < S_KINDS && trouble; k++) {
        if (k == 1 || l->andon_raised[k]) // material calls are not part of the model
            continue;
        l->andon[k] += 1;
        l->andon_raised[k] = now_ms;
        l->andon_acked[k] = false;
    }
    for (int k = 0; k < S_KINDS && !trouble; k++) {
        if (!l->andon_raised[k])
            continue;
        double open_s = (double)(now_ms - l->andon_raised[k]) / 1000.0;
        if (!l->andon_acked[k]) {
            l->ack_n[k] += 1;
            l->ack_s[k] += open_s;
        }
        l->res_n[k] += 1;
        l->res_s[k] += open_s;
        l->andon_raised[k] = 0;
        l->andon_acked[k] = false;
    }
    if (trouble)
        l->failures[0] += 1;
    else
        l->repairs[0] += 1;
    fw_info(trouble ? "line.trouble" : "line.recover", "line=%s", l->name);
}

static struct s_line *
s_find_line(struct s_sim *sim, const char *name)
{
    for (size_t i = 0; name && i < sim->n_lines; i++) {
        if (strcmp(sim->lines[i].name, name) == 0)
            return &sim->lines[i];
    }
    return NULL;
}

// ---------------------------------------------------------------------------------------
//  Rendering

struct s_buf {
    char *p;
    size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) s_put(struct s_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        fw_mem_grow((void **)&b->p, &b->cap, b->len + (size_t)n + 1024, 1);
    }
}

static void
s_family(struct s_buf *b, const char *name, const char *type, const char *help)
{
    s_put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

// Production target, scrap by reason, Andon timing, machines and tools.
static void
s_render_plant(struct s_buf *b, const struct s_line *now, size_t n)
{
    s_family(b, "factory_production_target_units_per_hour", "gauge",
             "Units the line is planned to make per hour.");
    for (size_t i = 0; i < n; i++)
        s_put(b, "factory_production_target_units_per_hour{line=\"%s\"} %.0f\n", now[i].name,
              S_TARGET_UNITS_PER_S * 3600);
    s_family(b, "factory_units_scrap_total", "counter", "Units scrapped, by reason.");
    for (size_t i = 0; i < n; i++)
        for (int m = 0; m < S_MACHINES; m++)
            for (int r = 0; r < S_REASONS; r++)
                s_put(b,
                      "factory_units_scrap_total{line=\"%s\",machine=\"m%d\",reason=\"%s\"} %.0f\n",
                      now[i].name, m + 1, s_reasons[r].name,
                      floor(now[i].bad[m] * s_reasons[r].share));
    s_family(b, "factory_andon_open", "gauge", "Andon calls raised and not yet resolved.");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < S_KINDS; k++)
            s_put(b, "factory_andon_open{kind=\"%s\",line=\"%s\"} %d\n", s_kinds[k], now[i].name,
                  now[i].andon_raised[k] ? 1 : 0);
    s_family(b, "factory_andon_unacknowledged", "gauge",
             "Andon calls raised and not yet acknowledged.");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < S_KINDS; k++)
            s_put(b, "factory_andon_unacknowledged{kind=\"%s\",line=\"%s\"} %d\n", s_kinds[k],
                  now[i].name, now[i].andon_raised[k] && !now[i].andon_acked[k] ? 1 : 0);
    static const struct {
        const char *name, *help;
        bool resolve;
    } durs[] = {
        {"factory_andon_acknowledge_duration_seconds",
         "Time from an Andon call to its acknowledgement.", false},
        {"factory_andon_resolve_duration_seconds", "Time from an Andon call to its resolution.",
         true},
    };
    for (size_t d = 0; d < 2; d++) {
        s_family(b, durs[d].name, "summary", durs[d].help);
        for (size_t i = 0; i < n; i++) {
            for (int k = 0; k < S_KINDS; k++) {
                const struct s_line *l = &now[i];
                s_put(b, "%s_sum{kind=\"%s\",line=\"%s\"} %.3f\n", durs[d].name, s_kinds[k],
                      l->name, durs[d].resolve ? l->res_s[k] : l->ack_s[k]);
                s_put(b, "%s_count{kind=\"%s\",line=\"%s\"} %.0f\n", durs[d].name, s_kinds[k],
                      l->name, durs[d].resolve ? l->res_n[k] : l->ack_n[k]);
            }
        }
    }
    s_family(b, "factory_machine_up", "gauge", "Whether the machine runs (1) or is broken (0).");
    for (size_t i = 0; i < n; i++)
        for (int m = 0; m < S_MACHINES; m++)
            s_put(b, "factory_machine_up{line=\"%s\",machine=\"m%d\"} %d\n", now[i].name, m + 1,
                  m == 0 && now[i].trouble ? 0 : 1);
    static const struct {
        const char *name, *help;
        int which; // 0 up, 1 down, 2 failures, 3 repairs
    } mach[] = {
        {"factory_machine_uptime_seconds_total", "Time the machine was running.", 0},
        {"factory_machine_downtime_seconds_total", "Time the machine was broken.", 1},
        {"factory_machine_failures_total", "Breakdowns of the machine.", 2},
        {"factory_machine_repairs_total", "Repairs of the machine.", 3},
    };
    for (size_t f = 0; f < 4; f++) {
        s_family(b, mach[f].name, "counter", mach[f].help);
        for (size_t i = 0; i < n; i++) {
            for (int m = 0; m < S_MACHINES; m++) {
                const struct s_line *l = &now[i];
                double v = mach[f].which == 0   ? l->up_s[m]
                           : mach[f].which == 1 ? l->down_s[m]
                           : mach[f].which == 2 ? l->failures[m]
                                                : l->repairs[m];
                s_put(b, "%s{line=\"%s\",machine=\"m%d\"} %.3f\n", mach[f].name, l->name, m + 1, v);
            }
        }
    }
    s_family(b, "factory_tool_wear_ratio", "gauge",
             "Wear of the machine's cutting tool (0 new, 1 worn out: changed).");
    for (size_t i = 0; i < n; i++) {
        for (int m = 0; m < S_MACHINES; m++) {
            double made = now[i].good[m] + now[i].bad[m];
            double offset = 0.15 * (double)(i % 5) + 0.4 * m; // tools do not all wear in step
            s_put(b, "factory_tool_wear_ratio{line=\"%s\",machine=\"m%d\"} %.6f\n", now[i].name,
                  m + 1, fmod(offset + made * S_WEAR_PER_UNIT, 1.0));
        }
    }
}

// kube-state-metrics' requests and cAdvisor's usage, and a filling disk, elapsed_s after
// the start.
static void
s_render_kube(struct s_buf *b, double elapsed_s)
{
    s_family(b, "kube_pod_container_resource_requests", "gauge",
             "The number of requested request resource by a container.");
    for (size_t p = 0; p < S_PODS; p++) {
        s_put(b,
              "kube_pod_container_resource_requests{container=\"%s\",namespace=\"%s\",pod=\"%s\","
              "resource=\"cpu\",unit=\"core\"} %g\n",
              s_pods[p].container, s_pods[p].ns, s_pods[p].pod, s_pods[p].cpu_request);
        s_put(b,
              "kube_pod_container_resource_requests{container=\"%s\",namespace=\"%s\",pod=\"%s\","
              "resource=\"memory\",unit=\"byte\"} %.0f\n",
              s_pods[p].container, s_pods[p].ns, s_pods[p].pod, s_pods[p].mem_request);
    }
    s_family(b, "container_cpu_usage_seconds_total", "counter",
             "Cumulative cpu time consumed in seconds.");
    for (size_t p = 0; p < S_PODS; p++)
        s_put(b,
              "container_cpu_usage_seconds_total{container=\"%s\",namespace=\"%s\",pod=\"%s\"} "
              "%.3f\n",
              s_pods[p].container, s_pods[p].ns, s_pods[p].pod, s_pods[p].cpu_used * elapsed_s);
    s_family(b, "container_memory_working_set_bytes", "gauge", "Current working set in bytes.");
    for (size_t p = 0; p < S_PODS; p++)
        s_put(b,
              "container_memory_working_set_bytes{container=\"%s\",namespace=\"%s\",pod=\"%s\"} "
              "%.0f\n",
              s_pods[p].container, s_pods[p].ns, s_pods[p].pod, s_pods[p].mem_used);
    // The line controller's data disk, as node_exporter shows it, filling at S_DISK_FILL_BPS.
    static const char fs[] = "device=\"/dev/sdb1\",fstype=\"ext4\",mountpoint=\"/data\"";
    s_family(b, "node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.");
    s_put(b, "node_filesystem_size_bytes{%s} %.0f\n", fs, S_DISK_SIZE);
    s_family(b, "node_filesystem_avail_bytes", "gauge",
             "Filesystem space available to non-root users in bytes.");
    double avail = S_DISK_SIZE * 0.6 - S_DISK_FILL_BPS * elapsed_s;
    s_put(b, "node_filesystem_avail_bytes{%s} %.0f\n", fs, avail > 0 ? avail : 0);
}

static char *
s_render_metrics(struct s_sim *sim)
{
    struct s_buf b = {0};
    struct s_line now[S_MAX_LINES];
    int64_t t = fw_time_mono_ms();
    pthread_mutex_lock(&sim->mu);
    size_t n = sim->n_lines;
    for (size_t i = 0; i < n; i++)
        s_line_at(&sim->lines[i], t, &now[i]);
    pthread_mutex_unlock(&sim->mu);

    static const struct {
        const char *name, *help;
        int which; // 0 produced, 1 good, 2 bad
    } units[] = {
        {"factory_units_produced_total", "Units produced by the machine.", 0},
        {"factory_units_good_total", "Units that passed quality control.", 1},
        {"factory_units_bad_total", "Units rejected by quality control.", 2},
    };
    for (size_t u = 0; u < 3; u++) {
        s_family(&b, units[u].name, "counter", units[u].help);
        for (size_t i = 0; i < n; i++) {
            for (int m = 0; m < S_MACHINES; m++) {
                double good = floor(now[i].good[m]);
                double produced = good + floor(now[i].bad[m]);
                double v = units[u].which == 0   ? produced
                           : units[u].which == 1 ? good
                                                 : produced - good;
                s_put(&b, "%s{line=\"%s\",machine=\"m%d\"} %.0f\n", units[u].name, now[i].name,
                      m + 1, v);
            }
        }
    }
    s_family(&b, "factory_runtime_planned_seconds_total", "counter",
             "Time the line was scheduled to run.");
    for (size_t i = 0; i < n; i++)
        s_put(&b, "factory_runtime_planned_seconds_total{line=\"%s\"} %.3f\n", now[i].name,
              now[i].planned_s);
    s_family(&b, "factory_runtime_actual_seconds_total", "counter",
             "Time the line actually ran (planned time minus stops).");
    for (size_t i = 0; i < n; i++)
        s_put(&b, "factory_runtime_actual_seconds_total{line=\"%s\"} %.3f\n", now[i].name,
              now[i].actual_s);
    s_family(&b, "factory_ideal_cycle_time_seconds", "gauge",
             "Ideal time per unit for the whole line (all machines running).");
    for (size_t i = 0; i < n; i++)
        s_put(&b, "factory_ideal_cycle_time_seconds{line=\"%s\"} %g\n", now[i].name,
              S_IDEAL_CYCLE_S);
    s_family(&b, "factory_andon_events_total", "counter", "Andon calls raised, by kind.");
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < S_KINDS; k++)
            s_put(&b, "factory_andon_events_total{kind=\"%s\",line=\"%s\"} %.0f\n", s_kinds[k],
                  now[i].name, now[i].andon[k]);
    }
    s_family(&b, "factory_andon_active", "gauge", "Whether an Andon call is open on the line.");
    for (size_t i = 0; i < n; i++)
        s_put(&b, "factory_andon_active{line=\"%s\"} %d\n", now[i].name, now[i].trouble ? 1 : 0);
    s_family(&b, "factory_line_up", "gauge", "Whether the line is running (1) or stopped (0).");
    for (size_t i = 0; i < n; i++)
        s_put(&b, "factory_line_up{line=\"%s\"} 1\n", now[i].name);
    s_render_plant(&b, now, n);
    s_render_kube(&b, (double)(t - sim->start_mono) / 1000.0);
    return b.p;
}

static char *
s_render_state(struct s_sim *sim)
{
    struct s_buf b = {0};
    int64_t t = fw_time_mono_ms();
    pthread_mutex_lock(&sim->mu);
    s_put(&b, "{\"lines\":[");
    for (size_t i = 0; i < sim->n_lines; i++) {
        struct s_line l;
        s_line_at(&sim->lines[i], t, &l);
        double a = s_availability(&l), q = s_quality(&l);
        double produced = 0, good = 0;
        for (int m = 0; m < S_MACHINES; m++) {
            good += floor(l.good[m]);
            produced += floor(l.good[m]) + floor(l.bad[m]);
        }
        s_put(&b,
              "%s{\"line\":\"%s\",\"trouble\":%s,\"andon_active\":%s,\"availability\":%.2f,"
              "\"performance\":%.2f,\"quality\":%.2f,\"oee\":%.4f,\"units_produced\":%.0f,"
              "\"units_good\":%.0f}",
              i ? "," : "", l.name, l.trouble ? "true" : "false", l.trouble ? "true" : "false", a,
              S_PERFORMANCE, q, a * S_PERFORMANCE * q, produced, good);
    }
    s_put(&b, "]}\n");
    pthread_mutex_unlock(&sim->mu);
    return b.p;
}

// ---------------------------------------------------------------------------------------
//  HTTP

static enum MHD_Result
s_reply(struct MHD_Connection *conn, unsigned status, const char *ctype, char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

// The `line` argument: from the query string, else from a form body "line=X".
static const char *
s_line_arg(struct MHD_Connection *conn, struct s_conn *c)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "line");
    if (v)
        return v;
    c->body[c->len] = '\0';
    for (char *tok = c->body; tok && *tok;) {
        char *amp = strchr(tok, '&');
        if (amp)
            *amp = '\0';
        if (strncmp(tok, "line=", 5) == 0)
            return tok + 5;
        tok = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
             const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct s_sim *sim = cls;
    struct s_conn *c = *con_cls;
    if (!c) {
        *con_cls = fw_calloc(1, sizeof(struct s_conn));
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t room = sizeof(c->body) - 1 - c->len;
        size_t n = *upload_size < room ? *upload_size : room;
        memcpy(c->body + c->len, upload_data, n);
        c->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    if (strcmp(url, "/metrics") == 0 && get)
        return s_reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
                       s_render_metrics(sim));
    if (strcmp(url, "/state") == 0 && get)
        return s_reply(conn, 200, "application/json", s_render_state(sim));
    if ((strcmp(url, "/trouble") == 0 || strcmp(url, "/recover") == 0) && post) {
        const char *name = s_line_arg(conn, c);
        pthread_mutex_lock(&sim->mu);
        struct s_line *l = s_find_line(sim, name);
        if (l)
            s_line_set_trouble(l, url[1] == 't', fw_time_mono_ms());
        pthread_mutex_unlock(&sim->mu);
        if (!name)
            return s_reply(conn, 400, "text/plain", fw_strdup("missing line=\n"));
        if (!l)
            return s_reply(conn, 404, "text/plain", fw_asprintf("unknown line %s\n", name));
        return s_reply(conn, 200, "application/json", s_render_state(sim));
    }
    if (strcmp(url, "/") == 0 && get)
        return s_reply(conn, 200, "text/plain",
                       fw_strdup("factorysim: GET /metrics, GET /state, "
                                 "POST /trouble?line=X, POST /recover?line=X\n"));
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/state") == 0 ||
        strcmp(url, "/trouble") == 0 || strcmp(url, "/recover") == 0)
        return s_reply(conn, 405, "text/plain", fw_strdup("method not allowed\n"));
    return s_reply(conn, 404, "text/plain", fw_strdup("not found\n"));
}

static void
s_on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    free(*con_cls);
    *con_cls = NULL;
}

static int
s_parse_listen(const char *addr, struct sockaddr_in *sa)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return -1;
    char host[64];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (hl == 0 || strcmp(host, "0.0.0.0") == 0)
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

// ---------------------------------------------------------------------------------------

static const struct fw_flag s_flags[] = {
    {"web.listen-address", FW_FLAG_STR, offsetof(struct s_opts, listen), FW_HTTP_FACTORYSIM,
     "address for /metrics, /state, /trouble and /recover"},
    {"lines", FW_FLAG_INT, offsetof(struct s_opts, lines), "3", "production lines (line1..N)"},
    {"trouble", FW_FLAG_STR, offsetof(struct s_opts, trouble), "",
     "comma-separated lines that start in trouble (e.g. line2)"},
    {"log.level", FW_FLAG_STR, offsetof(struct s_opts, log_level), "info",
     "debug, info, warn, error"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

static int
s_setup(struct s_sim *sim, const struct s_opts *o)
{
    if (o->lines < 1 || o->lines > S_MAX_LINES) {
        fprintf(stderr, "factorysim: --lines must be 1..%d\n", S_MAX_LINES);
        return -1;
    }
    int64_t now = fw_time_mono_ms();
    sim->start_mono = now;
    sim->n_lines = (size_t)o->lines;
    for (size_t i = 0; i < sim->n_lines; i++) {
        snprintf(sim->lines[i].name, sizeof(sim->lines[i].name), "line%u", (unsigned)(i + 1));
        sim->lines[i].since_mono = now;
    }
    char *list = fw_strdup(o->trouble ? o->trouble : "");
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct s_line *l = s_find_line(sim, tok);
        if (!l) {
            fprintf(stderr, "factorysim: --trouble: unknown line \"%s\"\n", tok);
            rc = -1;
            break;
        }
        s_line_set_trouble(l, true, now);
    }
    free(list);
    return rc;
}

int
main(int argc, char **argv)
{
    struct s_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "factorysim",
                            "a demo factory floor exporter (OEE counters, Andon events)", s_flags,
                            &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    fw_log_level_t level;
    if (fw_log_level_parse(opts.log_level, &level) != 0) {
        fprintf(stderr, "factorysim: invalid --log.level \"%s\"\n", opts.log_level);
        return 2;
    }
    fw_log_init("factorysim", level, FW_LOG_LOGFMT);
    static struct s_sim sim;
    pthread_mutex_init(&sim.mu, NULL);
    struct sockaddr_in sa;
    if (s_parse_listen(opts.listen, &sa) != 0) {
        fprintf(stderr, "factorysim: invalid --web.listen-address \"%s\"\n", opts.listen);
        return 2;
    }
    if (s_setup(&sim, &opts) != 0)
        return 2;

    // Block the stop signals before MHD starts its thread, then wait for them here.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_on_request, &sim,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, s_on_done, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fw_error("http.listen.fail", "address=%s", opts.listen);
        return 1;
    }
    fw_info("factorysim.start", "listen=%s lines=%zu trouble=%s", opts.listen, sim.n_lines,
            opts.trouble);
    int sig = 0;
    sigwait(&stop, &sig);
    fw_info("factorysim.stop", "signal=%d", sig);
    MHD_stop_daemon(d);
    pthread_mutex_destroy(&sim.mu);
    return 0;
}
