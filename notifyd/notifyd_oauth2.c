/*  notifyd_oauth2.c — see notifyd_oauth2.h. The token cache is keyed by the oauth2 object's
    canonical JSON text (sorted keys), so two integrations share a token exactly when every
    field, the secret included, is the same.
*/
#include <czmq.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "fw_url.h"
#include "notifyd_oauth2.h"
#include "notifyd_req.h"

struct s_token {
    char *auth;        // owned: "<type> <access_token>" (a secret)
    int64_t expiry_ms; // monotonic; INT64_MAX: never expires
};

struct notifyd_oauth2 {
    zhashx_t *tokens; // canonical oauth2 JSON -> struct s_token *
    zhashx_t *styles; // token_url -> (void *)(intptr_t) enum notifyd_oauth2_style
};

static void
s_wipe(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static void
s_token_free(void **item)
{
    struct s_token *t = *item;
    if (t) {
        s_wipe(t->auth);
        free(t);
    }
    *item = NULL;
}

// --- checking NOTIFY's object ---

static bool
s_strings(const json_t *v, bool object)
{
    const char *k;
    const json_t *x;
    size_t i;
    if (object) {
        json_object_foreach((json_t *)v, k, x)
        {
            if (!json_is_string(x))
                return false;
        }
        return true;
    }
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x))
            return false;
    }
    return true;
}

int
notifyd_oauth2_check(const json_t *o, fw_err_t *err)
{
    static const struct {
        const char *key;
        json_type type;
    } keys[] = {{"client_id", JSON_STRING},       {"client_secret", JSON_STRING},
                {"token_url", JSON_STRING},       {"scopes", JSON_ARRAY},
                {"endpoint_params", JSON_OBJECT}, {"tls", JSON_OBJECT},
                {"proxy_url", JSON_STRING}};
    const size_t n = sizeof keys / sizeof keys[0];
    if (!json_is_object(o)) {
        fw_err_set(err, "http_config.oauth2 is not an object");
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, keys[i].key) != 0)
            i++;
        if (i == n || json_typeof(v) != keys[i].type) {
            fw_err_set(err, "http_config.oauth2: unknown key or wrong type: %s", k);
            return -1;
        }
    }
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(o, keys[i].key)) {
            fw_err_set(err, "http_config.oauth2: %s missing", keys[i].key);
            return -1;
        }
    const json_t *scopes = json_object_get(o, "scopes");
    const json_t *params = json_object_get(o, "endpoint_params");
    if ((scopes && !s_strings(scopes, false)) || (params && !s_strings(params, true))) {
        fw_err_set(err, "http_config.oauth2: scopes or endpoint_params not strings");
        return -1;
    }
    if (json_array_size(scopes) && json_object_get(params, "scope")) {
        fw_err_set(err, "oauth2: cannot overwrite parameter \"scope\""); // x/oauth2's words
        return -1;
    }
    return 0;
}

// --- the cache ---

notifyd_oauth2_t *
notifyd_oauth2_new(void)
{
    notifyd_oauth2_t *self = fw_calloc(1, sizeof *self);
    self->tokens = zhashx_new();
    zhashx_set_destructor(self->tokens, s_token_free);
    self->styles = zhashx_new();
    return self;
}

void
notifyd_oauth2_destroy(notifyd_oauth2_t **self_p)
{
    notifyd_oauth2_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->tokens);
    zhashx_destroy(&self->styles);
    free(self);
    *self_p = NULL;
}

// o's cache key: its canonical JSON text (the caller frees it; it holds the secret).
static char *
s_key(const json_t *o)
{
    char *k = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    return k ? k : fw_strdup("");
}

const char *
notifyd_oauth2_cached(notifyd_oauth2_t *self, const json_t *o, int64_t now_ms)
{
    char *key = s_key(o);
    const struct s_token *t = zhashx_lookup(self->tokens, key);
    s_wipe(key);
    // x/oauth2's Token.Valid: not expired expiryDelta ahead of now.
    if (!t ||
        (t->expiry_ms != INT64_MAX && t->expiry_ms - NOTIFYD_OAUTH2_EXPIRY_DELTA_MS <= now_ms))
        return NULL;
    return t->auth;
}

enum notifyd_oauth2_style
notifyd_oauth2_style(notifyd_oauth2_t *self, const json_t *o, bool *probe)
{
    const char *url = json_string_value(json_object_get(o, "token_url"));
    intptr_t known = (intptr_t)zhashx_lookup(self->styles, url ? url : "");
    *probe = known == 0;
    return known ? (enum notifyd_oauth2_style)known : NOTIFYD_OAUTH2_HEADER;
}

