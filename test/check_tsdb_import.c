/*  check_tsdb_import.c — `tsdb import` on real files and a real store under test/tmp: the
    OpenMetrics and text formats (found by "# EOF" or told), every bad line reported as
    file:line:col with nothing imported, the same data stored whatever the input order
    (series-major, time-major, shuffled with repeats, with tiny commit buffers), one series
    written two ways, re-imports storing nothing twice, older history merged into a series
    that already has newer samples, and the command line's flags, exit codes and output.
*/
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_matcher.h"
#include "fw_mem.h"
#include "check_util.h"
#include "../tsdb/tsdb_import.h"
#include "../tsdb/tsdb_store.h"

static char s_dir[128];  // the test's directory: input files and the store's "data"
static char s_data[160]; // the data directory
static char s_errbuf[8192];
static FILE *s_err;

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_import");
    snprintf(s_data, sizeof(s_data), "%s/data", s_dir);
    memset(s_errbuf, 0, sizeof(s_errbuf));
    s_err = fmemopen(s_errbuf, sizeof(s_errbuf) - 1, "w");
    ck_assert_ptr_nonnull(s_err);
    setvbuf(s_err, NULL, _IONBF, 0);
}

static void
s_teardown(void)
{
    fclose(s_err);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// Write text to s_dir/name; returns the path (static buffer, one of 4 in rotation).
static const char *
s_file(const char *name, const char *text)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", s_dir, name);
    check_util_write_file(p, text);
    return p;
}

static tsdb_store_t *
s_open(void)
{
    tsdb_store_t *st = check_util_store_open(s_data, 0);
    tsdb_store_set_ooo_window(st, INT64_MAX);
    return st;
}

// Import paths into a freshly opened store; returns the import's result, *st filled.
static int
s_import(const char *const *paths, size_t n, tsdb_import_fmt_t fmt, size_t max_samples,
         struct tsdb_import_stats *stats, fw_err_t *err)
{
    tsdb_store_t *st = s_open();
    struct tsdb_import_opts o = {.format = fmt, .max_samples = max_samples, .errout = s_err};
    int rc = tsdb_import_files(st, paths, n, &o, stats, err);
    tsdb_store_destroy(&st);
    return rc;
}

// Everything stored, one line per sample: "labels t value-bits\n", series in label order.
static char *
s_dump(void)
{
    tsdb_store_t *st = s_open();
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct fw_matcher m;
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_NE, "__name__", "", FW_REGEX_PROMETHEUS, &err),
                     0);
    struct tsdb_store_series *ss;
    size_t n;
    ck_assert_int_eq(tsdb_store_select(r, &m, 1, &ss, &n, &err), 0);
    char **lines = fw_calloc(n + 1, sizeof(char *));
    for (size_t k = 0; k < n; k++) {
        char *ls = fw_labels_format(&ss[k].labels);
        size_t cap = 0, len = 0;
        char *acc = NULL;
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ss[k].id, INT64_MIN, INT64_MAX);
        while (tsdb_store_iter_next(&it)) {
            uint64_t bits;
            memcpy(&bits, &it.v, sizeof(bits));
            char one[512];
            int w = snprintf(one, sizeof(one), "%s %" PRId64 " %016" PRIx64 "\n", ls, it.t, bits);
            fw_mem_grow((void **)&acc, &cap, len + (size_t)w + 1, 1);
            memcpy(acc + len, one, (size_t)w + 1);
            len += (size_t)w;
        }
        lines[k] = acc ? acc : fw_strdup("");
        free(ls);
    }
    // Series come in id order (creation order, which depends on the input order): sort.
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    size_t total = 1;
    for (size_t k = 0; k < n; k++)
        total += strlen(lines[k]);
    char *out = fw_calloc(total, 1);
    for (size_t k = 0; k < n; k++) {
        strcat(out, lines[k]);
        free(lines[k]);
    }
    free(lines);
    tsdb_store_series_free(ss, n);
    fw_matcher_clear(&m);
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
    return out;
}

static void
s_wipe(void)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/data.mdb", s_data);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", s_data);
    unlink(p);
}

static const char s_om[] = "# HELP up Whether the target is up.\n"
                           "# TYPE up gauge\n"
                           "up{job=\"a\",instance=\"x:1\"} 1 100\n"
                           "up{job=\"a\",instance=\"x:1\"} 0 115.5\n"
                           "up{job=\"a\",instance=\"x:1\"} 1 130\n"
                           "# TYPE reqs counter\n"
                           "reqs_total{code=\"200\"} 10 100\n"
                           "reqs_total{code=\"200\"} -0 115\n"
                           "reqs_total{code=\"200\"} NaN 130\n"
                           "# EOF\n";

