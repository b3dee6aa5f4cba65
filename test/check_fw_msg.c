/*  check_fw_msg.c — the wire codec: round trips, and strict rejection of bad frames.

    The rejection tests are the contract every receiving daemon relies on: whatever arrives,
    fw_msg_decode returns -1 with a reason and never crashes.
*/
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"

static struct fw_batch *
s_sample_batch(void)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "scraper/host-1/812.1764201600000");
    b->seq = 42;
    b->oldest = 40;
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "factory_units_produced_total");
    fw_labels_set(&l, "line", "line1");
    struct fw_series *s = fw_batch_add_series(b, &l);
    fw_series_add(s, 1000, 1.5);
    fw_series_add(s, 2000, fw_stale_nan());
    fw_labels_set(&l, "line", "line2");
    s = fw_batch_add_series(b, &l);
    fw_series_add(s, 1000, INFINITY);
    fw_labels_clear(&l);
    return b;
}

START_TEST(test_fw_msg_samples_round_trip)
{
    struct fw_batch *b = s_sample_batch();
    struct fw_msg *m = fw_msg_new_samples(&b);
    ck_assert_ptr_null(b); // ownership taken
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(zmsg_size(z), 3);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0);
    ck_assert_int_eq(d->type, FW_MSG_SAMPLES);
    ck_assert_int_eq(d->version, 3);
    ck_assert_str_eq(d->batch->sender, "scraper/host-1/812.1764201600000");
    ck_assert_uint_eq(d->batch->seq, 42);
    ck_assert_uint_eq(d->batch->oldest, 40);
    ck_assert_uint_eq(d->batch->len, 2);
    ck_assert_ptr_nonnull(d->batch->arena); // labels and samples are views into one block
    ck_assert_uint_eq(d->batch->series[0].labels.len, 2);
    ck_assert_str_eq(d->batch->series[0].labels.items[0].name, "__name__");
    ck_assert_str_eq(fw_labels_get(&d->batch->series[1].labels, "line"), "line2");
    ck_assert_uint_eq(d->batch->series[0].len, 2);
    ck_assert_int_eq(d->batch->series[0].samples[1].t_ms, 2000);
    ck_assert(fw_is_stale_nan(d->batch->series[0].samples[1].v)); // NaN bits kept exactly
    ck_assert(isinf(d->batch->series[1].samples[0].v));
    ck_assert_uint_eq(fw_batch_samples(d->batch), 3);
    char *json = fw_msg_to_json(d);
    ck_assert_ptr_nonnull(strstr(json, "\"stale\""));
    ck_assert_ptr_nonnull(strstr(json, "\"line\":\"line1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"sender\":\"scraper/host-1/812.1764201600000\""));
    ck_assert_ptr_nonnull(strstr(json, "\"oldest\":40"));
    free(json);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
    fw_msg_destroy(&d);
    fw_msg_destroy(&d); // twice is fine
}
END_TEST

