/*  fwpush.c — push samples typed as text to tsdb: one SAMPLES batch per run.

    Reads lines `name{label="value",...} value [timestamp_ms [st@start_ms]]` from stdin (the
    Prometheus text exposition line shape, and the sample's start time as OpenMetrics 2.0
    writes it, in ms: Prometheus's start timestamp, sent as SAMPLES v4; `#` lines and blank
    lines are skipped), groups them by
    label set into one batch and sends it to the endpoint (default tsdb's samples address)
    as an acknowledged sender (fw_sender.h), waiting until tsdb acknowledges that the batch
    is durably stored (--timeout, default 10s). The value may be a float, NaN, +Inf, -Inf or
    `stale` (the staleness marker); a missing timestamp means now. Handy for tests and for
    poking a running stack:

        echo 'up{job="x"} 1' | fwpush --endpoint=tcp://127.0.0.1:5560

    Exit status: 0 stored (acknowledged), 1 not acknowledged in time (tsdb away, or its
    storage not writable: see its /-/ready), 2 bad input or usage.
*/
#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_ports.h"
#include "fw_sender.h"
#include "fw_time.h"

static const char *
s_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

// Parse one line into labels, value, timestamp, start time (0: none). 0, or -1 with a reason
// in why.
static int
s_parse_line(const char *line, struct fw_labels *labels, double *v, int64_t *t, int64_t *st,
             const char **why)
{
    *st = 0;
    const char *p = s_skip_ws(line);
    const char *name = p;
    while (*p && *p != '{' && *p != ' ' && *p != '\t')
        p++;
    if (p > name) {
        char *n = fw_strndup(name, (size_t)(p - name));
        fw_labels_set(labels, "__name__", n);
        free(n);
    }
    if (*p == '{') {
        p++;
        for (;;) {
            p = s_skip_ws(p);
            if (*p == '}') {
                p++;
                break;
            }
            const char *ln = p;
            while (*p && *p != '=' && *p != ' ')
                p++;
            char *lname = fw_strndup(ln, (size_t)(p - ln));
            p = s_skip_ws(p);
            if (*p != '=' || p[1] != '"') {
                free(lname);
                *why = "expected =\"value\" after a label name";
                return -1;
            }
            p += 2;
            char *val = fw_malloc(strlen(p) + 1);
            size_t n = 0;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                    val[n++] = *p == 'n' ? '\n' : *p;
                } else {
                    val[n++] = *p;
                }
                p++;
            }
            val[n] = '\0';
            if (*p != '"') {
                free(lname);
                free(val);
                *why = "unterminated label value";
                return -1;
            }
            p++;
            fw_labels_set(labels, lname, val);
            free(lname);
            free(val);
            p = s_skip_ws(p);
            if (*p == ',')
                p++;
        }
    }
    p = s_skip_ws(p);
    char tok[64];
    size_t n = 0;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && n < sizeof(tok) - 1)
        tok[n++] = *p++;
    tok[n] = '\0';
    if (n == 0) {
        *why = "missing value";
        return -1;
    }
    char *end;
    if (strcmp(tok, "stale") == 0) {
        *v = fw_stale_nan();
    } else if (strcmp(tok, "NaN") == 0) {
        *v = NAN;
    } else if (strcmp(tok, "+Inf") == 0 || strcmp(tok, "Inf") == 0) {
        *v = INFINITY;
    } else if (strcmp(tok, "-Inf") == 0) {
        *v = -INFINITY;
    } else {
        *v = strtod(tok, &end);
        if (*end) {
            *why = "bad value";
            return -1;
        }
    }
    p = s_skip_ws(p);
    *t = fw_time_now_ms();
    if (*p && *p != '\n') {
        errno = 0;
        long long ts = strtoll(p, &end, 10);
        if (errno || end == p || (*end && *end != ' ' && *end != '\t' && *end != '\n')) {
            *why = "bad timestamp (milliseconds)";
            return -1;
        }
        *t = ts;
        p = s_skip_ws(end);
        if (*p && *p != '\n') {
            long long sts = 0;
            if (strncmp(p, "st@", 3) == 0) {
                errno = 0;
                sts = strtoll(p + 3, &end, 10);
            }
            if (strncmp(p, "st@", 3) != 0 || errno || end == p + 3 ||
                (*s_skip_ws(end) && *s_skip_ws(end) != '\n')) {
                *why = "bad start time (st@milliseconds)";
                return -1;
            }
            *st = sts;
        }
    }
    fw_err_t err;
    if (fw_labels_validate(labels, &err) != 0 || !fw_labels_get(labels, "__name__")) {
        *why = "invalid or missing metric name / label";
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *endpoint = FW_ZMQ_TSDB_SAMPLES;
    int64_t timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--endpoint=", 11) == 0) {
            endpoint = argv[i] + 11;
        } else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (strncmp(argv[i], "--timeout=", 10) == 0 &&
                   fw_duration_parse(argv[i] + 10, &timeout_ms) == 0 && timeout_ms > 0) {
            continue;
        } else {
            fprintf(stderr, "usage: fwpush [--endpoint=tcp://host:port] [--timeout=10s] < lines\n"
                            "  lines: name{label=\"value\",...} value [timestamp_ms "
                            "[st@start_ms]]\n"
                            "  waits until tsdb acknowledges the batch as stored\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    struct fw_batch *batch = fw_batch_new();
    char line[65536];
    int lineno = 0;
    while (fgets(line, sizeof(line), stdin)) {
        lineno++;
        const char *p = s_skip_ws(line);
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        struct fw_labels l = FW_LABELS_INIT;
        double v;
        int64_t t, st;
        const char *why = NULL;
        if (s_parse_line(line, &l, &v, &t, &st, &why) != 0) {
            fprintf(stderr, "fwpush: stdin:%d: %s\n", lineno, why);
            fw_labels_clear(&l);
            fw_batch_destroy(&batch);
            return 2;
        }
        struct fw_series *s = NULL;
        for (size_t k = 0; k < batch->len; k++)
            if (fw_labels_cmp(&batch->series[k].labels, &l) == 0)
                s = &batch->series[k];
        if (!s)
            s = fw_batch_add_series(batch, &l);
        fw_series_add_st(s, t, st, v);
        fw_labels_clear(&l);
    }
    size_t n = fw_batch_samples(batch);
    fw_log_init("fwpush", FW_LOG_WARN, FW_LOG_LOGFMT);
    struct fw_sender_opts so = {.endpoint = endpoint, .name = "fwpush", .resend_ms = 1000};
    fw_sender_t *sender = fw_sender_new(&so, NULL);
    fw_err_t err;
    if (fw_sender_open(sender, &err) != 0) {
        fprintf(stderr, "fwpush: %s\n", err.msg);
        fw_batch_destroy(&batch);
        fw_sender_destroy(&sender);
        return 2;
    }
    int64_t deadline = fw_time_mono_ms() + timeout_ms;
    if (fw_sender_send(sender, &batch, NULL) != 0) {
        fw_sender_destroy(&sender);
        fprintf(stderr, "fwpush: the batch cannot be encoded\n");
        return 2;
    }
    while (fw_sender_unacked(sender) > 0 && fw_time_mono_ms() < deadline)
        fw_sender_poll(sender, 50);
    size_t left = fw_sender_unacked(sender);
    fw_sender_destroy(&sender);
    if (left > 0) {
        fprintf(stderr, "fwpush: %zu samples not acknowledged by tsdb at %s within %lld ms\n", n,
                endpoint, (long long)timeout_ms);
        return 1;
    }
    fprintf(stderr, "fwpush: %zu samples stored by tsdb at %s\n", n, endpoint);
    return 0;
}
