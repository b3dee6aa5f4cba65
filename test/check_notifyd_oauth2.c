/*  check_notifyd_oauth2.c — http_config.oauth2 in notifyd (notifyd_oauth2): NOTIFY's object
    checked when a request is taken; the token request's body as Go's clientcredentials and
    url.Values.Encode write it, in both client authentication styles; the token answer read
    as x/oauth2 reads it (JSON or form, token_type, expires_in, missing token, non-2xx,
    oversized, header injection); the cache valid until 10 s before expiry; the style that
    worked remembered per token URL.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../notifyd/notifyd_http.h"
#include "../notifyd/notifyd_oauth2.h"
#include "../notifyd/notifyd_req.h"

#define S_O2                                                                                       \
    "{\"client_id\": \"my id\", \"client_secret\": \"s&c=r+t\", "                                  \
    "\"token_url\": \"http://127.0.0.1:9/token\""

static json_t *
s_o2(const char *rest)
{
    char *text = NULL;
    size_t n = strlen(S_O2) + strlen(rest) + 2;
    text = malloc(n);
    snprintf(text, n, "%s%s}", S_O2, rest);
    json_t *o = json_loads(text, 0, NULL);
    ck_assert_msg(o != NULL, "%s", text);
    free(text);
    return o;
}

START_TEST(test_notifyd_oauth2_take)
{
    json_t *c = json_pack("{s:{s:o}}", "http_config", "oauth2",
                          s_o2(", \"scopes\": [\"a\", \"b c\"], \"endpoint_params\": {\"aud\": "
                               "\"x\"}, \"tls\": {\"insecure_skip_verify\": true}, "
                               "\"proxy_url\": \"http://127.0.0.1:3128/\""));
    struct notifyd_req req = {0};
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_msg(notifyd_http_take(&req, c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(req.headers_len, 0); // the token comes at delivery
    ck_assert_ptr_nonnull(json_object_get(req.http, "oauth2"));
    notifyd_req_clear(&req);
    json_decref(c);

    static const char *const bad[] = {
        "{\"client_id\": \"i\", \"client_secret\": \"s\"}",
        "{\"client_id\": \"i\", \"token_url\": \"http://t/\"}",
        ", \"scopes\": [1]",
        ", \"scopes\": \"a\"",
        ", \"endpoint_params\": {\"a\": 1}",
        ", \"scopes\": [\"a\"], \"endpoint_params\": {\"scope\": \"b\"}",
        ", \"tls\": {\"min_version\": \"TLS9\"}",
        ", \"no_proxy\": \"x\"",
        ", \"client_id\": 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *o = bad[i][0] == '{' ? json_loads(bad[i], 0, NULL) : s_o2(bad[i]);
        ck_assert_ptr_nonnull(o);
        c = json_pack("{s:{s:o}}", "http_config", "oauth2", o);
        struct notifyd_req r = {0};
        fw_err_clear(&err);
        ck_assert_msg(notifyd_http_take(&r, c, &err) < 0, "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err.msg, "oauth2") != NULL, "%s: %s", bad[i], err.msg);
        ck_assert_ptr_null(r.http);
        notifyd_req_clear(&r);
        json_decref(c);
    }
    c = json_loads("{\"http_config\": {\"oauth2\": []}}", 0, NULL);
    struct notifyd_req r = {0};
    ck_assert_int_lt(notifyd_http_take(&r, c, &err), 0);
    json_decref(c);
}
END_TEST

START_TEST(test_notifyd_oauth2_body)
{
    // Keys sorted, values QueryEscape'd (space '+'), the scopes joined by a space.
    json_t *o = s_o2(", \"scopes\": [\"read\", \"write all\"], \"endpoint_params\": "
                     "{\"audience\": \"https://api/\", \"grant_type\": \"custom\"}");
    char *b = notifyd_oauth2_body(o, NOTIFYD_OAUTH2_HEADER);
    ck_assert_str_eq(b, "audience=https%3A%2F%2Fapi%2F&grant_type=custom&scope=read+write+all");
    free(b);
    b = notifyd_oauth2_body(o, NOTIFYD_OAUTH2_PARAMS);
    ck_assert_str_eq(b, "audience=https%3A%2F%2Fapi%2F&client_id=my+id&client_secret=s%26c%3Dr%2Bt&"
                        "grant_type=custom&scope=read+write+all");
    free(b);
    json_decref(o);
    o = s_o2("");
    b = notifyd_oauth2_body(o, NOTIFYD_OAUTH2_HEADER);
    ck_assert_str_eq(b, "grant_type=client_credentials");
    free(b);
    json_decref(o);
}
END_TEST

static int
s_answer(notifyd_oauth2_t *c, const json_t *o, long code, const char *body, const char *ctype,
         int64_t now, char **auth, fw_err_t *err)
{
    fw_err_clear(err);
    return notifyd_oauth2_answer(c, o, NOTIFYD_OAUTH2_HEADER, false, CURLE_OK, code, body, false,
                                 ctype, now, auth, err);
}

START_TEST(test_notifyd_oauth2_answer_cache)
{
    notifyd_oauth2_t *c = notifyd_oauth2_new();
    json_t *o = s_o2("");
    json_t *other = s_o2(", \"scopes\": [\"x\"]");
    char *auth = NULL;
    fw_err_t err;
    ck_assert_ptr_null(notifyd_oauth2_cached(c, o, 1000));
    ck_assert_int_eq(s_answer(c, o, 200,
                              "{\"access_token\": \"T1\", \"token_type\": \"bearer\", "
                              "\"expires_in\": 30}",
                              "application/json; charset=utf-8", 1000, &auth, &err),
                     0);
    ck_assert_str_eq(auth, "Bearer T1");
    free(auth);
    // Valid until 10 s before it expires (31000): 20999 yes, 21000 no.
    ck_assert_str_eq(notifyd_oauth2_cached(c, o, 20999), "Bearer T1");
    ck_assert_ptr_null(notifyd_oauth2_cached(c, o, 21000));
    ck_assert_ptr_null(notifyd_oauth2_cached(c, other, 2000)); // another config: its own
    // No expires_in: never expires. token_type as x/oauth2's Type().
    ck_assert_int_eq(s_answer(c, other, 201, "{\"access_token\": \"T2\", \"token_type\": \"MaC\"}",
                              NULL, 1000, &auth, &err),
                     0);
    ck_assert_str_eq(auth, "MAC T2");
    free(auth);
    ck_assert_str_eq(notifyd_oauth2_cached(c, other, INT64_MAX / 2), "MAC T2");
    ck_assert_int_eq(
        s_answer(c, o, 200,
                 "{\"access_token\": \"T3\", \"token_type\": \"DPoP\", \"expires_in\": "
                 "\"60\"}",
                 "application/json", 1000, &auth, &err),
        0);
    ck_assert_str_eq(auth, "DPoP T3");
    free(auth);
    // A form answer (GitHub's), read when the Content-Type says so.
    ck_assert_int_eq(s_answer(c, o, 200, "access_token=T%2B4&token_type=&expires_in=3600",
                              "application/x-www-form-urlencoded", 1000, &auth, &err),
                     0);
    ck_assert_str_eq(auth, "Bearer T+4");
    free(auth);
    ck_assert_str_eq(notifyd_oauth2_cached(c, o, 1000 + 3589999), "Bearer T+4");

    // Failures: the token URL and what went wrong, nothing cached.
    json_t *fresh = s_o2(", \"scopes\": [\"fresh\"]");
    ck_assert_int_eq(s_answer(c, fresh, 401, "{\"error\":\"invalid_client\"}", "application/json",
                              1000, &auth, &err),
                     -1);
    ck_assert_ptr_null(auth);
    ck_assert_ptr_nonnull(strstr(err.msg, "http://127.0.0.1:9/token"));
    ck_assert_ptr_nonnull(strstr(err.msg, "401"));
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid_client"));
    static const char *const bad[] = {
        "{\"token_type\": \"bearer\"}",        // missing access_token
        "{\"access_token\": \"\"}",            // empty
        "not json",                            //
        "{\"access_token\": 5}",               //
        "{\"access_token\": \"a\\r\\nX: y\"}", // header injection
        "{\"access_token\": \"a\", \"expires_in\": 1.5}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(s_answer(c, fresh, 200, bad[i], "application/json", 1000, &auth, &err) < 0,
                      "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err.msg, "oauth2") && strstr(err.msg, "http://127.0.0.1:9/token"),
                      "%s", err.msg);
    }
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_oauth2_answer(c, fresh, NOTIFYD_OAUTH2_HEADER, false, CURLE_OK, 200,
                                           "{\"access_token\": \"big", true, "application/json",
                                           1000, &auth, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
    ck_assert_int_eq(notifyd_oauth2_answer(c, fresh, NOTIFYD_OAUTH2_HEADER, false,
                                           CURLE_COULDNT_CONNECT, 0, NULL, false, NULL, 1000, &auth,
                                           &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "http://127.0.0.1:9/token"));
    ck_assert_ptr_null(notifyd_oauth2_cached(c, fresh, 1000));

    // The style: header first while unknown; the one that worked, once probed, is kept.
    bool probe = false;
    ck_assert_int_eq(notifyd_oauth2_style(c, fresh, &probe), NOTIFYD_OAUTH2_HEADER);
    ck_assert(probe);
    ck_assert_int_eq(notifyd_oauth2_answer(c, fresh, NOTIFYD_OAUTH2_PARAMS, true, CURLE_OK, 200,
                                           "{\"access_token\": \"T5\"}", false, NULL, 1000, &auth,
                                           &err),
                     0);
    free(auth);
    ck_assert_int_eq(notifyd_oauth2_style(c, o, &probe), NOTIFYD_OAUTH2_PARAMS); // same URL
    ck_assert(!probe);

    json_decref(fresh);
    json_decref(other);
    json_decref(o);
    notifyd_oauth2_destroy(&c);
    notifyd_oauth2_destroy(&c); // twice is fine
}
END_TEST

Suite *
notifyd_oauth2_suite(void)
{
    Suite *s = suite_create("notifyd_oauth2");
    TCase *tc = tcase_create("oauth2");
    tcase_add_test(tc, test_notifyd_oauth2_take);
    tcase_add_test(tc, test_notifyd_oauth2_body);
    tcase_add_test(tc, test_notifyd_oauth2_answer_cache);
    suite_add_tcase(s, tc);
    return s;
}