// SAMPLES v4: a series' start times (fw_series_add_st) come back from decode and from a
// view; a batch without any is v3 byte for byte; every truncation and a v3 reading fail.
START_TEST(test_fw_msg_samples_v4_start_times)
{
    struct fw_batch *b = s_sample_batch();
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "c_total");
    struct fw_series *s = fw_batch_add_series(b, &l);
    fw_labels_clear(&l);
    const int64_t st[] = {0, 500, INT64_MIN, INT64_MAX, 0};
    for (int k = 0; k < 5; k++)
        fw_series_add_st(s, 1000 * (k + 1), st[k], k + 0.5);
    ck_assert_int_eq(fw_msg_samples_version(b), FW_SAMPLES_V4);
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    zframe_t *fv = zmsg_first(z);
    fv = zmsg_next(z);
    ck_assert(zframe_streq(fv, "4"));
    zframe_t *fb = zmsg_next(z);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0);
    ck_assert_int_eq(d->version, FW_SAMPLES_V4);
    ck_assert_uint_eq(d->batch->len, 3);
    ck_assert_ptr_null(d->batch->series[0].st);
    ck_assert_ptr_null(d->batch->series[1].st);
    char *json = fw_msg_to_json(d); // fwtail shows them
    ck_assert_ptr_nonnull(strstr(json, "\"st\":[0,500,-9223372036854775808,"));
    free(json);
    ck_assert_ptr_nonnull(d->batch->series[2].st);
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(d->batch->series[2].st[k], st[k]);
        ck_assert_int_eq(d->batch->series[2].samples[k].t_ms, 1000 * (k + 1));
        ck_assert(d->batch->series[2].samples[k].v == k + 0.5);
    }
    struct fw_samples_view v;
    struct fw_samples_series *ser = NULL;
    size_t cap = 0;
    ck_assert_int_eq(
        fw_samples_view_init(&v, FW_SAMPLES_V4, zframe_data(fb), zframe_size(fb), &ser, &cap, &err),
        0);
    ck_assert_ptr_null(ser[0].st);
    ck_assert_uint_eq(ser[2].nsamples, 5);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(fw_samples_series_st_at(&ser[2], (size_t)k), st[k]);
    size_t off = v.first, n = 0;
    struct fw_samples_series one;
    while (fw_samples_view_next(&v, &off, &one))
        ck_assert_int_eq(one.st != NULL, ++n == 3);
    ck_assert_uint_eq(n, 3);
    // the same body is no v3 body (the count's top bit), and no truncation of it is one
    ck_assert_int_ne(
        fw_samples_view_init(&v, FW_SAMPLES_V3, zframe_data(fb), zframe_size(fb), NULL, NULL, &err),
        0);
    for (size_t len = 0; len < zframe_size(fb); len++)
        ck_assert_int_ne(
            fw_samples_view_init(&v, FW_SAMPLES_V4, zframe_data(fb), len, NULL, NULL, &err), 0);
    free(ser);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
    fw_msg_destroy(&d);

    // start times all 0: version 3, the bytes of a batch built without them
    struct fw_batch *a = s_sample_batch(), *c = s_sample_batch();
    fw_series_add_st(&a->series[1], 3000, 0, 2.0);
    fw_series_add(&c->series[1], 3000, 2.0);
    ck_assert_int_eq(fw_msg_samples_version(a), FW_SAMPLES_V3);
    unsigned char *pa, *pc;
    size_t la, lc;
    ck_assert_int_eq(fw_msg_samples_encode(a, &pa, &la, &err), 0);
    ck_assert_int_eq(fw_msg_samples_encode(c, &pc, &lc, &err), 0);
    ck_assert_uint_eq(la, lc);
    ck_assert_int_eq(memcmp(pa, pc, la), 0);
    free(pa);
    free(pc);
    fw_batch_destroy(&a);
    fw_batch_destroy(&c);
}
END_TEST

// A body written from pre-encoded label blocks (fw_msg_samples_frames,
// fw_samples_labels_put, fw_samples_put_one: the scraper's path) is byte for byte what
// fw_msg_encode makes of the same batch, and a bad header is refused.
START_TEST(test_fw_msg_samples_frames_written_in_place)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "scraper/h/1.2");
    b->seq = 9;
    b->oldest = 3;
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "instance", "h:1");
    fw_series_add(fw_batch_add_series(b, &l), 1000, 1);
    fw_labels_set(&l, "job", "caf\xc3\xa9");
    fw_series_add(fw_batch_add_series(b, &l), -5, fw_stale_nan());
    struct fw_msg m = {.type = FW_MSG_SAMPLES, .batch = b};
    fw_err_t err;
    zmsg_t *want = fw_msg_encode(&m, &err);
    ck_assert_ptr_nonnull(want);

    size_t bytes = 0;
    for (size_t i = 0; i < b->len; i++)
        bytes += 4 + fw_samples_labels_size(&b->series[i].labels) + 20;
    unsigned char *p = NULL;
    zmsg_t *got =
        fw_msg_samples_frames(FW_SAMPLES_V3, "scraper/h/1.2", 9, 3, b->len, bytes, &p, &err);
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *sr = &b->series[i];
        p = fw_samples_put_ref(p, 0);
        fw_samples_labels_put(p, &sr->labels);
        p = fw_samples_put_one(p + fw_samples_labels_size(&sr->labels), sr->samples[0].t_ms,
                               sr->samples[0].v);
    }
    ck_assert_uint_eq(zmsg_size(got), 3);
    zframe_t *fw = zmsg_first(want), *fg = zmsg_first(got);
    for (; fw && fg; fw = zmsg_next(want), fg = zmsg_next(got))
        ck_assert(zframe_eq(fw, fg));
    ck_assert_ptr_eq(p, zframe_data(zmsg_last(got)) + zframe_size(zmsg_last(got)));
    zmsg_destroy(&got);
    zmsg_destroy(&want);

    ck_assert_ptr_null(fw_msg_samples_frames(FW_SAMPLES_V3, "", 1, 1, 0, 0, &p, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "sender id"));
    ck_assert_ptr_null(fw_msg_samples_frames(FW_SAMPLES_V3, "s", 2, 3, 0, 0, &p, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "oldest"));
    fw_labels_clear(&l);
    fw_batch_destroy(&b);
}
END_TEST

