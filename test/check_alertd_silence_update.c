/*  check_alertd_silence_update.c — a POST with an existing id, as Alertmanager's Silences.Set
    and canUpdate decide it: in place (same id) when the history of silencing is unchanged,
    otherwise a replacement (new id returned, the old one expired), which needs room at the
    count limit; both changed silences are tracked for the cluster.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_silence.h"

#define S_NOW 1700000000000LL // 2023-11-14T22:13:20Z
#define S_START "2023-11-14T22:13:20Z"
#define S_END "2099-01-01T00:00:00Z"
#define S_L1 "[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false}]"

// Put a silence (id NULL: a new one) at now; the id (caller frees), or NULL with err.
static char *
s_put(alertd_silences_t *ss, const char *id, const char *matchers, const char *starts,
      const char *comment, int64_t now, fw_err_t *err)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"matchers\":%s,\"startsAt\":\"%s\",\"endsAt\":\"%s\",\"createdBy\":\"t\","
             "\"comment\":\"%s\"}",
             matchers, starts, S_END, comment);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, jerr.text);
    if (id)
        json_object_set_new(j, "id", json_string(id)); // steals
    fw_err_clear(err);
    char *out = alertd_silences_put(ss, j, now, err);
    json_decref(j);
    return out;
}

// A field of silence id as a new string (caller frees); "" for the state's "status".
static char *
s_field(alertd_silences_t *ss, const char *id, const char *key, int64_t now)
{
    json_t *j = alertd_silences_get_json(ss, id, now);
    ck_assert_msg(j != NULL, "silence %s missing", id);
    const json_t *v = strcmp(key, "state") == 0
                          ? json_object_get(json_object_get(j, "status"), "state")
                          : json_object_get(j, key);
    char *out = strdup(json_string_value(v));
    json_decref(j);
    return out;
}

static void
s_expect(alertd_silences_t *ss, const char *id, const char *key, const char *want, int64_t now)
{
    char *got = s_field(ss, id, key, now);
    ck_assert_msg(strcmp(got, want) == 0, "%s of %s: got %s, want %s", key, id, got, want);
    free(got);
}

START_TEST(test_alertd_silence_update_in_place)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, "2023-11-14T00:00:00Z", "c", S_NOW, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    // amtool update posts the silence back as stored: start moved to now at creation.
    s_expect(ss, a, "startsAt", "2023-11-14T22:13:20.000Z", S_NOW);
    // Same matchers, same start (to the second, as Go's Unix()), later end, new comment.
    char *b = s_put(ss, a, S_L1, "2023-11-14T22:13:20.900Z", "new", S_NOW + 5000, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ck_assert_str_eq(b, a);
    s_expect(ss, a, "comment", "new", S_NOW + 5000);
    s_expect(ss, a, "state", "active", S_NOW + 5000);
    json_t *all = alertd_silences_list_json(ss, S_NOW + 5000);
    ck_assert_uint_eq(json_array_size(all), 1);
    json_decref(all);
    free(a);
    free(b);
    alertd_silences_destroy(&ss);
}
END_TEST

// Alertmanager replaces: a new id, the old one expired at now and still listed.
static void
s_expect_replaced(alertd_silences_t *ss, const char *old, const char *neu, int64_t now)
{
    ck_assert_ptr_nonnull(neu);
    ck_assert_str_ne(neu, old);
    s_expect(ss, old, "state", "expired", now);
    char ends[40];
    snprintf(ends, sizeof ends, "2023-11-14T22:13:%02lld.000Z",
             (long long)((now - S_NOW) / 1000 + 20));
    s_expect(ss, old, "endsAt", ends, now);
    s_expect(ss, neu, "comment", "new", now);
}

START_TEST(test_alertd_silence_update_matchers_replace)
{
    alertd_silences_t *ss = alertd_silences_new();
    alertd_silences_track_changes(ss, true);
    fw_err_t err;
    const char *two = "[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false},"
                      "{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}]";
    const char *swapped = "[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false},"
                          "{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false}]";
    const char *regex = "[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":true}]";
    char *a = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    json_decref(alertd_silences_take_changes(ss, S_NOW));
    // Another value...
    char *b = s_put(ss, a, "[{\"name\":\"line\",\"value\":\"L2\",\"isRegex\":false}]", S_START,
                    "new", S_NOW + 2000, &err);
    s_expect_replaced(ss, a, b, S_NOW + 2000);
    s_expect(ss, b, "state", "active", S_NOW + 2000);
    // ...and both changed silences go to the peers.
    json_t *ch = alertd_silences_take_changes(ss, S_NOW + 2000);
    ck_assert_uint_eq(json_array_size(ch), 2);
    json_decref(ch);
    // The type (= to =~), and the order of otherwise equal matchers, count too.
    char *c = s_put(ss, NULL, two, S_START, "c", S_NOW, &err);
    char *d = s_put(ss, c, swapped, S_START, "new", S_NOW + 3000, &err);
    s_expect_replaced(ss, c, d, S_NOW + 3000);
    char *e = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    char *f = s_put(ss, e, regex, S_START, "new", S_NOW + 4000, &err);
    s_expect_replaced(ss, e, f, S_NOW + 4000);
    free(a), free(b), free(c), free(d), free(e), free(f);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_active_start_replace)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    // An active silence's start moved back (or forward) is a new silence; its start in the
    // past becomes now, as for any new one.
    char *b = s_put(ss, a, S_L1, "2023-11-14T22:13:19Z", "new", S_NOW + 1000, &err);
    s_expect_replaced(ss, a, b, S_NOW + 1000);
    s_expect(ss, b, "startsAt", "2023-11-14T22:13:21.000Z", S_NOW + 1000);
    char *c = s_put(ss, b, S_L1, "2023-11-15T00:00:00Z", "new", S_NOW + 2000, &err);
    s_expect_replaced(ss, b, c, S_NOW + 2000);
    s_expect(ss, c, "state", "pending", S_NOW + 2000);
    free(a), free(b), free(c);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_pending)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, "2023-11-15T00:00:00Z", "c", S_NOW, &err);
    s_expect(ss, a, "state", "pending", S_NOW);
    // A pending silence may move its start, while it stays in the future: in place.
    char *b = s_put(ss, a, S_L1, "2023-11-16T00:00:00Z", "new", S_NOW + 1000, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ck_assert_str_eq(b, a);
    s_expect(ss, a, "startsAt", "2023-11-16T00:00:00.000Z", S_NOW + 1000);
    // A start in the past: a new silence from now, the pending one expired (start = end = now).
    char *c = s_put(ss, a, S_L1, "2023-11-14T00:00:00Z", "new", S_NOW + 2000, &err);
    s_expect_replaced(ss, a, c, S_NOW + 2000);
    s_expect(ss, a, "startsAt", "2023-11-14T22:13:22.000Z", S_NOW + 2000);
    s_expect(ss, c, "state", "active", S_NOW + 2000);
    free(a), free(b), free(c);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_expired)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    ck_assert_int_eq(alertd_silences_expire(ss, a, S_NOW + 1000), 0);
    char *upd = s_field(ss, a, "updatedAt", S_NOW + 1000);
    // An expired silence never changes: the same silence posted again is a new one, and the
    // old one stays as it was (Alertmanager does not expire it again).
    char *b = s_put(ss, a, S_L1, S_START, "new", S_NOW + 5000, &err);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_ne(b, a);
    s_expect(ss, a, "endsAt", "2023-11-14T22:13:21.000Z", S_NOW + 5000);
    s_expect(ss, a, "updatedAt", upd, S_NOW + 5000);
    s_expect(ss, a, "comment", "c", S_NOW + 5000);
    s_expect(ss, b, "state", "active", S_NOW + 5000);
    free(upd);
    free(a), free(b);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_unknown_id)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    ck_assert_ptr_null(
        s_put(ss, "0b5d3d7a-1b2c-4d5e-8f90-123456789abc", S_L1, S_START, "c", S_NOW, &err));
    ck_assert_str_eq(err.msg, ALERTD_SILENCE_NOT_FOUND);
    json_t *all = alertd_silences_list_json(ss, S_NOW);
    ck_assert_uint_eq(json_array_size(all), 0);
    json_decref(all);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_replace_at_limit)
{
    alertd_silences_t *ss = alertd_silences_new();
    alertd_silences_set_limits(ss, 1, 0);
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    // In place needs no room...
    char *b = s_put(ss, a, S_L1, S_START, "new", S_NOW + 1000, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ck_assert_str_eq(b, a);
    // ...a replacement does (Alertmanager main, Silences.Set): refused, the old one untouched.
    ck_assert_ptr_null(s_put(ss, a, "[{\"name\":\"line\",\"value\":\"L2\",\"isRegex\":false}]",
                             S_START, "newer", S_NOW + 2000, &err));
    ck_assert_str_eq(err.msg, "exceeded maximum number of silences: 1 (limit: 1)");
    s_expect(ss, a, "state", "active", S_NOW + 2000);
    s_expect(ss, a, "comment", "new", S_NOW + 2000);
    free(a), free(b);
    alertd_silences_destroy(&ss);
}
END_TEST

START_TEST(test_alertd_silence_update_merge_on_peer)
{
    // The replacement's two changes, merged on a peer, give the same table there.
    alertd_silences_t *ss = alertd_silences_new(), *peer = alertd_silences_new();
    alertd_silences_track_changes(ss, true);
    fw_err_t err;
    char *a = s_put(ss, NULL, S_L1, S_START, "c", S_NOW, &err);
    json_t *ch = alertd_silences_take_changes(ss, S_NOW);
    ck_assert_int_eq(alertd_silences_merge(peer, json_array_get(ch, 0), S_NOW, 0, &err), 1);
    json_decref(ch);
    char *b = s_put(ss, a, "[{\"name\":\"line\",\"value\":\"L2\",\"isRegex\":false}]", S_START,
                    "new", S_NOW + 1000, &err);
    ch = alertd_silences_take_changes(ss, S_NOW + 1000);
    size_t i;
    json_t *j;
    json_array_foreach(ch, i, j)
    {
        ck_assert_int_eq(alertd_silences_merge(peer, j, S_NOW + 1000, 900000, &err), 1);
    }
    json_decref(ch);
    s_expect(peer, a, "state", "expired", S_NOW + 1000);
    s_expect(peer, b, "state", "active", S_NOW + 1000);
    s_expect(peer, b, "comment", "new", S_NOW + 1000);
    free(a), free(b);
    alertd_silences_destroy(&ss);
    alertd_silences_destroy(&peer);
}
END_TEST

Suite *
alertd_silence_update_suite(void)
{
    Suite *s = suite_create("alertd_silence_update");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alertd_silence_update_in_place);
    tcase_add_test(tc, test_alertd_silence_update_matchers_replace);
    tcase_add_test(tc, test_alertd_silence_update_active_start_replace);
    tcase_add_test(tc, test_alertd_silence_update_pending);
    tcase_add_test(tc, test_alertd_silence_update_expired);
    tcase_add_test(tc, test_alertd_silence_update_unknown_id);
    tcase_add_test(tc, test_alertd_silence_update_replace_at_limit);
    tcase_add_test(tc, test_alertd_silence_update_merge_on_peer);
    suite_add_tcase(s, tc);
    return s;
}
