/*  fwtail.c — tail any floorwatch daemon's ZeroMQ PUB stream as JSON lines.

    fwtail [--type=T[,T...]] [--label=name=value ...] [--count=N] [--timeout=DUR]
           [--zmq.max-msg-size=SIZE] ENDPOINT|DAEMON

    ENDPOINT is a ZeroMQ address ("tcp://127.0.0.1:5563"); DAEMON is one of scraper, tsdb,
    ruled, slod, alertd, notifyd, meaning its default PUB address. Each message is decoded
    with the one codec (fw_msg_decode) and printed by fw_msg_to_json, so what an operator
    sees is exactly what the daemons exchange. Subscriptions are set per type token (the
    first frame), so filtering by type happens in ZeroMQ, not here. Label filters keep the
    SAMPLES series, ALERTS alerts and NOTIFY payload alerts whose labels match all of them;
    a message with nothing left is not printed. Messages that fail to decode are printed
    as {"reject": "..."} lines on stderr rather than dropped silently. A message with a part
    over --zmq.max-msg-size (the daemons' flag and default) makes libzmq drop the connection
    for good; fwtail says so on stderr the same way and subscribes again.
*/
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_msg.h"
#include "fw_ports.h"
#include "fw_time.h"
#include "fw_zsock.h"

#define S_MAX_FILTERS 16

struct s_opts {
    const char *types;
    const char *labels[S_MAX_FILTERS];
    size_t n_labels;
    int64_t count;
    int64_t timeout_ms;
    int64_t max_msg_size;
    const char *endpoint;
};

static const struct {
    const char *daemon;
    const char *endpoint;
} s_defaults[] = {
    {"scraper", FW_ZMQ_SCRAPER_PUB}, {"tsdb", FW_ZMQ_TSDB_PUB},     {"ruled", FW_ZMQ_RULED_PUB},
    {"slod", FW_ZMQ_SLOD_PUB},       {"alertd", FW_ZMQ_ALERTD_PUB}, {"notifyd", FW_ZMQ_NOTIFYD_PUB},
};

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: fwtail [--type=T[,T...]] [--label=name=value ...] [--count=N]\n"
            "              [--timeout=DUR] [--zmq.max-msg-size=SIZE] ENDPOINT|DAEMON\n\n"
            "Print every message a daemon publishes as one JSON line.\n"
            "DAEMON: scraper tsdb ruled slod alertd notifyd (their default PUB addresses)\n"
            "types: SAMPLES QUERY QUERY_RESULT ALERTS NOTIFY\n"
            "--zmq.max-msg-size: largest message part accepted (default " FW_FLAGS_ZMQ_MAX_MSG_SIZE
            ")\n");
}

static int
s_parse_args(int argc, char **argv, struct s_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            exit(0);
        } else if (strncmp(a, "--type=", 7) == 0) {
            o->types = a + 7;
        } else if (strncmp(a, "--label=", 8) == 0 && o->n_labels < S_MAX_FILTERS) {
            if (!strchr(a + 8, '=')) {
                fprintf(stderr, "fwtail: --label needs name=value, got \"%s\"\n", a + 8);
                return -1;
            }
            o->labels[o->n_labels++] = a + 8;
        } else if (strncmp(a, "--count=", 8) == 0) {
            o->count = strtoll(a + 8, NULL, 10);
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            if (fw_duration_parse(a + 10, &o->timeout_ms) < 0) {
                fprintf(stderr, "fwtail: --timeout: \"%s\" is not a duration\n", a + 10);
                return -1;
            }
        } else if (strncmp(a, "--zmq.max-msg-size=", 19) == 0) {
            if (fw_size_parse(a + 19, &o->max_msg_size) < 0 || o->max_msg_size < 1024) {
                fprintf(stderr,
                        "fwtail: --zmq.max-msg-size: \"%s\" is not a size of 1KiB or more\n",
                        a + 19);
                return -1;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "fwtail: unknown flag %s (see --help)\n", a);
            return -1;
        } else {
            o->endpoint = a;
        }
    }
    if (!o->endpoint) {
        s_usage(stderr);
        return -1;
    }
    for (size_t i = 0; i < sizeof(s_defaults) / sizeof(s_defaults[0]); i++)
        if (strcmp(o->endpoint, s_defaults[i].daemon) == 0)
            o->endpoint = s_defaults[i].endpoint;
    return 0;
}

// True when labels (a JSON object of strings) match every name=value filter.
static bool
s_json_labels_match(json_t *labels, const struct s_opts *o)
{
    for (size_t i = 0; i < o->n_labels; i++) {
        const char *eq = strchr(o->labels[i], '=');
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - o->labels[i]), o->labels[i]);
        const char *v = json_string_value(json_object_get(labels, name));
        if (!v || strcmp(v, eq + 1) != 0)
            return false;
    }
    return true;
}

// Keep only matching elements of an array of objects whose labels sit under `key`.
// Returns how many are left.
static size_t
s_filter_array(json_t *arr, const char *key, const struct s_opts *o)
{
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!s_json_labels_match(json_object_get(json_array_get(arr, i), key), o))
            json_array_remove(arr, i);
    return json_array_size(arr);
}