START_TEST(test_fw_msg_json_round_trip_and_schema)
{
    json_t *body = json_pack("{ss s[{s{ss}s{ss}ss}]}", "source", "ruled", "alerts", "labels",
                             "alertname", "LineOEELow", "annotations", "summary", "low", "startsAt",
                             "2026-11-27T00:00:00Z");
    struct fw_msg *m = fw_msg_new_json(FW_MSG_ALERTS, body);
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0);
    ck_assert_int_eq(d->type, FW_MSG_ALERTS);
    ck_assert_str_eq(json_string_value(json_object_get(d->body, "source")), "ruled");
    zmsg_destroy(&z);
    fw_msg_destroy(&d);
    fw_msg_destroy(&m);

    // encode refuses a body that breaks the schema (missing required key)
    m = fw_msg_new_json(FW_MSG_QUERY, json_pack("{ss}", "id", "1"));
    ck_assert_ptr_null(fw_msg_encode(m, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "query"));
    fw_msg_destroy(&m);
}
END_TEST

static size_t s_json_allocs;

static void *
s_count_alloc(size_t n)
{
    s_json_allocs++;
    return malloc(n);
}

// The body frame holds exactly json_dumps's compact text, for a body that fits the encoder's
// stack buffer (dumped by fw_json_dump with no allocation: json_dumps grew a buffer of its
// own and copied it out, 13 allocations for this 1 KiB body, and json_dumpb still made the 6
// of its loop check) and for one that does not (20 KiB).
START_TEST(test_fw_msg_json_body_dumped_once)
{
    static const size_t sizes[] = {900, 20000};
    for (size_t i = 0; i < 2; i++) {
        char *big = malloc(sizes[i] + 1);
        memset(big, 'x', sizes[i]);
        big[sizes[i]] = '\0';
        json_t *body = json_pack("{ss s[{s{ss}s{ss}ss}]}", "source", "ruled", "alerts", "labels",
                                 "alertname", "A\"\n\u00e9", "annotations", "summary", big,
                                 "startsAt", "2026-11-27T00:00:00Z");
        free(big);
        char *want = json_dumps(body, JSON_COMPACT);
        // What jansson's dumper allocates for itself (its loop check), wherever it writes.
        char *out = malloc(sizes[i] + 1024);
        s_json_allocs = 0;
        json_set_alloc_funcs(s_count_alloc, free);
        ck_assert_uint_eq(json_dumpb(body, out, sizes[i] + 1024, JSON_COMPACT), strlen(want));
        json_set_alloc_funcs(malloc, free);
        free(out);
        size_t dumper = s_json_allocs;
        struct fw_msg *m = fw_msg_new_json(FW_MSG_ALERTS, body);
        fw_err_t err;
        s_json_allocs = 0;
        json_set_alloc_funcs(s_count_alloc, free);
        zmsg_t *z = fw_msg_encode(m, &err);
        json_set_alloc_funcs(malloc, free);
        ck_assert_ptr_nonnull(z);
        if (i == 0)
            ck_assert_msg(s_json_allocs == 0, "%zu jansson allocations (json_dumpb's own: %zu)",
                          s_json_allocs, dumper);
        zframe_t *f = zmsg_last(z);
        ck_assert_uint_eq(zframe_size(f), strlen(want));
        ck_assert(memcmp(zframe_data(f), want, strlen(want)) == 0);
        free(want);
        zmsg_destroy(&z);
        fw_msg_destroy(&m);
    }
}
END_TEST

static zmsg_t *
s_frames(const char *type, const char *ver, const void *body, size_t len)
{
    zmsg_t *z = zmsg_new();
    zmsg_addstr(z, type);
    zmsg_addstr(z, ver);
    zmsg_addmem(z, body, len);
    return z;
}

static void
s_assert_rejected(zmsg_t *z, const char *why)
{
    struct fw_msg *d = (struct fw_msg *)1;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), -1);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(err.msg, why) != NULL, "error \"%s\" lacks \"%s\"", err.msg, why);
    zmsg_destroy(&z);
}

