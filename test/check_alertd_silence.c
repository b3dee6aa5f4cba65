/*  check_alertd_silence.c — the silence table: Alertmanager's validation (no silence may
    match every alert), its error texts, and the state file (a bad stored silence is skipped,
    the rest load).
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_silence.h"
#include "fw_labels.h"

#define S_NOW 1700000000000LL // 2023-11-14T22:13:20Z

// A postable silence with the given matchers JSON and times.
static json_t *
s_silence(const char *matchers, const char *starts, const char *ends)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"matchers\":%s,\"startsAt\":\"%s\",\"endsAt\":\"%s\",\"createdBy\":\"t\","
             "\"comment\":\"c\"}",
             matchers, starts, ends);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, jerr.text);
    return j;
}

// Put a silence valid in time; returns the id (caller frees) or NULL with err.
static char *
s_put(alertd_silences_t *ss, const char *matchers, fw_err_t *err)
{
    json_t *j = s_silence(matchers, "2023-11-14T00:00:00Z", "2099-01-01T00:00:00Z");
    fw_err_clear(err);
    char *id = alertd_silences_put(ss, j, S_NOW, err);
    json_decref(j);
    return id;
}

START_TEST(test_alertd_silence_new_put_destroy)
{
    alertd_silences_t *ss = alertd_silences_new();
    fw_err_t err;
    char *id = s_put(ss, "[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false}]", &err);
    ck_assert_msg(id != NULL, "%s", err.msg);
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 1);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "line", "L1");
    json_t *ids = alertd_silences_muting(ss, &l, S_NOW);
    ck_assert_uint_eq(json_array_size(ids), 1);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), id);
    json_decref(ids);
    fw_labels_clear(&l);
    free(id);
    alertd_silences_destroy(&ss);
    alertd_silences_destroy(&ss); // twice is fine
}
END_TEST

// Silences Alertmanager refuses because every matcher matches the empty string: each would
// mute every alert (an absent label matches as "").
static const char *const s_match_all[] = {
    "[{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true}]",   // amtool silence add 'a=~.*'
    "[{\"name\":\"a\",\"value\":\"\",\"isRegex\":true}]",     // 'a=~'
    "[{\"name\":\"a\",\"value\":\"\",\"isRegex\":false}]",    // 'a='
    "[{\"name\":\"a\",\"value\":\"x|\",\"isRegex\":true}]",   // an alternative that is empty
    "[{\"name\":\"a\",\"value\":\"(x)?\",\"isRegex\":true}]", // an optional group
    "[{\"name\":\"a\",\"value\":\"\",\"isRegex\":false},"
    "{\"name\":\"b\",\"value\":\".*\",\"isRegex\":true,\"isEqual\":true}]",
};

START_TEST(test_alertd_silence_refuses_match_all)
{
    alertd_silences_t *ss = alertd_silences_new();
    for (size_t i = 0; i < sizeof s_match_all / sizeof *s_match_all; i++) {
        fw_err_t err;
        char *id = s_put(ss, s_match_all[i], &err);
        ck_assert_msg(id == NULL, "accepted %s", s_match_all[i]);
        ck_assert_str_eq(err.msg,
                         "silence invalid: at least one matcher must not match the empty string");
    }
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 0);
    json_t *all = alertd_silences_list_json(ss, S_NOW);
    ck_assert_uint_eq(json_array_size(all), 0);
    json_decref(all);
    // The same with a valid id: refused before the update, the old silence unchanged.
    fw_err_t err;
    char *id = s_put(ss, "[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}]", &err);
    ck_assert_ptr_nonnull(id);
    json_t *j = s_silence(s_match_all[0], "2023-11-14T00:00:00Z", "2099-01-01T00:00:00Z");
    json_object_set_new(j, "id", json_string(id)); // steals
    ck_assert_ptr_null(alertd_silences_put(ss, j, S_NOW, &err));
    json_decref(j);
    json_t *got = alertd_silences_get_json(ss, id, S_NOW);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(got, "matchers"), 0), "value")),
                     "b");
    json_decref(got);
    free(id);
    alertd_silences_destroy(&ss);
}
END_TEST

// What Alertmanager accepts: one matcher that needs a value is enough, and negative
// matchers never count as matching the empty string (its matchesEmpty).
START_TEST(test_alertd_silence_accepts_narrow)
{
    static const char *const ok[] = {
        "[{\"name\":\"a\",\"value\":\".+\",\"isRegex\":true}]",
        "[{\"name\":\"a\",\"value\":\"x\",\"isRegex\":false,\"isEqual\":false}]",
        "[{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true,\"isEqual\":false}]",
        "[{\"name\":\"a\",\"value\":\"\",\"isRegex\":false},"
        "{\"name\":\"b\",\"value\":\"x\",\"isRegex\":false}]",
    };
    alertd_silences_t *ss = alertd_silences_new();
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        fw_err_t err;
        char *id = s_put(ss, ok[i], &err);
        ck_assert_msg(id != NULL, "refused %s: %s", ok[i], err.msg);
        free(id);
    }
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 4);
    alertd_silences_destroy(&ss);
}
END_TEST

// Alertmanager's other checks, with its texts and in its order.
START_TEST(test_alertd_silence_validation_texts)
{
    static const struct {
        const char *matchers, *starts, *ends, *want;
    } cases[] = {
        {"[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}]", "2099-01-02T00:00:00Z",
         "2099-01-01T00:00:00Z", "Failed to create silence: start time must be before end time"},
        {"[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}]", "2099-01-01T00:00:00Z",
         "2099-01-01T00:00:00Z", "Failed to create silence: start time must be before end time"},
        {"[{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true}]", "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z", "Failed to create silence: end time can't be in the past"},
        {"[]", "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
         "silence invalid: at least one matcher required"},
        {"[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false},{\"name\":\"\",\"value\":\"b\","
         "\"isRegex\":false}]",
         "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
         "silence invalid: invalid label matcher 1: invalid label name \"\""},
    };
    alertd_silences_t *ss = alertd_silences_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = s_silence(cases[i].matchers, cases[i].starts, cases[i].ends);
        fw_err_t err;
        fw_err_clear(&err);
        ck_assert_ptr_null(alertd_silences_put(ss, j, S_NOW, &err));
        ck_assert_str_eq(err.msg, cases[i].want);
        json_decref(j);
    }
    // Alertmanager 0.27+ takes any non-empty UTF-8 label name in a silence's matchers.
    json_t *uj = s_silence("[{\"name\":\"k8s.io/app\",\"value\":\"web\",\"isRegex\":false}]",
                           "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
    fw_err_t uerr;
    fw_err_clear(&uerr);
    alertd_silences_t *us = alertd_silences_new();
    char *uid = alertd_silences_put(us, uj, S_NOW, &uerr);
    ck_assert_ptr_nonnull(uid);
    free(uid);
    alertd_silences_destroy(&us);
    json_decref(uj);
    // A regex that does not compile names its matcher.
    fw_err_t err;
    ck_assert_ptr_null(s_put(ss, "[{\"name\":\"a\",\"value\":\"(\",\"isRegex\":true}]", &err));
    ck_assert_msg(strncmp(err.msg, "silence invalid: invalid label matcher 0: ", 42) == 0, "%s",
                  err.msg);
    // An unknown id is reported last, with the text the API maps to 404.
    json_t *j = s_silence("[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}]",
                          "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
    json_object_set_new(j, "id", json_string("00000000-0000-0000-0000-000000000000")); // steals
    ck_assert_ptr_null(alertd_silences_put(ss, j, S_NOW, &err));
    ck_assert_str_eq(err.msg, ALERTD_SILENCE_NOT_FOUND);
    json_decref(j);
    ck_assert_uint_eq(alertd_silences_version(ss), 0); // nothing changed
    alertd_silences_destroy(&ss);
}
END_TEST

// A state file holding silences alertd would refuse today (written by an older alertd, or
// edited by hand): each is skipped and counted, the others load.
START_TEST(test_alertd_silence_restore_skips_invalid)
{
    static const char dump[] =
        "[\n"
        "{\"id\":\"11111111-1111-1111-1111-111111111111\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2023-11-14T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
        "\"createdBy\":\"t\",\"comment\":\"good\","
        "\"matchers\":[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false,\"isEqual\":true}]},\n"
        // matches everything
        "{\"id\":\"22222222-2222-2222-2222-222222222222\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2023-11-14T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
        "\"createdBy\":\"t\",\"comment\":\"all\","
        "\"matchers\":[{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true,\"isEqual\":true}]},\n"
        // empty regex: matches everything too
        "{\"id\":\"33333333-3333-3333-3333-333333333333\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2023-11-14T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
        "\"createdBy\":\"t\",\"comment\":\"all\","
        "\"matchers\":[{\"name\":\"a\",\"value\":\"\",\"isRegex\":true}]},\n"
        // bad label name
        "{\"id\":\"44444444-4444-4444-4444-444444444444\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2023-11-14T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
        "\"matchers\":[{\"name\":\"\",\"value\":\"x\",\"isRegex\":false}]},\n"
        // ends before it starts
        "{\"id\":\"55555555-5555-5555-5555-555555555555\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2099-01-02T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
        "\"matchers\":[{\"name\":\"a\",\"value\":\"x\",\"isRegex\":false}]},\n"
        // an expired one (ends when it starts) is kept
        "{\"id\":\"66666666-6666-6666-6666-666666666666\",\"updatedAt\":\"2023-11-14T00:00:00Z\","
        "\"startsAt\":\"2023-11-14T00:00:00Z\",\"endsAt\":\"2023-11-14T00:00:00Z\","
        "\"matchers\":[{\"name\":\"a\",\"value\":\"x\",\"isRegex\":false}]}\n"
        "]\n";
    alertd_silences_t *ss = alertd_silences_new();
    size_t skipped = 99;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(alertd_silences_restore(ss, dump, &skipped, &err), 2);
    ck_assert_uint_eq(skipped, 4);
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 1);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "alertname", "Other");
    json_t *ids = alertd_silences_muting(ss, &l, S_NOW);
    ck_assert_uint_eq(json_array_size(ids), 0); // nothing mutes an unrelated alert
    json_decref(ids);
    fw_labels_clear(&l);
    json_t *got = alertd_silences_get_json(ss, "11111111-1111-1111-1111-111111111111", S_NOW);
    ck_assert_ptr_nonnull(got);
    json_decref(got);
    ck_assert_ptr_null(alertd_silences_get_json(ss, "22222222-2222-2222-2222-222222222222", S_NOW));
    // Not an array at all: an error, nothing restored.
    ck_assert_int_eq(alertd_silences_restore(ss, "{", &skipped, &err), -1);
    alertd_silences_destroy(&ss);
}
END_TEST

// Found by fuzzing: a bare number as endsAt ("20301111111111") was read as Unix seconds
// (year 645286), accepted, and then lost at restart because the state file could not hold
// it. Alertmanager's API takes RFC 3339 date-times only; what is accepted must round-trip.
START_TEST(test_alertd_silence_times_rfc3339_and_round_trip)
{
    alertd_silences_t *ss = alertd_silences_new();
    const char *m = "[{\"name\":\"line\",\"value\":\"L1\",\"isRegex\":false}]";
    static const char *const bad[] = {"20301111111111", "1700000000", "1e10", "",
                                      "2030-13-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = s_silence(m, "2023-11-14T00:00:00Z", bad[i]);
        fw_err_t err;
        fw_err_clear(&err);
        char *id = alertd_silences_put(ss, j, S_NOW, &err);
        ck_assert_msg(id == NULL, "endsAt %s accepted", bad[i]);
        json_decref(j);
    }
    ck_assert_uint_eq(alertd_silences_active(ss, S_NOW), 0);

    json_t *j = s_silence(m, "2023-11-14T00:00:00Z", "9999-12-31T23:59:59.999Z");
    fw_err_t err;
    char *id = alertd_silences_put(ss, j, S_NOW, &err);
    ck_assert_msg(id != NULL, "%s", err.msg);
    json_decref(j);
    char *dump = alertd_silences_dump(ss, S_NOW);
    alertd_silences_t *back = alertd_silences_new();
    size_t skipped = 0;
    ck_assert_int_eq(alertd_silences_restore(back, dump, &skipped, &err), 1);
    ck_assert_uint_eq(skipped, 0);
    ck_assert_uint_eq(alertd_silences_active(back, S_NOW), 1);
    free(dump);
    free(id);
    alertd_silences_destroy(&back);
    alertd_silences_destroy(&ss);
}
END_TEST

Suite *
alertd_silence_suite(void)
{
    Suite *s = suite_create("alertd_silence");
    TCase *tc = tcase_create("silence");
    tcase_add_test(tc, test_alertd_silence_new_put_destroy);
    tcase_add_test(tc, test_alertd_silence_refuses_match_all);
    tcase_add_test(tc, test_alertd_silence_accepts_narrow);
    tcase_add_test(tc, test_alertd_silence_validation_texts);
    tcase_add_test(tc, test_alertd_silence_restore_skips_invalid);
    tcase_add_test(tc, test_alertd_silence_times_rfc3339_and_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
