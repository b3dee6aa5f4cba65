/*  notifyd_email.c — the SMTP delivery actor: one libcurl multi, jobs queued from the zloop
    thread, retried with backoff, outcomes counted and reported (notifyd_email.h).
*/
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "notifyd_am_metrics.h"
#include "notifyd_email.h"
#include "notifyd_tmpl.h"

struct notifyd_email {
    zactor_t *actor;
    char hostname[256];
};

// The frames of one MAIL command after the command itself, in order.
enum {
    F_ID,
    F_RECEIVER,
    F_URL,
    F_FROM,
    F_RCPTS,
    F_MSG,
    F_USER,
    F_PASS,
    F_AUTHZID,
    F_STARTTLS,
    F_CA,
    F_CERT,
    F_KEY,
    F_INSECURE,
    F_SMARTHOST,
    F_N
};

struct s_job {
    uint64_t id;
    char *f[F_N]; // owned frames
    int attempts;
    int64_t next_at;
    size_t sent; // bytes of the message read by libcurl in this attempt
    CURL *easy;
    struct curl_slist *rcpts;
    char errbuf[CURL_ERROR_SIZE];
};

struct s_args {
    struct notifyd_cfg_retry retry;
    int64_t timeout_ms, max_in_flight;
    fw_metrics_t *metrics;
};

static void
s_job_free(struct s_job **jp)
{
    struct s_job *j = *jp;
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->rcpts);
    for (int i = 0; i < F_N; i++)
        free(j->f[i]);
    free(j);
    *jp = NULL;
}

static size_t
s_read(char *buf, size_t size, size_t n, void *arg)
{
    struct s_job *j = arg;
    const char *msg = j->f[F_MSG];
    size_t left = strlen(msg) - j->sent, want = size * n;
    size_t k = left < want ? left : want;
    memcpy(buf, msg + j->sent, k);
    j->sent += k;
    return k;
}

static void
s_opt_str(CURL *e, CURLoption o, const char *v)
{
    if (v && *v)
        curl_easy_setopt(e, o, v);
}

static void
s_start(CURLM *multi, struct s_job *j, const struct s_args *a)
{
    j->attempts++;
    j->sent = 0;
    j->easy = curl_easy_init();
    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, j->f[F_URL]);
    char *from = fw_asprintf("<%s>", j->f[F_FROM]);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from); // libcurl copies strings
    free(from);
    curl_slist_free_all(j->rcpts);
    j->rcpts = NULL;
    for (char *r = j->f[F_RCPTS], *nl; r && *r; r = nl ? nl + 1 : NULL) {
        nl = strchr(r, '\n');
        char *one = fw_asprintf("<%.*s>", nl ? (int)(nl - r) : (int)strlen(r), r);
        j->rcpts = curl_slist_append(j->rcpts, one);
        free(one);
    }
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpts);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt(e, CURLOPT_READDATA, j);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)strlen(j->f[F_MSG]));
    if (*j->f[F_USER]) {
        curl_easy_setopt(e, CURLOPT_USERNAME, j->f[F_USER]);
        curl_easy_setopt(e, CURLOPT_PASSWORD, j->f[F_PASS]);
        s_opt_str(e, CURLOPT_SASL_AUTHZID, j->f[F_AUTHZID]);
    }
    // STARTTLS required, or none at all (Alertmanager does not use it when not required).
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     strcmp(j->f[F_STARTTLS], "1") == 0 ? (long)CURLUSESSL_ALL
                                                        : (long)CURLUSESSL_NONE);
    s_opt_str(e, CURLOPT_CAINFO, j->f[F_CA]);
    s_opt_str(e, CURLOPT_SSLCERT, j->f[F_CERT]);
    s_opt_str(e, CURLOPT_SSLKEY, j->f[F_KEY]);
    if (strcmp(j->f[F_INSECURE], "1") == 0) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    j->errbuf[0] = '\0';
    curl_multi_add_handle(multi, e);
}

static int64_t
s_backoff(const struct s_args *a, int attempts)
{
    double b = (double)a->retry.initial_backoff;
    for (int i = 1; i < attempts && b < (double)a->retry.max_backoff; i++)
        b *= 2;
    if (b > (double)a->retry.max_backoff)
        b = (double)a->retry.max_backoff;
    return (int64_t)(b * (0.5 + 0.5 * ((double)rand() / (double)RAND_MAX)));
}

static void
s_report(zsock_t *pipe, const struct s_job *j, bool ok, const char *reason, const struct s_args *a)
{
    char labels[512];
    if (ok)
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"email\"", j->f[F_RECEIVER]);
    else
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"email\",reason=\"%s\"",
                 j->f[F_RECEIVER], reason);
    fw_metrics_add(a->metrics,
                   ok ? "fw_notifyd_notifications_total" : "fw_notifyd_notifications_failed_total",
                   labels, 1);
    zsock_send(pipe, "s8ssssi", "RESULT", j->id, j->f[F_RECEIVER], ok ? "ok" : "fail", reason, "",
               j->attempts);
}