START_TEST(test_fw_msg_decode_rejects_bad_frames)
{
    s_assert_rejected(s_frames("NOPE", "1", "{}", 2), "unknown message type");
    s_assert_rejected(s_frames("ALERTS", "2", "{}", 2), "unsupported version");
    s_assert_rejected(s_frames("ALERTS", "1", "{", 1), "invalid JSON");
    s_assert_rejected(s_frames("ALERTS", "1", "[]", 2), "not a JSON object");
    s_assert_rejected(s_frames("ALERTS", "1", "{\"source\":\"x\"}", 14), "missing");
    s_assert_rejected(s_frames("ALERTS", "1", "{\"source\":1,\"alerts\":[]}", 24), "must be");
    const char *extra = "{\"source\":\"x\",\"alerts\":[],\"bogus\":1}";
    s_assert_rejected(s_frames("ALERTS", "1", extra, strlen(extra)), "unknown key");
    const char *nolabels = "{\"source\":\"x\",\"alerts\":[{\"annotations\":{}}]}";
    s_assert_rejected(s_frames("ALERTS", "1", nolabels, strlen(nolabels)), "labels");
    zmsg_t *four = s_frames("ALERTS", "1", "{}", 2);
    zmsg_addstr(four, "extra");
    s_assert_rejected(four, "expected 3 frames");
}
END_TEST

// Issue 5: no recursive walk may be driven deep by input. JSON bodies are parsed by jansson,
// which refuses nesting past JSON_PARSER_MAX_DEPTH (2048), so a 100,000-deep array is an
// invalid message, not a deep tree for json_decref() or our checks to recurse through.
START_TEST(test_fw_msg_decode_rejects_deep_json)
{
    ck_assert_int_eq(JSON_PARSER_MAX_DEPTH, 2048);
    size_t n = 100000;
    char *body = malloc(2 * n + 64), *o = body;
    o += sprintf(o, "{\"source\":\"x\",\"alerts\":");
    memset(o, '[', n);
    memset(o + n, ']', n);
    strcpy(o + 2 * n, "}");
    s_assert_rejected(s_frames("ALERTS", "1", body, strlen(body)), "maximum parsing depth");
    free(body);
}
END_TEST

START_TEST(test_fw_msg_decode_rejects_every_truncation)
{
    struct fw_batch *b = s_sample_batch();
    struct fw_msg *m = fw_msg_new_samples(&b);
    zmsg_t *z = fw_msg_encode(m, NULL);
    zframe_t *body = zmsg_last(z);
    size_t n = zframe_size(body);
    // every strict prefix of a valid body is rejected, never read past its end
    for (size_t cut = 0; cut < n; cut++) {
        zmsg_t *t = s_frames("SAMPLES", "3", zframe_data(body), cut);
        s_assert_rejected(t, "truncated");
    }
    // one trailing byte too many is rejected too
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, zframe_data(body), n);
    longer[n] = 0;
    s_assert_rejected(s_frames("SAMPLES", "3", longer, n + 1), "trailing");
    // a label name that is not UTF-8 is rejected
    size_t sl = strlen("scraper/host-1/812.1764201600000");
    size_t first_name = 2 + sl + 8 + 8 + 4 + 4 + 2 + 2; // v3: a ref before the labels
    memcpy(longer, zframe_data(body), n);
    longer[first_name] = (char)0xff; // first byte of the first label name ("__name__")
    s_assert_rejected(s_frames("SAMPLES", "3", longer, n), "invalid");
    // any UTF-8 name is read, as Prometheus 3 names are: "-_name__" (still in order)
    memcpy(longer, zframe_data(body), n);
    longer[first_name] = '-';
    {
        zmsg_t *t = s_frames("SAMPLES", "3", longer, n);
        struct fw_msg *d = NULL;
        fw_err_t derr;
        ck_assert_msg(fw_msg_decode(t, &d, &derr) == 0, "%s", derr.msg);
        ck_assert_str_eq(d->batch->series[0].labels.items[0].name, "-_name__");
        fw_msg_destroy(&d);
        zmsg_destroy(&t);
    }
    // names out of order: "__name__" after "line" (swap the first name's first byte)
    memcpy(longer, zframe_data(body), n);
    longer[first_name] = 'z';
    s_assert_rejected(s_frames("SAMPLES", "3", longer, n), "out of order");
    // a value with invalid UTF-8 (the first value's first byte)
    memcpy(longer, zframe_data(body), n);
    longer[first_name + 8 + 4] = (char)0xff;
    s_assert_rejected(s_frames("SAMPLES", "3", longer, n), "UTF-8");
    // the same body as version 1 is refused: receivers speak versions 2 and 3 only
    s_assert_rejected(s_frames("SAMPLES", "1", zframe_data(body), n), "unsupported version");
    free(longer);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
}
END_TEST

