/*  scraper_fetch_actor.c — the HTTP fetch actor's thread: one libcurl multi handle, the
    schedule of requests, the transfers and their answers.

    Design: the actor thread owns a CURLM in socket mode. curl tells us which sockets to
    watch (CURLMOPT_SOCKETFUNCTION) and when to call back for timeouts
    (CURLMOPT_TIMERFUNCTION); we keep that in a small array and run one plain poll() over the
    actor pipe's ZMQ_FD plus those raw descriptors, so ZeroMQ and curl share one wait. (Not
    zmq_poll(): it adds a zero-timeout pass and, per ZeroMQ socket, two system calls before
    and after each wait; on this project's VMs a system call costs about a microsecond. The
    pipe's fd is edge-triggered, so its messages are read until none is left whenever it
    signals or a reply was sent on it.) Ready descriptors go to curl_multi_socket_action();
    curl's 0 ms timer after transfers start is served at once, not by another round.
    Finished transfers (curl_multi_info_read) are answered on the hand-off function, or on the
    pipe as "DONE" messages: id, error ("" for none), content type, duration, body, job
    pointer, start time, cancelled flag, skipped flag; at the end of each round the round function
    (scraper_fetch_on_round) lets the owner send back together what the round handed off.

    The owner's side (scraper_fetch.c) queues requests and cancels; each time round its loop
    the actor takes them into its min-heap by due time (s_schedule) and publishes when it
    will look again at the latest.
*/
#include "scraper_fetch_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "fw_http_tls.h"
#include "fw_tlsfiles.h"

#define S_USER_AGENT "floorwatch-scraper/" FW_VERSION

// An easy handle, the lists its options point at, and what it was set up with. A handle
// keeps its options between transfers: the next request to the same URL with the same
// settings (and secrets and TLS files reading the same) runs on it without curl_easy_reset
// and without setting them again; any other request resets it and sets them all.
struct s_handle {
    CURL *easy;                    // owned
    struct curl_slist *headers;    // owned
    struct curl_slist *connect_to; // owned: tls_config.server_name's CONNECT_TO entry
    char *url;                     // owned: the URL set (server_name's rewrite), or NULL
    struct scraper_fetch_req *set; // owned: the request it was set up for; NULL: reset it
    char *secret[3];               // owned: basic auth username, password, credentials read
    uint64_t tls_gen[3];           // generations of the CA, cert and key files set (0: none)
    char *body;                    // owned: the body buffer, kept with the handle
    size_t cap;
};

struct s_xfer {
    uint64_t id;
    void *job;         // opaque
    struct s_handle h; // owned
    size_t len;
    size_t limit; // body size limit, decoded bytes
    bool too_big;
    int64_t start_ms; // wall clock
    int64_t start_mono;
    bool fresh; // a TLS file changed since the handle's last transfer: a new connection
    char errbuf[CURL_ERROR_SIZE];
    char status[96]; // the last HTTP/1.x status line after its version ("302 Found"), or ""
};

struct s_sock {
    curl_socket_t fd;
    int what; // CURL_POLL_IN / OUT / INOUT
};

// Finished transfers' handles (struct s_handle) are kept for the next ones: curl_easy_init()
// allocates and clears a large handle and curl's download buffer per call, setting a
// handle's options costs a reset and some twenty setopts, and a body grown from nothing
// reallocates several times per scrape. Up to S_MAX_IDLE are kept, so a scraper with that
// many targets or fewer keeps one handle per target.
#define S_MAX_IDLE 64
#define S_MAX_IDLE_BODY (8 << 20)

struct s_actor {
    zsock_t *pipe;                      // borrowed
    struct scraper_fetch_shared *share; // borrowed
    struct scraper_fetch_req **heap;    // owned: scheduled requests, a min-heap by due
    size_t n_heap, cap_heap;
    uint64_t *cancels; // owned: the cancels taken from the owner (swapped with its array)
    size_t cap_cancels;
    struct s_handle idle[S_MAX_IDLE]; // the most recently used last
    size_t n_idle;
    CURLM *multi;         // owned
    struct s_sock *socks; // owned
    size_t n_socks, cap_socks;
    struct s_xfer **xfers; // owned: the transfers in flight
    size_t n_xfers, cap_xfers;
    int64_t timer_due; // monotonic ms when curl wants a timeout call; -1: none
    bool terminated;
    bool pipe_check;         // the pipe may hold a message its fd did not signal (edge-triggered)
    uint64_t polls;          // poll() calls
    uint64_t setups;         // handles set up from scratch (new or reset)
    fw_tlsfiles_t *tlsfiles; // owned: tls_config's files as last read
    scraper_fetch_round_fn *round; // or NULL (taken from share under its mutex)
    void *round_arg;
    scraper_fetch_handoff_fn *handoff; // or NULL
    void *handoff_arg;
};

