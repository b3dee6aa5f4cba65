/*  alertload.c — load alertd over ZeroMQ as ruled does, for `make bench`.

    Sends ALERTS messages (fw_msg.def: {"source", "alerts"}, each alert a postable alert with
    startsAt, endsAt four evaluation intervals ahead and annotations, as ruled_group.c builds
    them) over a PUSH socket to alertd's --zmq.alerts-address, --batch alerts per message.
    Alert i has the labels of the shared peer kit's am-load.py (alertname of 10, line of 20,
    equipment of 8, severity of 3, run, id), so groups by (alertname, line) number at most 200;
    its id is i modulo --distinct, so --alerts above --distinct sends updates of the same
    alerts.

      alertload --endpoint=tcp://127.0.0.1:5563 --metrics-url=http://127.0.0.1:9093/metrics
                [--alerts=50000] [--batch=100] [--distinct=N] [--per-minute=0] [--run=TAG]
                [--timeout=120s]

    Without --per-minute every message is encoded first and then sent as fast as alertd
    takes them (the send blocks when alertd's queue is full, nothing is dropped); with it,
    messages leave evenly paced at that many alerts a minute. Either way the run ends when
    alertd's fw_alertd_alerts_received_total (read from --metrics-url, every 2 ms) has grown
    by --alerts, or at --timeout. Prints one JSON object: alerts, batch, send_s, done_s (from
    the first send until alertd counted them all), alerts_per_s (alerts / done_s), counted.

    With --post-url the same alerts go as JSON arrays, --batch per POST, over --connections
    (default 2) keep-alive connections to /api/v2/alerts of alertd or Alertmanager, timed
    until the last answer (an answer 200 means accepted): the same client for both, where
    the peer kit's Python client may be the slower side. Prints alerts, batch, connections,
    client, done_s, alerts_per_s, errors (POSTs not answered 200). --client=raw sends the
    same requests (libcurl's headers) from a plain socket a connection instead of libcurl,
    whose own work was about 40 us of CPU a single-alert POST on the cores the servers
    share: with it the client's cost can be told from the server's (docs/benchmarks.md,
    "Single POSTs' round trip"); --client=epoll from one thread for every connection
    (alertload_http.h), which is put to sleep once for all the answers that are in.

    With --probes=N it sends N alerts one at a time instead, each opening a new group
    (alertname LatencyProbe, a line of its own), and times each from its send until the
    group's NOTIFY shows on alertd's PUB (--notify-tap): alertd's first-notification time
    for group_wait 0s, without notifyd's hop. Prints probes, notified, notify_ms_median,
    notify_ms_min, notify_ms_max.

    Exit status: 0 all counted (accepted, notified), 1 timed out (or errors), 2 usage.
*/
#include <curl/curl.h>
#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertload_http.h"
#include "fw_flags.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_time.h"

struct s_opts {
    const char *endpoint;
    const char *metrics_url;
    const char *run;
    int64_t alerts;
    int64_t batch;
    int64_t distinct;
    int64_t per_minute;
    int64_t timeout_ms;
    const char *post_url;
    const char *client;
    int64_t connections;
    const char *notify_tap;
    int64_t probes;
};

static const char *const s_names[] = {
    "LineStopped", "OEELow",        "TempHigh",   "ScrapRateHigh", "HTTPErrorsHigh",
    "LatencyHigh", "DiskFillingUp", "TargetDown", "ConveyorJam",   "QualityDrift"};
static const char *const s_severities[] = {"info", "warning", "critical"};

static json_t *
s_alert(int64_t i, const char *run, const char *starts, const char *ends)
{
    char line[16], eq[16], id[24], summary[64], runbook[64];
    const char *name = s_names[i % 10];
    snprintf(line, sizeof line, "line-%02d", (int)(i / 10 % 20 + 1));
    snprintf(eq, sizeof eq, "eq-%d", (int)(i / 200 % 8));
    snprintf(id, sizeof id, "%lld", (long long)i);
    snprintf(summary, sizeof summary, "%s on line %d", name, (int)(i / 10 % 20 + 1));
    snprintf(runbook, sizeof runbook, "runbooks/%s.md", name);
    for (char *p = runbook; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:s, s:s, s:s}", "labels",
                     "alertname", name, "line", line, "equipment", eq, "severity",
                     s_severities[i % 3], "run", run, "id", id, "annotations", "summary", summary,
                     "runbook", runbook, "startsAt", starts, "endsAt", ends, "generatorURL",
                     "http://127.0.0.1/graph?g0.expr=peer");
}

