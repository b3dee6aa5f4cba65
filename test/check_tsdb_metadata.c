/*  check_tsdb_metadata.c — METADATA into tsdb and /api/v1/metadata out, served by a real
    fw_http server; and the scraper's side: a scrape's HELP, TYPE and UNIT collected from
    the parser (scraper_meta), sent only when they change or are due again.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt.h"
#include "fw_http.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "check_util.h"
#include "../scraper/scraper_meta.h"
#include "../tsdb/tsdb_metadata.h"

static tsdb_metadata_t *s_md;
static fw_http_t *s_http;
static fw_metrics_t *s_metrics;
static char s_base[64];

static void
s_setup(void)
{
    s_md = tsdb_metadata_new();
    s_metrics = fw_metrics_new();
    s_http = fw_http_new("tsdb", s_metrics);
    tsdb_metadata_routes(s_md, s_http);
    fw_err_t err;
    ck_assert_msg(fw_http_start(s_http, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    snprintf(s_base, sizeof(s_base), "http://127.0.0.1:%d", fw_http_port(s_http));
}

static void
s_teardown(void)
{
    fw_http_destroy(&s_http);
    tsdb_metadata_destroy(&s_md);
    fw_metrics_destroy(&s_metrics);
}

static ssize_t
s_ingest(const char *json, int64_t now_ms)
{
    json_error_t jerr;
    json_t *body = json_loads(json, 0, &jerr);
    ck_assert_msg(body, "%s", jerr.text);
    fw_err_t err;
    ssize_t n = tsdb_metadata_ingest(s_md, body, now_ms, &err);
    json_decref(body);
    return n;
}

static void
s_expect(const char *query, long status, const char *want)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/api/v1/metadata%s", s_base, query);
    struct check_util_http r = check_util_http_get(url);
    ck_assert_msg(r.status == status, "%s: %ld %s", query, r.status, r.body);
    ck_assert_msg(strcmp(r.body, want) == 0, "%s\n got: %s\nwant: %s", query, r.body, want);
    check_util_http_clear(&r);
}

#define S_A "{\"sender\":\"s1\",\"target\":\"node http://a/metrics\",\"metadata\":["
#define S_UP "{\"metric\":\"up_thing\",\"type\":\"gauge\",\"help\":\"Up <&>.\",\"unit\":\"\"}"
#define S_REQ "{\"metric\":\"req\",\"type\":\"counter\",\"help\":\"Requests.\",\"unit\":\"\"}"

START_TEST(test_tsdb_metadata_ingest_and_answer)
{
    s_expect("", 200, "{\"status\":\"success\",\"data\":{}}");
    ck_assert_int_eq(s_ingest(S_A S_UP "," S_REQ "]}", 1000), 2);
    // a second target: the same triple once, another help for req
    ck_assert_int_eq(
        s_ingest("{\"sender\":\"s1\",\"target\":\"node http://b/metrics\",\"metadata\":[" S_UP
                 ",{\"metric\":\"req\",\"type\":\"counter\",\"help\":\"Other.\","
                 "\"unit\":\"\"},{\"metric\":\"t_celsius\",\"type\":\"gauge\","
                 "\"help\":\"T.\",\"unit\":\"celsius\"}]}",
                 1000),
        3);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 5);
    const char *req = "\"req\":[{\"type\":\"counter\",\"unit\":\"\",\"help\":\"Other.\"},"
                      "{\"type\":\"counter\",\"unit\":\"\",\"help\":\"Requests.\"}]";
    const char *t = "\"t_celsius\":[{\"type\":\"gauge\",\"unit\":\"celsius\",\"help\":\"T.\"}]";
    const char *up =
        "\"up_thing\":[{\"type\":\"gauge\",\"unit\":\"\",\"help\":\"Up \\u003c\\u0026\\u003e.\"}]";
    char want[1024];
    snprintf(want, sizeof(want), "{\"status\":\"success\",\"data\":{%s,%s,%s}}", req, t, up);
    s_expect("", 200, want);
    snprintf(want, sizeof(want), "{\"status\":\"success\",\"data\":{%s}}", t);
    s_expect("?metric=t_celsius", 200, want);
    s_expect("?metric=nothing", 200, "{\"status\":\"success\",\"data\":{}}");
    snprintf(want, sizeof(want), "{\"status\":\"success\",\"data\":{%s,%s}}", req, t);
    s_expect("?limit=2", 200, want);
    s_expect("?limit=0", 200, "{\"status\":\"success\",\"data\":{}}");
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"req\":[{\"type\":\"counter\",\"unit\":\"\","
             "\"help\":\"Other.\"}]}}");
    s_expect("?metric=req&limit_per_metric=1", 200, want);
    s_expect("?limit=x", 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"limit must be a "
             "number\"}");
    s_expect("?limit_per_metric=1.5", 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"limit_per_metric "
             "must be a number\"}");
    // a new list replaces the target's; an empty one forgets it
    ck_assert_int_eq(s_ingest(S_A S_REQ "]}", 2000), 1);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 4);
    ck_assert_int_eq(s_ingest(S_A "]}", 2000), 0);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 3);
    // targets not heard of for the TTL go
    ck_assert_uint_eq(tsdb_metadata_expire(s_md, 1000 + TSDB_METADATA_TTL_MS), 0);
    ck_assert_uint_eq(tsdb_metadata_expire(s_md, 1001 + TSDB_METADATA_TTL_MS), 1);
    s_expect("", 200, "{\"status\":\"success\",\"data\":{}}");
}
END_TEST

START_TEST(test_tsdb_metadata_refuses_bad_input)
{
    ck_assert_int_eq(s_ingest("{\"sender\":\"s\",\"metadata\":[]}", 1), -1);
    ck_assert_int_eq(
        s_ingest(S_A "{\"metric\":\"x\",\"type\":\"weird\",\"help\":\"\",\"unit\":\"\"}]}", 1), -1);
    ck_assert_int_eq(
        s_ingest(S_A "{\"metric\":\"\",\"type\":\"gauge\",\"help\":\"\",\"unit\":\"\"}]}", 1), -1);
    ck_assert_int_eq(s_ingest(S_A "{\"metric\":\"x\",\"type\":\"gauge\",\"unit\":\"\"}]}", 1), -1);
    // a help text past the bound
    char *big = fw_calloc(1, TSDB_METADATA_MAX_TEXT + 200);
    snprintf(big, TSDB_METADATA_MAX_TEXT + 200,
             S_A "{\"metric\":\"x\",\"type\":\"gauge\",\"unit\":\"\",\"help\":\"");
    memset(big + strlen(big), 'h', TSDB_METADATA_MAX_TEXT + 1);
    strcat(big, "\"}]}");
    ck_assert_int_eq(s_ingest(big, 1), -1);
    free(big);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 0);
    // more families than the bound over all targets: refused whole, the others kept
    json_t *list = json_array();
    for (int k = 0; k < TSDB_METADATA_MAX_ENTRIES / 2 + 1; k++) {
        char name[32];
        snprintf(name, sizeof(name), "m%d", k);
        json_array_append_new(
            list, json_pack("{ssssssss}", "metric", name, "type", "gauge", "help", "", "unit", ""));
    }
    fw_err_t err;
    for (int t = 0; t < 2; t++) {
        json_t *body = json_pack("{sssisO}", "sender", "s", "target", t, "metadata", list);
        json_object_set_new(body, "target", json_string(t ? "b" : "a"));
        ssize_t n = tsdb_metadata_ingest(s_md, body, 1, &err);
        json_decref(body);
        ck_assert_int_eq(n, t ? -1 : TSDB_METADATA_MAX_ENTRIES / 2 + 1);
    }
    ck_assert_ptr_nonnull(strstr(err.msg, "more than"));
    json_decref(list);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), TSDB_METADATA_MAX_ENTRIES / 2 + 1);
}
END_TEST

#define S_FAM(m, t, u, h)                                                                          \
    {                                                                                              \
        (m), (t), (u), (h), strlen(m), strlen(u), strlen(h)                                        \
    }

// Remote-written families: last one sent wins, merged with the targets' in the answer,
// each bad one refused alone, the bound kept, forgotten after the TTL.
START_TEST(test_tsdb_metadata_put_from_remote_write)
{
    ck_assert_int_eq(s_ingest(S_A S_REQ "]}", 1000), 1);
    struct tsdb_metadata_family f[] = {
        S_FAM("req", "counter", "", "Sent."),  S_FAM("t", "gauge", "celsius", "Old."),
        S_FAM("t", "gauge", "celsius", "T."),  S_FAM("", "gauge", "", ""), // no name
        S_FAM("x", "weird", "", ""),                                       // no such type
        S_FAM("bad\xff", "gauge", "", ""),                                 // not UTF-8
        {"nul", "gauge", "", "a\0b", 3, 0, 3},                             // a NUL in the help
    };
    size_t refused = 9;
    ck_assert_uint_eq(tsdb_metadata_put(s_md, f, 7, 2000, &refused), 3);
    ck_assert_uint_eq(refused, 4);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 3);
    s_expect("", 200,
             "{\"status\":\"success\",\"data\":{\"req\":[{\"type\":\"counter\",\"unit\":\"\","
             "\"help\":\"Requests.\"},{\"type\":\"counter\",\"unit\":\"\",\"help\":\"Sent.\"}],"
             "\"t\":[{\"type\":\"gauge\",\"unit\":\"celsius\",\"help\":\"T.\"}]}}");
    // a help past the bound is refused; at the bound it is kept
    char *big = fw_calloc(1, TSDB_METADATA_MAX_TEXT + 2);
    memset(big, 'h', TSDB_METADATA_MAX_TEXT + 1);
    struct tsdb_metadata_family h[] = {{"big", "gauge", "", big, 3, 0, TSDB_METADATA_MAX_TEXT + 1},
                                       {"big", "gauge", "", big, 3, 0, TSDB_METADATA_MAX_TEXT}};
    ck_assert_uint_eq(tsdb_metadata_put(s_md, h, 1, 2000, &refused), 0);
    ck_assert_uint_eq(refused, 1);
    ck_assert_uint_eq(tsdb_metadata_put(s_md, h + 1, 1, 2000, NULL), 1);
    free(big);
    // the target expires at its TTL, the families at theirs
    ck_assert_uint_eq(tsdb_metadata_expire(s_md, 1001 + TSDB_METADATA_TTL_MS), 1);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), 3);
    ck_assert_uint_eq(tsdb_metadata_expire(s_md, 2001 + TSDB_METADATA_TTL_MS), 3);
    s_expect("", 200, "{\"status\":\"success\",\"data\":{}}");
    // the bound: new families past it are refused, known ones still replaced
    size_t n = TSDB_METADATA_MAX_ENTRIES + 1;
    struct tsdb_metadata_family *many = fw_calloc(n, sizeof(*many));
    char(*names)[16] = fw_calloc(n, sizeof(*names));
    for (size_t k = 0; k < n; k++) {
        snprintf(names[k], sizeof(names[k]), "m%zu", k);
        many[k] = (struct tsdb_metadata_family)S_FAM(names[k], "gauge", "", "");
    }
    ck_assert_uint_eq(tsdb_metadata_put(s_md, many, n, 3000, &refused), n - 1);
    ck_assert_uint_eq(refused, 1);
    ck_assert_uint_eq(tsdb_metadata_size(s_md), TSDB_METADATA_MAX_ENTRIES);
    ck_assert_uint_eq(tsdb_metadata_put(s_md, many, 1, 3000, &refused), 1);
    ck_assert_int_eq(s_ingest(S_A S_REQ "]}", 3000), -1);
    free(names);
    free(many);
}
END_TEST

// The scraper's collector and its parser, one pair a test (checked fixture), with the
// collector's send state.
static scraper_meta_t *s_m;
static fw_expfmt_t *s_p;
static uint64_t s_hash;
static int64_t s_sent;

static void
s_meta_setup(void)
{
    s_m = scraper_meta_new();
    s_p = fw_expfmt_new();
    s_hash = 0;
    s_sent = 0;
}

static void
s_meta_teardown(void)
{
    fw_expfmt_destroy(&s_p);
    scraper_meta_destroy(&s_m);
}

// Parse a body with the fixture's collector and take what would be sent.
static json_t *
s_scrape(const char *body, fw_expfmt_fmt_t fmt, int64_t now)
{
    fw_err_t err;
    scraper_meta_begin(s_m, s_p, fmt);
    ssize_t n = fw_expfmt_parse_flags(s_p, body, strlen(body), fmt, FW_EXPFMT_PROMETHEUS, &err);
    ck_assert_msg(n >= 0, "%s", err.msg);
    return scraper_meta_finish(s_m, s_p, true, &s_hash, &s_sent, now);
}

START_TEST(test_scraper_meta_collects_and_sends_on_change)
{
    const char *text = "# HELP a_total A \\\\ \"b\"\\nc.\n# TYPE a_total counter\na_total 1\n"
                       "# TYPE u untyped\nu 2\n# HELP h_only  two blanks\nh_only 3\nnone 4\n";
    json_t *l = s_scrape(text, FW_EXPFMT_TEXT, 1000);
    ck_assert_ptr_nonnull(l);
    char *s = json_dumps(l, JSON_COMPACT);
    ck_assert_str_eq(
        s, "[{\"metric\":\"a_total\",\"type\":\"counter\",\"help\":\"A \\\\ \\\"b\\\"\\nc.\","
           "\"unit\":\"\"},{\"metric\":\"u\",\"type\":\"unknown\",\"help\":\"\","
           "\"unit\":\"\"},{\"metric\":\"h_only\",\"type\":\"unknown\",\"help\":\" two "
           "blanks\",\"unit\":\"\"}]");
    free(s);
    json_decref(l);
    ck_assert_int_eq(s_sent, 1000);
    // unchanged: nothing until the resend is due
    ck_assert_ptr_null(s_scrape(text, FW_EXPFMT_TEXT, 2000));
    l = s_scrape(text, FW_EXPFMT_TEXT, 1000 + SCRAPER_META_RESEND_MS);
    ck_assert_ptr_nonnull(l);
    json_decref(l);
    // OpenMetrics: the unit, \" unescaped
    const char *om =
        "# TYPE t_celsius gauge\n# UNIT t_celsius celsius\n# HELP t_celsius The \\\"t\\\".\n"
        "t_celsius 1\n# EOF\n";
    l = s_scrape(om, FW_EXPFMT_OPENMETRICS, 3000 + SCRAPER_META_RESEND_MS);
    ck_assert_ptr_nonnull(l);
    s = json_dumps(l, JSON_COMPACT);
    ck_assert_str_eq(s, "[{\"metric\":\"t_celsius\",\"type\":\"gauge\",\"help\":\"The \\\"t\\\".\","
                        "\"unit\":\"celsius\"}]");
    free(s);
    json_decref(l);
    // all metadata gone: an empty list, once
    l = s_scrape("x 1\n", FW_EXPFMT_TEXT, 4000 + SCRAPER_META_RESEND_MS);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(json_array_size(l), 0);
    json_decref(l);
    ck_assert_ptr_null(s_scrape("x 1\n", FW_EXPFMT_TEXT, 9 * SCRAPER_META_RESEND_MS));
    // a failed scrape sends nothing
    scraper_meta_begin(s_m, s_p, FW_EXPFMT_TEXT);
    ck_assert_ptr_null(
        scraper_meta_finish(s_m, s_p, false, &s_hash, &s_sent, 10 * SCRAPER_META_RESEND_MS));
}
END_TEST

// A steady scrape's metadata costs no allocation: the texts go into the collector's buffer,
// reused from scrape to scrape (each text was a string of its own, freed at the next scrape:
// 8 allocations a scrape of this body), and what is sent stays the same.
START_TEST(test_scraper_meta_steady_no_allocation)
{
    const char *text = "# HELP a_total A \\\\ x\\n.\n# TYPE a_total counter\na_total 1\n"
                       "# TYPE u untyped\nu 2\n# HELP h_only h\n# HELP h_only again\nh_only 3\n";
    json_t *l = s_scrape(text, FW_EXPFMT_TEXT, 1000);
    ck_assert_ptr_nonnull(l);
    char *first = json_dumps(l, JSON_COMPACT);
    json_decref(l);
    for (int k = 0; k < 3; k++) {
        unsigned long a0 = fw_mem_allocations();
        ck_assert_ptr_null(s_scrape(text, FW_EXPFMT_TEXT, 2000 + k));
        ck_assert_uint_eq(fw_mem_allocations() - a0, 0);
    }
    l = s_scrape(text, FW_EXPFMT_TEXT, 1000 + SCRAPER_META_RESEND_MS);
    ck_assert_ptr_nonnull(l);
    char *again = json_dumps(l, JSON_COMPACT);
    ck_assert_str_eq(again, first);
    ck_assert_str_eq(first, "[{\"metric\":\"a_total\",\"type\":\"counter\",\"help\":\"A \\\\ "
                            "x\\n.\",\"unit\":\"\"},{\"metric\":\"u\",\"type\":\"unknown\","
                            "\"help\":\"\",\"unit\":\"\"},{\"metric\":\"h_only\",\"type\":"
                            "\"unknown\",\"help\":\"again\",\"unit\":\"\"}]");
    free(first);
    free(again);
    json_decref(l);
}
END_TEST

Suite *
tsdb_metadata_suite(void)
{
    Suite *s = suite_create("tsdb_metadata");
    TCase *tc = tcase_create("metadata");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_metadata_ingest_and_answer);
    tcase_add_test(tc, test_tsdb_metadata_refuses_bad_input);
    tcase_add_test(tc, test_tsdb_metadata_put_from_remote_write);
    suite_add_tcase(s, tc);
    tc = tcase_create("scraper_meta");
    tcase_add_checked_fixture(tc, s_meta_setup, s_meta_teardown);
    tcase_add_test(tc, test_scraper_meta_collects_and_sends_on_change);
    tcase_add_test(tc, test_scraper_meta_steady_no_allocation);
    suite_add_tcase(s, tc);
    return s;
}
