/*  check_fw_log.c — logfmt and JSON lines, quoting, levels. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fw_flags.h"
#include "fw_log.h"

// Run one log call with output captured through a pipe; returns the line in buf.
static void
s_capture_begin(int fds[2])
{
    ck_assert_int_eq(pipe(fds), 0);
}

static void
s_capture_end(int fds[2], int old, char *buf, size_t size)
{
    fw_log_set_fd(old);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

START_TEST(test_fw_log_logfmt_quotes_values)
{
    int fds[2];
    char buf[1024];
    s_capture_begin(fds);
    fw_log_init("scraper", FW_LOG_INFO, FW_LOG_LOGFMT);
    int old = fw_log_set_fd(fds[1]);
    fw_warn("scrape.fail", "target=%s err=%s dur_ms=%lld", "http://h:9100/metrics",
            "line 3: bad \"x\"\nnext", 5000LL);
    fw_debug("hidden", "x=%d", 1); // below the level: not printed
    s_capture_end(fds, old, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "level=warn daemon=scraper pid="));
    ck_assert_ptr_nonnull(strstr(buf, "event=scrape.fail target=http://h:9100/metrics "
                                      "err=\"line 3: bad \\\"x\\\"\\nnext\" dur_ms=5000\n"));
    ck_assert_ptr_null(strstr(buf, "hidden"));
    ck_assert_ptr_eq(strchr(buf, '\n'), buf + strlen(buf) - 1); // exactly one line
}
END_TEST

// Callers quote values themselves (err=\"%s\", reason=\"idle for 24h\") or forget a key
// ("namespace=%s %s err=%s"): the value is quoted once, spaces inside quotes stay in it, and
// a conversion without a key takes its argument, so the values after it are their own.
START_TEST(test_fw_log_logfmt_caller_quotes_and_keyless)
{
    int fds[2];
    char buf[1024];
    s_capture_begin(fds);
    fw_log_init("scraper", FW_LOG_INFO, FW_LOG_LOGFMT);
    int old = fw_log_set_fd(fds[1]);
    fw_warn("sd.kube.fail", "ns=%s %s err=\"%s\" why=\"idle for 24h\" empty=\"\" retry_ms=%lld",
            "default", "list", "Couldn't connect", 4000LL);
    s_capture_end(fds, old, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, "event=sd.kube.fail ns=default _=list err=\"Couldn't connect\" "
                              "why=\"idle for 24h\" empty=\"\" retry_ms=4000\n") != NULL,
                  "%s", buf);
}
END_TEST

START_TEST(test_fw_log_json_is_one_object)
{
    int fds[2];
    char buf[1024];
    s_capture_begin(fds);
    fw_log_init("tsdb", FW_LOG_DEBUG, FW_LOG_JSON);
    int old = fw_log_set_fd(fds[1]);
    fw_info("tsdb.commit", "samples=%zu dur=%.3f path=%s", (size_t)12, 0.25, "/d b");
    s_capture_end(fds, old, buf, sizeof(buf));
    fw_log_init("test", FW_LOG_INFO, FW_LOG_LOGFMT);
    json_error_t jerr;
    json_t *o = json_loads(buf, 0, &jerr);
    ck_assert_msg(o != NULL, "not JSON: %s", buf);
    ck_assert_str_eq(json_string_value(json_object_get(o, "event")), "tsdb.commit");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "samples")), 12);
    ck_assert(json_real_value(json_object_get(o, "dur")) == 0.25);
    ck_assert_str_eq(json_string_value(json_object_get(o, "path")), "/d b");
    json_decref(o);
}
END_TEST

struct s_opts {
    struct fw_common_opts common;
    const char *endpoint;
    int64_t timeout_ms;
};

START_TEST(test_fw_flags_parse_prometheus_style)
{
    static const struct fw_flag table[] = {
        FW_FLAGS_COMMON(struct s_opts, common, "127.0.0.1:9090"),
        {"zmq.endpoint", FW_FLAG_STR, offsetof(struct s_opts, endpoint), "tcp://a:1", "x"},
        {"query.timeout", FW_FLAG_DURATION, offsetof(struct s_opts, timeout_ms), "10s", "x"},
        {NULL, 0, 0, NULL, NULL},
    };
    char a0[] = "d", a1[] = "--config.file=/etc/x.yml", a2[] = "--check-config",
         a3[] = "--zmq.endpoint", a4[] = "tcp://b:2", a5[] = "--query.timeout=1m",
         a6[] = "--no-such-flag", a7[] = "--query.timeout=soon";
    char *argv[] = {a0, a1, a2, a3, a4, a5, NULL};
    struct s_opts o = {0};
    ck_assert_int_eq(fw_flags_parse(6, argv, "d", "about", table, &o), 0);
    ck_assert_str_eq(o.common.config_file, "/etc/x.yml");
    ck_assert(o.common.check_config);
    ck_assert_str_eq(o.common.web_listen_address, "127.0.0.1:9090");
    ck_assert_str_eq(o.common.log_level, "info");
    ck_assert_str_eq(o.endpoint, "tcp://b:2");
    ck_assert_int_eq(o.timeout_ms, 60000);
    char *bad[] = {a0, a6, NULL};
    ck_assert_int_eq(fw_flags_parse(2, bad, "d", "about", table, &o), -1);
    char *baddur[] = {a0, a7, NULL};
    ck_assert_int_eq(fw_flags_parse(2, baddur, "d", "about", table, &o), -1);

    // sizes in Prometheus units; the ZeroMQ limit defaults to 64MiB and is at least 1KiB
    ck_assert_int_eq(fw_flags_parse(1, argv, "d", "about", table, &o), 0);
    ck_assert_int_eq(o.common.zmq_max_msg_size, 64LL << 20);
    char s1[] = "--zmq.max-msg-size=1GB", s2[] = "--zmq.max-msg-size=1023",
         s3[] = "--zmq.max-msg-size=2KiB";
    char *big[] = {a0, s1, NULL}, *tiny[] = {a0, s2, NULL}, *kib[] = {a0, s3, NULL};
    ck_assert_int_eq(fw_flags_parse(2, big, "d", "about", table, &o), 0);
    ck_assert_int_eq(o.common.zmq_max_msg_size, 1000000000);
    ck_assert_int_eq(fw_flags_parse(2, kib, "d", "about", table, &o), 0);
    ck_assert_int_eq(o.common.zmq_max_msg_size, 2048);
    ck_assert_int_eq(fw_flags_parse(2, tiny, "d", "about", table, &o), -1);
}
END_TEST

START_TEST(test_fw_flags_list_repeats)
{
    struct l_opts {
        struct fw_flag_list peers;
    };
    static const struct fw_flag table[] = {
        {"cluster.peer", FW_FLAG_LIST, offsetof(struct l_opts, peers), NULL, "x"},
        {NULL, 0, 0, NULL, NULL},
    };
    char a0[] = "d", a1[] = "--cluster.peer=a:1", a2[] = "--cluster.peer", a3[] = "b:1,c:1";
    char *argv[] = {a0, a1, a2, a3, NULL};
    struct l_opts o = {0};
    ck_assert_int_eq(fw_flags_parse(4, argv, "d", "about", table, &o), 0);
    ck_assert_uint_eq(o.peers.n, 2);
    ck_assert_str_eq(o.peers.items[0], "a:1");
    ck_assert_str_eq(o.peers.items[1], "b:1,c:1");
    // more than FW_FLAG_LIST_MAX occurrences is a usage error, not a silent drop
    char *many[FW_FLAG_LIST_MAX + 3];
    many[0] = a0;
    for (int i = 1; i <= FW_FLAG_LIST_MAX + 1; i++)
        many[i] = a1;
    many[FW_FLAG_LIST_MAX + 2] = NULL;
    struct l_opts o2 = {0};
    ck_assert_int_eq(fw_flags_parse(FW_FLAG_LIST_MAX + 2, many, "d", "about", table, &o2), -1);
}
END_TEST

Suite *
fw_log_suite(void)
{
    Suite *s = suite_create("fw_log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_log_logfmt_quotes_values);
    tcase_add_test(tc, test_fw_log_logfmt_caller_quotes_and_keyless);
    tcase_add_test(tc, test_fw_log_json_is_one_object);
    tcase_add_test(tc, test_fw_flags_parse_prometheus_style);
    tcase_add_test(tc, test_fw_flags_list_repeats);
    suite_add_tcase(s, tc);
    return s;
}