// ---------------------------------------------------------------------------------------
//  curl callbacks (all run on the actor thread)

// Make room in x's body buffer for need bytes (need <= x->limit + 1). The first write
// sizes it from the Content-Length announced (the decoded size when the body is not
// compressed; with gzip a lower bound), so a big body is not grown and copied several
// times; later growth doubles, up to limit + 1. The bytes past x->len are never zeroed
// (nor read): a 64 MiB body buffer cleared per scrape was most of this thread's time.
static void
s_body_reserve(struct s_xfer *x, size_t need)
{
    if (need <= x->h.cap)
        return;
    size_t cap = x->h.cap ? x->h.cap * 2 : 4096;
    if (x->len == 0) {
        curl_off_t cl = -1;
        if (curl_easy_getinfo(x->h.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
            cl > 0 && (uint64_t)cl < (uint64_t)x->limit && (size_t)cl + 1 > cap)
            cap = (size_t)cl + 1;
    }
    if (cap < need)
        cap = need;
    if (cap > x->limit + 1)
        cap = x->limit + 1;
    x->h.body = fw_realloc(x->h.body, cap);
    x->h.cap = cap;
}

static size_t
s_on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct s_xfer *x = userp;
    size_t n = size * nmemb;
    if (n > x->limit || x->len > x->limit - n) {
        x->too_big = true;
        return 0; // aborts the transfer with CURLE_WRITE_ERROR
    }
    s_body_reserve(x, x->len + n + 1);
    memcpy(x->h.body + x->len, data, n);
    x->len += n;
    x->h.body[x->len] = '\0'; // what was zero-filled before: a reader may rely on it
    return n;
}

// Keep the status line of each response (redirects followed: the last one's) as Go's
// net/http gives it in resp.Status, which Prometheus's "server returned HTTP status %s"
// quotes: for HTTP/1.x the text after the version, as the target sent it ("302 Found", or
// "302" alone; bytes outside printable ASCII become '?', so lastError stays valid JSON);
// HTTP/2 and 3 carry no reason phrase: "" here, s_status_error adds the standard text.
static size_t
s_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct s_xfer *x = userp;
    size_t n = size * nmemb;
    if (n < 5 || memcmp(data, "HTTP/", 5) != 0)
        return n;
    x->status[0] = '\0';
    const char *p = memchr(data, ' ', n), *end = data + n;
    if (!p || n < 7 || memcmp(data, "HTTP/1.", 7) != 0)
        return n;
    while (p < end && *p == ' ') // Go's strings.TrimLeft(status, " ")
        p++;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    size_t len =
        (size_t)(end - p) < sizeof(x->status) - 1 ? (size_t)(end - p) : sizeof(x->status) - 1;
    for (size_t i = 0; i < len; i++)
        x->status[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    x->status[len] = '\0';
    return n;
}

// Prometheus fails a scrape whose answer is anything but 200 (its readResponse), with
// resp.Status in the text: the status line's (s_on_header), or over HTTP/2 the code and
// its standard reason phrase, as Go's http2 transport makes it.
static void
s_status_error(const struct s_xfer *x, long status, char *err, size_t size)
{
    if (x->status[0]) {
        snprintf(err, size, "server returned HTTP status %s", x->status);
        return;
    }
    const char *text = MHD_get_reason_phrase_for((unsigned int)status);
    snprintf(err, size, "server returned HTTP status %ld %s", status,
             text && strcmp(text, "Unknown") != 0 ? text : "");
}

static int
s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct s_actor *self = userp;
    size_t i = 0;
    while (i < self->n_socks && self->socks[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < self->n_socks)
            self->socks[i] = self->socks[--self->n_socks];
        return 0;
    }
    if (i == self->n_socks) {
        fw_mem_grow((void **)&self->socks, &self->cap_socks, self->n_socks + 1,
                    sizeof(*self->socks));
        self->n_socks++;
    }
    self->socks[i].fd = fd;
    self->socks[i].what = what;
    return 0;
}

static int
s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct s_actor *self = userp;
    self->timer_due = timeout_ms < 0 ? -1 : fw_time_mono_ms() + timeout_ms;
    return 0;
}

// ---------------------------------------------------------------------------------------

// Forget what h was set up with: its options must be set again before it is used.
static void
s_handle_unset(struct s_handle *h)
{
    curl_slist_free_all(h->headers);
    curl_slist_free_all(h->connect_to);
    h->headers = h->connect_to = NULL;
    free(h->url);
    h->url = NULL;
    scraper_fetch_req_free(&h->set);
    for (size_t i = 0; i < 3; i++) {
        free(h->secret[i]);
        h->secret[i] = NULL;
        h->tls_gen[i] = 0;
    }
}

static void
s_handle_free(struct s_handle *h)
{
    s_handle_unset(h);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    free(h->body);
    *h = (struct s_handle){0};
}

