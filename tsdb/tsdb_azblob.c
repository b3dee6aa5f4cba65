/*  tsdb_azblob.c — Azure Blob Storage's Put Block, Put Block List and Get Blob (see
    tsdb_azblob.h).
*/
#include "tsdb_azblob.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fw_http_hdr.h"
#include "fw_log.h"
#include "fw_mem.h"

#define S_VERSION "2021-08-06"
#define S_ID_LEN 15 // "fwblock-NNNNNNN"
#define S_ERRBODY 4096

struct tsdb_azblob {
    char *base;    // owned: scheme://host[:port]/path, no query
    char *path;    // owned: /path (the canonicalized resource's)
    char *sas;     // owned: the query string without '?', or NULL
    char *account; // owned: for Shared Key, or NULL
    unsigned char key[128];
    int key_len; // 0: SAS
    char *shown; // owned: base + "?<secret>" when a SAS
    int64_t timeout_ms;
    int64_t retries;
    char **ids; // owned: base64 block ids put so far
    size_t n_ids, cap_ids;
};

bool
tsdb_azblob_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

// The one line of a secret file (flag names it in errors) into text (size bytes, trailing
// white space cut): its length (0 for an empty file), -1 with err when the file cannot be
// read, -2 when it holds more than size - 1 bytes (the caller says what it is not). The
// caller wipes text.
static ssize_t
s_read_secret_line(const char *flag, const char *file, char *text, size_t size, fw_err_t *err)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fw_err_set(err, "%s %s: %s", flag, file, strerror(errno));
        return -1;
    }
    size_t n = fread(text, 1, size - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    text[n] = '\0';
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    return more ? -2 : (ssize_t)n;
}

static int
s_read_key(tsdb_azblob_t *self, const char *file, fw_err_t *err)
{
    char text[256];
    ssize_t got = s_read_secret_line("--azure.account-key-file", file, text, sizeof(text), err);
    if (got == -1)
        return -1;
    size_t n = got > 0 ? (size_t)got : 0;
    int len = -1;
    if (got > 0 && n % 4 == 0 &&
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                     "qrstuvwxyz0123456789+/=") == n)
        len = EVP_DecodeBlock(self->key, (const unsigned char *)text, (int)n);
    if (len > 0) // EVP_DecodeBlock counts the padding as bytes
        len -= (n >= 1 && text[n - 1] == '=') + (n >= 2 && text[n - 2] == '=');
    explicit_bzero(text, sizeof(text));
    if (len <= 0) {
        fw_err_set(err, "--azure.account-key-file %s: not an account key (one line of base64)",
                   file);
        return -1;
    }
    self->key_len = len;
    return 0;
}

// The SAS from file (a Kubernetes Secret's file, so it never stands on a command line):
// one line, the query string with or without its '?'. 0 or -1 with err.
static int
s_read_sas(tsdb_azblob_t *self, const char *file, fw_err_t *err)
{
    char text[4096];
    ssize_t got = s_read_secret_line("--azure.sas-file", file, text, sizeof(text), err);
    if (got == -1)
        return -1;
    const char *sas = text[0] == '?' ? text + 1 : text;
    bool ok = got > 0 && *sas && strcspn(sas, " \t\r\n#") == strlen(sas) && strstr(sas, "sig=");
    if (ok)
        self->sas = fw_strdup(sas);
    explicit_bzero(text, sizeof(text));
    if (!ok) {
        fw_err_set(err,
                   "--azure.sas-file %s: not a SAS (one line of at most 4 KiB, sv=...&sig=...)",
                   file);
        return -1;
    }
    return 0;
}

