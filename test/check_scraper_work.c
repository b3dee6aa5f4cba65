/*  check_scraper_work.c — a scrape's work off the loop: parse, staleness, the synthetic
    series and SAMPLES encoded in parts (numbered later by fw_sender_send_frames), on one
    state and through the worker pool.
*/
#include <check.h>
#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "check_util_scraper.h"
#include "fw_labels.h"
#include "fw_labels_pack.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_sender_refs.h"
#include "fw_promcfg.h"
#include "../scraper/scraper_cache.h"
#include "../scraper/scraper_target.h"
#include "../scraper/scraper_work.h"

Suite *scraper_work_suite(void);

// A job for t with a text body of n series m{i="<k>"} k.
static struct scraper_work_job *
s_job_for(struct scraper_target *t, size_t n)
{
    size_t cap = n * 32 + 16, len = 0;
    char *body = malloc(cap);
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(body + len, cap - len, "m{i=\"%zu\"} %zu\n", k, k);
    struct scraper_work_job *job = scraper_work_job_new();
    job->target = t;
    job->res.body = zframe_new(body, len);
    job->res.content_type = strdup("text/plain; version=0.0.4");
    job->res.duration_s = 0.25;
    job->ts = 1700000000000;
    job->sample_limit = 500000;
    job->sender = "test/sender";
    free(body);
    return job;
}