static const char *
s_reason(CURLcode res)
{
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return "connection";
    case CURLE_LOGIN_DENIED: return "auth";
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: return "tls";
    default: return "smtp";
    }
}

static void
s_done(CURLM *multi, CURLMsg *m, zlist_t *queue, zsock_t *pipe, const struct s_args *a)
{
    struct s_job *j = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    long code = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t took_us = 0; // the attempt's latency (Alertmanager observes each request)
    curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &took_us);
    CURLcode res = m->data.result;
    curl_multi_remove_handle(multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    notifyd_am_request(a->metrics, "email", res == CURLE_OK, (double)took_us / 1e6);
    if (res == CURLE_OK) {
        fw_debug("email.ok", "receiver=%s smarthost=%s attempts=%d", j->f[F_RECEIVER],
                 j->f[F_SMARTHOST], j->attempts);
        s_report(pipe, j, true, "", a);
        s_job_free(&j);
        return;
    }
    const char *reason = s_reason(res);
    fw_warn("email.fail", "receiver=%s smarthost=%s reason=%s smtp_code=%ld err=\"%s\" attempt=%d",
            j->f[F_RECEIVER], j->f[F_SMARTHOST], reason, code,
            *j->errbuf ? j->errbuf : curl_easy_strerror(res), j->attempts);
    if (j->attempts < a->retry.max_attempts) {
        char labels[300];
        snprintf(labels, sizeof labels, "receiver=\"%s\"", j->f[F_RECEIVER]);
        fw_metrics_add(a->metrics, "fw_notifyd_retries_total", labels, 1);
        j->next_at = fw_time_mono_ms() + s_backoff(a, j->attempts);
        zlist_append(queue, j);
        return;
    }
    s_report(pipe, j, false, reason, a);
    s_job_free(&j);
}

static bool
s_drain_pipe(zsock_t *pipe, zlist_t *queue)
{
    while (zsock_events(pipe) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            return false;
        char *cmd = zmsg_popstr(msg);
        bool term = cmd && strcmp(cmd, "$TERM") == 0;
        if (cmd && strcmp(cmd, "MAIL") == 0 && zmsg_size(msg) == F_N) {
            struct s_job *j = fw_calloc(1, sizeof *j);
            for (int i = 0; i < F_N; i++)
                j->f[i] = zmsg_popstr(msg);
            j->id = strtoull(j->f[F_ID], NULL, 10);
            zlist_append(queue, j);
        }
        free(cmd);
        zmsg_destroy(&msg);
        if (term)
            return false;
    }
    return true;
}

static void
s_actor(zsock_t *pipe, void *arg)
{
    struct s_args *a = arg;
    CURLM *multi = curl_multi_init();
    zlist_t *queue = zlist_new(), *inflight = zlist_new();
    int running = 0;
    zsock_signal(pipe, 0);
    int fd = zsock_fd(pipe);
    while (s_drain_pipe(pipe, queue)) {
        int64_t now = fw_time_mono_ms(), next = now + 50;
        size_t n = zlist_size(queue);
        for (size_t i = 0; i < n; i++) {
            struct s_job *j = zlist_pop(queue);
            if (j->next_at <= now && running < a->max_in_flight) {
                s_start(multi, j, a);
                zlist_append(inflight, j);
                running++;
            } else {
                if (j->next_at > now && j->next_at < next)
                    next = j->next_at;
                zlist_append(queue, j);
            }
        }
        struct curl_waitfd extra = {.fd = fd, .events = CURL_WAIT_POLLIN};
        curl_multi_wait(multi, &extra, 1, next > now ? (int)(next - now) : 0, NULL);
        int still = 0;
        curl_multi_perform(multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            running--;
            struct s_job *done = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done);
            zlist_remove(inflight, done);
            s_done(multi, m, queue, pipe, a);
        }
    }
    struct s_job *j;
    while ((j = zlist_pop(inflight))) {
        curl_multi_remove_handle(multi, j->easy);
        s_job_free(&j);
    }
    while ((j = zlist_pop(queue)))
        s_job_free(&j);
    curl_multi_cleanup(multi);
    zlist_destroy(&inflight);
    zlist_destroy(&queue);
    free(a);
}