// Free x; its handle (not in the multi any more), with its options and body buffer, goes
// back to self's idle list (self may be NULL: never), the oldest idle one making room.
static void
s_xfer_destroy(struct s_actor *self, struct s_xfer **x_p)
{
    struct s_xfer *x = *x_p;
    if (!x)
        return;
    if (x->h.cap > S_MAX_IDLE_BODY) { // a rare large body: not kept
        free(x->h.body);
        x->h.body = NULL;
        x->h.cap = 0;
    }
    if (self && x->h.easy) {
        if (self->n_idle == S_MAX_IDLE) {
            s_handle_free(&self->idle[0]);
            memmove(self->idle, self->idle + 1, (S_MAX_IDLE - 1) * sizeof(*self->idle));
            self->n_idle--;
        }
        self->idle[self->n_idle++] = x->h;
        x->h = (struct s_handle){0};
    }
    s_handle_free(&x->h);
    free(x);
    *x_p = NULL;
}

// Whether request id is among the transfers in flight.
static bool
s_in_flight(const struct s_actor *self, uint64_t id)
{
    for (size_t i = 0; i < self->n_xfers; i++)
        if (self->xfers[i]->id == id)
            return true;
    return false;
}

// How a request ends: answered after its transfer (or its failure to start), cancelled
// before it started, or skipped at its due time (scraper_fetch_opts.after_seq).
enum s_end { S_DONE, S_CANCELLED, S_SKIPPED };

// Answer request id (carrying job): to the hand-off function when it takes it, else on the
// pipe (a cancelled or skipped request always). lender: NULL, or the slot holding the
// buffer body lies in, which a hand-off may take over (scraper_fetch_result_keep: the
// slot is then NULL), so that a big body is neither copied nor freed on this thread.
static void
s_answer(struct s_actor *self, uint64_t id, void *job, const char *error, const char *ctype,
         double dur_s, const char *body, size_t len, int64_t start_ms, enum s_end end,
         char **lender)
{
    bool cancelled = end == S_CANCELLED, skipped = end == S_SKIPPED;
    struct scraper_fetch_result res = {0};
    if (job && self->handoff && end == S_DONE) {
        res = (struct scraper_fetch_result){
            .id = id,
            .error = error ? fw_strdup(error) : NULL,
            .content_type = fw_strdup(ctype ? ctype : ""),
            .data = body ? body : "",
            .len = body ? len : 0,
            .lender = body ? lender : NULL,
            .duration_s = dur_s,
            .job = job,
            .start_ms = start_ms,
            .others = self->n_xfers - (self->n_xfers > 0 && s_in_flight(self, id)),
        };
        if (self->handoff(&res, self->handoff_arg) == 0)
            return;
        if (body && res.buf) // refused after taking the buffer over: the body is there now
            body = res.buf;
    }
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "DONE");
    zmsg_addmem(m, &id, sizeof(id));
    zmsg_addstr(m, error ? error : "");
    zmsg_addstr(m, ctype ? ctype : "");
    zmsg_addstrf(m, "%.6f", dur_s);
    zmsg_addmem(m, body, body ? len : 0);
    zmsg_addmem(m, &job, sizeof(job));
    zmsg_addmem(m, &start_ms, sizeof(start_ms));
    zmsg_addmem(m, &cancelled, sizeof(cancelled));
    zmsg_addmem(m, &skipped, sizeof(skipped));
    zmsg_send(&m, self->pipe);
    scraper_fetch_result_clear(&res); // a refused hand-off's copy of the answer
    self->pipe_check = true; // sending processed the pipe's commands: its fd may not signal
}

static void
s_reply(struct s_actor *self, uint64_t id, void *job, const char *error, const char *ctype,
        double dur_s, const char *body, size_t len, int64_t start_ms, enum s_end end)
{
    s_answer(self, id, job, error, ctype, dur_s, body, len, start_ms, end, NULL);
}

// The round's answers are all handed off: tell the owner (before the actor waits).
static void
s_round_end(struct s_actor *self)
{
    if (self->round)
        self->round(self->round_arg);
}

// The value of an inline secret, or of its file read now; NULL and err when the file
// cannot be read. A new string, or NULL when neither is set.
static char *
s_secret(const char *value, const char *file, const char *what, char *err, size_t size, bool *bad)
{
    if (file && *file) {
        char *out = NULL;
        fw_err_t e;
        if (fw_promcfg_http_read_secret(file, &out, &e) != 0) {
            snprintf(err, size, "unable to read %s: %s", what, e.msg);
            *bad = true;
            return NULL;
        }
        return out;
    }
    return value ? fw_strdup(value) : NULL;
}

