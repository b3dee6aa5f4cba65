/*  fw_http_auth.c — basic authentication from --web.config.file (see the header).

    Two mutexes: `lock` guards the loaded configuration, its file identity and the cache
    (held briefly), `bcrypt_lock` serialises the bcrypt checks (held for tens of ms), so a
    cached user is never kept waiting behind somebody's bcrypt check.
*/
#include "fw_http_auth.h"

#include <crypt.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fw_log.h"
#include "fw_mem.h"

#define S_CACHE_SLOTS 64
#define S_USER_MAX 256
#define S_PASS_MAX 256
#define S_HASH_MAX 64

// A bcrypt hash (cost 10) of a password nobody is given, checked for unknown users so that
// they take as long as known ones.
#define S_DUMMY_HASH "$2b$10$kS8erj6X2PbFkyf25u8z7ehSGTzVmjtFmWQWVf.laGSeOrd/Tzwzy"

struct s_slot {
    unsigned char mac[32];
    bool used;
};

struct fw_http_auth {
    char *path; // owned

    pthread_mutex_t lock;
    struct fw_webcfg cfg;        // owned; loaded
    bool loaded;                 // cfg holds a configuration
    bool broken;                 // the file changed and does not load
    struct stat st;              // identity of the file cfg came from
    struct fw_webcfg *start_cfg; // owned: the configuration at open (TLS settings)
    struct s_slot cache[S_CACHE_SLOTS];
    size_t cache_next;
    unsigned char key[32]; // HMAC key for cache entries

    pthread_mutex_t bcrypt_lock;
    struct crypt_data *crypt; // owned, under bcrypt_lock
    unsigned long bcrypt_runs;
};

fw_http_auth_t *
fw_http_auth_new(const char *path)
{
    fw_http_auth_t *self = fw_calloc(1, sizeof(*self));
    self->path = fw_strdup(path ? path : "");
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->bcrypt_lock, NULL);
    self->crypt = fw_calloc(1, sizeof(*self->crypt));
    if (RAND_bytes(self->key, sizeof(self->key)) != 1) {
        fw_error("web.config.rand.fail", "msg=\"no random bytes for the credential cache\"");
        abort();
    }
    return self;
}

void
fw_http_auth_destroy(fw_http_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_http_auth_t *self = *self_p;
    fw_webcfg_free(&self->cfg);
    if (self->start_cfg) {
        fw_webcfg_free(self->start_cfg);
        free(self->start_cfg);
    }
    OPENSSL_cleanse(self->key, sizeof(self->key));
    free(self->crypt);
    pthread_mutex_destroy(&self->bcrypt_lock);
    pthread_mutex_destroy(&self->lock);
    free(self->path);
    free(self);
    *self_p = NULL;
}

static bool
s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

// Load the file into cfg (zeroed). 0 or -1 with every error logged and the first in err.
static int
s_load(const char *path, struct fw_webcfg *cfg, fw_err_t *err)
{
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    int rc = fw_webcfg_load(path, cfg, errs);
    if (rc != 0) {
        fw_cfg_errors_report(errs, false);
        if (errs->len)
            fw_err_set(err, "%s:%d:%d: %s", errs->items[0].file[0] ? errs->items[0].file : path,
                       errs->items[0].line, errs->items[0].col, errs->items[0].msg);
        else
            fw_err_set(err, "%s: web configuration error", path);
    }
    free(errs);
    return rc;
}

