/*  check_tsdb_rread.c — POST /api/v1/read through tsdb_rread_handle: SAMPLES answers
    (snappy ReadResponse) and streamed ones (frames of XOR chunks) decoded back and compared
    with what the store holds; matchers, ranges, hints, external labels, the frame budget,
    the sample limit and the refusals with Prometheus's codes and texts. The real
    prometheus reading through it is test/it/remote_read.sh.
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_metrics.h"
#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_pb.h"
#include "../tsdb/tsdb_rread.h"
#include "../tsdb/tsdb_rread_proto.h"
#include "../tsdb/tsdb_rwproto.h"
#include "../tsdb/tsdb_store.h"
#include "../tsdb/tsdb_xor.h"

#define S_N 1000 // samples a series, every 15 s from 0

static char s_dir[128];
static tsdb_store_t *s_st;
static fw_metrics_t *s_m;

// metric{job="j", i="1".."3"} and other{job="j", i="0"}: value i * 1000 + k at k * 15 s.
static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_rread");
    s_st = check_util_store_open(s_dir, 0);
    s_m = fw_metrics_new();
    fw_err_t err;
    struct fw_sample *smp = calloc(S_N, sizeof(*smp));
    for (int i = 0; i < 4; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        char v[8];
        snprintf(v, sizeof(v), "%d", 3 - i); // stored out of label order
        fw_labels_set(&l, "__name__", i == 3 ? "other" : "metric");
        fw_labels_set(&l, "job", "j");
        fw_labels_set(&l, "i", v);
        for (int k = 0; k < S_N; k++)
            smp[k] = (struct fw_sample){(int64_t)k * 15000, (3 - i) * 1000 + k};
        ck_assert_int_eq(tsdb_store_append_series(s_st, &l, smp, S_N, NULL, &err), 0);
        fw_labels_clear(&l);
    }
    free(smp);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
}

static void
s_teardown(void)
{
    fw_metrics_destroy(&s_m);
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// A snappy ReadRequest of one query accepting type (-1: none listed).
static void
s_request(struct fw_json_out *z, int64_t start, int64_t end, const struct fw_matcher *ms, size_t n,
          int type)
{
    struct fw_json_out pb = {0};
    tsdb_rread_request_encode(&pb, start, end, ms, n, &type, type < 0 ? 0 : 1);
    char *c;
    size_t cl;
    tsdb_pb_snappy(pb.p, pb.len, &c, &cl);
    free(pb.p);
    z->p = c;
    z->len = cl;
}

static struct fw_http_response
s_ask(tsdb_rread_t *rr, const struct fw_json_out *z)
{
    struct fw_http_response resp = {.status = 200};
    tsdb_rread_handle(rr, (const unsigned char *)z->p, z->len, &resp);
    return resp;
}

// A streamed answer drained through its callback into *all; frees the stream.
static void
s_drain(struct fw_http_response *resp, struct fw_json_out *all)
{
    char buf[777]; // small and odd: frames cross reads
    long n;
    while ((n = resp->stream(resp->stream_arg, buf, sizeof(buf))) > 0)
        fw_json_out_put(all, buf, (size_t)n);
    ck_assert_int_eq(n, 0);
    resp->stream_free(resp->stream_arg);
}

static struct fw_matcher
s_m_(fw_match_op_t op, const char *name, const char *value)
{
    struct fw_matcher m;
    fw_err_t err;
    ck_assert_int_eq(fw_matcher_init(&m, op, name, value, FW_REGEX_PROMETHEUS, &err), 0);
    return m;
}

// SAMPLES: metric's three series sorted by labels, the samples of [start, end] both ends
// included, the other series not.
START_TEST(test_tsdb_rread_samples)
{
    struct tsdb_rread_opts o = {0, 0, 0};
    tsdb_rread_t *rr = tsdb_rread_new(s_st, s_m, &o);
    struct fw_matcher m = s_m_(FW_MATCH_EQ, "__name__", "metric");
    struct fw_json_out z;
    s_request(&z, 150000, 300000, &m, 1, -1);
    struct fw_http_response resp = s_ask(rr, &z);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.content_type, "application/x-protobuf");
    ck_assert_str_eq(resp.headers[0].name, "Content-Encoding");
    char *pb;
    size_t n;
    fw_err_t err;
    ck_assert_int_eq(
        tsdb_pb_unsnappy((unsigned char *)resp.body, resp.body_len, 1 << 30, &pb, &n, &err), 0);
    size_t off = 0, qr_len, results = 0;
    const unsigned char *qr;
    while (tsdb_rread_next_result((unsigned char *)pb, n, &off, &qr, &qr_len, &err)) {
        results++;
        ck_assert_int_eq(tsdb_rwproto_check(qr, qr_len, TSDB_RWPROTO_V1, NULL, &err), 0);
        size_t so = 0, k = 0;
        struct tsdb_rwproto_series s;
        while (tsdb_rwproto_next_series(qr, qr_len, TSDB_RWPROTO_V1, &so, &s)) {
            struct tsdb_rwproto_cursor cur = {0};
            struct tsdb_rwproto_label l;
            char want_i[4];
            snprintf(want_i, sizeof(want_i), "%zu", k + 1);
            int nl = 0;
            while (tsdb_rwproto_next_label(&s, NULL, &cur, &l) == 1) {
                if (l.name_len == 1 && l.name[0] == 'i')
                    ck_assert(l.value_len == 1 && l.value[0] == want_i[0]);
                nl++;
            }
            ck_assert_int_eq(nl, 3);
            size_t po = 0, np = 0;
            struct fw_sample p;
            while (tsdb_rwproto_next_sample(&s, &po, &p)) {
                ck_assert_int_eq(p.t_ms, 150000 + (int64_t)np * 15000);
                ck_assert(p.v == (k + 1) * 1000 + 10 + np);
                np++;
            }
            ck_assert_int_eq(np, 11);
            k++;
        }
        ck_assert_int_eq(k, 3);
    }
    ck_assert_int_eq(results, 1);
    ck_assert_int_eq((int)fw_metrics_get(s_m, "fw_tsdb_remote_read_samples_total", ""), 33);
    free(pb);
    free(resp.body);
    free(z.p);
    fw_matcher_clear(&m);
    tsdb_rread_destroy(&rr);
}
END_TEST

// STREAMED_XOR_CHUNKS: frames in order, each one series with its labels and the external
// ones it lacks, chunks of at most 120 samples whose XOR bytes decode to the stored samples;
// a small frame budget splits a series over several frames.
START_TEST(test_tsdb_rread_streamed)
{
    struct tsdb_rread_opts o = {0, 0, 600}; // about two chunks a frame
    tsdb_rread_t *rr = tsdb_rread_new(s_st, s_m, &o);
    struct fw_labels ext = FW_LABELS_INIT;
    fw_labels_set(&ext, "cluster", "c1");
    fw_labels_set(&ext, "job", "ignored");
    tsdb_rread_set_external_labels(rr, &ext);
    struct fw_matcher m[2] = {s_m_(FW_MATCH_RE, "__name__", "met.*"),
                              s_m_(FW_MATCH_EQ, "cluster", "c1")}; // external: matches ""
    struct fw_json_out z;
    s_request(&z, 0, 1000 * 15000, m, 2, TSDB_RREAD_STREAMED_XOR_CHUNKS);
    struct fw_http_response resp = s_ask(rr, &z);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.content_type, TSDB_RREAD_STREAMED_TYPE);
    ck_assert(resp.stream != NULL);
    struct fw_json_out all = {0};
    s_drain(&resp, &all);
    size_t at = 0, frames = 0, total = 0;
    int64_t next_t[4] = {0, 0, 0, 0};
    int last_i = 1;
    fw_err_t err;
    struct fw_labels l = FW_LABELS_INIT;
    while (at < all.len) {
        const unsigned char *msg;
        size_t ml, used;
        ck_assert_int_eq(tsdb_rread_frame((unsigned char *)all.p + at, all.len - at, 1 << 20, &msg,
                                          &ml, &used, &err),
                         1);
        at += used;
        frames++;
        int64_t qi;
        ck_assert_int_eq(tsdb_rread_chunked_check(msg, ml, &qi, &err), 0);
        ck_assert_int_eq(qi, 0);
        size_t so = 0, ns = 0;
        struct tsdb_rread_series s;
        while (tsdb_rread_next_series(msg, ml, &so, &s)) {
            ns++;
            ck_assert_int_eq(tsdb_rread_series_labels(&s, &l, &err), 0);
            ck_assert_str_eq(fw_labels_get(&l, "cluster"), "c1");
            ck_assert_str_eq(fw_labels_get(&l, "job"), "j"); // the series' own wins
            int i = atoi(fw_labels_get(&l, "i"));
            ck_assert(i >= last_i && i <= 3); // sorted by labels
            last_i = i;
            size_t co = 0, nc = 0;
            struct tsdb_rread_chunk c;
            while (tsdb_rread_next_chunk(&s, &co, &c)) {
                nc++;
                ck_assert_int_eq(c.type, TSDB_XOR_ENCODING);
                struct tsdb_xor_iter it;
                ck_assert(tsdb_xor_iter_init(&it, c.data, c.len));
                ck_assert(it.total <= TSDB_XOR_CHUNK_SAMPLES);
                ck_assert_int_eq(c.mint, next_t[i]);
                while (tsdb_xor_iter_next(&it)) {
                    ck_assert_int_eq(it.t, next_t[i]);
                    ck_assert(it.v == i * 1000 + it.t / 15000);
                    next_t[i] += 15000;
                    total++;
                }
                ck_assert(!it.err);
                ck_assert_int_eq(c.maxt, next_t[i] - 15000);
            }
            ck_assert(nc >= 1 && nc <= 6);
        }
        ck_assert_int_eq(ns, 1);
    }
    ck_assert_int_eq(total, 3 * S_N);
    ck_assert_msg(frames >= 6, "%zu frames", frames); // split
    fw_labels_clear(&l);
    free(all.p);
    free(z.p);
    fw_matcher_clear(&m[0]);
    fw_matcher_clear(&m[1]);
    fw_labels_clear(&ext);
    tsdb_rread_destroy(&rr);
}
END_TEST

// The refusals: Prometheus's codes and texts.
START_TEST(test_tsdb_rread_errors)
{
    struct tsdb_rread_opts o = {100, 1, 0};
    tsdb_rread_t *rr = tsdb_rread_new(s_st, s_m, &o);
    struct fw_http_response resp = {.status = 200};
    tsdb_rread_handle(rr, (const unsigned char *)"\xff\xff\xff\xff garbage", 12, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.body, "snappy: corrupt input\n");
    free(resp.body);

    char *z;
    size_t zl;
    tsdb_pb_snappy("\x0a\x05"
                   "abc",
                   5, &z, &zl);
    resp = (struct fw_http_response){.status = 200};
    tsdb_rread_handle(rr, (unsigned char *)z, zl, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.body, "unexpected EOF\n");
    free(resp.body);
    free(z);

    struct fw_matcher m = s_m_(FW_MATCH_RE, "__name__", ".+");
    struct fw_json_out q;
    s_request(&q, 0, 1000 * 15000, &m, 1, 5);
    resp = s_ask(rr, &q);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.body, "server does not support any of the requested response types: "
                                "[5]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]\n");
    free(resp.body);
    free(q.p);

    s_request(&q, 0, 1000 * 15000, &m, 1, TSDB_RREAD_SAMPLES); // 4000 samples, limit 100
    resp = s_ask(rr, &q);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_str_eq(resp.body, "exceeded sample limit (100)\n");
    free(resp.body);
    free(q.p);

    // the only slot is held by a streamed answer: the next request waits, then 503 (the
    // wait is TSDB_RREAD_GATE_WAIT_MS; the slot is given back by the stream's end instead)
    s_request(&q, 0, 1000 * 15000, &m, 1, TSDB_RREAD_STREAMED_XOR_CHUNKS);
    struct fw_http_response held = s_ask(rr, &q);
    ck_assert(held.stream != NULL);
    held.stream_free(held.stream_arg); // the client went away: the slot comes back
    resp = s_ask(rr, &q);
    ck_assert_int_eq(resp.status, 200);
    resp.stream_free(resp.stream_arg);
    free(q.p);

    char nm[] = "__name__", val[] = "(";
    struct fw_matcher bad = {.op = FW_MATCH_RE, .name = nm, .value = val};
    s_request(&q, 0, 1000, &bad, 1, -1);
    resp = s_ask(rr, &q);
    ck_assert_int_eq(resp.status, 500);
    ck_assert_msg(strncmp(resp.body, "error parsing regexp", 20) == 0, "%s", resp.body);
    free(resp.body);
    free(q.p);

    // decompressing past the limit: a snappy header claiming 40 MiB
    unsigned char huge[] = {0x80, 0x80, 0x80, 0x14};
    resp = (struct fw_http_response){.status = 200};
    tsdb_rread_handle(rr, huge, sizeof(huge), &resp);
    ck_assert_int_eq(resp.status, 413);
    free(resp.body);
    fw_matcher_clear(&m);
    tsdb_rread_destroy(&rr);
}
END_TEST

// Hints narrow the range; func "series" answers the series without samples; a query
// without matchers selects nothing.
START_TEST(test_tsdb_rread_hints)
{
    struct tsdb_rread_opts o = {0, 0, 0};
    tsdb_rread_t *rr = tsdb_rread_new(s_st, s_m, &o);
    // Query {start 0, end 15000000, matchers {__name__="other"}, hints {func "series"}}
    struct fw_json_out qb = {0}, mb = {0}, hb = {0}, req = {0};
    tsdb_pb_put_uint(&qb, 2, 15000000);
    tsdb_pb_put_bytes(&mb, 2, "__name__", 8);
    tsdb_pb_put_bytes(&mb, 3, "other", 5);
    tsdb_pb_put_bytes(&qb, 3, mb.p, mb.len);
    tsdb_pb_put_bytes(&hb, 2, "series", 6);
    tsdb_pb_put_uint(&hb, 4, 15000000);
    tsdb_pb_put_bytes(&qb, 4, hb.p, hb.len);
    tsdb_pb_put_bytes(&req, 1, qb.p, qb.len);
    tsdb_pb_put_bytes(&req, 1, "", 0); // a second query, without matchers
    struct fw_json_out z;
    tsdb_pb_snappy(req.p, req.len, &z.p, &z.len);
    struct fw_http_response resp = s_ask(rr, &z);
    ck_assert_int_eq(resp.status, 200);
    char *pb;
    size_t n, off = 0, qr_len, results = 0;
    fw_err_t err;
    ck_assert_int_eq(
        tsdb_pb_unsnappy((unsigned char *)resp.body, resp.body_len, 1 << 30, &pb, &n, &err), 0);
    const unsigned char *qr;
    size_t series[2] = {0, 0}, samples = 0;
    while (tsdb_rread_next_result((unsigned char *)pb, n, &off, &qr, &qr_len, &err)) {
        size_t so = 0, po;
        struct tsdb_rwproto_series s;
        struct fw_sample p;
        while (tsdb_rwproto_next_series(qr, qr_len, TSDB_RWPROTO_V1, &so, &s))
            for (series[results]++, po = 0; tsdb_rwproto_next_sample(&s, &po, &p);)
                samples++;
        results++;
    }
    ck_assert_int_eq(results, 2);
    ck_assert_int_eq(series[0], 1);
    ck_assert_int_eq(series[1], 0);
    ck_assert_int_eq(samples, 0);
    free(pb);
    free(resp.body);
    free(z.p);
    free(qb.p);
    free(mb.p);
    free(hb.p);
    free(req.p);
    tsdb_rread_destroy(&rr);
}
END_TEST

Suite *
tsdb_rread_suite(void)
{
    Suite *s = suite_create("tsdb_rread");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_rread_samples);
    tcase_add_test(tc, test_tsdb_rread_streamed);
    tcase_add_test(tc, test_tsdb_rread_errors);
    tcase_add_test(tc, test_tsdb_rread_hints);
    suite_add_tcase(s, tc);
    return s;
}