// tls_config.server_name: connect to the URL's host but speak TLS (SNI and verification)
// to server_name, through curl's CONNECT_TO; the Host header keeps the URL's host, as Go's
// tls.Config.ServerName does.
static void
s_server_name(struct s_xfer *x, const char *url, const char *server_name)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *rewritten = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    char *hosthdr = fw_asprintf("Host: %s:%s", host, port);
    x->h.headers = curl_slist_append(x->h.headers, hosthdr);
    free(hosthdr);
    char *entry = fw_asprintf("%s:%s:%s:%s", server_name, port, host, port);
    x->h.connect_to = curl_slist_append(x->h.connect_to, entry);
    free(entry);
    if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &rewritten, 0) != CURLUE_OK)
        goto out;
    free(x->h.url);
    x->h.url = fw_strdup(rewritten);
    curl_easy_setopt(x->h.easy, CURLOPT_CONNECT_TO, x->h.connect_to);
out:
    curl_free(rewritten);
    curl_free(port);
    curl_free(host);
    curl_url_cleanup(u);
}

// Read the secrets of h (inline, or from their files now, as Prometheus reads them per
// request) into s[0..3): basic auth username and password, authorization credentials, each
// a new string or NULL when unset. 0, or -1 with err (a file unreadable; s is then freed).
static int
s_read_secrets(const struct fw_http_client_config *h, char *s[3], char *err, size_t size)
{
    bool bad = false;
    const struct fw_basic_auth *ba = &h->basic_auth;
    s[0] = s[1] = s[2] = NULL;
    if (ba->username || ba->username_file || ba->password || ba->password_file) {
        s[0] = s_secret(ba->username, ba->username_file, "basic auth username", err, size, &bad);
        if (!bad)
            s[1] =
                s_secret(ba->password, ba->password_file, "basic auth password", err, size, &bad);
    }
    const struct fw_authorization *au = &h->authorization;
    if (!bad && (au->credentials || au->credentials_file))
        s[2] = s_secret(au->credentials, au->credentials_file, "authorization credentials", err,
                        size, &bad);
    if (bad) {
        for (size_t i = 0; i < 3; i++) {
            free(s[i]);
            s[i] = NULL;
        }
        return -1;
    }
    return 0;
}

// Bring tls_config's files up to date with the disk and set gen to their generations
// (fw_tlsfiles_check_tls). 0, or -1 with err in Prometheus's words: the scrape fails, and
// the last good content stays for the next one.
static int
s_tls_files(struct s_actor *self, const struct fw_tls_config *t, uint64_t gen[3], char *err,
            size_t size)
{
    fw_err_t e = {0};
    if (fw_tlsfiles_check_tls(self->tlsfiles, t, fw_time_now_ms(), gen, &e) == 0)
        return 0;
    snprintf(err, size, "%s", e.msg);
    return -1;
}

// Apply the job's HTTP client settings to x, with the secrets s read for them
// (s_read_secrets) and the TLS files' content as s_tls_files last read it (files). 0, or
// -1 with err (credentials holding a line break).
static int
s_apply_http(struct s_xfer *x, const char *url, const struct fw_http_client_config *h,
             char *const s[3], const fw_tlsfiles_t *files, char *err, size_t size)
{
    CURL *e = x->h.easy;
    const struct fw_basic_auth *ba = &h->basic_auth;
    if (ba->username || ba->username_file || ba->password || ba->password_file) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, s[0] ? s[0] : "");
        curl_easy_setopt(e, CURLOPT_PASSWORD, s[1] ? s[1] : "");
    }
    const struct fw_authorization *au = &h->authorization;
    if (s[2]) {
        if (strpbrk(s[2], "\r\n")) { // a header of its own would follow
            snprintf(err, size, "unable to use authorization credentials: they hold a line break");
            return -1;
        }
        char *hdr = fw_asprintf("Authorization: %s %s", au->type ? au->type : "Bearer", s[2]);
        x->h.headers = curl_slist_append(x->h.headers, hdr);
        free(hdr);
    }
    // The files' content goes to curl as blobs (copied by curl): what was on disk at this
    // scrape, not what curl would read later, and curl matches connections and TLS sessions
    // on the CA and certificate blobs, so none made under other content is reused.
    struct fw_tls_config t = fw_tlsfiles_tls(files, &h->tls_config);
    fw_http_tls(e, &t);
    if (t.server_name && *t.server_name)
        s_server_name(x, url, t.server_name);
    if (h->proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, h->proxy_url);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, h->follow_redirects ? 1L : 0L);
    return 0;
}

static bool
s_str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

// Whether handle h was set up for a request with req's URL and settings, its secrets
// reading s and its TLS files at generations gen: then it runs req as it is.
static bool
s_handle_fits(const struct s_handle *h, const struct scraper_fetch_req *req, char *const s[3],
              const uint64_t gen[3])
{
    const struct scraper_fetch_req *o = h->set;
    if (!o || strcmp(o->url, req->url) != 0 || o->timeout_ms != req->timeout_ms ||
        o->enable_compression != req->enable_compression ||
        strcmp(o->escaping, req->escaping) != 0 || o->has_http != req->has_http)
        return false;
    if (req->has_http && !fw_promcfg_http_equal(&o->http, &req->http))
        return false;
    for (size_t i = 0; i < 3; i++)
        if (!s_str_eq(h->secret[i], s[i]) || h->tls_gen[i] != gen[i])
            return false;
    return true;
}

