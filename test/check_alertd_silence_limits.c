/*  check_alertd_silence_limits.c — Alertmanager's silence limits (--silences.max-silences,
    --silences.max-silence-size-bytes) on the silence table: its texts, what counts (expired
    silences too, until the GC drops them), updates at the limit, a peer's silences, and
    alertd's bounded defaults (Alertmanager's are "no limit").
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_silence.h"

#define S_NOW 1700000000000LL // 2023-11-14T22:13:20Z

// A postable silence on line=<line> with a comment of comment_len 'x's, and id when not NULL.
// It starts at S_NOW, so an update with an id keeps the start and is made in place.
static json_t *
s_silence(int line, size_t comment_len, const char *id)
{
    char *comment = malloc(comment_len + 1);
    memset(comment, 'x', comment_len);
    comment[comment_len] = '\0';
    char value[32];
    snprintf(value, sizeof value, "L%d", line);
    json_t *j = json_pack("{s:[{s:s, s:s, s:b}], s:s, s:s, s:s, s:s}", "matchers", "name", "line",
                          "value", value, "isRegex", 0, "startsAt", "2023-11-14T22:13:20Z",
                          "endsAt", "2099-01-01T00:00:00Z", "createdBy", "t", "comment", comment);
    ck_assert_ptr_nonnull(j);
    if (id)
        json_object_set_new(j, "id", json_string(id)); // steals
    free(comment);
    return j;
}

// Put a silence; the id (caller frees), or NULL with err.
static char *
s_put(alertd_silences_t *ss, int line, size_t comment_len, const char *id, fw_err_t *err)
{
    json_t *j = s_silence(line, comment_len, id);
    fw_err_clear(err);
    char *out = alertd_silences_put(ss, j, S_NOW, err);
    json_decref(j);
    return out;
}

START_TEST(test_alertd_silence_limits_count)
{
    alertd_silences_t *ss = alertd_silences_new();
    alertd_silences_set_limits(ss, 2, 0);
    fw_err_t err;
    char *a = s_put(ss, 1, 1, NULL, &err);
    char *b = s_put(ss, 2, 1, NULL, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    // A third: Alertmanager's text (Silences.Set), nothing added.
    ck_assert_ptr_null(s_put(ss, 3, 1, NULL, &err));
    ck_assert_str_eq(err.msg, "exceeded maximum number of silences: 2 (limit: 2)");
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 2);
    // At the limit an existing silence can still be updated (same id, in place)...
    char *a2 = s_put(ss, 1, 10, a, &err);
    ck_assert_msg(a2 != NULL, "update at the limit refused: %s", err.msg);
    ck_assert_str_eq(a2, a);
    json_t *got = alertd_silences_get_json(ss, a, S_NOW);
    ck_assert_str_eq(json_string_value(json_object_get(got, "comment")), "xxxxxxxxxx");
    json_decref(got);
    // ...and expired.
    ck_assert_int_eq(alertd_silences_expire(ss, b, S_NOW), 0);
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 1);
    // The expired one still counts until the GC drops it (Alertmanager: "including expired
    // silences"), so creating and expiring in a loop cannot grow the table.
    ck_assert_ptr_null(s_put(ss, 3, 1, NULL, &err));
    ck_assert_str_eq(err.msg, "exceeded maximum number of silences: 2 (limit: 2)");
    alertd_silences_gc(ss, S_NOW + 1);
    char *c = s_put(ss, 3, 1, NULL, &err);
    ck_assert_msg(c != NULL, "room after the GC refused: %s", err.msg);
    // 0 (or negative) means no limit, as in Alertmanager.
    alertd_silences_set_limits(ss, 0, 0);
    char *d = s_put(ss, 4, 1, NULL, &err);
    ck_assert_ptr_nonnull(d);
    free(a);
    free(a2);
    free(b);
    free(c);
    free(d);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_limits_size)
{
    alertd_silences_t *ss = alertd_silences_new();
    alertd_silences_set_limits(ss, 0, 1024);
    fw_err_t err;
    ck_assert_ptr_null(s_put(ss, 1, 2000, NULL, &err));
    ck_assert_msg(strncmp(err.msg, "silence exceeded maximum size: ", 31) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, " bytes (limit: 1024 bytes)") != NULL, "%s", err.msg);
    int n = atoi(err.msg + 31);
    ck_assert_msg(n > 2000 && n < 2400, "size %d for a 2000-byte comment", n);
    char *a = s_put(ss, 1, 100, NULL, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    // An update that makes it too large is refused, and the silence stays as it was.
    ck_assert_ptr_null(s_put(ss, 1, 2000, a, &err));
    ck_assert_msg(strstr(err.msg, "silence exceeded maximum size") != NULL, "%s", err.msg);
    json_t *got = alertd_silences_get_json(ss, a, S_NOW);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(got, "comment"))), 100);
    json_decref(got);
    free(a);
    alertd_silences_destroy(&ss);
}
END_TEST

// alertd's defaults bound the table where Alertmanager's (0) do not.
START_TEST(test_alertd_silence_limits_defaults_bounded)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    ck_assert_ptr_null(s_put(ss, 1, ALERTD_SILENCE_SIZE_MAX_DEFAULT, NULL, &err));
    ck_assert_msg(strstr(err.msg, "silence exceeded maximum size") != NULL, "%s", err.msg);
    for (int i = 0; i < ALERTD_SILENCES_MAX_DEFAULT; i++) {
        char *id = s_put(ss, i, 1, NULL, &err);
        ck_assert_msg(id != NULL, "silence %d: %s", i, err.msg);
        free(id);
    }
    ck_assert_ptr_null(s_put(ss, -1, 1, NULL, &err));
    ck_assert_str_eq(err.msg, "exceeded maximum number of silences: 10000 (limit: 10000)");
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), ALERTD_SILENCES_MAX_DEFAULT);
    alertd_silences_destroy(&ss);
}
END_TEST

// A peer's silences (the cluster merge) hold to the same limits: a new id is refused when
// the table is full, a newer version of one held is taken, a too-large one is refused.
START_TEST(test_alertd_silence_limits_merge)
{
    alertd_silences_t *peer = alertd_silences_new(), *ss = alertd_silences_new();
    alertd_silences_set_limits(peer, 0, 0);
    alertd_silences_set_limits(ss, 1, 1024);
    fw_err_t err;
    char *a = s_put(peer, 1, 1, NULL, &err);
    char *b = s_put(peer, 2, 1, NULL, &err);
    char *big = s_put(peer, 3, 2000, NULL, &err);
    ck_assert_ptr_nonnull(big);
    json_t *ja = alertd_silences_get_json(peer, a, S_NOW);
    json_t *jb = alertd_silences_get_json(peer, b, S_NOW);
    ck_assert_int_eq(alertd_silences_merge(ss, ja, S_NOW, 0, &err), 1);
    fw_err_clear(&err);
    ck_assert_int_eq(alertd_silences_merge(ss, jb, S_NOW, 0, &err), -1);
    ck_assert_str_eq(err.msg, "exceeded maximum number of silences: 1 (limit: 1)");
    ck_assert_ptr_null(alertd_silences_get_json(ss, b, S_NOW));
    // The peer expires a: a later updatedAt, the same id, taken at the limit.
    ck_assert_int_eq(alertd_silences_expire(peer, a, S_NOW + 1000), 0);
    json_t *ja2 = alertd_silences_get_json(peer, a, S_NOW + 1000);
    ck_assert_int_eq(alertd_silences_merge(ss, ja2, S_NOW + 1000, 3600000, &err), 1);
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW + 1000), 0);
    // Too large: refused even with room.
    alertd_silences_set_limits(ss, 0, 1024);
    json_t *jbig = alertd_silences_get_json(peer, big, S_NOW);
    fw_err_clear(&err);
    ck_assert_int_eq(alertd_silences_merge(ss, jbig, S_NOW, 0, &err), -1);
    ck_assert_msg(strstr(err.msg, "silence exceeded maximum size") != NULL, "%s", err.msg);
    json_decref(ja);
    json_decref(ja2);
    json_decref(jb);
    json_decref(jbig);
    free(a);
    free(b);
    free(big);
    alertd_silences_destroy(&peer);
    alertd_silences_destroy(&ss);
}
END_TEST

Suite *
alertd_silence_limits_suite(void)
{
    Suite *s = suite_create("alertd_silence_limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_alertd_silence_limits_count);
    tcase_add_test(tc, test_alertd_silence_limits_size);
    tcase_add_test(tc, test_alertd_silence_limits_defaults_bounded);
    tcase_add_test(tc, test_alertd_silence_limits_merge);
    suite_add_tcase(s, tc);
    return s;
}