// A SAMPLES v2 header: sender, seq, oldest, then series_count 0.
static zmsg_t *
s_header(const char *sender, size_t sl, uint64_t seq, uint64_t oldest)
{
    unsigned char buf[512];
    size_t n = 0;
    buf[n++] = (unsigned char)sl;
    buf[n++] = (unsigned char)(sl >> 8);
    memcpy(buf + n, sender, sl);
    n += sl;
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(seq >> (8 * i));
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(oldest >> (8 * i));
    memset(buf + n, 0, 4);
    n += 4;
    return s_frames("SAMPLES", "2", buf, n);
}

START_TEST(test_fw_msg_samples_header_checked)
{
    // a well-formed empty batch decodes
    zmsg_t *z = s_header("a/b", 3, 5, 5);
    struct fw_msg *d = NULL;
    fw_err_t err;
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0);
    ck_assert_str_eq(d->batch->sender, "a/b");
    ck_assert_uint_eq(d->batch->len, 0);
    fw_msg_destroy(&d);
    zmsg_destroy(&z);
    char longid[FW_MSG_SENDER_MAX + 2];
    memset(longid, 'x', sizeof(longid));
    z = s_header(longid, FW_MSG_SENDER_MAX, 1, 1);
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0); // the longest id is fine
    fw_msg_destroy(&d);
    zmsg_destroy(&z);
    s_assert_rejected(s_header(longid, FW_MSG_SENDER_MAX + 1, 1, 1), "sender id");
    s_assert_rejected(s_header("", 0, 1, 1), "sender id");
    s_assert_rejected(s_header("a b", 3, 1, 1), "sender id");
    s_assert_rejected(s_header("a\nb", 3, 1, 1), "sender id");
    s_assert_rejected(s_header("a\xc3\xa9", 3, 1, 1), "sender id");
    s_assert_rejected(s_header("a", 1, 0, 0), "oldest");
    s_assert_rejected(s_header("a", 1, 3, 0), "oldest");
    s_assert_rejected(s_header("a", 1, 3, 4), "oldest");
    // a series count far beyond what the body holds is a truncation, not an allocation
    z = s_header("a", 1, 1, 1);
    zframe_t *body = zmsg_last(z);
    memset(zframe_data(body) + zframe_size(body) - 4, 0xff, 4);
    s_assert_rejected(z, "truncated");

    // the encoder refuses what the decoder would
    struct fw_batch *b = fw_batch_new();
    struct fw_msg *m = fw_msg_new_samples(&b);
    ck_assert_ptr_null(fw_msg_encode(m, &err)); // no sender
    ck_assert_ptr_nonnull(strstr(err.msg, "sender id"));
    snprintf(m->batch->sender, sizeof(m->batch->sender), "s");
    m->batch->seq = 2;
    m->batch->oldest = 3;
    ck_assert_ptr_null(fw_msg_encode(m, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "oldest"));
    fw_msg_destroy(&m);
}
END_TEST