// Take a handle for req into x: the idle one that fits it (1); else (0, with no settings)
// the target's own (an idle handle last set up for req's URL: its settings changed, say by
// a reload, or a TLS file's content: then x->fresh), reset; else a new one while the idle
// list has room for it; else the least recently used idle one, reset. -1 when
// curl_easy_init fails.
static int
s_handle_take(struct s_actor *self, struct s_xfer *x, const struct scraper_fetch_req *req,
              char *const s[3], const uint64_t gen[3])
{
    size_t i = self->n_idle, same_url = 0; // 1 + the index, 0: none
    for (; i > 0; i--) {
        const struct s_handle *h = &self->idle[i - 1];
        if (s_handle_fits(h, req, s, gen))
            break;
        if (!same_url && h->set && strcmp(h->set->url, req->url) == 0)
            same_url = i;
    }
    int fits = i > 0;
    if (!fits && !same_url && self->n_idle < S_MAX_IDLE) {
        x->h.easy = curl_easy_init();
        return x->h.easy ? 0 : -1;
    }
    if (!fits)
        i = same_url ? same_url : 1; // 1: the least recently used
    x->h = self->idle[i - 1];
    memmove(self->idle + i - 1, self->idle + i, (self->n_idle - i) * sizeof(*self->idle));
    self->n_idle--;
    if (!fits) {
        // Belt and braces for what curl's matching on the blobs does not cover (a key
        // replaced under the same certificate): the first transfer after a TLS file of this
        // target changed opens a connection of its own, as Prometheus's new round tripper.
        x->fresh = same_url && fw_tlsfiles_changed(x->h.tls_gen, gen);
        curl_easy_reset(x->h.easy);
        s_handle_unset(&x->h);
    }
    return fits;
}

// Start *req_p (taken when its handle keeps it as its settings, else left to the caller).
static void
s_start(struct s_actor *self, struct scraper_fetch_req **req_p)
{
    struct scraper_fetch_req *req = *req_p;
    uint64_t id = req->id;
    const char *url = req->url;
    int64_t start_ms = fw_time_now_ms();
    if (req->error) {
        s_reply(self, id, req->job, req->error, NULL, 0, NULL, 0, start_ms, S_DONE);
        return;
    }
    uint64_t settled = __atomic_load_n(&self->share->settled, __ATOMIC_ACQUIRE);
    if (req->after_seq > settled) {
        s_reply(self, id, req->job, "the previous scrape's samples are not stored yet", NULL, 0,
                NULL, 0, start_ms, S_SKIPPED);
        return;
    }
    char err[CURL_ERROR_SIZE + 320];
    char *secret[3] = {NULL, NULL, NULL};
    uint64_t gen[3] = {0, 0, 0};
    if (req->has_http && s_read_secrets(&req->http, secret, err, sizeof(err)) != 0) {
        s_reply(self, id, req->job, err, NULL, 0, NULL, 0, start_ms, S_DONE);
        return;
    }
    if (req->has_http && s_tls_files(self, &req->http.tls_config, gen, err, sizeof(err)) != 0) {
        for (size_t i = 0; i < 3; i++)
            free(secret[i]);
        s_reply(self, id, req->job, err, NULL, 0, NULL, 0, start_ms, false);
        return;
    }
    struct s_xfer *x = fw_calloc(1, sizeof(*x));
    x->id = id;
    x->job = req->job;
    x->start_ms = start_ms;
    x->start_mono = fw_time_mono_ms();
    x->limit = req->body_size_limit > 0 ? (size_t)req->body_size_limit : SCRAPER_FETCH_MAX_BODY;
    int fits = s_handle_take(self, x, req, secret, gen);
    if (fits < 0) {
        for (size_t i = 0; i < 3; i++)
            free(secret[i]);
        s_reply(self, id, x->job, "curl_easy_init failed", NULL, 0, NULL, 0, start_ms, S_DONE);
        goto fail;
    }
    CURL *e = x->h.easy;
    if (fits) {
        for (size_t i = 0; i < 3; i++)
            free(secret[i]);
        goto add;
    }
    // published at once: the answer (and a test reading this after it) comes later
    __atomic_store_n(&self->share->setups, ++self->setups, __ATOMIC_RELAXED);
    char hdr[96];
    snprintf(hdr, sizeof(hdr), "X-Prometheus-Scrape-Timeout-Seconds: %g",
             (double)req->timeout_ms / 1000.0);
    if (req->escaping[0]) {
        // Prometheus 3 names the name escaping it wants on each exposition format
        char accept[256];
        snprintf(accept, sizeof(accept), SCRAPER_FETCH_ACCEPT_ESCAPING, req->escaping,
                 req->escaping);
        x->h.headers = curl_slist_append(x->h.headers, accept);
    } else {
        x->h.headers = curl_slist_append(x->h.headers, "Accept: " SCRAPER_FETCH_ACCEPT);
    }
    x->h.headers = curl_slist_append(x->h.headers, hdr);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    // curl decodes what it announced (and a gzip body a server sends anyway, as Prometheus
    // does); s_on_write counts the decoded bytes against the limit.
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, req->enable_compression ? "gzip" : "identity");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    // Prometheus ignores http_proxy & co. unless a job asks for a proxy; so do we.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    // a typical body in a few reads and write callbacks instead of one per 16 KiB
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    int rc = req->has_http
                 ? s_apply_http(x, url, &req->http, secret, self->tlsfiles, err, sizeof(err))
                 : 0;
    for (size_t i = 0; i < 3; i++) {
        x->h.secret[i] = secret[i]; // the handle keeps them, to compare with the next reads
        x->h.tls_gen[i] = gen[i];
    }
    if (rc != 0) {
        s_reply(self, id, x->job, err, NULL, 0, NULL, 0, start_ms, S_DONE);
        goto fail;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->h.headers);
    if (!x->h.url)
        x->h.url = fw_strdup(url);
    x->h.set = req; // the handle now holds req's settings
    *req_p = NULL;