// Decode the job's frames (numbering them 1, 2, ... first) and count series and samples.
static void
s_decode_all(struct scraper_work_job *job, size_t *series, size_t *samples, size_t *stale)
{
    *series = *samples = *stale = 0;
    for (size_t i = 0; i < job->n_frames; i++) {
        ck_assert_int_eq(fw_msg_samples_set_seq(job->frames[i], i + 7, i + 7), 0);
        struct fw_msg *m = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_decode(job->frames[i], &m, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(m->batch->seq, i + 7);
        ck_assert_uint_eq(m->batch->oldest, i + 7);
        ck_assert_str_eq(m->batch->sender, "test/sender");
        size_t part = 0;
        for (size_t s = 0; s < m->batch->len; s++) {
            part += m->batch->series[s].len;
            for (size_t k = 0; k < m->batch->series[s].len; k++)
                if (fw_is_stale_nan(m->batch->series[s].samples[k].v))
                    (*stale)++;
        }
        ck_assert_uint_eq(part, job->frame_samples[i]);
        ck_assert_uint_le(m->batch->len, SCRAPER_WORK_BATCH_SERIES);
        *series += m->batch->len;
        *samples += part;
        fw_msg_destroy(&m);
    }
}

START_TEST(test_scraper_work_parts_and_staleness)
{
    struct fw_scrape_config sc = check_util_scrape_job("big", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    size_t n = 2 * SCRAPER_WORK_BATCH_SERIES + 5;
    struct scraper_work_job *job = s_job_for(t, n);
    scraper_work_run(st, job);
    ck_assert(!job->failed);
    ck_assert_int_eq(job->n, (ssize_t)n);
    ck_assert_uint_eq(job->tally.post, n);
    ck_assert_uint_eq(job->tally.added, n);
    ck_assert_uint_eq(job->n_frames, 3); // 20000 + 20000 + 5 and the 5 synthetic series
    size_t series, samples, stale;
    s_decode_all(job, &series, &samples, &stale);
    ck_assert_uint_eq(series, n + 5);
    ck_assert_uint_eq(samples, n + 5);
    ck_assert_uint_eq(stale, 0);
    scraper_work_job_destroy(&job);

    // The next scrape has 10 series fewer: 10 stale markers, nothing new.
    job = s_job_for(t, n - 10);
    job->ts += 15000;
    scraper_work_run(st, job);
    ck_assert_uint_eq(job->tally.added, 0);
    ck_assert_uint_eq(job->stale, 10);
    s_decode_all(job, &series, &samples, &stale);
    ck_assert_uint_eq(series, n - 10 + 10 + 5);
    ck_assert_uint_eq(stale, 10);
    scraper_work_job_destroy(&job);

    // A body that does not parse: up 0, every series stale, the error kept.
    job = scraper_work_job_new();
    job->target = t;
    job->res.body = zframe_new("m{ 1\n", 5);
    job->res.content_type = strdup("text/plain");
    job->sender = "test/sender";
    scraper_work_run(st, job);
    ck_assert(job->failed);
    ck_assert(job->error[0] != '\0');
    ck_assert_uint_eq(job->stale, n - 10);
    scraper_work_job_destroy(&job);

    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
}
END_TEST

// Run one scrape of body (text format) on st for t at ts; the job, to destroy.
static fw_sender_refs_t *s_refs; // the sender's refs the next s_run_body's job gets

static struct scraper_work_job *
s_run_body(scraper_work_state_t *st, struct scraper_target *t, const char *body, int64_t ts,
           const struct check_util_rules *r)
{
    struct scraper_work_job *job = scraper_work_job_new();
    job->target = t;
    job->res.body = zframe_new(body, strlen(body));
    job->res.content_type = strdup("text/plain; version=0.0.4");
    job->ts = ts;
    job->sample_limit = 500000;
    job->sender = "test/sender";
    job->refs = s_refs;
    job->gen = 1;
    if (r) {
        job->mrc = r->r;
        job->n_mrc = r->n;
    }
    scraper_work_run(st, job);
    return job;
}

// The scrape cache keys a series by its text: two texts of one label set (a label of empty
// value is absent) are two entries of one series, which stays fresh while either is
// scraped; a text the rules drop is remembered as dropped; staleness stays right when the
// memory's layout changes under the cache's hints; and texts a scrape left out are
// forgotten, so the cache holds one scrape's series.
START_TEST(test_scraper_work_cache_by_text)
{
    struct check_util_rules r;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(check_util_rules_load("r:\n  - {action: drop, source_labels: [__name__], "
                                           "regex: gone}\n",
                                           &r, &errs),
                     0);
    struct fw_scrape_config sc = check_util_scrape_job("cache", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    int64_t ts = 1700000000000;
    struct scraper_work_job *job =
        s_run_body(st, t, "m{a=\"1\"} 1\nm{a=\"1\",b=\"\"} 2\ngone 3\nk 4\n", ts, &r);
    ck_assert(!job->failed);
    ck_assert_uint_eq(job->tally.post, 3);  // "gone" dropped
    ck_assert_uint_eq(job->tally.added, 2); // m{a="1"} (twice) and k
    ck_assert_uint_eq(scraper_cache_len(t->cache), 4);
    size_t series, samples, stale;
    s_decode_all(job, &series, &samples, &stale);
    ck_assert_uint_eq(series, 3 + 5);
    scraper_work_job_destroy(&job);

    // Only the second text of m{a="1"}: the series is still there, nothing stale; the texts
    // left out are forgotten.
    job = s_run_body(st, t, "m{a=\"1\",b=\"\"} 5\ngone 6\nk 7\n", ts + 1000, &r);
    ck_assert_uint_eq(job->tally.added, 0);
    ck_assert_uint_eq(job->stale, 0);
    ck_assert_uint_eq(scraper_cache_len(t->cache), 3);
    scraper_work_job_destroy(&job);

    // k goes (the memory forgets it and moves the rest: every hint is stale), then comes
    // back: new again, and m stays known through its hint's slow path.
    job = s_run_body(st, t, "m{a=\"1\",b=\"\"} 8\n", ts + 2000, &r);
    ck_assert_uint_eq(job->stale, 1);
    ck_assert_uint_eq(job->tally.added, 0);
    scraper_work_job_destroy(&job);
    job = s_run_body(st, t, "m{a=\"1\",b=\"\"} 9\nk 10\n", ts + 3000, &r);
    ck_assert_uint_eq(job->stale, 0);
    ck_assert_uint_eq(job->tally.added, 1);
    scraper_work_job_destroy(&job);
    job = s_run_body(st, t, "m{a=\"1\",b=\"\"} 9\nk 10\n", ts + 4000, &r);
    ck_assert_uint_eq(job->stale, 0);
    ck_assert_uint_eq(job->tally.added, 0);
    ck_assert_uint_eq(scraper_target_series(t), 2);
    s_decode_all(job, &series, &samples, &stale);
    ck_assert_uint_eq(series, 2 + 5);
    ck_assert_uint_eq(stale, 0);
    scraper_work_job_destroy(&job);

    // A failed scrape (a label limit) forgets nothing.
    t->client.label_limit = 1;
    job = s_run_body(st, t, "x{a=\"1\",b=\"2\"} 1\n", ts + 5000, &r);
    ck_assert(job->failed);
    ck_assert_uint_eq(scraper_cache_len(t->cache), 3);
    scraper_work_job_destroy(&job);

    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
    check_util_rules_free(&r);
}
END_TEST

// Check that every text of body "m{i=\"<k>\"} <k>" lines for k in ks is in the cache with
// its labels ({__name__ m, i k} and the target's), their hash and encoding, its name's
// length and its ref.
static void
s_check_entries(scraper_cache_t *c, const size_t *ks, size_t n, const fw_sender_refs_t *refs)
{
    for (size_t j = 0; j < n; j++) {
        char key[64], val[32];
        snprintf(key, sizeof(key), "m{i=\"%zu\"}", ks[j]);
        snprintf(val, sizeof(val), "%zu", ks[j]);
        uint64_t h;
        struct scraper_cache_entry *e = scraper_cache_lookup(c, j, key, strlen(key), &h);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->text.len, strlen(key));
        ck_assert_int_eq(memcmp(e->text.series, key, e->text.len), 0);
        ck_assert_uint_eq(e->text.name_len, 1);
        ck_assert(!e->dropped);
        struct fw_labels got = fw_labels_pack_view(e->items, e->len);
        ck_assert_uint_eq(got.len, 4); // with the target's instance and job
        ck_assert_str_eq(fw_labels_get(&got, "__name__"), "m");
        ck_assert_str_eq(fw_labels_get(&got, "i"), val);
        ck_assert_str_eq(fw_labels_get(&got, "job"), "pack");
        ck_assert_uint_eq(e->hash, fw_labels_hash(&got));
        unsigned char enc[256];
        ck_assert_uint_eq(e->enc_len, fw_samples_labels_size(&got));
        fw_samples_labels_put(enc, &got);
        ck_assert_int_eq(memcmp(e->enc, enc, e->enc_len), 0);
        ck_assert_uint_ne(e->ref, 0);
    }
    (void)refs;
}

// A target's cache entries (keys, encoded and packed labels) are packed into one block in
// the body's order by the first scrape that adds nothing after some series went, and by
// any scrape once more of their memory is dead than live; nothing else changes: every
// series is found (by the parser's expectation and by lookup) with its labels and ref,
// nothing is added or marked stale again, and a series that went released its ref.
START_TEST(test_scraper_work_cache_packed)
{
    struct fw_scrape_config sc = check_util_scrape_job("pack", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    fw_sender_refs_t *refs = s_refs;
    s_refs = fw_sender_refs_new();
    int64_t ts = 1700000000000;
    enum { N = 40 };
    char body[N * 32];
    size_t ks[N], len = 0;
    for (size_t k = 0; k < N; k++) {
        ks[k] = k;
        len += (size_t)snprintf(body + len, sizeof(body) - len, "m{i=\"%zu\"} %zu\n", k, k);
    }
    size_t packs[4], series, samples, stale;
    for (int r = 0; r < 4; r++) {
        struct scraper_work_job *job = s_run_body(st, t, body, ts + r * 1000, NULL);
        ck_assert(!job->failed);
        ck_assert_uint_eq(job->tally.post, N);
        ck_assert_uint_eq(job->tally.added, r == 0 ? N : 0);
        ck_assert_uint_eq(job->stale, 0);
        s_decode_all(job, &series, &samples, &stale);
        ck_assert_uint_eq(samples, N + 5);
        packs[r] = scraper_cache_packs(t->cache);
        scraper_work_job_destroy(&job);
    }
    // learnt in order in the first scrape: nothing to pack
    ck_assert_uint_eq(packs[3], 0);
    s_check_entries(t->cache, ks, N, s_refs);

    // Series 7 goes and 99 comes: one stale marker, one added, no packing (a series came);
    // the scrape after packs, and 7's ref went back.
    len = 0;
    for (size_t k = 0; k < N; k++) {
        ks[k] = k == 7 ? 99 : k;
        len += (size_t)snprintf(body + len, sizeof(body) - len, "m{i=\"%zu\"} %zu\n", ks[k], k);
    }
    struct scraper_work_job *job = s_run_body(st, t, body, ts + 5000, NULL);
    ck_assert_uint_eq(job->tally.added, 1);
    ck_assert_uint_eq(job->stale, 1);
    ck_assert_uint_eq(scraper_cache_packs(t->cache), 0);
    scraper_work_job_destroy(&job);
    job = s_run_body(st, t, body, ts + 6000, NULL);
    ck_assert_uint_eq(job->tally.added, 0);
    ck_assert_uint_eq(job->stale, 0);
    ck_assert_uint_eq(scraper_cache_packs(t->cache), 1);
    ck_assert_uint_eq(scraper_cache_len(t->cache), N);
    ck_assert_uint_eq(fw_sender_refs_pending(s_refs), 1); // 7's
    scraper_work_job_destroy(&job);
    s_check_entries(t->cache, ks, N, s_refs);
    // the parser's expectation list names the packed entries (their texts moved), in order
    size_t n_expect = 0;
    const struct fw_expfmt_text *const *expect = scraper_cache_expectations(t->cache, &n_expect);
    ck_assert_uint_eq(n_expect, N);
    for (size_t k = 0; k < N; k++) {
        char text[32];
        int tl = snprintf(text, sizeof(text), "m{i=\"%zu\"}", ks[k]);
        ck_assert_ptr_eq(expect[k], &scraper_cache_peek(t->cache, k)->text);
        ck_assert_uint_eq(expect[k]->len, (size_t)tl);
        ck_assert_int_eq(memcmp(expect[k]->series, text, (size_t)tl), 0);
        ck_assert_uint_eq(expect[k]->name_len, 1);
    }
    job = s_run_body(st, t, body, ts + 6500, NULL); // read through it: as before
    ck_assert(!job->failed);
    ck_assert_uint_eq(job->tally.post, N);
    ck_assert_uint_eq(job->tally.added + job->stale, 0);
    scraper_work_job_destroy(&job);
    // a failed scrape (a body that does not parse) neither forgets nor packs
    job = s_run_body(st, t, "m{i=\"1\" 1\n", ts + 7000, NULL);
    ck_assert(job->failed);
    scraper_work_job_destroy(&job);
    ck_assert_uint_eq(scraper_cache_packs(t->cache), 1);
    ck_assert_uint_eq(scraper_cache_len(t->cache), N);

    // Half as many other series: every entry of before is dead, more than the new live
    // ones, so this scrape packs though it added series.
    len = 0;
    for (size_t k = 0; k < N / 2; k++) {
        ks[k] = 1000 + k;
        len += (size_t)snprintf(body + len, sizeof(body) - len, "m{i=\"%zu\"} %zu\n", ks[k], k);
    }
    job = s_run_body(st, t, body, ts + 8000, NULL);
    ck_assert_uint_eq(job->tally.added, N / 2);
    ck_assert_uint_eq(job->stale, 0); // the failed scrape marked the old ones
    ck_assert_uint_eq(scraper_cache_packs(t->cache), 2);
    ck_assert_uint_eq(scraper_cache_len(t->cache), N / 2);
    scraper_work_job_destroy(&job);
    s_check_entries(t->cache, ks, N / 2, s_refs);

    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t); // the chunks go with the cache, every ref back
    ck_assert_uint_eq(fw_sender_refs_pending(s_refs), N + 1 + N / 2);
    fw_sender_refs_destroy(&s_refs);
    s_refs = refs;
}
END_TEST

// Prometheus 3's UTF-8 names: a body with quoted names is stored under the default utf8
// scheme; under metric_name_validation_scheme legacy the scrape fails, naming the label.
START_TEST(test_scraper_work_utf8_names)
{
    const char *body = "# TYPE \"my.metric\" gauge\n{\"my.metric\",\"a.b\"=\"c\"} 1\nok 2\n";
    int64_t ts = 1700000000000;
    for (int legacy = 0; legacy < 2; legacy++) {
        struct fw_scrape_config sc = check_util_scrape_job("utf8", true);
        sc.metric_name_validation_scheme =
            legacy ? FW_NAME_VALIDATION_LEGACY : FW_NAME_VALIDATION_UTF8;
        struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
        ck_assert(t->legacy_names == (legacy == 1));
        scraper_work_state_t *st = scraper_work_state_new();
        struct scraper_work_job *job = s_run_body(st, t, body, ts, NULL);
        if (!legacy) {
            ck_assert_msg(!job->failed, "%s", job->error);
            ck_assert_uint_eq(job->tally.added, 2);
            bool found = false;
            for (size_t i = 0; i < job->n_frames; i++) {
                struct fw_msg *m = NULL;
                fw_err_t err;
                ck_assert_int_eq(fw_msg_samples_set_seq(job->frames[i], 1, 1), 0);
                ck_assert_msg(fw_msg_decode(job->frames[i], &m, &err) == 0, "%s", err.msg);
                for (size_t k = 0; k < m->batch->len; k++) {
                    const struct fw_labels *l = &m->batch->series[k].labels;
                    const char *n = fw_labels_get(l, "__name__");
                    if (n && strcmp(n, "my.metric") == 0 && fw_labels_get(l, "a.b") &&
                        strcmp(fw_labels_get(l, "a.b"), "c") == 0)
                        found = true;
                }
                fw_msg_destroy(&m);
            }
            ck_assert(found);
        } else {
            ck_assert(job->failed);
            ck_assert_msg(strstr(job->error, "invalid metric name or label names") &&
                              strstr(job->error, "__name__=\"my.metric\""),
                          "%s", job->error);
        }
        scraper_work_job_destroy(&job);
        scraper_work_state_destroy(&st);
        scraper_target_destroy(&t);
    }
}
END_TEST

// The scrape cache is bounded: past its maximum new series are worked out and stored but
// not kept, and a scrape that failed its sample limit counts the rest without keeping them.
// Count the job's series that define a ref, use one, and have none.
static void
s_count_refs(struct scraper_work_job *job, size_t *defs, size_t *uses, size_t *plain)
{
    *defs = *uses = *plain = 0;
    for (size_t i = 0; i < job->n_frames; i++) {
        struct fw_msg *m = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_decode(job->frames[i], &m, &err) == 0, "%s", err.msg);
        for (size_t k = 0; k < m->batch->len; k++) {
            const struct fw_series *sr = &m->batch->series[k];
            if (!sr->ref)
                (*plain)++;
            else if (sr->labels.len)
                (*defs)++;
            else
                (*uses)++;
        }
        fw_msg_destroy(&m);
    }
}

// Each kept series gets a ref: its labels go in the first scrape's batch, the ref alone in
// the next ones, the labels again after the sender's refs generation moved (tsdb lost its
// refs); a series the target stops serving gives its ref back. Stale markers and the
// synthetic series carry labels and no ref.
START_TEST(test_scraper_work_series_refs)
{
    s_refs = fw_sender_refs_new();
    struct fw_scrape_config sc = check_util_scrape_job("refs", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    int64_t ts = 1700000000000;
    size_t defs, uses, plain;
    struct scraper_work_job *job = s_run_body(st, t, "a 1\nb 2\n", ts, NULL);
    s_count_refs(job, &defs, &uses, &plain);
    ck_assert_uint_eq(defs, 2);
    ck_assert_uint_eq(uses, 0);
    ck_assert_uint_eq(plain, 5);
    ck_assert_uint_eq(job->refs_gen, fw_sender_refs_gen(s_refs));
    ck_assert_uint_eq(job->n_frames, 1);
    ck_assert_uint_eq(job->frame_kinds[0], FW_SENDER_REFS_DEFS); // the sender learns them
    scraper_work_job_destroy(&job);
    job = s_run_body(st, t, "a 1\nb 2\n", ts + 1000, NULL);
    s_count_refs(job, &defs, &uses, &plain);
    ck_assert_uint_eq(defs, 0);
    ck_assert_uint_eq(uses, 2);
    // known series only: the sender need not read the part
    ck_assert_uint_eq(job->frame_kinds[0], FW_SENDER_REFS_USES);
    scraper_work_job_destroy(&job);
    fw_sender_refs_reset(s_refs);
    job = s_run_body(st, t, "a 1\nb 2\n", ts + 2000, NULL);
    s_count_refs(job, &defs, &uses, &plain);
    ck_assert_uint_eq(defs, 2);
    ck_assert_uint_eq(uses, 0);
    scraper_work_job_destroy(&job);
    ck_assert_uint_eq(fw_sender_refs_pending(s_refs), 0);
    job = s_run_body(st, t, "a 1\n", ts + 3000, NULL); // b goes: a stale marker, no ref
    s_count_refs(job, &defs, &uses, &plain);
    ck_assert_uint_eq(uses, 1);
    ck_assert_uint_eq(plain, 5 + 1);
    ck_assert_uint_eq(fw_sender_refs_pending(s_refs), 1);
    scraper_work_job_destroy(&job);
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t); // a's cache entry goes with it
    ck_assert_uint_eq(fw_sender_refs_pending(s_refs), 2);
    fw_sender_refs_destroy(&s_refs);
}
END_TEST

// A scrape of more than one part that then fails (its sample limit, at the last sample)
// stores nothing: the parts cut before the failure gave refs to their series, but the next
// good scrape still carries the labels of every one of them (none was sent), and the one
// after uses the refs alone.
START_TEST(test_scraper_work_refs_failed_parts)
{
    s_refs = fw_sender_refs_new();
    struct fw_scrape_config sc = check_util_scrape_job("refs-parts", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    size_t n = 2 * SCRAPER_WORK_BATCH_SERIES + 5, defs, uses, plain;
    struct scraper_work_job *job = s_job_for(t, n);
    job->refs = s_refs;
    job->sample_limit = (int64_t)n - 1;
    scraper_work_run(st, job);
    ck_assert(job->failed);
    ck_assert_str_eq(job->error, "sample limit exceeded");
    s_count_refs(job, &defs, &uses, &plain);
    ck_assert_uint_eq(defs + uses, 0);
    ck_assert_uint_eq(plain, 5); // the synthetic series alone
    ck_assert_uint_eq(job->n_frames, 1);
    scraper_work_job_destroy(&job);
    for (int k = 1; k <= 2; k++) {
        job = s_job_for(t, n);
        job->refs = s_refs;
        job->ts += k * 1000;
        scraper_work_run(st, job);
        ck_assert(!job->failed);
        ck_assert_uint_eq(job->n_frames, 3);
        s_count_refs(job, &defs, &uses, &plain);
        ck_assert_uint_eq(defs, k == 1 ? n : 0);
        ck_assert_uint_eq(uses, k == 1 ? 0 : n);
        ck_assert_uint_eq(plain, 5);
        for (size_t i = 0; i < 2; i++)
            ck_assert_uint_eq(job->frame_kinds[i],
                              k == 1 ? FW_SENDER_REFS_DEFS : FW_SENDER_REFS_USES);
        scraper_work_job_destroy(&job);
    }
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
    fw_sender_refs_destroy(&s_refs);
}
END_TEST

START_TEST(test_scraper_work_cache_bounded)
{
    struct fw_scrape_config sc = check_util_scrape_job("bounded", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    t->cache = scraper_cache_new(10);
    t->cache_gen = 0; // as s_job_for's jobs: no reload
    size_t series, samples, stale;
    for (int k = 0; k < 2; k++) {
        struct scraper_work_job *job = s_job_for(t, 30);
        job->ts += k * 1000;
        scraper_work_run(st, job);
        ck_assert(!job->failed);
        ck_assert_uint_eq(job->tally.post, 30);
        ck_assert_uint_eq(job->tally.added, k == 0 ? 30 : 0);
        ck_assert_uint_eq(job->stale, 0);
        ck_assert_uint_eq(scraper_cache_len(t->cache), 10);
        s_decode_all(job, &series, &samples, &stale);
        ck_assert_uint_eq(series, 30 + 5);
        scraper_work_job_destroy(&job);
    }
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);

    // sample_limit 5 of 30 series: the scrape fails and counts all 30 after relabeling, the
    // cache keeps the 6 it worked out before the limit failed
    t = scraper_target_new(&sc, "h:2", NULL);
    st = scraper_work_state_new();
    struct scraper_work_job *job = s_job_for(t, 30);
    job->sample_limit = 5;
    scraper_work_run(st, job);
    ck_assert(job->failed);
    ck_assert_str_eq(job->error, "sample limit exceeded");
    ck_assert_uint_eq(job->tally.post, 30);
    ck_assert_uint_eq(scraper_cache_len(t->cache), 6);
    scraper_work_job_destroy(&job);
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
}
END_TEST

// sample_limit_mode drop_excess keeps the series a target served first and drops the
// excess scrape after scrape (the staleness memory says which series it has); a series that
// goes gets its stale marker and frees room for a new one from the next scrape on.
START_TEST(test_scraper_work_drop_excess)
{
    struct fw_scrape_config sc = check_util_scrape_job("excess", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    t->client.sample_limit = 3;
    t->client.sample_limit_mode = FW_SAMPLE_LIMIT_DROP_EXCESS;
    scraper_work_state_t *st = scraper_work_state_new();
    int64_t ts = 1700000000000;
    static const struct {
        const char *body;
        size_t post, dropped, added, stale;
    } steps[] = {
        {"a 1\nb 2\nc 3\nd 4\n", 4, 1, 3, 0},
        {"d 4\na 1\nb 2\nc 3\n", 4, 1, 0, 0}, // d first: still the excess
        {"a 1\nb 2\nd 4\n", 3, 1, 0, 1},      // c went: its marker; no room in this scrape
        {"a 1\nb 2\nd 4\n", 3, 0, 1, 0},      // d takes c's room
        {"a 1\nb 2\nd 4\n", 3, 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        struct scraper_work_job *job =
            s_run_body(st, t, steps[k].body, ts + (int64_t)k * 1000, NULL);
        ck_assert_msg(!job->failed, "%s", job->error);
        ck_assert_uint_eq(job->tally.post, steps[k].post);
        ck_assert_uint_eq(job->tally.dropped, steps[k].dropped);
        ck_assert_uint_eq(job->tally.added, steps[k].added);
        ck_assert_uint_eq(job->stale, steps[k].stale);
        size_t series, samples, stale;
        s_decode_all(job, &series, &samples, &stale);
        ck_assert_uint_eq(stale, steps[k].stale);
        ck_assert_uint_eq(samples, steps[k].post - steps[k].dropped + 5 + steps[k].stale);
        ck_assert_uint_le(scraper_target_series(t), 3);
        scraper_work_job_destroy(&job);
    }
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
}
END_TEST

// The cache marks the entries a scrape uses in body order; samples without an entry (the
// cache is full) leave a gap before known series, which are still found, kept fresh (no
// stale marker, nothing new) and taken as the next scrape's guesses; the series without an
// entry are tracked for staleness all the same.
START_TEST(test_scraper_work_cache_gaps)
{
    struct fw_scrape_config sc = check_util_scrape_job("gaps", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    t->cache = scraper_cache_new(4);
    int64_t ts = 1700000000000;
    static const struct {
        const char *body;
        size_t post, added, stale;
    } steps[] = {
        {"a 1\nb 2\nc 3\nd 4\n", 4, 4, 0},
        {"x 0\ny 0\na 1\nb 2\nc 3\nd 4\n", 6, 2, 0}, // x, y: the cache is full
        {"x 0\ny 0\na 1\nb 2\nc 3\nd 4\n", 6, 0, 0}, // a..d expected after the gap
        {"x 0\ny 0\na 1\nb 2\nc 3\nd 4\n", 6, 0, 0},
        {"a 1\nb 2\nc 3\nd 4\n", 4, 0, 2}, // x and y went
        {"a 1\nb 2\nc 3\nd 4\n", 4, 0, 0},
    };
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        struct scraper_work_job *job =
            s_run_body(st, t, steps[k].body, ts + (int64_t)k * 1000, NULL);
        ck_assert_msg(!job->failed, "%s", job->error);
        ck_assert_uint_eq(job->tally.post, steps[k].post);
        ck_assert_uint_eq(job->tally.added, steps[k].added);
        ck_assert_uint_eq(job->stale, steps[k].stale);
        ck_assert_uint_eq(scraper_cache_len(t->cache), 4);
        size_t series, samples, stale;
        s_decode_all(job, &series, &samples, &stale);
        ck_assert_uint_eq(samples, steps[k].post + 5 + steps[k].stale);
        ck_assert_uint_eq(stale, steps[k].stale);
        scraper_work_job_destroy(&job);
    }
    // a..d are the cache's, where the last scrape had them
    for (size_t i = 0; i < 4; i++) {
        const struct scraper_cache_entry *e = scraper_cache_peek(t->cache, i);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->text.len, 1);
        ck_assert_int_eq(e->text.series[0], (int)('a' + i));
    }
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
}
END_TEST

static size_t s_done;
static void
s_on_done(struct scraper_work_job *job, void *arg)
{
    (void)arg;
    ck_assert(!job->failed);
    ck_assert_uint_ge(job->n_frames, 1);
    // fw_scraper_work_seconds_total adds each job's work_s: it grows with every scrape, on a
    // worker (one clock read a job) as in a lane (two).
    ck_assert_msg(job->work_s > 0 && job->work_s < 60, "work_s %g", job->work_s);
    s_done++;
    scraper_work_job_destroy(&job);
}

static int
s_stop_when_done(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    return s_done >= *(size_t *)arg ? -1 : 0;
}

// Allocations a scrape makes, with two metric_relabel_configs: a new series costs a few
// (its packed copies in the relabel cache and the staleness memory, the rules' working
// copy), and a scrape of known series none per sample: only the per-scrape buffers.
START_TEST(test_scraper_work_allocations)
{
    struct check_util_rules r;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(check_util_rules_load("r:\n  - {target_label: bench, replacement: x}\n"
                                           "  - {action: labeldrop, regex: nothing}\n",
                                           &r, &errs),
                     0);
    struct fw_scrape_config sc = check_util_scrape_job("alloc", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    size_t n = 5000;
    unsigned long per_scrape[3];
    for (int k = 0; k < 3; k++) {
        struct scraper_work_job *job = s_job_for(t, n);
        job->mrc = r.r;
        job->n_mrc = r.n;
        job->gen = 1;
        unsigned long a0 = fw_mem_allocations();
        scraper_work_run(st, job);
        per_scrape[k] = fw_mem_allocations() - a0;
        ck_assert(!job->failed);
        ck_assert_uint_eq(job->tally.post, n);
        ck_assert_uint_eq(job->tally.added, k == 0 ? n : 0);
        scraper_work_job_destroy(&job);
    }
    // New series: the scrape cache's entry and packed labels and the staleness memory's
    // packed copy kept, the rules' working copy (1 + 2 x 4 labels and the one added)
    // freed: 15 a series (34 when every copy allocated each string apart).
    ck_assert_msg(per_scrape[0] < 18 * n, "first scrape: %lu allocations", per_scrape[0]);
    // Known series: no allocation per sample (the batch's blocks and the encoder's buffer
    // are per scrape, a few hundred at most for 5000 samples).
    ck_assert_msg(per_scrape[1] < n / 10, "second scrape: %lu allocations", per_scrape[1]);
    ck_assert_msg(per_scrape[2] < n / 10, "third scrape: %lu allocations", per_scrape[2]);
    // The target's own scrape cache holds its n series texts; a scrape of a newer config
    // generation (a reload: the rules may differ) empties and refills it.
    ck_assert_uint_eq(scraper_cache_len(t->cache), n);
    struct scraper_work_job *job = s_job_for(t, n);
    job->mrc = r.r;
    job->n_mrc = r.n;
    job->gen = 2;
    unsigned long a0 = fw_mem_allocations();
    scraper_work_run(st, job);
    ck_assert_uint_gt(fw_mem_allocations() - a0, 2 * n);
    ck_assert_uint_eq(scraper_cache_len(t->cache), n);
    ck_assert_uint_eq(job->tally.added, 0);
    scraper_work_job_destroy(&job);
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&t);
    check_util_rules_free(&r);
}
END_TEST

// n targets of job sc, at addresses h:1 .. h:n.
static void
s_targets(const struct fw_scrape_config *sc, struct scraper_target **t, size_t n)
{
    char addr[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(addr, sizeof(addr), "h:%zu", i + 1);
        t[i] = scraper_target_new(sc, addr, NULL);
    }
}

START_TEST(test_scraper_work_pool)
{
    struct fw_scrape_config sc = check_util_scrape_job("pool", true);
    enum { N = 6 };
    struct scraper_target *t[N];
    s_targets(&sc, t, N);
    scraper_work_t *w = scraper_work_new(2);
    ck_assert_ptr_nonnull(w);
    zloop_t *loop = zloop_new();
    ck_assert_int_eq(scraper_work_attach(w, loop, s_on_done, NULL), 0);
    s_done = 0;
    for (size_t i = 0; i < N; i++) {
        struct scraper_work_job *job = s_job_for(t[i], 1000 * (i + 1));
        ck_assert_int_eq(scraper_work_submit(w, &job), 0);
        ck_assert_ptr_null(job);
    }
    ck_assert_uint_eq(scraper_work_outstanding(w), N);
    size_t want = N;
    zloop_timer(loop, 10, 1000, s_stop_when_done, &want); // at most 10 s
    zloop_start(loop);
    ck_assert_uint_eq(s_done, N);
    ck_assert_uint_eq(scraper_work_outstanding(w), 0);
    // Jobs still out when the pool goes are freed with it.
    struct scraper_work_job *job = s_job_for(t[0], 50000);
    ck_assert_int_eq(scraper_work_submit(w, &job), 0);
    scraper_work_detach(w, loop);
    scraper_work_destroy(&w);
    ck_assert_ptr_null(w);
    zloop_destroy(&loop);
    for (size_t i = 0; i < N; i++)
        scraper_target_destroy(&t[i]);
}
END_TEST

static int
s_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    size_t *ticks = arg;
    return ++*ticks >= 50 ? -1 : 0;
}

// A wake-up of the loop that is not for finished jobs costs the pool's socket no system
// call: the loop polls its ZMQ_FD, a plain descriptor, and reads the socket only when that
// signals. An idle loop with the pool attached, woken by a 1 ms timer 50 times: at most 2.5
// system calls a wake-up (1.8-2.0 here: zmq_poll's zero-timeout pass and its wait, or the
// pass alone when the timer is due by then). Fails on the old build, 4.2-5.7: zmq_poll
// asked the PULL socket's ZMQ_EVENTS (libzmq's getpid and a poll of its mailbox) on its
// first pass and after the wait, 3 a wake-up at the least. Counts system calls, not time:
// a busy machine only makes the timer due before the wait more often, fewer calls.
START_TEST(test_scraper_work_idle_wakes)
{
    scraper_work_t *w = scraper_work_new(1);
    ck_assert_ptr_nonnull(w);
    zloop_t *loop = zloop_new();
    ck_assert_int_eq(scraper_work_attach(w, loop, s_on_done, NULL), 0);
    int fd = check_util_syscalls_open(0);
    if (fd < 0) {
        check_util_skip("scraper work idle wakes: not counted here (perf_event_open: %s)",
                        strerror(errno));
    } else {
        size_t ticks = 0;
        zloop_timer(loop, 1, 0, s_tick, &ticks);
        double a = check_util_syscalls_read(fd);
        zloop_start(loop);
        double b = check_util_syscalls_read(fd);
        close(fd);
        ck_assert_msg(a >= 0 && b >= a && ticks == 50, "syscall counter unreadable");
        double per = (b - a) / (double)ticks;
        fprintf(stderr, "scraper work idle wakes: %.2f system calls a wake-up\n", per);
        ck_assert_msg(per <= 2.5, "%.2f system calls an idle wake-up", per);
    }
    scraper_work_detach(w, loop);
    scraper_work_destroy(&w);
    zloop_destroy(&loop);
}
END_TEST

// The pool's socket of finished jobs polled by a caller's own poll() (attach with no loop):
// its descriptor signals, scraper_work_read takes every job waiting, and an empty read
// leaves the descriptor quiet until another job comes (edge-triggered, read each time).
START_TEST(test_scraper_work_fd)
{
    struct fw_scrape_config sc = check_util_scrape_job("fd", true);
    enum { N = 4 };
    struct scraper_target *t[N];
    s_targets(&sc, t, N);
    scraper_work_t *w = scraper_work_new(2);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(scraper_work_attach(w, NULL, s_on_done, NULL), 0);
    int fd = scraper_work_fd(w);
    ck_assert_int_ge(fd, 0);
    s_done = 0;
    for (size_t i = 0; i < N; i++) {
        struct scraper_work_job *job = s_job_for(t[i], 100 * (i + 1));
        ck_assert_int_eq(scraper_work_submit(w, &job), 0);
    }
    for (int i = 0; i < 1000 && s_done < N; i++) { // at most 10 s
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) == 1)
            ck_assert(!scraper_work_read(w));
    }
    ck_assert_uint_eq(s_done, N);
    ck_assert_uint_eq(scraper_work_outstanding(w), 0);
    ck_assert_uint_ge(scraper_work_checks(w), 1); // each read ends on an empty one
    // Everything was read: the descriptor stays quiet (a read now finds nothing).
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    scraper_work_detach(w, NULL);
    scraper_work_destroy(&w);
    for (size_t i = 0; i < N; i++)
        scraper_target_destroy(&t[i]);
}
END_TEST