START_TEST(test_tsdb_import_openmetrics_round_trip)
{
    const char *p = s_file("a.om", s_om);
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    ck_assert_msg(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(st.read, 6);
    ck_assert_uint_eq(st.store.samples, 6);
    ck_assert_uint_eq(st.stored, 6);
    ck_assert_uint_eq(st.series, 2);
    ck_assert_uint_eq(st.store.new_series, 2);
    ck_assert_uint_eq(st.commits, 1);
    ck_assert_uint_eq(st.bad_lines, 0);
    ck_assert(st.mint == 100000 && st.maxt == 130000);
    char *d = s_dump();
    // Seconds become milliseconds (115.5 s -> 115500); -0 and NaN keep their bits.
    ck_assert_str_eq(d, "reqs_total{code=\"200\"} 100000 4024000000000000\n"
                        "reqs_total{code=\"200\"} 115000 8000000000000000\n"
                        "reqs_total{code=\"200\"} 130000 7ff8000000000000\n"
                        "up{instance=\"x:1\", job=\"a\"} 100000 3ff0000000000000\n"
                        "up{instance=\"x:1\", job=\"a\"} 115500 0000000000000000\n"
                        "up{instance=\"x:1\", job=\"a\"} 130000 3ff0000000000000\n");
    free(d);
    ck_assert_str_eq(s_errbuf, "");
}
END_TEST

START_TEST(test_tsdb_import_text_milliseconds_and_format_choice)
{
    // No "# EOF": text, timestamps in ms.
    const char *p = s_file("c.txt", "# TYPE m gauge\nm{a=\"1\"} 1.5 1700000000123\n"
                                    "m{a=\"1\"} 2.5 1700000015123\n\nm{a=\"2\"} 3 1700000000123\n");
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    ck_assert_msg(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(st.store.samples, 3);
    ck_assert(st.mint == 1700000000123LL && st.maxt == 1700000015123LL);
    char *d = s_dump();
    ck_assert_ptr_nonnull(strstr(d, "m{a=\"1\"} 1700000015123 4004000000000000\n"));
    free(d);
    // The same file told to be OpenMetrics fails (no "# EOF", and blank lines): no import.
    s_wipe();
    ck_assert_int_eq(s_import(&p, 1, TSDB_IMPORT_OPENMETRICS, 0, &st, &err), -1);
    ck_assert_uint_eq(st.store.samples, 0);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "c.txt:4:1: error: blank line in OpenMetrics body\n"));
    ck_assert_ptr_nonnull(strstr(
        s_errbuf, "c.txt:5:1: error: missing \"# EOF\" at the end of an OpenMetrics file\n"));
    // An OpenMetrics file told to be text: its "# EOF" is a comment, its seconds are ms.
    s_wipe();
    p = s_file("a.om", s_om);
    ck_assert_int_eq(s_import(&p, 1, TSDB_IMPORT_TEXT, 0, &st, &err), -1);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "a.om:4:30: error: invalid timestamp\n"));
}
END_TEST

START_TEST(test_tsdb_import_bad_lines_reported_nothing_imported)
{
    const char *good = s_file("a.om", s_om);
    const char *bad = s_file("b.om", "# TYPE x gauge\n"
                                     "x{a=\"1\"} 1 100\n"
                                     "x{a=\"1\" 2 115\n"
                                     "x{a=\"1\"} 3\n"
                                     "x{a=\"1\"} abc 130\n"
                                     "x{a=\"1\"} 4 145\n"
                                     "# EOF\n"
                                     "x{a=\"1\"} 5 160\n");
    const char *paths[] = {good, bad};
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    // (Told: by its last line, b.om would be text.)
    ck_assert_int_eq(s_import(paths, 2, TSDB_IMPORT_OPENMETRICS, 0, &st, &err), -1);
    ck_assert_str_eq(err.msg, "4 bad lines: nothing was imported");
    ck_assert_uint_eq(st.bad_lines, 4);
    ck_assert_uint_eq(st.store.samples, 0);
    // Each with its file, line, column and reason; the good file's lines are not reported.
    char want[1024];
    snprintf(want, sizeof(want),
             "%s:3:8: error: expected ',' or '}' after label value\n"
             "%s:4:11: error: sample without a timestamp (tsdb import needs one on every "
             "sample)\n"
             "%s:5:10: error: invalid value\n"
             "%s:8:1: error: unexpected data after \"# EOF\"\n",
             bad, bad, bad, bad);
    ck_assert_str_eq(s_errbuf, want);
    char *d = s_dump();
    ck_assert_str_eq(d, "");
    free(d);
}
END_TEST