// The alerts [from, to) as a JSON array (new reference).
static json_t *
s_alerts(const struct s_opts *o, int64_t from, int64_t to, const char *starts)
{
    char ends[40];
    fw_time_rfc3339(fw_time_now_ms() + 4 * 60000, ends, sizeof ends);
    json_t *arr = json_array();
    for (int64_t i = from; i < to; i++)
        json_array_append_new(arr, s_alert(i % o->distinct, o->run, starts, ends)); // steals
    return arr;
}

// The ALERTS message of alerts [from, to).
static zmsg_t *
s_message(const struct s_opts *o, int64_t from, int64_t to, const char *starts)
{
    struct fw_msg *m =
        fw_msg_new_json(FW_MSG_ALERTS, json_pack("{s:s, s:o}", "source", "alertload", "alerts",
                                                 s_alerts(o, from, to, starts))); // "o" steals
    zmsg_t *z = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    return z;
}

static size_t
s_discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

// --client=curl: a thread per connection, each with its own libcurl handle (keep-alive),
// bodies first, first + connections, ... on thread first.
struct s_curl_poster {
    const struct s_opts *o;
    char **bodies;
    size_t n, first;
    size_t errors;
    pthread_t thread;
};

static void *
s_curl_run(void *arg)
{
    struct s_curl_poster *p = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, p->o->post_url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    for (size_t k = p->first; k < p->n; k += (size_t)p->o->connections) {
        long status = 0;
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p->bodies[k]);
        if (curl_easy_perform(curl) != CURLE_OK ||
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
            p->errors++;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(curl);
    return NULL;
}

// The POSTs of bodies[0..n) over libcurl: how many were not answered 200.
static size_t
s_post_curl(const struct s_opts *o, char **bodies, size_t n)
{
    struct s_curl_poster *p = fw_calloc((size_t)o->connections, sizeof *p);
    for (int64_t c = 0; c < o->connections; c++) {
        p[c] = (struct s_curl_poster){o, bodies, n, (size_t)c, 0, 0};
        pthread_create(&p[c].thread, NULL, s_curl_run, &p[c]);
    }
    size_t errors = 0;
    for (int64_t c = 0; c < o->connections; c++) {
        pthread_join(p[c].thread, NULL);
        errors += p[c].errors;
    }
    free(p);
    return errors;
}

// --post-url: every batch as one POST of a JSON array, over --connections keep-alive
// connections, timed until the last answer.
static int
s_run_post(const struct s_opts *o, const char *starts)
{
    size_t n = (size_t)((o->alerts + o->batch - 1) / o->batch);
    char **bodies = fw_calloc(n, sizeof *bodies);
    for (size_t k = 0; k < n; k++) {
        int64_t from = (int64_t)k * o->batch;
        json_t *arr =
            s_alerts(o, from, from + o->batch < o->alerts ? from + o->batch : o->alerts, starts);
        bodies[k] = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
    }
    double us0 = zclock_usecs();
    size_t errors = strcmp(o->client, "curl") == 0
                        ? s_post_curl(o, bodies, n)
                        : alertload_http_post(o->post_url, bodies, n, (size_t)o->connections,
                                              strcmp(o->client, "epoll") == 0);
    double done_s = (zclock_usecs() - us0) / 1e6;
    printf("{\"alerts\": %lld, \"batch\": %lld, \"connections\": %lld, \"client\": \"%s\", "
           "\"done_s\": %.4f, \"alerts_per_s\": %.1f, \"errors\": %zu}\n",
           (long long)o->alerts, (long long)o->batch, (long long)o->connections, o->client, done_s,
           (double)o->alerts / done_s, errors);
    for (size_t k = 0; k < n; k++)
        free(bodies[k]);
    free(bodies);
    return errors ? 1 : 0;
}

static size_t
s_collect(char *data, size_t size, size_t n, void *arg)
{
    zchunk_extend(arg, data, size * n);
    return size * n;
}

// fw_alertd_alerts_received_total summed over its labels; -1 when the page cannot be read.
static double
s_received(CURL *curl, zchunk_t *buf)
{
    zchunk_set(buf, NULL, 0);
    if (curl_easy_perform(curl) != CURLE_OK)
        return -1;
    zchunk_extend(buf, "", 1);
    const char *want = "fw_alertd_alerts_received_total";
    double sum = 0;
    for (const char *p = (const char *)zchunk_data(buf); p && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, want, strlen(want)) == 0 &&
            (p[strlen(want)] == '{' || p[strlen(want)] == ' ')) {
            const char *sp = nl ? nl : p + strlen(p);
            while (sp > p && sp[-1] != ' ')
                sp--;
            sum += strtod(sp, NULL);
        }
        p = nl ? nl + 1 : NULL;
    }
    return sum;
}