int
fw_http_auth_open(fw_http_auth_t *self, fw_err_t *err)
{
    struct stat st;
    if (stat(self->path, &st) != 0) {
        fw_err_set(err, "%s: cannot read web configuration: %s", self->path, strerror(errno));
        return -1;
    }
    struct fw_webcfg *start = fw_calloc(1, sizeof(*start));
    if (s_load(self->path, start, err) != 0) {
        fw_webcfg_free(start);
        free(start);
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    fw_webcfg_free(&self->cfg);
    memset(&self->cfg, 0, sizeof(self->cfg));
    self->loaded = fw_webcfg_load(self->path, &self->cfg, &(struct fw_cfg_errors){0}) == 0;
    self->st = st;
    self->broken = !self->loaded;
    if (self->start_cfg) {
        fw_webcfg_free(self->start_cfg);
        free(self->start_cfg);
    }
    self->start_cfg = start;
    pthread_mutex_unlock(&self->lock);
    fw_info("web.config.load", "file=%s users=%zu tls=%s", self->path, start->users.len,
            fw_webcfg_tls_enabled(start) ? "true" : "false");
    return 0;
}

const struct fw_webcfg *
fw_http_auth_config(const fw_http_auth_t *self)
{
    return self ? self->start_cfg : NULL;
}

unsigned long
fw_http_auth_bcrypt_runs(fw_http_auth_t *self)
{
    pthread_mutex_lock(&self->bcrypt_lock);
    unsigned long n = self->bcrypt_runs;
    pthread_mutex_unlock(&self->bcrypt_lock);
    return n;
}

// Under lock: read the file again when it changed since it was loaded.
static void
s_refresh(fw_http_auth_t *self)
{
    struct stat st;
    if (stat(self->path, &st) != 0) {
        if (!self->broken)
            fw_error("web.config.error", "file=%s err=%s", self->path, strerror(errno));
        self->broken = true;
        memset(&self->st, 0, sizeof(self->st));
        return;
    }
    if (s_same_file(&st, &self->st))
        return;
    struct fw_webcfg next = {0};
    fw_err_t err = {0};
    self->st = st;
    memset(self->cache, 0, sizeof(self->cache));
    if (s_load(self->path, &next, &err) != 0) {
        fw_webcfg_free(&next);
        self->broken = true;
        fw_error("web.config.error", "err=%s answer=500", err.msg);
        return;
    }
    fw_webcfg_free(&self->cfg);
    self->cfg = next;
    self->loaded = true;
    self->broken = false;
    fw_info("web.config.reload", "file=%s users=%zu", self->path, self->cfg.users.len);
}

static int
s_b64(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

// Standard base64 with padding into out (cap bytes, NUL-terminated). Length or -1.
static long
s_b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = in[i + j];
            if (c == '=' && i + 4 == n && j >= 2 && (j == 3 || in[i + 3] == '=')) {
                v[j] = 0;
                pad++;
            } else if ((v[j] = s_b64((unsigned char)c)) < 0) {
                return -1;
            }
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                          (unsigned long)v[2] << 6 | (unsigned long)v[3];
        for (int j = 0; j < 3 - pad; j++) {
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)((w >> (16 - 8 * j)) & 0xff);
        }
    }
    out[o] = '\0';
    return (long)o;
}

bool
fw_http_auth_parse_basic(const char *authorization, char *user, size_t user_size, char *pass,
                         size_t pass_size)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return false;
    char buf[S_USER_MAX + S_PASS_MAX + 2];
    long n = s_b64_decode(authorization + 6, buf, sizeof(buf));
    if (n < 0 || memchr(buf, '\0', (size_t)n))
        return false;
    char *colon = strchr(buf, ':');
    if (!colon)
        return false;
    *colon = '\0';
    size_t ul = strlen(buf), pl = strlen(colon + 1);
    if (ul >= user_size || pl >= pass_size)
        return false;
    memcpy(user, buf, ul + 1);
    memcpy(pass, colon + 1, pl + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    return true;
}

static void
s_mac(const fw_http_auth_t *self, const char *user, const char *hash, const char *pass,
      unsigned char out[32])
{
    size_t ul = strlen(user), hl = strlen(hash), pl = strlen(pass);
    size_t n = ul + hl + pl + 2;
    unsigned char *msg = fw_malloc(n);
    memcpy(msg, user, ul + 1);
    memcpy(msg + ul + 1, hash, hl + 1);
    memcpy(msg + ul + hl + 2, pass, pl);
    unsigned int len = 32;
    HMAC(EVP_sha256(), self->key, (int)sizeof(self->key), msg, n, out, &len);
    OPENSSL_cleanse(msg, n);
    free(msg);
}

static bool
s_cached(const fw_http_auth_t *self, const unsigned char mac[32])
{
    for (size_t i = 0; i < S_CACHE_SLOTS; i++)
        if (self->cache[i].used && CRYPTO_memcmp(self->cache[i].mac, mac, 32) == 0)
            return true;
    return false;
}

static bool
s_bcrypt_ok(fw_http_auth_t *self, const char *pass, const char *hash)
{
    pthread_mutex_lock(&self->bcrypt_lock);
    self->bcrypt_runs++;
    const char *h = crypt_r(pass, hash, self->crypt);
    bool ok =
        h && h[0] != '*' && strlen(h) == strlen(hash) && CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
    pthread_mutex_unlock(&self->bcrypt_lock);
    return ok;
}

