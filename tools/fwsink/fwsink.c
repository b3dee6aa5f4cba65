/*  fwsink.c — a webhook sink: every POST body becomes one JSON line in a file.

    fwsink --web.listen-address=127.0.0.1:9211 [--output=FILE] [--fail-first=N]

    The body is parsed with jansson, "receivedAt" (RFC 3339, ms) is added, and the object is
    written compactly as one line, flushed and fsync'd before answering 200, so a test that
    sees the line knows the request completed. A body that is not a JSON object is stored
    as {"raw": "...", "receivedAt": ...}. --fail-first=N answers the first N requests 503
    without recording them (to exercise retries). libmicrohttpd runs the server in its own
    thread; the main thread waits for SIGINT/SIGTERM and stops cleanly.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_ports.h"
#include "fw_time.h"

#define S_MAX_BODY (16 * 1024 * 1024)

struct s_sink {
    FILE *out; // owned unless stdout
    long fail_first;
    long requests;
    pthread_mutex_t lock;
};

struct s_req {
    char *buf; // owned
    size_t len, cap;
    bool too_big;
};

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static enum MHD_Result
s_answer(struct MHD_Connection *c, unsigned int status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static void
s_record(struct s_sink *sink, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
        json_object_set_new(j, "raw", json_stringn(body, len)); // steals
    }
    char ts[40];
    json_object_set_new(j, "receivedAt",
                        json_string(fw_time_rfc3339(fw_time_now_ms(), ts,
                                                    sizeof ts))); // steals
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (line) {
        fprintf(sink->out, "%s\n", line);
        fflush(sink->out);
        if (sink->out != stdout)
            fsync(fileno(sink->out));
        free(line);
    }
}

static enum MHD_Result
s_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct s_sink *sink = cls;
    struct s_req *req = *con_cls;
    if (!req) {
        req = fw_calloc(1, sizeof *req);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (req->len + *upload_size > S_MAX_BODY) {
            req->too_big = true;
        } else {
            fw_mem_grow((void **)&req->buf, &req->cap, req->len + *upload_size + 1, 1);
            memcpy(req->buf + req->len, upload, *upload_size);
            req->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
        return s_answer(c, strcmp(method, "GET") == 0 ? 200 : 405,
                        strcmp(method, "GET") == 0 ? "fwsink\n" : "method not allowed\n");
    if (req->too_big)
        return s_answer(c, 413, "too large\n");
    pthread_mutex_lock(&sink->lock);
    long n = ++sink->requests;
    bool fail = n <= sink->fail_first;
    if (!fail)
        s_record(sink, req->buf ? req->buf : "", req->len);
    pthread_mutex_unlock(&sink->lock);
    if (fail)
        return s_answer(c, 503, "failing on purpose (--fail-first)\n");
    return s_answer(c, 200, "ok\n");
}

static void
s_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    struct s_req *req = *con_cls;
    if (req) {
        free(req->buf);
        free(req);
    }
    *con_cls = NULL;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: fwsink [--web.listen-address=HOST:PORT] [--output=FILE] "
            "[--fail-first=N]\n"
            "  --web.listen-address  default %s\n"
            "  --output              append one JSON line per POST (default: stdout)\n"
            "  --fail-first          answer the first N requests 503\n",
            FW_HTTP_FWSINK);
}

static const char *
s_flag(const char *arg, const char *name, int *i, int argc, char **argv)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *listen = FW_HTTP_FWSINK, *output = NULL, *v;
    struct s_sink sink = {.out = stdout};
    pthread_mutex_init(&sink.lock, NULL);
    for (int i = 1; i < argc; i++) {
        if ((v = s_flag(argv[i], "--web.listen-address", &i, argc, argv)))
            listen = v;
        else if ((v = s_flag(argv[i], "--output", &i, argc, argv)))
            output = v;
        else if ((v = s_flag(argv[i], "--fail-first", &i, argc, argv)))
            sink.fail_first = strtol(v, NULL, 10);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "fwsink: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        fprintf(stderr, "fwsink: --web.listen-address must be host:port\n");
        return 2;
    }
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    int port = atoi(colon + 1);
    if (output && !(sink.out = fopen(output, "a"))) {
        fprintf(stderr, "fwsink: cannot open %s: %s\n", output, strerror(errno));
        return 1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!*host || strcmp(host, "0.0.0.0") == 0)
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "fwsink: bad host '%s'\n", host);
        return 2;
    }
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         s_handler, &sink, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fwsink: cannot listen on %s\n", listen);
        return 1;
    }
    fprintf(stderr, "fwsink: listening on %s, writing to %s\n", listen, output ? output : "stdout");
    while (!s_stop)
        pause();
    MHD_stop_daemon(d);
    if (sink.out != stdout)
        fclose(sink.out);
    pthread_mutex_destroy(&sink.lock);
    return 0;
}