static int
s_dblcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// --probes: one alert at a time that opens a new group (group_wait 0s), timed from its send
// until alertd's PUB shows the group's NOTIFY (each waited for up to 5 s).
static int
s_run_probes(const struct s_opts *o, zsock_t *push, const char *starts)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub || zsock_attach(sub, o->notify_tap, false) < 0) {
        fprintf(stderr, "alertload: cannot connect to %s\n", o->notify_tap);
        zsock_destroy(&sub);
        return 2;
    }
    zsock_set_subscribe(sub, "NOTIFY");
    zsock_set_rcvtimeo(sub, 100);
    zclock_sleep(300); // the subscription reaches alertd
    double *ms = fw_calloc((size_t)o->probes, sizeof *ms);
    size_t got = 0;
    char ends[40];
    fw_time_rfc3339(fw_time_now_ms() + 4 * 60000, ends, sizeof ends);
    for (int64_t p = 0; p < o->probes && !zsys_interrupted; p++) {
        char line[64];
        snprintf(line, sizeof line, "probe-%s-%lld", o->run, (long long)p);
        json_t *alerts =
            json_pack("[{s:{s:s, s:s, s:s}, s:s, s:s}]", "labels", "alertname", "LatencyProbe",
                      "line", line, "severity", "info", "startsAt", starts, "endsAt", ends);
        struct fw_msg *m = fw_msg_new_json(
            FW_MSG_ALERTS, json_pack("{s:s, s:o}", "source", "alertload", "alerts", alerts));
        double t0 = zclock_usecs();
        if (fw_msg_send(&m, push, NULL) < 0)
            break;
        while (zclock_usecs() - t0 < 5e6) {
            struct fw_msg *n = NULL;
            if (fw_msg_recv(sub, &n, NULL) < 0)
                continue;
            const json_t *gl = json_object_get(json_object_get(n->body, "payload"), "groupLabels");
            const char *l = json_string_value(json_object_get(gl, "line"));
            bool mine = l && strcmp(l, line) == 0;
            fw_msg_destroy(&n);
            if (mine) {
                ms[got++] = (zclock_usecs() - t0) / 1000;
                break;
            }
        }
        zclock_sleep(20);
    }
    qsort(ms, got, sizeof *ms, s_dblcmp);
    printf("{\"probes\": %lld, \"notified\": %zu, \"notify_ms_median\": %.3f, "
           "\"notify_ms_min\": %.3f, \"notify_ms_max\": %.3f}\n",
           (long long)o->probes, got, got ? ms[got / 2] : -1.0, got ? ms[0] : -1.0,
           got ? ms[got - 1] : -1.0);
    free(ms);
    zsock_destroy(&sub);
    return got == (size_t)o->probes ? 0 : 1;
}