// More finished jobs than one read takes (256) come back together: the read stops, and the
// rest, which will not signal the descriptor again, are read on a timer.
START_TEST(test_scraper_work_full_batch)
{
    struct fw_scrape_config sc = check_util_scrape_job("batch", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_t *w = scraper_work_new(1);
    ck_assert_ptr_nonnull(w);
    scraper_work_lane_t *lane = scraper_work_lane_new(w);
    zloop_t *loop = zloop_new();
    ck_assert_int_eq(scraper_work_attach(w, loop, s_on_done, NULL), 0);
    s_done = 0;
    enum { N = 300 };
    for (size_t i = 0; i < N; i++) {
        struct scraper_work_job *job = s_job_for(t, 1);
        scraper_work_hold(w, job);
        ck_assert_int_eq(scraper_work_lane_run(lane, job), 0);
    }
    scraper_work_lane_flush(lane);
    size_t want = N;
    zloop_timer(loop, 10, 1000, s_stop_when_done, &want); // at most 10 s
    zloop_start(loop);
    ck_assert_uint_eq(s_done, N);
    ck_assert_uint_ge(scraper_work_rounds(w), 2);
    ck_assert_uint_eq(scraper_work_outstanding(w), 0);
    scraper_work_detach(w, loop);
    scraper_work_lane_destroy(&lane);
    scraper_work_destroy(&w);
    zloop_destroy(&loop);
    scraper_target_destroy(&t);
}
END_TEST

// A lane runs a small held job on the calling thread and returns it to the loop as a worker
// does, the jobs of a round together at its flush (one read of the loop for them); a big one
// (its body, or the series its target had) is left to the workers.
START_TEST(test_scraper_work_lane)
{
    struct fw_scrape_config sc = check_util_scrape_job("lane", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    scraper_work_t *w = scraper_work_new(1);
    ck_assert_ptr_nonnull(w);
    scraper_work_lane_t *lane = scraper_work_lane_new(w);
    ck_assert_ptr_nonnull(lane);
    zloop_t *loop = zloop_new();
    ck_assert_int_eq(scraper_work_attach(w, loop, s_on_done, NULL), 0);
    s_done = 0;
    struct scraper_target *t2 = scraper_target_new(&sc, "h:2", NULL);
    struct scraper_work_job *job = s_job_for(t, 1000);
    scraper_work_hold(w, job);
    ck_assert(scraper_work_small(job));
    ck_assert_int_eq(scraper_work_lane_run(lane, job), 0);
    job = s_job_for(t2, 10);
    scraper_work_hold(w, job);
    ck_assert_int_eq(scraper_work_lane_run(lane, job), 0);
    ck_assert_uint_eq(scraper_work_lane_runs(lane), 2);
    ck_assert_uint_eq(scraper_work_outstanding(w), 2); // until the loop has them back
    // nothing goes back before the flush (the fetch actor's end of round), then both at once:
    // the loop reads them in one wake-up
    check_util_loop_for(loop, 50);
    ck_assert_uint_eq(s_done, 0);
    ck_assert_uint_eq(scraper_work_rounds(w), 0);
    scraper_work_lane_flush(lane);
    size_t want = 2;
    zloop_timer(loop, 10, 1000, s_stop_when_done, &want); // at most 10 s
    zloop_start(loop);
    ck_assert_uint_eq(s_done, 2);
    ck_assert_uint_eq(scraper_work_rounds(w), 1);
    ck_assert_uint_eq(scraper_work_outstanding(w), 0);
    // over SCRAPER_WORK_SMALL_BYTES of body: for the workers
    job = s_job_for(t, SCRAPER_WORK_SMALL_BYTES / 10);
    ck_assert_uint_gt(zframe_size(job->res.body), SCRAPER_WORK_SMALL_BYTES);
    ck_assert(!scraper_work_small(job));
    scraper_work_job_destroy(&job);
    // small, but the fetch actor is busy with others: for the workers, in parallel
    job = s_job_for(t, 10);
    ck_assert(scraper_work_small(job));
    job->res.others = SCRAPER_WORK_SMALL_OTHERS + 1;
    ck_assert(!scraper_work_small(job));
    scraper_work_job_destroy(&job);
    scraper_work_detach(w, loop);
    scraper_work_lane_destroy(&lane);
    ck_assert_ptr_null(lane);
    scraper_work_destroy(&w);
    zloop_destroy(&loop);
    scraper_target_destroy(&t);
    scraper_target_destroy(&t2);
}
END_TEST

Suite *
scraper_work_suite(void)
{
    Suite *s = suite_create("scraper_work");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scraper_work_parts_and_staleness);
    tcase_add_test(tc, test_scraper_work_allocations);
    tcase_add_test(tc, test_scraper_work_cache_by_text);
    tcase_add_test(tc, test_scraper_work_cache_packed);
    tcase_add_test(tc, test_scraper_work_cache_bounded);
    tcase_add_test(tc, test_scraper_work_drop_excess);
    tcase_add_test(tc, test_scraper_work_cache_gaps);
    tcase_add_test(tc, test_scraper_work_series_refs);
    tcase_add_test(tc, test_scraper_work_refs_failed_parts);
    tcase_add_test(tc, test_scraper_work_pool);
    tcase_add_test(tc, test_scraper_work_fd);
    tcase_add_test(tc, test_scraper_work_idle_wakes);
    tcase_add_test(tc, test_scraper_work_full_batch);
    tcase_add_test(tc, test_scraper_work_lane);
    tcase_add_test(tc, test_scraper_work_utf8_names);
    suite_add_tcase(s, tc);
    return s;
}