fw_http_auth_result_t
fw_http_auth_check(fw_http_auth_t *self, const char *authorization,
                   char *headers[FW_WEBCFG_HEADERS])
{
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        headers[i] = NULL;
    char hash[S_HASH_MAX + 1];
    bool known;
    pthread_mutex_lock(&self->lock);
    s_refresh(self);
    if (self->broken || !self->loaded) {
        pthread_mutex_unlock(&self->lock);
        return FW_HTTP_AUTH_CONFIG_ERROR;
    }
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        if (self->cfg.headers[i] && *self->cfg.headers[i])
            headers[i] = fw_strdup(self->cfg.headers[i]);
    if (self->cfg.users.len == 0) {
        pthread_mutex_unlock(&self->lock);
        return FW_HTTP_AUTH_OK;
    }
    char user[S_USER_MAX], pass[S_PASS_MAX];
    if (!fw_http_auth_parse_basic(authorization, user, sizeof(user), pass, sizeof(pass))) {
        pthread_mutex_unlock(&self->lock);
        return FW_HTTP_AUTH_MISSING;
    }
    const char *h = fw_labels_get(&self->cfg.users, user);
    known = h != NULL;
    snprintf(hash, sizeof(hash), "%s", known ? h : S_DUMMY_HASH);
    unsigned char mac[32];
    s_mac(self, user, hash, pass, mac);
    bool hit = known && s_cached(self, mac);
    pthread_mutex_unlock(&self->lock);
    fw_http_auth_result_t rc = FW_HTTP_AUTH_OK;
    if (!hit) {
        bool ok = s_bcrypt_ok(self, pass, hash) && known;
        if (ok) {
            pthread_mutex_lock(&self->lock);
            struct s_slot *s = &self->cache[self->cache_next++ % S_CACHE_SLOTS];
            memcpy(s->mac, mac, sizeof(mac));
            s->used = true;
            pthread_mutex_unlock(&self->lock);
        } else {
            rc = FW_HTTP_AUTH_WRONG;
        }
    }
    OPENSSL_cleanse(pass, sizeof(pass));
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

// A PEM file's text (caller frees), or NULL with err.
static char *
s_read_pem(const char *path, fw_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fw_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = fw_malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap >= 1024 * 1024) // no certificate chain is this large
                break;
            cap *= 2;
            buf = fw_realloc(buf, cap);
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

int
fw_http_auth_tls_pem(const fw_http_auth_t *self, char *pem[3], fw_err_t *err)
{
    const struct fw_webcfg *c = self->start_cfg;
    for (int i = 0; i < 3; i++)
        pem[i] = NULL;
    if (!c || !fw_webcfg_tls_enabled(c))
        return 0;
    const char *files[3] = {c->tls.cert_file, c->tls.key_file, c->tls.client_ca_file};
    const char *texts[3] = {c->tls.cert, c->tls.key, c->tls.client_ca};
    int n = c->tls.client_auth == FW_WEBCFG_NO_CLIENT_CERT ? 2 : 3;
    for (int i = 0; i < n; i++) {
        if (files[i] && *files[i])
            pem[i] = s_read_pem(files[i], err);
        else if (texts[i] && *texts[i])
            pem[i] = fw_strdup(texts[i]);
        else
            continue;
        if (!pem[i])
            return -1;
    }
    return 0;
}

const char *
fw_http_auth_client_cert(const fw_http_auth_t *self, void *tls_session)
{
    const struct fw_webcfg *c = self->start_cfg;
    if (!c || !fw_webcfg_tls_enabled(c) || c->tls.client_auth == FW_WEBCFG_NO_CLIENT_CERT)
        return "";
    gnutls_session_t tls = tls_session;
    if (!tls)
        return "client_certificate";
    unsigned int n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(tls, &n);
    if (!peers || n == 0)
        return c->tls.client_auth == FW_WEBCFG_REQUIRE_AND_VERIFY ? "client_certificate" : "";
    unsigned int status = 0;
    if (gnutls_certificate_verify_peers2(tls, &status) < 0 || status != 0)
        return "client_certificate";
    return "";
}