add:
    // Set again for every transfer: they point at this transfer, and a redirect followed
    // last time leaves the handle at the URL it was sent to.
    curl_easy_setopt(e, CURLOPT_URL, x->h.url);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, x->fresh ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(self->multi, e) != CURLM_OK) {
        s_reply(self, id, x->job, "curl_multi_add_handle failed", NULL, 0, NULL, 0, start_ms,
                S_DONE);
        goto fail;
    }
    fw_mem_grow((void **)&self->xfers, &self->cap_xfers, self->n_xfers + 1, sizeof(*self->xfers));
    self->xfers[self->n_xfers++] = x;
    return;
fail:
    s_xfer_destroy(self, &x); // a handle set up partly has no settings: reset at its next use
}

static void
s_forget(struct s_actor *self, const struct s_xfer *x)
{
    for (size_t i = 0; i < self->n_xfers; i++) {
        if (self->xfers[i] == x) {
            self->xfers[i] = self->xfers[--self->n_xfers];
            return;
        }
    }
}

static void
s_finish(struct s_actor *self, CURL *easy, CURLcode code)
{
    struct s_xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_multi_remove_handle(self->multi, easy);
    if (!x)
        return;
    double dur = (double)(fw_time_mono_ms() - x->start_mono) / 1000.0;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    char *ctype = NULL;
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype);
    char err[CURL_ERROR_SIZE + 64];
    const char *error = NULL;
    if (x->too_big) {
        snprintf(err, sizeof(err), "body size limit exceeded (limit: %zu bytes)", x->limit);
        error = err;
    } else if (code != CURLE_OK) {
        snprintf(err, sizeof(err), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
        error = err;
    } else if (status != 200) {
        s_status_error(x, status, err, sizeof(err));
        error = err;
    }
    if (x->h.body) // a kept buffer's bytes past len are the last body's: end this one
        x->h.body[x->len] = '\0';
    // A hand-off that keeps the body takes the buffer over (x->h.body is then NULL, and the
    // handle's next transfer makes a new one): a 40 MB body is not copied (and then freed,
    // being too big to keep) here, which took 69-569 ms of this thread at load 12-16 while
    // the other targets' scrapes fell due (issue 7).
    s_answer(self, x->id, x->job, error, ctype, dur, error ? NULL : x->h.body, x->len, x->start_ms,
             S_DONE, &x->h.body);
    if (!x->h.body)
        x->h.cap = 0;
    s_forget(self, x);
    s_xfer_destroy(self, &x);
}

static void
s_drain_done(struct s_actor *self)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(self->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE)
            s_finish(self, msg->easy_handle, msg->data.result);
    }
}

// ---------------------------------------------------------------------------------------
//  The schedule: a min-heap of requests by due time

static void
s_heap_swap(struct scraper_fetch_req **h, size_t a, size_t b)
{
    struct scraper_fetch_req *t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static void
s_heap_up(struct scraper_fetch_req **h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2]->due > h[i]->due) {
        s_heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
s_heap_down(struct scraper_fetch_req **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l]->due < h[m]->due)
            m = l;
        if (r < n && h[r]->due < h[m]->due)
            m = r;
        if (m == i)
            return;
        s_heap_swap(h, i, m);
        i = m;
    }
}