// Drop expired tokens; start over when still too many (configs come and go with reloads).
static void
s_trim(notifyd_oauth2_t *self, int64_t now_ms)
{
    if (zhashx_size(self->tokens) < NOTIFYD_OAUTH2_MAX_CACHED)
        return;
    zlistx_t *keys = zhashx_keys(self->tokens);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        const struct s_token *t = zhashx_lookup(self->tokens, k);
        if (t->expiry_ms <= now_ms)
            zhashx_delete(self->tokens, k);
    }
    zlistx_destroy(&keys);
    if (zhashx_size(self->tokens) >= NOTIFYD_OAUTH2_MAX_CACHED)
        zhashx_purge(self->tokens);
}

// --- the token request ---

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
notifyd_oauth2_body(const json_t *o, enum notifyd_oauth2_style style)
{
    json_t *v = json_object();
    json_object_set_new(v, "grant_type", json_string("client_credentials"));
    const json_t *scopes = json_object_get(o, "scopes");
    if (json_array_size(scopes)) {
        size_t i;
        const json_t *s;
        char *joined = NULL;
        json_array_foreach(scopes, i, s)
        {
            char *next =
                fw_asprintf("%s%s%s", joined ? joined : "", i ? " " : "", json_string_value(s));
            free(joined);
            joined = next;
        }
        json_object_set_new(v, "scope", json_string(joined));
        free(joined);
    }
    json_object_update(v, json_object_get(o, "endpoint_params")); // grant_type may be replaced
    if (style == NOTIFYD_OAUTH2_PARAMS) {
        json_object_set(v, "client_id", json_object_get(o, "client_id"));
        const char *secret = json_string_value(json_object_get(o, "client_secret"));
        if (secret && *secret)
            json_object_set(v, "client_secret", json_object_get(o, "client_secret"));
    }
    size_t n = json_object_size(v), i = 0;
    const char **keys = fw_calloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, s_cmp);
    char *b = NULL;
    size_t len = 0, cap = 0;
    fw_mem_grow((void **)&b, &cap, 1, 1); // "" when there is nothing to encode
    for (i = 0; i < n; i++) {
        if (i) {
            fw_mem_grow((void **)&b, &cap, len + 2, 1);
            b[len++] = '&';
        }
        fw_url_query_escape(&b, &len, &cap, keys[i]);
        fw_mem_grow((void **)&b, &cap, len + 2, 1);
        b[len++] = '=';
        fw_url_query_escape(&b, &len, &cap, json_string_value(json_object_get(v, keys[i])));
    }
    free(keys);
    json_decref(v);
    return b;
}

void
notifyd_oauth2_setup(CURL *e, const json_t *o, enum notifyd_oauth2_style style,
                     struct curl_slist **headers, struct notifyd_http_lists *keep)
{
    const char *url = json_string_value(json_object_get(o, "token_url"));
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // The oauth2 object carries tls and proxy_url under http_config's names.
    notifyd_http_apply(e, o, url, headers, keep);
    *headers = curl_slist_append(*headers, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "floorwatch-notifyd/0.1.0");
    char *body = notifyd_oauth2_body(o, style);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    s_wipe(body);
    if (style == NOTIFYD_OAUTH2_HEADER) {
        // SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)); libcurl sends it at once.
        char *id = fw_url_query_escaped(json_string_value(json_object_get(o, "client_id")));
        char *secret = fw_url_query_escaped(json_string_value(json_object_get(o, "client_secret")));
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, id);
        curl_easy_setopt(e, CURLOPT_PASSWORD, secret);
        free(id);
        s_wipe(secret);
    }
}

// --- the answer ---

// Percent-decode a form value in place ('+' is a space); false on a bad escape.
static bool
s_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%') {
            if (!isxdigit((unsigned char)r[1]) || !isxdigit((unsigned char)r[2]))
                return false;
            char hx[3] = {r[1], r[2], '\0'};
            *w++ = (char)strtol(hx, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return true;
}

// A form answer (GitHub's habit) as a JSON object of its first values; NULL when malformed.
static json_t *
s_form(const char *body)
{
    json_t *o = json_object();
    char *copy = fw_strdup(body);
    char *save = NULL;
    for (char *pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char *val = eq ? eq + 1 : pair + strlen(pair);
        if (eq)
            *eq = '\0';
        if (!s_unescape(pair) || !s_unescape(val)) {
            json_decref(o);
            o = NULL;
            break;
        }
        if (!json_object_get(o, pair))
            json_object_set_new(o, pair, json_string(val));
    }
    s_wipe(copy);
    return o;
}