// SAMPLES v3: a series' ref survives the round trip, a use of a ref decodes with no labels
// and shows its ref to fwtail; a ref past FW_SAMPLES_REF_MAX is refused; v2 is still read.
START_TEST(test_fw_msg_samples_v3_refs)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "scraper/h/1.2");
    b->seq = b->oldest = 1;
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    struct fw_series *def = fw_batch_add_series(b, &l);
    def->ref = 5;
    fw_series_add(def, 1000, 1);
    struct fw_series *use = fw_batch_add_series(b, &(struct fw_labels)FW_LABELS_INIT);
    use->ref = 6;
    fw_series_add(use, 1000, 2);
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    (void)zmsg_first(z);
    ck_assert(zframe_streq(zmsg_next(z), "3"));
    struct fw_msg *d = NULL;
    ck_assert_msg(fw_msg_decode(z, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d->batch->series[0].ref, 5);
    ck_assert_uint_eq(d->batch->series[0].labels.len, 1);
    ck_assert_uint_eq(d->batch->series[1].ref, 6);
    ck_assert_uint_eq(d->batch->series[1].labels.len, 0);
    char *json = fw_msg_to_json(d);
    ck_assert_ptr_nonnull(strstr(json, "\"ref\":6"));
    free(json);
    fw_msg_destroy(&d);
    // the same body with the first ref past the bound (its bytes right after the header)
    zframe_t *body = zmsg_last(z);
    size_t n = zframe_size(body), at = 2 + strlen("scraper/h/1.2") + 8 + 8 + 4;
    unsigned char *bad = malloc(n);
    memcpy(bad, zframe_data(body), n);
    bad[at + 3] = 0x01; // ref 5 + 2^24
    s_assert_rejected(s_frames("SAMPLES", "3", bad, n), "ref");
    free(bad);
    // a v2 body (no refs) is read as version 2
    unsigned char v2[64], *p = v2;
    size_t sl = strlen("s");
    *p++ = (unsigned char)sl;
    *p++ = 0;
    *p++ = 's';
    for (int i = 0; i < 16; i++) // seq 1, oldest 1
        *p++ = (unsigned char)(i == 0 || i == 8);
    memcpy(p,
           "\x01\x00\x00\x00\x01\x00\x02\x00"
           "ab"
           "\x01\x00\x00\x00"
           "x"
           "\x00\x00\x00\x00",
           19);
    p += 19; // one series, one label ab=x, no samples
    zmsg_t *old = s_frames("SAMPLES", "2", v2, (size_t)(p - v2));
    ck_assert_msg(fw_msg_decode(old, &d, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d->version, 2);
    ck_assert_str_eq(fw_labels_get(&d->batch->series[0].labels, "ab"), "x");
    fw_msg_destroy(&d);
    zmsg_destroy(&old);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
    fw_labels_clear(&l);
}
END_TEST

// fw_samples_series_equal_text: the label text of a stored series against the body's bytes.
START_TEST(test_fw_msg_samples_equal_text)
{
    struct fw_batch *b = s_sample_batch(); // {__name__, line=line1}, {__name__, line=line2}
    struct fw_msg *m = fw_msg_new_samples(&b);
    zmsg_t *z = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    zframe_t *body = zmsg_last(z);
    struct fw_samples_view v;
    struct fw_samples_series *series = NULL;
    size_t cap = 0;
    fw_err_t err;
    ck_assert_int_eq(fw_samples_view_init(&v, FW_SAMPLES_V3, zframe_data(body), zframe_size(body),
                                          &series, &cap, &err),
                     0);
    ck_assert_uint_eq(v.nseries, 2);
    static const char same[] = "__name__\0factory_units_produced_total\0line\0line1";
    static const char other[] = "__name__\0factory_units_produced_total\0line\0line3";
    static const char split[] = "__name__\0factory_units_produced_total\0lin\0eline1";
    static const char one[] = "__name__\0factory_units_produced_total";
    ck_assert(fw_samples_series_equal_text(&series[0], 2, same, sizeof(same)));
    ck_assert(!fw_samples_series_equal_text(&series[1], 2, same, sizeof(same)));
    ck_assert(!fw_samples_series_equal_text(&series[0], 2, other, sizeof(other)));
    // the same bytes in all, cut elsewhere between name and value
    ck_assert(!fw_samples_series_equal_text(&series[0], 2, split, sizeof(split)));
    ck_assert(!fw_samples_series_equal_text(&series[0], 1, one, sizeof(one)));
    ck_assert(!fw_samples_series_equal_text(&series[0], 2, same, sizeof(same) - 1));
    free(series);
    zmsg_destroy(&z);
}
END_TEST

START_TEST(test_fw_msg_samples_empty_value_is_absent)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "s");
    b->seq = b->oldest = 1;
    // built by hand: fw_labels_set would drop the empty value before it reached the wire
    struct fw_series *s = fw_batch_add_series(b, &(struct fw_labels)FW_LABELS_INIT);
    char n0[] = "__name__", v0[] = "up", n1[] = "empty", v1[] = "", n2[] = "job", v2[] = "j";
    struct fw_label items[3] = {{n0, v0}, {n1, v1}, {n2, v2}};
    s->labels.items = items;
    s->labels.len = 3;
    fw_series_add(s, 1, 1);
    struct fw_msg *m = fw_msg_new_samples(&b);
    zmsg_t *z = fw_msg_encode(m, NULL);
    m->batch->series[0].labels = (struct fw_labels)FW_LABELS_INIT; // items are the stack's
    fw_msg_destroy(&m);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, NULL), 0);
    const struct fw_labels *l = &d->batch->series[0].labels;
    ck_assert_uint_eq(l->len, 2);
    ck_assert_str_eq(l->items[1].name, "job");
    ck_assert_ptr_null(fw_labels_get(l, "empty"));
    fw_msg_destroy(&d);
    zmsg_destroy(&z);
}
END_TEST

