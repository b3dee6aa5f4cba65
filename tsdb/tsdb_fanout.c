/*  tsdb_fanout.c — one HTTP GET to each of a list of peers at once (see tsdb_fanout.h).
 */
#include "tsdb_fanout.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_time.h"

struct tsdb_fanout {
    char **urls; // owned: base URLs without a trailing '/'
    size_t n;
    int64_t timeout_ms;
};

tsdb_fanout_t *
tsdb_fanout_new(const char *list, const char *flag, int64_t timeout_ms, fw_err_t *err)
{
    char **urls = fw_calloc(TSDB_FANOUT_MAX_PEERS, sizeof(*urls));
    size_t n = 0;
    for (const char *p = list ? list : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) // trim blanks around the entry
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        char *u = fw_strndup(p, len);
        p += len;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
        if (!*u) {
            free(u);
            continue;
        }
        char *full = strstr(u, "://") ? fw_strdup(u) : fw_asprintf("http://%s", u);
        char *host = strstr(full, "://") + 3;
        size_t flen = strlen(full);
        while (flen > (size_t)(host - full) && full[flen - 1] == '/')
            full[--flen] = '\0';
        bool bad = strpbrk(full, " \t\r\n") != NULL || !*host ||
                   (strncmp(full, "http://", 7) != 0 && strncmp(full, "https://", 8) != 0);
        if (bad || n == TSDB_FANOUT_MAX_PEERS) {
            fw_err_set(err, "--%s: \"%s\" %s", flag, u,
                       bad ? "is not an http:// or https:// base URL"
                           : "is one URL too many (at most 64)");
            free(u);
            free(full);
            for (size_t i = 0; i < n; i++)
                free(urls[i]);
            free(urls);
            return NULL;
        }
        free(u);
        urls[n++] = full;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); // before any thread uses curl
    tsdb_fanout_t *self = fw_calloc(1, sizeof(*self));
    self->urls = urls;
    self->n = n;
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    return self;
}

void
tsdb_fanout_destroy(tsdb_fanout_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_fanout_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->urls[i]);
    free(self->urls);
    free(self);
    *self_p = NULL;
}

size_t
tsdb_fanout_count(const tsdb_fanout_t *self)
{
    return self->n;
}

const char *
tsdb_fanout_url(const tsdb_fanout_t *self, size_t i)
{
    return self->urls[i];
}

static size_t
s_on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct tsdb_fanout_reply *r = arg;
    size_t n = size * nmemb;
    if (r->len + n > TSDB_FANOUT_MAX_BODY) {
        r->too_big = true;
        return 0; // curl ends the transfer with CURLE_WRITE_ERROR
    }
    fw_mem_grow((void **)&r->body, &r->cap, r->len + n + 1, 1);
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

char *
tsdb_fanout_path_query(const fw_http_request_t *req, const char *path, const char *const *args)
{
    char *out = fw_strdup(path);
    char sep = '?';
    for (size_t i = 0; args[i]; i++) {
        const char *vals[32];
        size_t nv = fw_http_args(req, args[i], vals, 32);
        for (size_t k = 0; k < nv && k < 32; k++) {
            char *name = curl_easy_escape(NULL, args[i], 0);
            char *esc = curl_easy_escape(NULL, vals[k], 0);
            char *next = fw_asprintf("%s%c%s=%s", out, sep, name ? name : "", esc ? esc : "");
            curl_free(name);
            curl_free(esc);
            free(out);
            out = next;
            sep = '&';
        }
    }
    return out;
}

struct tsdb_fanout_reply *
tsdb_fanout_ask(const tsdb_fanout_t *self, const char *path_query, const char *agent,
                const char *authorization)
{
    size_t n = self->n;
    int64_t timeout_ms = self->timeout_ms;
    struct tsdb_fanout_reply *replies = fw_calloc(n + 1, sizeof(*replies));
    CURLM *m = curl_multi_init();
    struct curl_slist *hdrs = NULL;
    if (authorization && *authorization) {
        char *line = fw_asprintf("Authorization: %s", authorization);
        hdrs = curl_slist_append(NULL, line);
        free(line);
    }
    for (size_t i = 0; i < n; i++) {
        struct tsdb_fanout_reply *r = &replies[i];
        r->url = fw_asprintf("%s%s", self->urls[i], path_query);
        CURL *h = curl_easy_init();
        r->h = h;
        if (!h || !m) {
            snprintf(r->error, sizeof(r->error), "cannot start an HTTP request");
            continue;
        }
        curl_easy_setopt(h, CURLOPT_URL, r->url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_PRIVATE, r);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->error);
        curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
        if (hdrs)
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        r->error[0] = '\0';
        curl_multi_add_handle(m, h);
    }
    int running = 1;
    // Each transfer ends by its own timeout; the deadline only guards against a stuck curl.
    int64_t deadline = fw_time_mono_ms() + timeout_ms + 1000;
    while (m && running && fw_time_mono_ms() < deadline) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while (m && (msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct tsdb_fanout_reply *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
        CURLcode rc = msg->data.result;
        if (r->too_big)
            snprintf(r->error, sizeof(r->error), "answer larger than %u bytes",
                     TSDB_FANOUT_MAX_BODY);
        else if (rc != CURLE_OK && !r->error[0])
            snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
        else if (rc == CURLE_OK)
            r->error[0] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        struct tsdb_fanout_reply *r = &replies[i];
        if (!r->h)
            continue;
        if (!r->error[0] && r->status == 0)
            snprintf(r->error, sizeof(r->error), "no answer within %lld ms", (long long)timeout_ms);
        if (m)
            curl_multi_remove_handle(m, r->h);
        curl_easy_cleanup(r->h);
        r->h = NULL;
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    return replies;
}

void
tsdb_fanout_replies_free(struct tsdb_fanout_reply *replies, size_t n)
{
    for (size_t i = 0; replies && i < n; i++) {
        free(replies[i].url);
        free(replies[i].body);
    }
    free(replies);
}