static void
s_heap_push(struct s_actor *self, struct scraper_fetch_req *req)
{
    fw_mem_grow((void **)&self->heap, &self->cap_heap, self->n_heap + 1, sizeof(*self->heap));
    self->heap[self->n_heap++] = req;
    s_heap_up(self->heap, self->n_heap - 1);
}

// Take element i out of the heap (the caller owns it).
static struct scraper_fetch_req *
s_heap_take(struct s_actor *self, size_t i)
{
    struct scraper_fetch_req *req = self->heap[i];
    self->heap[i] = self->heap[--self->n_heap];
    if (i < self->n_heap) {
        s_heap_down(self->heap, self->n_heap, i);
        s_heap_up(self->heap, i);
    }
    return req;
}

static int
s_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// Cancel the scheduled requests whose ids are among ids[0..n) (sorted here): each still in
// the heap is answered on the pipe and freed. One pass over the heap, then the heap is
// rebuilt: O(heap + n log n) for any number of cancels.
static void
s_cancel_all(struct s_actor *self, uint64_t *ids, size_t n)
{
    if (n == 0 || self->n_heap == 0)
        return;
    qsort(ids, n, sizeof(*ids), s_id_cmp);
    size_t kept = 0;
    int64_t now_ms = fw_time_now_ms();
    for (size_t i = 0; i < self->n_heap; i++) {
        struct scraper_fetch_req *req = self->heap[i];
        if (!bsearch(&req->id, ids, n, sizeof(*ids), s_id_cmp)) {
            self->heap[kept++] = req;
            continue;
        }
        s_reply(self, req->id, req->job, "scrape cancelled", NULL, 0, NULL, 0, now_ms, S_CANCELLED);
        scraper_fetch_req_free(&req);
    }
    if (kept == self->n_heap)
        return;
    self->n_heap = kept;
    for (size_t i = kept / 2; i-- > 0;)
        s_heap_down(self->heap, self->n_heap, i);
}

// Move what the owner queued into the heap, run the cancels, start what is due, and
// publish when the actor will look again at the latest (min of next_mono and the heap's
// top). Returns that time.
static int64_t
s_schedule(struct s_actor *self, int64_t next_mono)
{
    struct scraper_fetch_shared *sh = self->share;
    pthread_mutex_lock(&sh->mu);
    self->round = sh->round;
    self->round_arg = sh->round_arg;
    for (size_t i = 0; i < sh->n_queue; i++)
        s_heap_push(self, sh->queue[i]);
    sh->n_queue = 0;
    // every cancel queued, by swapping arrays: nothing is copied, whatever their number
    size_t n_cancels = sh->n_cancels;
    uint64_t *cancels = sh->cancels;
    size_t cap = sh->cap_cancels;
    sh->cancels = self->cancels;
    sh->cap_cancels = self->cap_cancels;
    sh->n_cancels = 0;
    sh->cancel_woken = false;
    self->cancels = cancels;
    self->cap_cancels = cap;
    pthread_mutex_unlock(&sh->mu);
    s_cancel_all(self, self->cancels, n_cancels);
    int64_t now = fw_time_mono_ms();
    while (self->n_heap > 0 && self->heap[0]->due <= now) {
        struct scraper_fetch_req *req = s_heap_take(self, 0);
        s_start(self, &req); // takes req when a handle keeps it as its settings
        scraper_fetch_req_free(&req);
    }
    int64_t wake = next_mono;
    if (self->n_heap > 0 && self->heap[0]->due < wake)
        wake = self->heap[0]->due;
    pthread_mutex_lock(&sh->mu);
    // a request queued meanwhile woke the pipe if it is due before the old deadline; one
    // due before the new one is taken before the poll, as the queue is not empty
    sh->wake_mono = sh->n_queue > 0 || sh->n_cancels > 0 ? now : wake;
    if (sh->n_queue > 0 || sh->n_cancels > 0)
        wake = now;
    pthread_mutex_unlock(&sh->mu);
    return wake;
}

// ---------------------------------------------------------------------------------------

static void
s_on_pipe(struct s_actor *self)
{
    zmsg_t *m = zmsg_recv(self->pipe);
    if (!m) {
        self->terminated = true;
        return;
    }
    char *cmd = zmsg_popstr(m);
    if (cmd && strcmp(cmd, "$TERM") == 0)
        self->terminated = true;
    else if (!cmd || strcmp(cmd, "WAKE") != 0) // WAKE: only to run s_schedule
        fw_warn("scrape.actor.bad_command", "cmd=%s", cmd);
    zstr_free(&cmd);
    zmsg_destroy(&m);
}

static void
s_free_all(struct s_actor *self)
{
    // Transfers still running at $TERM are dropped without an answer.
    for (size_t i = 0; i < self->n_xfers; i++) {
        curl_multi_remove_handle(self->multi, self->xfers[i]->h.easy);
        s_xfer_destroy(NULL, &self->xfers[i]);
    }
    self->n_xfers = 0;
    free(self->xfers);
    for (size_t i = 0; i < self->n_heap; i++)
        scraper_fetch_req_free(&self->heap[i]);
    free(self->heap);
    free(self->cancels);
}