tsdb_azblob_t *
tsdb_azblob_open(const struct tsdb_azblob_opts *o, fw_err_t *err)
{
    const char *url = o->url;
    if (!tsdb_azblob_is_url(url)) {
        fw_err_set(err, "%s is no http:// or https:// URL", url);
        return NULL;
    }
    const char *host = strstr(url, "://") + 3;
    const char *slash = strchr(host, '/');
    const char *q = strchr(host, '?');
    if (!slash || (q && q < slash) || slash[1] == '\0' || slash[1] == '?') {
        fw_err_set(err, "blob URL needs a path: https://ACCOUNT.blob.core.windows.net/CONTAINER/"
                        "NAME[?SAS]");
        return NULL;
    }
    tsdb_azblob_t *self = fw_calloc(1, sizeof(*self));
    self->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 300000;
    self->retries = o->retries > 0 ? o->retries : 0;
    size_t blen = q ? (size_t)(q - url) : strlen(url);
    self->base = fw_strndup(url, blen);
    self->path = fw_strndup(slash, blen - (size_t)(slash - url));
    if (q && q[1])
        self->sas = fw_strdup(q + 1);
    if (o->sas_file) {
        if (self->sas || o->key_file) {
            fw_err_set(err, "give one authorisation: the URL's SAS, --azure.sas-file or "
                            "--azure.account-key-file");
            goto fail;
        }
        if (s_read_sas(self, o->sas_file, err) != 0)
            goto fail;
    }
    self->shown = self->sas ? fw_asprintf("%s?<secret>", self->base) : fw_strdup(self->base);
    if (o->key_file) {
        if (self->sas) {
            fw_err_set(err, "give the blob URL a SAS or --azure.account-key-file, not both");
            goto fail;
        }
        if (s_read_key(self, o->key_file, err) != 0)
            goto fail;
        const char *dot = strchr(host, '.');
        if (o->account && *o->account)
            self->account = fw_strdup(o->account);
        else if (dot && dot < slash && strncmp(dot, ".blob.", 6) == 0)
            self->account = fw_strndup(host, (size_t)(dot - host));
        else {
            fw_err_set(err,
                       "%s: no account in the host name (ACCOUNT.blob.core.windows.net): "
                       "give --azure.account-name",
                       self->shown);
            goto fail;
        }
    } else if (!self->sas) {
        fw_err_set(err,
                   "%s: no authorisation: give the URL a SAS (?sv=...&sig=...), "
                   "--azure.sas-file or --azure.account-key-file",
                   self->shown);
        goto fail;
    }
    return self;
fail:
    tsdb_azblob_destroy(&self);
    return NULL;
}

void
tsdb_azblob_destroy(tsdb_azblob_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_azblob_t *self = *self_p;
    for (size_t i = 0; i < self->n_ids; i++)
        free(self->ids[i]);
    free(self->ids);
    free(self->base);
    free(self->path);
    if (self->sas)
        explicit_bzero(self->sas, strlen(self->sas));
    free(self->sas);
    free(self->account);
    free(self->shown);
    explicit_bzero(self->key, sizeof(self->key));
    free(self);
    *self_p = NULL;
}

const char *
tsdb_azblob_shown(const tsdb_azblob_t *self)
{
    return self->shown;
}

// One request's parts: what to send and where the answer goes.
struct s_req {
    const char *method;
    const char *comp;    // "block", "blocklist" or NULL
    const char *blockid; // base64, or NULL
    const void *body;
    size_t len;
    const char *ctype; // NULL: none
    int fd;            // Get Blob: the blob goes here; -1 otherwise
    long want;         // the status that means success
    // the answer
    char errbody[S_ERRBODY];
    size_t errlen;
    char errcode[128];
    uint64_t got;
    bool write_failed;
    long status;
};

static size_t
s_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct s_req *r = arg;
    size_t len = size * n;
    if (r->fd >= 0 && r->status == r->want) {
        for (size_t off = 0; off < len;) {
            ssize_t w = write(r->fd, p + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                r->write_failed = true;
                return 0;
            }
            off += (size_t)w;
        }
        r->got += len;
        return len;
    }
    size_t room = sizeof(r->errbody) - 1 - r->errlen;
    size_t k = len < room ? len : room;
    memcpy(r->errbody + r->errlen, p, k);
    r->errlen += k;
    r->errbody[r->errlen] = '\0';
    return len;
}