notifyd_email_t *
notifyd_email_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); // reference counted; the webhook actor's too
    struct s_args *a = fw_calloc(1, sizeof *a);
    a->retry = cfg->retry;
    a->timeout_ms = cfg->timeout;
    a->max_in_flight = cfg->max_in_flight;
    a->metrics = metrics;
    notifyd_email_t *self = fw_calloc(1, sizeof *self);
    if (gethostname(self->hostname, sizeof self->hostname - 1) < 0 || !*self->hostname)
        strcpy(self->hostname, "localhost");
    self->actor = zactor_new(s_actor, a);
    return self;
}

void
notifyd_email_destroy(notifyd_email_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

// A secret file's content without its trailing line end, or NULL.
static char *
s_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return fw_strdup(buf);
}

static const char *
s_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int
notifyd_email_send(notifyd_email_t *self, uint64_t id, const char *receiver, const json_t *config,
                   const json_t *data, fw_err_t *err)
{
    const char *smarthost = s_str(config, "smarthost");
    const char *colon = strrchr(smarthost, ':');
    if (!colon) {
        fw_err_set(err, "smarthost \"%s\" has no port", smarthost);
        return -1;
    }
    char *from_text = notifyd_tmpl_key(config, "email_configs", "from", data);
    char **from = notifyd_email_addresses(from_text, err);
    free(from_text);
    if (!from)
        return -1;
    if (from[1]) {
        fw_err_set(err, "must be exactly one 'from' address");
        notifyd_email_addresses_free(from);
        return -1;
    }
    char *to_text = notifyd_tmpl_key(config, "email_configs", "to", data);
    char **to = notifyd_email_addresses(to_text, err);
    free(to_text);
    if (!to) {
        notifyd_email_addresses_free(from);
        return -1;
    }
    size_t tl = 0;
    for (size_t i = 0; to[i]; i++)
        tl += strlen(to[i]) + 1;
    char *rcpts = fw_calloc(1, tl + 1);
    for (size_t i = 0; to[i]; i++) {
        strcat(rcpts, to[i]);
        if (to[i + 1])
            strcat(rcpts, "\n");
    }
    const json_t *fit = json_object_get(config, "force_implicit_tls");
    bool implicit = fit ? json_is_true(fit) : strcmp(colon + 1, "465") == 0;
    bool starttls = !implicit && json_is_true(json_object_get(config, "require_tls"));
    char *url =
        fw_asprintf("%s://%s/%s", implicit ? "smtps" : "smtp", smarthost, s_str(config, "hello"));
    char *msg = notifyd_email_message(config, data, fw_time_now_ms(), self->hostname, NULL, err);
    const json_t *tls = json_object_get(config, "tls_config");
    // A password or secret given as a file is read at each delivery (Alertmanager's way).
    char *pass = NULL;
    bool unreadable = false;
    for (int k = 0; k < 2 && !pass && !unreadable; k++) {
        const char *v = s_str(config, k ? "auth_secret" : "auth_password");
        const char *f = s_str(config, k ? "auth_secret_file" : "auth_password_file");
        if (*v)
            pass = fw_strdup(v);
        else if (*f && !(pass = s_read_file(f))) {
            fw_err_set(err, "cannot read %s \"%s\"", k ? "auth_secret_file" : "auth_password_file",
                       f);
            unreadable = true;
        }
    }
    if (unreadable) {
        free(msg);
        msg = NULL;
    }
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)id);
    int rc =
        msg ? zsock_send(self->actor, "ssssssssssssssss", "MAIL", idbuf, receiver, url, from[0],
                         rcpts, msg, s_str(config, "auth_username"), pass,
                         s_str(config, "auth_identity"), starttls ? "1" : "0",
                         s_str(tls, "ca_file"), s_str(tls, "cert_file"), s_str(tls, "key_file"),
                         json_is_true(json_object_get(tls, "insecure_skip_verify")) ? "1" : "0",
                         smarthost)
            : -1;
    free(msg);
    free(pass);
    free(url);
    free(rcpts);
    notifyd_email_addresses_free(from);
    notifyd_email_addresses_free(to);
    return rc;
}

zsock_t *
notifyd_email_sock(notifyd_email_t *self)
{
    return zactor_sock(self->actor);
}

int
notifyd_email_recv(notifyd_email_t *self, struct notifyd_result *out)
{
    memset(out, 0, sizeof *out);
    char *cmd = NULL, *ok = NULL;
    if (zsock_recv(self->actor, "s8ssssi", &cmd, &out->id, &out->receiver, &ok, &out->reason,
                   &out->detail, &out->attempts) < 0)
        return -1;
    bool good = cmd && strcmp(cmd, "RESULT") == 0 && ok;
    out->ok = good && strcmp(ok, "ok") == 0;
    free(cmd);
    free(ok);
    if (!good) {
        notifyd_result_clear(out);
        return -1;
    }
    return 0;
}
