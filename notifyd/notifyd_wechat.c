/*  notifyd_wechat.c — see notifyd_wechat.h.

    req->key holds what the answers need to go on: a JSON array [api_url, corp_id, secret]
    (the secret resolved, so a token fetched again after 42001 uses the same one). req->body
    holds the message from the start; the GET step does not send it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promcfg_http.h"
#include "fw_time.h"
#include "notifyd_body.h"
#include "notifyd_tmpl.h"
#include "notifyd_wechat.h"

#define S_TOKEN_TTL_MS (2 * 3600 * 1000) // Alertmanager refreshes a token after two hours
#define S_CACHE 16                       // (api_url, corp_id, secret) triples remembered
#define S_TOKEN_EXPIRED 42001            // WeChat's errcode for an expired access_token

struct s_token {
    char *key;   // owned: api_url "\n" corp_id "\n" secret (a secret), NULL: free slot
    char *token; // owned: a secret
    int64_t at;  // mono ms it was fetched
};

static struct s_token s_cache[S_CACHE];

static void
s_wipe(char **s)
{
    if (*s)
        memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
}

static char *
s_cache_key(const char *url, const char *corp, const char *secret)
{
    return fw_asprintf("%s\n%s\n%s", url, corp, secret);
}

static struct s_token *
s_cache_find(const char *key)
{
    for (size_t i = 0; i < S_CACHE; i++)
        if (s_cache[i].key && strcmp(s_cache[i].key, key) == 0)
            return &s_cache[i];
    return NULL;
}

static void
s_cache_drop(const char *key)
{
    struct s_token *t = s_cache_find(key);
    if (t) {
        s_wipe(&t->key);
        s_wipe(&t->token);
    }
}

static void
s_cache_put(const char *key, const char *token)
{
    struct s_token *t = s_cache_find(key);
    for (size_t i = 0; !t && i < S_CACHE; i++)
        if (!s_cache[i].key)
            t = &s_cache[i];
    if (!t) { // full: the oldest token goes
        t = &s_cache[0];
        for (size_t i = 1; i < S_CACHE; i++)
            if (s_cache[i].at < t->at)
                t = &s_cache[i];
    }
    s_wipe(&t->key);
    s_wipe(&t->token);
    t->key = fw_strdup(key);
    t->token = fw_strdup(token);
    t->at = fw_time_mono_ms();
}

void
notifyd_wechat_forget(void)
{
    for (size_t i = 0; i < S_CACHE; i++) {
        s_wipe(&s_cache[i].key);
        s_wipe(&s_cache[i].token);
    }
}

// Append s escaped as Go's url.QueryEscape does (space '+', unreserved kept, else %XX).
static void
s_escape(char **out, const char *s)
{
    size_t n = strlen(*out), cap = n + 3 * strlen(s) + 1;
    char *o = fw_realloc(*out, cap);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            o[n++] = (char)*p;
        else if (*p == ' ')
            o[n++] = '+';
        else
            n += (size_t)snprintf(o + n, 4, "%%%02X", *p);
    }
    o[n] = '\0';
    *out = o;
}

// The three parts of req->key; false when it is not what s_key_new made.
static bool
s_key_parts(const struct notifyd_req *req, json_t **parts, const char **url, const char **corp,
            const char **secret)
{
    *parts = req->key ? json_loads(req->key, 0, NULL) : NULL;
    *url = json_string_value(json_array_get(*parts, 0));
    *corp = json_string_value(json_array_get(*parts, 1));
    *secret = json_string_value(json_array_get(*parts, 2));
    return *url && *corp && *secret;
}

static void s_token_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out);
static void s_send_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out);

// Make req the token step: GET {api_url}gettoken?corpid=..&corpsecret=.. (url.Values sorts
// its keys).
static void
s_step_token(struct notifyd_req *req, const char *url, const char *corp, const char *secret)
{
    char *u = fw_asprintf("%sgettoken?corpid=", url);
    s_escape(&u, corp);
    char *tail = fw_strdup("&corpsecret=");
    u = fw_realloc(u, strlen(u) + strlen(tail) + 1);
    strcat(u, tail);
    free(tail);
    s_escape(&u, secret);
    s_wipe(&req->url);
    req->url = u;
    req->get = true;
    req->answer = s_token_answer;
}

// Make req the message step: POST {api_url}message/send?access_token=..
static void
s_step_send(struct notifyd_req *req, const char *url, const char *token)
{
    char *u = fw_asprintf("%smessage/send?access_token=", url);
    s_escape(&u, token);
    s_wipe(&req->url);
    req->url = u;
    req->get = false;
    req->answer = s_send_answer;
}

static void
s_token_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    json_t *parts;
    const char *url, *corp, *secret;
    if (!s_key_parts(req, &parts, &url, &corp, &secret)) {
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "bad_config");
        json_decref(parts);
        return;
    }
    json_t *a = json_loads(body, JSON_DECODE_ANY, NULL);
    const char *token = json_string_value(json_object_get(a, "access_token"));
    if (!json_is_object(a)) {
        // Alertmanager gives up on a token answer it cannot decode.
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "token");
        snprintf(out->detail, sizeof out->detail, "gettoken answer is not a JSON object");
    } else if (!token || !*token) {
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "token");
        const char *msg = json_string_value(json_object_get(a, "errmsg"));
        snprintf(out->detail, sizeof out->detail, "invalid APISecret for CorpID: %.100s%s%.100s",
                 corp, msg ? ": " : "", msg ? msg : "");
    } else {
        char *key = s_cache_key(url, corp, secret);
        s_cache_put(key, token);
        s_wipe(&key);
        s_step_send(req, url, token);
        out->verdict = NOTIFYD_ANSWER_NEXT;
    }
    json_decref(a);
    json_decref(parts);
}

static void
s_send_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    json_t *a = json_loads(body, JSON_DECODE_ANY, NULL);
    json_t *code = json_object_get(a, "errcode");
    const char *msg = json_string_value(json_object_get(a, "errmsg"));
    if (!json_is_object(a)) {
        // Alertmanager retries an answer it cannot decode.
        out->verdict = NOTIFYD_ANSWER_RESEND;
        snprintf(out->reason, sizeof out->reason, "answer");
        snprintf(out->detail, sizeof out->detail, "message/send answer is not a JSON object");
    } else if (json_integer_value(code) == 0) {
        out->verdict = NOTIFYD_ANSWER_DELIVERED;
    } else if (json_integer_value(code) == S_TOKEN_EXPIRED) {
        json_t *parts;
        const char *url, *corp, *secret;
        out->verdict = NOTIFYD_ANSWER_FAILED;
        if (s_key_parts(req, &parts, &url, &corp, &secret)) {
            char *key = s_cache_key(url, corp, secret);
            s_cache_drop(key);
            s_wipe(&key);
            s_step_token(req, url, corp, secret);
            out->verdict = NOTIFYD_ANSWER_RESEND;
        }
        json_decref(parts);
        snprintf(out->reason, sizeof out->reason, "token_expired");
        snprintf(out->detail, sizeof out->detail, "errcode %d: %.200s", S_TOKEN_EXPIRED,
                 msg ? msg : "");
    } else {
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "errcode");
        snprintf(out->detail, sizeof out->detail, "errcode %lld: %.200s",
                 (long long)json_integer_value(code), msg ? msg : "");
    }
    json_decref(a);
}

// {"content": text} (text taken).
static json_t *
s_content(char *text)
{
    json_t *c = json_pack("{s:s}", "content", text ? text : "");
    free(text);
    return c;
}

static char *
s_message(const json_t *config, const json_t *data)
{
    const char *type = json_string_value(json_object_get(config, "message_type"));
    if (!type || !*type)
        type = "text";
    bool md = strcmp(type, "markdown") == 0;
    char *text = notifyd_tmpl_key(config, "wechat_configs", "message", data);
    // weChatMessage's field order; Text and Markdown are structs, which omitempty never omits.
    json_t *m = json_object();
    json_object_set_new(m, "text", s_content(md ? NULL : fw_strdup(text)));
    notifyd_body_set(m, "touser", notifyd_tmpl_key(config, "wechat_configs", "to_user", data),
                     false);
    notifyd_body_set(m, "toparty", notifyd_tmpl_key(config, "wechat_configs", "to_party", data),
                     false);
    notifyd_body_set(m, "totag", notifyd_tmpl_key(config, "wechat_configs", "to_tag", data), false);
    notifyd_body_set(m, "agentid", notifyd_tmpl_key(config, "wechat_configs", "agent_id", data),
                     false);
    json_object_set_new(m, "safe", json_string("0"));
    json_object_set_new(m, "msgtype", json_string(type));
    json_object_set_new(m, "markdown", s_content(md ? fw_strdup(text) : NULL));
    free(text);
    char *s = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    char *body = fw_asprintf("%s\n", s); // json.Encoder ends each value with a newline
    free(s);
    return body;
}

int
notifyd_wechat_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                     fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "api_url"));
    if (!url || !*url) {
        fw_err_set(err, "wechat_config without api_url");
        return -1;
    }
    const char *inline_secret = json_string_value(json_object_get(config, "api_secret"));
    const char *file = json_string_value(json_object_get(config, "api_secret_file"));
    char *secret = NULL;
    if (file && *file) {
        fw_err_t ferr;
        fw_err_clear(&ferr);
        if (fw_promcfg_http_read_secret(file, &secret, &ferr) < 0) {
            fw_err_set(err, "wechat_config api_secret_file: %s", ferr.msg);
            return -1;
        }
    } else {
        secret = fw_strdup(inline_secret ? inline_secret : "");
    }
    char *corp = notifyd_tmpl_text("corp_id", json_string_value(json_object_get(config, "corp_id")),
                                   data, NULL);
    out->body = s_message(config, data);
    out->retry_4xx = true;
    json_t *parts = json_pack("[s,s,s]", url, corp, secret);
    out->key = json_dumps(parts, JSON_COMPACT);
    json_decref(parts);
    char *key = s_cache_key(url, corp, secret);
    struct s_token *t = s_cache_find(key);
    if (t && fw_time_mono_ms() - t->at <= S_TOKEN_TTL_MS)
        s_step_send(out, url, t->token);
    else
        s_step_token(out, url, corp, secret);
    s_wipe(&key);
    s_wipe(&secret);
    free(corp);
    return 0;
}