// expires_in as x/oauth2's expirationTime reads it (a JSON number, or a string holding one in
// a form): seconds, 0 for none; -1 when it is not an integer.
static int
s_expires_in(const json_t *v, int64_t *out)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        long long n = strtoll(s, &end, 10);
        if (!*s || *end)
            return -1;
        *out = n;
    } else {
        return -1;
    }
    if (*out > INT32_MAX) // x/oauth2 caps it at MaxInt32
        *out = INT32_MAX;
    return 0;
}

// A header value: no control characters (Go refuses them in a header too).
static bool
s_header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return false;
    return true;
}

// The start of an answer for an error message: printable ASCII only, at most 120 bytes.
static void
s_excerpt(const char *body, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(body ? body : ""); *p && o + 1 < cap; p++)
        out[o++] = *p >= ' ' && *p < 0x7f ? (char)*p : ' ';
    out[o] = '\0';
}

// Token type as x/oauth2's Token.Type.
static const char *
s_type(const char *t)
{
    if (!t || !*t || strcasecmp(t, "bearer") == 0)
        return "Bearer";
    if (strcasecmp(t, "mac") == 0)
        return "MAC";
    if (strcasecmp(t, "basic") == 0)
        return "Basic";
    return t;
}

static void
s_store(notifyd_oauth2_t *self, const json_t *o, const char *auth, int64_t expiry_ms,
        int64_t now_ms)
{
    s_trim(self, now_ms);
    struct s_token *t = fw_calloc(1, sizeof *t);
    t->auth = fw_strdup(auth);
    t->expiry_ms = expiry_ms;
    char *key = s_key(o);
    zhashx_update(self->tokens, key, t); // frees the old token
    s_wipe(key);
}

int
notifyd_oauth2_answer(notifyd_oauth2_t *self, const json_t *o, enum notifyd_oauth2_style style,
                      bool probe, CURLcode res, long code, const char *body, bool truncated,
                      const char *content_type, int64_t now_ms, char **auth, fw_err_t *err)
{
    const char *url = json_string_value(json_object_get(o, "token_url"));
    char excerpt[121];
    s_excerpt(body, excerpt, sizeof excerpt);
    *auth = NULL;
    if (res != CURLE_OK) {
        fw_err_set(err, "oauth2: cannot fetch token from %.100s: %s", url, curl_easy_strerror(res));
        return -1;
    }
    if (code < 200 || code > 299) {
        fw_err_set(err, "oauth2: cannot fetch token from %.100s: status %ld: %s", url, code,
                   excerpt);
        return -1;
    }
    if (truncated) {
        fw_err_set(err, "oauth2: cannot fetch token from %.100s: answer larger than %d bytes", url,
                   NOTIFYD_REQ_MAX_ANSWER);
        return -1;
    }
    char mime[64] = "";
    if (content_type)
        snprintf(mime, sizeof mime, "%.*s", (int)strcspn(content_type, "; \t"), content_type);
    json_t *a = NULL;
    bool form = strcasecmp(mime, "application/x-www-form-urlencoded") == 0 ||
                strcasecmp(mime, "text/plain") == 0;
    if (form)
        a = s_form(body ? body : "");
    else
        a = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
    int64_t expires_in = 0;
    const char *token = json_string_value(json_object_get(a, "access_token"));
    const json_t *type = json_object_get(a, "token_type");
    if (!json_is_object(a) || (type && !json_is_string(type)) ||
        s_expires_in(json_object_get(a, "expires_in"), &expires_in) < 0 ||
        (json_object_get(a, "access_token") && !token)) {
        fw_err_set(err, "oauth2: cannot parse %s answer from %.100s: %s", form ? "form" : "json",
                   url, excerpt);
        json_decref(a);
        return -1;
    }
    if (!token || !*token) {
        fw_err_set(err, "oauth2: server response missing access_token (%.100s)", url);
        json_decref(a);
        return -1;
    }
    const char *t = s_type(json_string_value(type));
    if (!s_header_safe(token) || !s_header_safe(t) || strlen(token) > 16384) {
        fw_err_set(err, "oauth2: invalid access_token or token_type from %.100s", url);
        json_decref(a);
        return -1;
    }
    *auth = fw_asprintf("%s %s", t, token);
    json_decref(a);
    int64_t expiry = expires_in ? now_ms + expires_in * 1000 : INT64_MAX;
    s_store(self, o, *auth, expiry, now_ms);
    if (probe)
        zhashx_update(self->styles, url, (void *)(intptr_t)style);
    return 0;
}