// Print msg as one line after applying the label filters; false when nothing was left.
static bool
s_print(const struct fw_msg *msg, const struct s_opts *o)
{
    char *line = fw_msg_to_json(msg);
    if (o->n_labels > 0) {
        json_t *j = json_loads(line, 0, NULL);
        free(line);
        if (!j)
            return false;
        json_t *body = json_object_get(j, "body");
        size_t left = 0;
        if (msg->type == FW_MSG_SAMPLES)
            left = s_filter_array(json_object_get(body, "series"), "labels", o);
        else if (msg->type == FW_MSG_ALERTS)
            left = s_filter_array(json_object_get(body, "alerts"), "labels", o);
        else if (msg->type == FW_MSG_NOTIFY)
            left = s_filter_array(json_object_get(json_object_get(body, "payload"), "alerts"),
                                  "labels", o);
        line = left ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!line)
            return false;
    }
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    return true;
}

// A SUB socket connected to o->endpoint with o's subscriptions and a guard watching it
// (*guard_p, may be NULL when the monitor failed), or NULL (printed).
static zsock_t *
s_sub_open(const struct s_opts *o, fw_zsock_guard_t **guard_p)
{
    *guard_p = NULL;
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (sub && fw_zsock_set_max_msg_size(sub, o->max_msg_size) == 0)
        *guard_p = fw_zsock_guard_new(sub, "sub", NULL); // before connecting: sees it all
    if (!sub || zsock_attach(sub, o->endpoint, false) < 0) {
        fprintf(stderr, "fwtail: cannot connect to \"%s\"\n", o->endpoint);
        goto fail;
    }
    if (!o->types) {
        zsock_set_subscribe(sub, "");
        return sub;
    }
    char *types = strdup(o->types), *save = NULL;
    for (char *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        fw_msg_type_t type;
        if (fw_msg_type_parse(t, &type) < 0) {
            fprintf(stderr, "fwtail: unknown message type \"%s\"\n", t);
            free(types);
            goto fail;
        }
        // The type token is the whole first frame; a prefix subscription on it would also
        // match longer tokens (QUERY matches QUERY_RESULT), so s_wanted checks again.
        zsock_set_subscribe(sub, t);
    }
    free(types);
    return sub;
fail:
    fw_zsock_guard_destroy(guard_p);
    zsock_destroy(&sub);
    return NULL;
}

static bool
s_wanted(const struct fw_msg *msg, const struct s_opts *o)
{
    if (!o->types)
        return true;
    const char *name = fw_msg_type_str(msg->type);
    for (const char *p = strstr(o->types, name); p; p = strstr(p + 1, name))
        if ((p == o->types || p[-1] == ',') && (p[strlen(name)] == '\0' || p[strlen(name)] == ','))
            return true;
    return false;
}

int
main(int argc, char **argv)
{
    struct s_opts o = {.timeout_ms = 0};
    if (s_parse_args(argc, argv, &o) < 0)
        return 2;
    fw_log_init("fwtail", FW_LOG_WARN, FW_LOG_LOGFMT);
    fw_zsock_guard_t *guard;
    zsock_t *sub = s_sub_open(&o, &guard);
    if (!sub)
        return 2;
    zpoller_t *poller = zpoller_new(sub, guard ? fw_zsock_guard_events(guard) : NULL, NULL);
    int64_t deadline = o.timeout_ms ? fw_time_mono_ms() + o.timeout_ms : 0;
    int64_t printed = 0;
    int rc = 0;
    while (!zsys_interrupted && (o.count == 0 || printed < o.count)) {
        int wait = 500;
        if (deadline) {
            int64_t left = deadline - fw_time_mono_ms();
            if (left <= 0)
                break;
            wait = left < wait ? (int)left : wait;
        }
        void *ready = zpoller_wait(poller, wait);
        if (!ready)
            continue;
        if (ready != sub) {
            if (fw_zsock_guard_read(guard) == 0)
                continue;
            // libzmq dropped the publisher for good: say so, and subscribe again
            fprintf(stderr,
                    "{\"reject\":\"a message part exceeded --zmq.max-msg-size (%lld "
                    "bytes); reconnecting\"}\n",
                    (long long)fw_zsock_max_msg_size(sub));
            zpoller_destroy(&poller);
            fw_zsock_guard_destroy(&guard);
            zsock_destroy(&sub);
            if (!(sub = s_sub_open(&o, &guard))) {
                rc = 1;
                break;
            }
            poller = zpoller_new(sub, guard ? fw_zsock_guard_events(guard) : NULL, NULL);
            continue;
        }
        struct fw_msg *msg;
        fw_err_t err;
        if (fw_msg_recv(sub, &msg, &err) < 0) {
            fprintf(stderr, "{\"reject\":\"%s\"}\n", err.msg);
            continue;
        }
        if (s_wanted(msg, &o) && s_print(msg, &o))
            printed++;
        fw_msg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    fw_zsock_guard_destroy(&guard);
    zsock_destroy(&sub);
    return rc;
}