START_TEST(test_tsdb_import_bad_label_sets_and_many_errors)
{
    // A label name the index cannot hold (longer than TSDB_INDEX_NAME_MAX), on 30 lines:
    // the first TSDB_IMPORT_MAX_REPORTED are shown, the rest counted.
    size_t cap = 64 * 1024;
    char *text = fw_calloc(cap, 1);
    char name[512];
    memset(name, 'l', 450);
    name[450] = '\0';
    size_t len = 0;
    for (int k = 0; k < 30; k++)
        len += (size_t)snprintf(text + len, cap - len, "m{%s=\"v\"} %d %d\n", name, k, k * 1000);
    const char *p = s_file("d.txt", text);
    free(text);
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    ck_assert_int_eq(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err), -1);
    ck_assert_uint_eq(st.bad_lines, 30);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "d.txt:1:1: error: label name of 450 bytes is longer"));
    ck_assert_ptr_nonnull(strstr(s_errbuf, "d.txt:20:1: error:"));
    ck_assert_ptr_null(strstr(s_errbuf, "d.txt:21:1: error:"));
    ck_assert_ptr_nonnull(strstr(s_errbuf, "... and 10 more bad lines\n"));
}
END_TEST

// n series x m points, in one of three orders; values are series*1000 + point.
static char *
s_gen(int n, int m, int order)
{
    size_t cap = (size_t)(n * m + 4) * 64, len = 0;
    char *out = fw_calloc(cap, 1);
    len += (size_t)snprintf(out + len, cap - len, "# TYPE g gauge\n");
    int total = n * m;
    for (int k = 0; k < total; k++) {
        int s, p;
        if (order == 0) { // series after series
            s = k / m;
            p = k % m;
        } else if (order == 1) { // scrape after scrape
            s = k % n;
            p = k / n;
        } else { // a fixed permutation (7919 is prime and coprime with total)
            int q = (int)(((long)k * 7919) % total);
            s = q / m;
            p = q % m;
        }
        len += (size_t)snprintf(out + len, cap - len, "g{s=\"%d\",x=\"y\"} %d %d\n", s,
                                s * 1000 + p, 1000 + p * 15);
        // Shuffled input also repeats some samples (same value): stored once.
        if (order == 2 && k % 50 == 0)
            len += (size_t)snprintf(out + len, cap - len, "g{x=\"y\",s=\"%d\"} %d %d\n", s,
                                    s * 1000 + p, 1000 + p * 15);
    }
    snprintf(out + len, cap - len, "# EOF\n");
    return out;
}

START_TEST(test_tsdb_import_any_order_same_data)
{
    char *want = NULL;
    for (int order = 0; order < 3; order++) {
        for (int tiny = 0; tiny < 2; tiny++) {
            s_wipe();
            char *text = s_gen(17, 300, order);
            const char *p = s_file("e.om", text);
            free(text);
            struct tsdb_import_stats st;
            fw_err_t err = {0};
            size_t max = tiny ? 37 : 0; // 37: commits every 37 samples, over 100 of them
            ck_assert_msg(s_import(&p, 1, TSDB_IMPORT_AUTO, max, &st, &err) == 0, "%s", err.msg);
            ck_assert_uint_eq(st.series, 17);
            ck_assert_uint_eq(st.stored, 17 * 300);
            ck_assert_uint_eq(st.store.out_of_order + st.store.too_old + st.store.conflicts +
                                  st.late_conflicts,
                              0);
            // Shuffled input repeats 102 samples: a repeat in the same buffer is a plain
            // duplicate, one in a later buffer is late and found stored at the commit.
            ck_assert_uint_eq(st.store.duplicates + st.late_duplicates, order == 2 ? 102 : 0);
            ck_assert_uint_eq(st.read, order == 2 ? 17 * 300 + 102 : 17 * 300);
            if (tiny)
                ck_assert_uint_ge(st.commits, 17 * 300 / 37);
            else
                ck_assert_uint_eq(st.commits, 1); // appended, sealed and committed at once
            char *d = s_dump();
            if (!want)
                want = d;
            else {
                ck_assert_msg(strcmp(d, want) == 0, "order %d tiny %d differs", order, tiny);
                free(d);
            }
        }
    }
    ck_assert_ptr_nonnull(strstr(want, "g{s=\"16\", x=\"y\"} 5485000 40cfd58000000000\n"));
    free(want);
}
END_TEST