// The actor (args: a struct scraper_fetch_args, copied before it signals).
void
scraper_fetch_actor_run(zsock_t *pipe, void *args)
{
    const struct scraper_fetch_args *a = args;
    struct s_actor self = {.pipe = pipe, .timer_due = -1, .share = a->share};
    self.handoff = a->handoff;
    self.handoff_arg = a->arg;
    self.multi = curl_multi_init();
    self.tlsfiles = fw_tlsfiles_new();
    curl_multi_setopt(self.multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(self.multi, CURLMOPT_SOCKETDATA, &self);
    curl_multi_setopt(self.multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(self.multi, CURLMOPT_TIMERDATA, &self);
    curl_multi_setopt(self.multi, CURLMOPT_MAXCONNECTS, 256L);
    zsock_signal(pipe, 0);

    struct pollfd *items = NULL;
    size_t items_cap = 0;
    int running = 0;
    int pipe_fd = -1;
    size_t fd_size = sizeof(pipe_fd);
    if (zmq_getsockopt(zsock_resolve(pipe), ZMQ_FD, &pipe_fd, &fd_size) != 0)
        self.terminated = true;
    self.pipe_check = true; // ZMQ_FD is edge-triggered: look at the pipe before the first wait
    while (!self.terminated) {
        // The pipe first: after anything that touched it (a reply sent on it, its fd
        // readable) its messages are read until none is left, so its fd signals again.
        while (self.pipe_check && !self.terminated) {
            self.pipe_check = false;
            if (zsock_events(pipe) & ZMQ_POLLIN) {
                s_on_pipe(&self);
                self.pipe_check = true;
            }
        }
        if (self.terminated)
            break;
        // Wake at least once a second even when curl has nothing scheduled.
        int64_t next = fw_time_mono_ms() + 1000;
        if (self.timer_due >= 0 && self.timer_due < next)
            next = self.timer_due;
        next = s_schedule(&self, next);
        // Starting what is due arms curl's timer at 0 ms: served now, not by a poll round
        // that would return at once (a few system calls per scrape).
        for (int i = 0; i < 4 && self.timer_due >= 0 && self.timer_due <= fw_time_mono_ms(); i++) {
            self.timer_due = -1;
            curl_multi_socket_action(self.multi, CURL_SOCKET_TIMEOUT, 0, &running);
            s_drain_done(&self);
        }
        if (self.timer_due >= 0 && self.timer_due < next)
            next = self.timer_due;
        if (self.pipe_check) // a reply went out on the pipe meanwhile
            continue;
        s_round_end(&self);
        size_t n = self.n_socks + 1;
        fw_mem_grow((void **)&items, &items_cap, n, sizeof(*items));
        items[0] = (struct pollfd){pipe_fd, POLLIN, 0};
        for (size_t i = 0; i < self.n_socks; i++) {
            short ev = 0;
            if (self.socks[i].what & CURL_POLL_IN)
                ev |= POLLIN;
            if (self.socks[i].what & CURL_POLL_OUT)
                ev |= POLLOUT;
            items[i + 1] = (struct pollfd){self.socks[i].fd, ev, 0};
        }
        int64_t d = next - fw_time_mono_ms();
        // One plain poll() over the pipe's fd and curl's sockets: zmq_poll() would add a
        // zero-timeout pass and two system calls per ZeroMQ socket before and after the
        // wait (ZMQ_EVENTS), several times a scrape.
        self.polls++;
        __atomic_store_n(&self.share->polls, self.polls, __ATOMIC_RELAXED);
        int rc = poll(items, (nfds_t)n, d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (int)d);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (items[0].revents & (POLLIN | POLLERR | POLLHUP)))
            self.pipe_check = true;
        for (size_t i = 1; rc > 0 && i < n; i++) {
            int flags = 0;
            if (items[i].revents & POLLIN)
                flags |= CURL_CSELECT_IN;
            if (items[i].revents & POLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (items[i].revents & (POLLERR | POLLHUP | POLLNVAL)) // as zmq_poll mapped them
                flags |= CURL_CSELECT_ERR;
            if (flags)
                curl_multi_socket_action(self.multi, items[i].fd, flags, &running);
        }
        if (self.timer_due >= 0 && fw_time_mono_ms() >= self.timer_due) {
            self.timer_due = -1;
            curl_multi_socket_action(self.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        s_drain_done(&self);
    }
    s_round_end(&self);
    s_free_all(&self);
    for (size_t i = 0; i < self.n_idle; i++)
        s_handle_free(&self.idle[i]);
    curl_multi_cleanup(self.multi);
    fw_tlsfiles_destroy(&self.tlsfiles);
    free(self.socks);
    free(items);
}