static size_t
s_on_header(char *p, size_t size, size_t n, void *arg)
{
    struct s_req *r = arg;
    size_t len = size * n;
    int status = fw_http_hdr_status(p, len);
    if (status > 0) {
        r->status = status;
        r->errcode[0] = '\0';
    } else {
        fw_http_hdr_value(p, len, "x-ms-error-code", r->errcode, sizeof(r->errcode));
    }
    return len;
}

// Authorization: SharedKey account:base64(HMAC-SHA256(key, string-to-sign)).
static char *
s_shared_key(const tsdb_azblob_t *self, const struct s_req *r, const char *date)
{
    char clen[32] = "";
    if (r->len > 0)
        snprintf(clen, sizeof(clen), "%zu", r->len);
    char *sts =
        fw_asprintf("%s\n\n\n%s\n\n%s\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s%s%s%s%s%s",
                    r->method, clen, r->ctype ? r->ctype : "", date, S_VERSION, self->account,
                    self->path, r->blockid ? "\nblockid:" : "", r->blockid ? r->blockid : "",
                    r->comp ? "\ncomp:" : "", r->comp ? r->comp : "");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), self->key, self->key_len, (const unsigned char *)sts, strlen(sts), mac,
         &mlen);
    free(sts);
    char sig[2 * EVP_MAX_MD_SIZE];
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)mlen);
    return fw_asprintf("Authorization: SharedKey %s:%s", self->account, sig);
}

// Azure's <Code> and <Message> from an error body, else the body's start.
static void
s_error_text(const struct s_req *r, char *out, size_t size)
{
    const char *m = strstr(r->errbody, "<Message>");
    const char *e = m ? strstr(m, "</Message>") : NULL;
    if (m && e) {
        m += 9;
        int ml = (int)(e - m);
        const char *nl = memchr(m, '\n', (size_t)ml);
        if (nl)
            ml = (int)(nl - m);
        snprintf(out, size, ": %.*s", ml > 200 ? 200 : ml, m);
    } else if (r->errlen > 0) {
        snprintf(out, size, ": %.120s", r->errbody);
        for (char *c = out; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    } else {
        out[0] = '\0';
    }
}

// One attempt. 0 done, 1 retry, -1 give up (err set either way).
static int
s_attempt(tsdb_azblob_t *self, struct s_req *r, const char *what, fw_err_t *err)
{
    char *url;
    char *id_esc = r->blockid ? curl_easy_escape(NULL, r->blockid, 0) : NULL;
    url = fw_asprintf("%s?%s%s%s%s%s%s", self->base, r->comp ? "comp=" : "", r->comp ? r->comp : "",
                      id_esc ? "&blockid=" : "", id_esc ? id_esc : "",
                      self->sas && r->comp ? "&" : "", self->sas ? self->sas : "");
    curl_free(id_esc);
    size_t ul = strlen(url);
    if (url[ul - 1] == '?')
        url[ul - 1] = '\0';
    char date[64], h_date[96], h_ctype[128];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(h_date, sizeof(h_date), "x-ms-date: %s", date);
    struct curl_slist *hs = curl_slist_append(NULL, h_date);
    hs = curl_slist_append(hs, "x-ms-version: " S_VERSION);
    hs = curl_slist_append(hs, "Expect:");
    if (r->ctype) {
        snprintf(h_ctype, sizeof(h_ctype), "Content-Type: %s", r->ctype);
        hs = curl_slist_append(hs, h_ctype);
    }
    char *auth = self->key_len ? s_shared_key(self, r, date) : NULL;
    if (auth)
        hs = curl_slist_append(hs, auth);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (r->fd >= 0) { // a download of any size: stop when it stalls, not after a total
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                         (long)(self->timeout_ms < 1000 ? 1 : self->timeout_ms / 1000));
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)self->timeout_ms);
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(self->timeout_ms < 10000 ? self->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "floorwatch-tsdb-backup");
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    }
    r->status = 0;
    r->errlen = 0;
    r->errbody[0] = '\0';
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    explicit_bzero(url, strlen(url));
    free(url);
    if (r->write_failed) {
        fw_err_set(err, "%s %s: writing the blob: %s", what, self->shown, strerror(errno));
        return -1;
    }
    if (cc != CURLE_OK) {
        fw_err_set(err, "%s %s: %s", what, self->shown, curl_easy_strerror(cc));
        return 1;
    }
    if (status == r->want)
        return 0;
    char text[256];
    s_error_text(r, text, sizeof(text));
    fw_err_set(err, "%s %s: Azure answered %ld%s%s%s", what, self->shown, status,
               r->errcode[0] ? " " : "", r->errcode, text);
    return status == 408 || status == 429 || status >= 500 ? 1 : -1;
}