START_TEST(test_tsdb_import_first_of_equal_timestamps_wins)
{
    // Out of order within the buffer and a conflicting repeat: sorted stably, so the
    // first value written for t=2000 stays (as promtool keeps its first).
    const char *p = s_file("f.prom", "a 3 3000\na 1 1000\na 2 2000\na 9 2000\na 2 2000\n");
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    ck_assert_msg(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(st.store.samples, 3);
    ck_assert_uint_eq(st.store.conflicts, 1);
    ck_assert_uint_eq(st.store.duplicates, 1);
    char *d = s_dump();
    ck_assert_str_eq(d, "a 1000 3ff0000000000000\na 2000 4000000000000000\n"
                        "a 3000 4008000000000000\n");
    free(d);
}
END_TEST

START_TEST(test_tsdb_import_again_and_older_history)
{
    const char *p = s_file("a.om", s_om);
    struct tsdb_import_stats st;
    fw_err_t err = {0};
    ck_assert_int_eq(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err), 0);
    char *first = s_dump();
    // Again: nothing new, every sample a duplicate.
    ck_assert_int_eq(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err), 0);
    // (The newest sample of each series is a plain duplicate; the older ones go the late
    // way and their commit finds them stored.)
    ck_assert_uint_eq(st.stored, 0);
    ck_assert_uint_eq(st.store.duplicates, 2);
    ck_assert_uint_eq(st.late_duplicates, 4);
    ck_assert_uint_eq(st.store.new_series, 0);
    char *again = s_dump();
    ck_assert_str_eq(again, first);
    free(again);
    free(first);
    // Older history of a series that has newer samples: merged, not dropped.
    p = s_file("b.om", "up{job=\"a\",instance=\"x:1\"} 7 10\nup{job=\"a\",instance=\"x:1\"} 8 20\n"
                       "# EOF\n");
    ck_assert_msg(s_import(&p, 1, TSDB_IMPORT_AUTO, 0, &st, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(st.stored, 2);
    ck_assert_uint_eq(st.store.late, 2);
    char *d = s_dump();
    ck_assert_ptr_nonnull(strstr(d, "up{instance=\"x:1\", job=\"a\"} 10000 401c000000000000\n"
                                    "up{instance=\"x:1\", job=\"a\"} 20000 4020000000000000\n"
                                    "up{instance=\"x:1\", job=\"a\"} 100000 3ff0000000000000\n"));
    free(d);
}
END_TEST

// Run the command line with args (NULL-terminated); out gets stdout's text.
static int
s_cli(char *out, size_t cap, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, cap);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    memset(out, 0, cap);
    FILE *o = fmemopen(out, cap - 1, "w");
    int rc = tsdb_import_main(argc, argv, o, s_err);
    fclose(o);
    return rc;
}

START_TEST(test_tsdb_import_command_line)
{
    char out[4096];
    char flag[256];
    const char *p = s_file("a.om", s_om);
    snprintf(flag, sizeof(flag), "--storage.tsdb.path=%s", s_data);
    // Usage errors exit 2.
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", flag, NULL), 2);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "no FILE given"));
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", "--format=csv", flag, p, NULL), 2);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "--format must be auto, openmetrics or text"));
    // A missing file: 1, nothing imported, the reason named.
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/nope.om", s_dir);
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", flag, p, missing, NULL), 1);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "nope.om: No such file or directory"));
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", flag, s_dir, NULL), 1);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "not a regular file"));
    char *d = s_dump();
    ck_assert_str_eq(d, "");
    free(d);
    // Success: the separate-value flag form, a summary on out, no progress off a terminal.
    memset(s_errbuf, 0, sizeof(s_errbuf));
    rewind(s_err);
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", "--storage.tsdb.path", s_data,
                           "--max-samples-in-memory", "2", p, NULL),
                     0);
    const char *want = "imported 6 samples of 6 read, 2 series (2 new) from 1 file (";
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "time range 1970-01-01T00:01:40.000Z .. "
                                      "1970-01-01T00:02:10.000Z; 4 commits\n"));
    ck_assert_str_eq(s_errbuf, "");
    // The store is locked while open: an import into it is refused, exit 1.
    tsdb_store_t *st = s_open();
    ck_assert_int_eq(s_cli(out, sizeof(out), "import", flag, p, NULL), 1);
    ck_assert_ptr_nonnull(strstr(s_errbuf, "in use by another process"));
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_import_suite(void)
{
    Suite *s = suite_create("tsdb_import");
    TCase *tc = tcase_create("import");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_import_openmetrics_round_trip);
    tcase_add_test(tc, test_tsdb_import_text_milliseconds_and_format_choice);
    tcase_add_test(tc, test_tsdb_import_bad_lines_reported_nothing_imported);
    tcase_add_test(tc, test_tsdb_import_bad_label_sets_and_many_errors);
    tcase_add_test(tc, test_tsdb_import_any_order_same_data);
    tcase_add_test(tc, test_tsdb_import_first_of_equal_timestamps_wins);
    tcase_add_test(tc, test_tsdb_import_again_and_older_history);
    tcase_add_test(tc, test_tsdb_import_command_line);
    suite_add_tcase(s, tc);
    return s;
}