START_TEST(test_fw_msg_samples_set_oldest)
{
    struct fw_batch *b = s_sample_batch();
    struct fw_msg *m = fw_msg_new_samples(&b);
    zmsg_t *z = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    ck_assert_int_eq(fw_msg_samples_set_oldest(z, 42), 0);
    ck_assert_int_eq(fw_msg_samples_set_oldest(z, 43), -1); // above seq
    ck_assert_int_eq(fw_msg_samples_set_oldest(z, 0), -1);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, NULL), 0);
    ck_assert_uint_eq(d->batch->oldest, 42);
    ck_assert_uint_eq(d->batch->seq, 42);
    ck_assert_uint_eq(fw_batch_samples(d->batch), 3);
    fw_msg_destroy(&d);
    zmsg_destroy(&z);
    zmsg_t *other = s_frames("ALERTS", "1", "{}", 2);
    ck_assert_int_eq(fw_msg_samples_set_oldest(other, 1), -1);
    zmsg_destroy(&other);
    other = s_frames("SAMPLES", "2", "\x05", 1); // too short to hold the fields
    ck_assert_int_eq(fw_msg_samples_set_oldest(other, 1), -1);
    zmsg_destroy(&other);
}
END_TEST

START_TEST(test_fw_msg_samples_ack_schema)
{
    struct fw_msg *m =
        fw_msg_new_json(FW_MSG_SAMPLES_ACK, json_pack("{sssIsb}", "sender", "a/b", "acked",
                                                      (json_int_t)7, "resend", 1));
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    fw_msg_destroy(&m);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_decode(z, &d, &err), 0);
    ck_assert_int_eq(d->type, FW_MSG_SAMPLES_ACK);
    ck_assert_int_eq(json_integer_value(json_object_get(d->body, "acked")), 7);
    fw_msg_destroy(&d);
    zmsg_destroy(&z);
    const char *missing = "{\"sender\":\"a\"}";
    s_assert_rejected(s_frames("SAMPLES_ACK", "1", missing, strlen(missing)), "acked");
    const char *extra = "{\"sender\":\"a\",\"acked\":1,\"more\":2}";
    s_assert_rejected(s_frames("SAMPLES_ACK", "1", extra, strlen(extra)), "unknown key");
    const char *wrong = "{\"sender\":\"a\",\"acked\":1,\"resend\":1}";
    s_assert_rejected(s_frames("SAMPLES_ACK", "1", wrong, strlen(wrong)), "must be");
}
END_TEST

START_TEST(test_fw_msg_decode_survives_random_bytes)
{
    unsigned int seed = 7;
    unsigned char buf[256];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rand_r(&seed);
        zmsg_t *z =
            round % 2 ? s_frames("SAMPLES", "2", buf, len) : s_frames("NOTIFY", "1", buf, len);
        struct fw_msg *d = NULL;
        if (fw_msg_decode(z, &d, NULL) == 0)
            fw_msg_destroy(&d); // a random body may decode; it must not crash
        zmsg_destroy(&z);
    }
    ck_assert_int_eq(fw_msg_type_parse("QUERY_RESULT", &(fw_msg_type_t){0}), 0);
}
END_TEST

START_TEST(test_fw_msg_send_recv_over_real_sockets)
{
    zsock_t *pull = zsock_new_pull("@tcp://127.0.0.1:*[50000-59999]");
    ck_assert_ptr_nonnull(pull);
    char *ep = zsock_last_endpoint(pull); // czmq: the caller frees it
    zsock_t *push = zsock_new_push(ep);
    free(ep);
    struct fw_batch *b = s_sample_batch();
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    ck_assert_int_eq(fw_msg_send(&m, push, &err), 0);
    ck_assert_ptr_null(m);
    zsock_set_rcvtimeo(pull, 5000);
    struct fw_msg *d;
    ck_assert_int_eq(fw_msg_recv(pull, &d, &err), 0);
    ck_assert_uint_eq(d->batch->len, 2);
    fw_msg_destroy(&d);
    zsock_destroy(&push);
    zsock_destroy(&pull);
}
END_TEST