static int
s_request(tsdb_azblob_t *self, struct s_req *r, const char *what, fw_err_t *err)
{
    int64_t backoff = 500;
    for (int64_t attempt = 0;; attempt++) {
        if (r->fd >= 0 && (lseek(r->fd, 0, SEEK_SET) != 0 || ftruncate(r->fd, 0) != 0)) {
            fw_err_set(err, "%s: cannot rewind the output file: %s", what, strerror(errno));
            return -1;
        }
        r->got = 0;
        int rc = s_attempt(self, r, what, err);
        if (rc <= 0)
            return rc;
        if (attempt >= self->retries)
            return -1;
        fw_warn("tsdb.backup.retry", "attempt=%lld backoff_ms=%lld err=%s", (long long)attempt + 1,
                (long long)backoff, err->msg);
        struct timespec ts = {backoff / 1000, (backoff % 1000) * 1000000};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > 8000 ? 8000 : backoff * 2;
    }
}

int
tsdb_azblob_put_block(tsdb_azblob_t *self, const void *data, size_t len, fw_err_t *err)
{
    if (self->n_ids >= 50000) { // Azure's limit of blocks per blob
        fw_err_set(err, "%s: more than 50000 blocks: give a larger --azure.block-size",
                   self->shown);
        return -1;
    }
    char raw[S_ID_LEN + 1], id[32];
    snprintf(raw, sizeof(raw), "fwblock-%07zu", self->n_ids);
    EVP_EncodeBlock((unsigned char *)id, (const unsigned char *)raw, S_ID_LEN);
    struct s_req r = {.method = "PUT",
                      .comp = "block",
                      .blockid = id,
                      .body = data,
                      .len = len,
                      .ctype = "application/octet-stream",
                      .fd = -1,
                      .want = 201};
    char what[64];
    snprintf(what, sizeof(what), "Put Block %zu to", self->n_ids);
    if (s_request(self, &r, what, err) != 0)
        return -1;
    if (self->n_ids == self->cap_ids) {
        self->cap_ids = self->cap_ids ? 2 * self->cap_ids : 64;
        self->ids = fw_realloc(self->ids, self->cap_ids * sizeof(*self->ids));
    }
    self->ids[self->n_ids++] = fw_strdup(id);
    return 0;
}

int
tsdb_azblob_commit(tsdb_azblob_t *self, fw_err_t *err)
{
    size_t cap = 128 + self->n_ids * 40, n = 0;
    char *xml = fw_malloc(cap);
    n += (size_t)snprintf(xml + n, cap - n,
                          "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n");
    for (size_t i = 0; i < self->n_ids; i++)
        n += (size_t)snprintf(xml + n, cap - n, "  <Latest>%s</Latest>\n", self->ids[i]);
    n += (size_t)snprintf(xml + n, cap - n, "</BlockList>\n");
    struct s_req r = {.method = "PUT",
                      .comp = "blocklist",
                      .body = xml,
                      .len = n,
                      .ctype = "application/xml",
                      .fd = -1,
                      .want = 201};
    int rc = s_request(self, &r, "Put Block List to", err);
    free(xml);
    return rc;
}

int
tsdb_azblob_get(tsdb_azblob_t *self, int fd, uint64_t *bytes, fw_err_t *err)
{
    struct s_req r = {.method = "GET", .fd = fd, .want = 200};
    int rc = s_request(self, &r, "Get Blob", err);
    *bytes = r.got;
    return rc;
}
