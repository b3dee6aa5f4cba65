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

struct s_line {
    char name[24];
    bool trouble;
    int64_t since_mono; // ms of the last state change
    // values accumulated up to since_mono
    double planned_s, actual_s;
    double good[S_MACHINES], bad[S_MACHINES];
    double andon[S_KINDS];
};

struct s_opts {
    const char *listen;
    int64_t lines;
    const char *trouble;
    const char *log_level;
};

struct s_sim {
    pthread_mutex_t mu;
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
    if (trouble) {
        l->andon[0] += 1; // quality
        l->andon[2] += 1; // maintenance
    }
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