// A NOTIFY carries the webhook URL and Authorization header to notifyd; the copy published
// for taps shows "<secret>" for both (FW_SECRET in fw_msg.def), and still passes the schema.
START_TEST(test_fw_msg_redacted_for_taps)
{
    json_t *body =
        json_pack("{s:s, s:[{s:s, s:s, s:b}, {s:s, s:b}], s:{s:s}}", "receiver", "r",
                  "webhook_configs", "url", "https://hooks.example/T/SECRET1", "authorization",
                  "Bearer SECRET2", "send_resolved", 1, "url", "http://u:SECRET3@h/",
                  "send_resolved", 0, "payload", "groupKey", "{}:{}");
    json_t *tap = fw_msg_redacted(FW_MSG_NOTIFY, body);
    ck_assert_ptr_ne(tap, body);
    char *text = json_dumps(tap, JSON_COMPACT);
    ck_assert_msg(strstr(text, "SECRET") == NULL, "%s", text);
    free(text);
    json_t *wc = json_array_get(json_object_get(tap, "webhook_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(wc, "url")), "<secret>");
    ck_assert_str_eq(json_string_value(json_object_get(wc, "authorization")), "<secret>");
    ck_assert(json_is_true(json_object_get(wc, "send_resolved")));
    // The original is untouched: notifyd needs it.
    wc = json_array_get(json_object_get(body, "webhook_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(wc, "authorization")), "Bearer SECRET2");
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, tap);
    zmsg_t *z = fw_msg_encode(m, NULL);
    ck_assert_ptr_nonnull(z);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
    json_decref(body);
    // A type without secrets is published as it is.
    json_t *alerts = json_pack("{s:s, s:[]}", "source", "ruled", "alerts");
    json_t *same = fw_msg_redacted(FW_MSG_ALERTS, alerts);
    ck_assert_ptr_eq(same, alerts);
    json_decref(same);
    json_decref(alerts);
}
END_TEST

// A built batch copies its labels and first samples into a few blocks: a scrape of 1000
// series with 6 labels each took 14 allocations a series (the label array, a name and a
// value each, the samples), now a block per 64 KiB; the copies read back equal.
START_TEST(test_fw_msg_batch_labels_in_blocks)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "synth_metric_with_a_longish_name_total");
    fw_labels_set(&l, "instance", "127.0.0.1:40001");
    fw_labels_set(&l, "job", "synth");
    fw_labels_set(&l, "line", "line-0");
    fw_labels_set(&l, "plant", "plant-a");
    fw_labels_set(&l, "zone", "z");
    struct fw_batch *b = fw_batch_new();
    unsigned long allocs = 0;
    for (int i = 0; i < 1000; i++) {
        char v[32];
        snprintf(v, sizeof(v), "line-%d", i);
        fw_labels_set(&l, "line", v);
        unsigned long before = fw_mem_allocations();
        struct fw_series *s = fw_batch_add_series(b, &l);
        fw_series_add(s, 1000, i);
        allocs += fw_mem_allocations() - before; // not fw_labels_set's own allocations
        ck_assert_int_eq(fw_labels_cmp(&s->labels, &l), 0);
    }
    fw_labels_clear(&l);
    // the growing series array (~20) and the blocks (~5): nothing per series
    ck_assert_msg(allocs <= 100, "%lu allocations for 1000 series", allocs);
    // a series that grows past its first sample moves out of the blocks
    struct fw_series *s = &b->series[500];
    for (int k = 1; k < 100; k++)
        fw_series_add(s, 1000 + k, k);
    ck_assert_uint_eq(s->len, 100);
    ck_assert(s->samples[0].v == 500 && s->samples[0].t_ms == 1000 && s->samples[99].v == 99);
    ck_assert(b->series[501].samples[0].v == 501);
    ck_assert_uint_eq(b->len, 1000);
    ck_assert_str_eq(fw_labels_get(&b->series[999].labels, "line"), "line-999");
    ck_assert_str_eq(b->series[0].labels.items[0].value, "synth_metric_with_a_longish_name_total");
    fw_batch_destroy(&b);
}
END_TEST

Suite *
fw_msg_suite(void)
{
    Suite *s = suite_create("fw_msg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_msg_samples_round_trip);
    tcase_add_test(tc, test_fw_msg_samples_frames_written_in_place);
    tcase_add_test(tc, test_fw_msg_samples_v3_refs);
    tcase_add_test(tc, test_fw_msg_samples_v4_start_times);
    tcase_add_test(tc, test_fw_msg_json_round_trip_and_schema);
    tcase_add_test(tc, test_fw_msg_json_body_dumped_once);
    tcase_add_test(tc, test_fw_msg_decode_rejects_bad_frames);
    tcase_add_test(tc, test_fw_msg_decode_rejects_deep_json);
    tcase_add_test(tc, test_fw_msg_decode_rejects_every_truncation);
    tcase_add_test(tc, test_fw_msg_samples_header_checked);
    tcase_add_test(tc, test_fw_msg_samples_equal_text);
    tcase_add_test(tc, test_fw_msg_samples_empty_value_is_absent);
    tcase_add_test(tc, test_fw_msg_samples_set_oldest);
    tcase_add_test(tc, test_fw_msg_samples_ack_schema);
    tcase_add_test(tc, test_fw_msg_decode_survives_random_bytes);
    tcase_add_test(tc, test_fw_msg_send_recv_over_real_sockets);
    tcase_add_test(tc, test_fw_msg_redacted_for_taps);
    tcase_add_test(tc, test_fw_msg_batch_labels_in_blocks);
    suite_add_tcase(s, tc);
    return s;
}