int
main(int argc, char **argv)
{
    static const struct fw_flag table[] = {
        {"endpoint", FW_FLAG_STR, offsetof(struct s_opts, endpoint), "tcp://127.0.0.1:5563",
         "alertd's --zmq.alerts-address"},
        {"metrics-url", FW_FLAG_STR, offsetof(struct s_opts, metrics_url),
         "http://127.0.0.1:9093/metrics", "alertd's /metrics"},
        {"run", FW_FLAG_STR, offsetof(struct s_opts, run), "alertload", "the run label's value"},
        {"alerts", FW_FLAG_INT, offsetof(struct s_opts, alerts), "50000", "alerts to send"},
        {"batch", FW_FLAG_INT, offsetof(struct s_opts, batch), "100", "alerts per message"},
        {"distinct", FW_FLAG_INT, offsetof(struct s_opts, distinct), "0",
         "distinct alerts (ids), 0: as many as --alerts"},
        {"per-minute", FW_FLAG_INT, offsetof(struct s_opts, per_minute), "0",
         "pace: alerts a minute, 0: as fast as alertd takes them"},
        {"timeout", FW_FLAG_DURATION, offsetof(struct s_opts, timeout_ms), "120s",
         "give up waiting for alertd's count after this"},
        {"post-url", FW_FLAG_STR, offsetof(struct s_opts, post_url), NULL,
         "POST the batches here (/api/v2/alerts of alertd or Alertmanager) instead"},
        {"connections", FW_FLAG_INT, offsetof(struct s_opts, connections), "2",
         "keep-alive connections for --post-url"},
        {"client", FW_FLAG_STR, offsetof(struct s_opts, client), "curl",
         "--post-url's HTTP client: curl (libcurl), raw (a plain socket a connection, no libcurl "
         "work), epoll (plain sockets, one thread, as wrk)"},
        {"probes", FW_FLAG_INT, offsetof(struct s_opts, probes), "0",
         "instead: this many new-group alerts one at a time, timed until their NOTIFY"},
        {"notify-tap", FW_FLAG_STR, offsetof(struct s_opts, notify_tap), "tcp://127.0.0.1:5567",
         "alertd's --zmq.pub-address, for --probes"},
        {NULL, 0, 0, NULL, NULL},
    };
    struct s_opts o = {0};
    int rc = fw_flags_parse(argc, argv, "alertload", "send ALERTS messages to alertd", table, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (o.alerts < 1 || o.alerts > 10000000 || o.batch < 1 || o.batch > 100000 || o.distinct < 0 ||
        o.per_minute < 0 || o.connections < 1 || o.connections > 64 || o.probes < 0 ||
        o.probes > 10000 ||
        (strcmp(o.client, "curl") != 0 && strcmp(o.client, "raw") != 0 &&
         strcmp(o.client, "epoll") != 0)) {
        fprintf(stderr, "alertload: --alerts 1..10000000, --batch 1..100000, --connections "
                        "1..64, --probes 0..10000, --client curl, raw or epoll, no negatives\n");
        return 2;
    }
    if (o.distinct == 0)
        o.distinct = o.alerts;
    char starts[40];
    fw_time_rfc3339(fw_time_now_ms(), starts, sizeof starts);
    if (o.post_url) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = s_run_post(&o, starts);
        curl_global_cleanup();
        return rc;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    zsock_t *push = zsock_new(ZMQ_PUSH); // blocking sends: alertd's pace, nothing dropped
    zsock_set_sndhwm(push, 1000);
    if (!push || zsock_attach(push, o.endpoint, false) < 0) {
        fprintf(stderr, "alertload: cannot connect to %s\n", o.endpoint);
        zsock_destroy(&push);
        return 2;
    }
    if (o.probes > 0) {
        rc = s_run_probes(&o, push, starts);
        zsock_destroy(&push);
        return rc;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    zchunk_t *page = zchunk_new(NULL, 1 << 16);
    curl_easy_setopt(curl, CURLOPT_URL, o.metrics_url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, page);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    double base = s_received(curl, page);
    if (base < 0) {
        fprintf(stderr, "alertload: cannot read %s\n", o.metrics_url);
        rc = 2;
        goto out;
    }
    size_t nmsg = (size_t)((o.alerts + o.batch - 1) / o.batch);
    zmsg_t **msgs = NULL;
    if (o.per_minute == 0) { // encoded before the clock starts, as am-load.py does
        msgs = fw_calloc(nmsg, sizeof *msgs);
        for (size_t k = 0; k < nmsg; k++)
            msgs[k] = s_message(&o, (int64_t)k * o.batch,
                                (int64_t)(k + 1) * o.batch < o.alerts ? (int64_t)(k + 1) * o.batch
                                                                      : o.alerts,
                                starts);
    }
    int64_t t0 = fw_time_mono_ms(), t_sent = 0;
    double us0 = zclock_usecs();
    for (size_t k = 0; k < nmsg; k++) {
        int64_t from = (int64_t)k * o.batch,
                to = from + o.batch < o.alerts ? from + o.batch : o.alerts;
        zmsg_t *z = msgs ? msgs[k] : NULL;
        if (!z) {
            // Paced: message k leaves at t0 + from / per_minute minutes.
            int64_t due = t0 + from * 60000 / o.per_minute;
            while (fw_time_mono_ms() < due && !zsys_interrupted)
                zclock_sleep((int)(due - fw_time_mono_ms()));
            z = s_message(&o, from, to, starts);
        }
        if (!z || zmsg_send(&z, push) < 0) {
            fprintf(stderr, "alertload: send failed\n");
            zmsg_destroy(&z);
            rc = 1;
            goto out_msgs;
        }
        if (msgs)
            msgs[k] = NULL;
    }
    t_sent = fw_time_mono_ms();
    double counted = 0;
    while (fw_time_mono_ms() - t0 < o.timeout_ms && !zsys_interrupted) {
        counted = s_received(curl, page) - base;
        if (counted >= (double)o.alerts)
            break;
        zclock_sleep(2);
    }
    double done_s = (zclock_usecs() - us0) / 1e6;
    rc = counted >= (double)o.alerts ? 0 : 1;
    printf("{\"alerts\": %lld, \"batch\": %lld, \"distinct\": %lld, \"per_minute\": %lld, "
           "\"send_s\": %.4f, \"done_s\": %.4f, \"alerts_per_s\": %.1f, \"counted\": %.0f}\n",
           (long long)o.alerts, (long long)o.batch, (long long)o.distinct, (long long)o.per_minute,
           (double)(t_sent - t0) / 1000, done_s, (double)o.alerts / done_s, counted);
out_msgs:
    if (msgs)
        for (size_t k = 0; k < nmsg; k++)
            zmsg_destroy(&msgs[k]);
    free(msgs);
out:
    zchunk_destroy(&page);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    zsock_destroy(&push);
    return rc;
}
