/*  check_fw_sender.c — acknowledged delivery over real ZeroMQ sockets.

    A small stand-in for tsdb (s_tsdb) binds a ROUTER, decodes each SAMPLES batch, asks
    the real decision table (tsdb_ingest) what to do with it, "stores" accepted batches by
    counting them per seq, commits at once and answers SAMPLES_ACK as tsdb does. Switches
    make it lose a batch, stay silent or lose its answers, so the tests can watch the
    sender recover: acknowledgements, overflow dropping the oldest, Go-Back-N after a
    timeout and on a resend request, and duplicates stored once.
*/
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tsdb/tsdb_ingest.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_sender.h"
#include "check_util.h"
#include "check_util_scraper.h"
#include "fw_time.h"

#define S_MAX_SEQ 64

struct s_tsdb {
    zsock_t *router;
    char endpoint[128];
    tsdb_ingest_t *ingest;
    int stored[S_MAX_SEQ + 1]; // times each seq was stored
    size_t samples;            // samples stored
    int received;              // SAMPLES batches received
    uint64_t lose_seq;         // drop this seq the first time it comes, without an answer
    bool lost;
    bool silent;    // read and drop everything, answer nothing
    bool mute_acks; // store, but lose every answer
    uint64_t last_oldest;
    // series refs (SAMPLES v3) as tsdb keeps them: a batch using one not here is answered
    // unknown_refs and not stored
    struct fw_labels refs[16];
    int unknown_answers;
    char last_name[64]; // __name__ of the last series stored (a ref's, for a use)
};

static void
s_tsdb_open(struct s_tsdb *t, const char *endpoint)
{
    memset(t, 0, sizeof(*t));
    t->router = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(t->router);
    // The port of a ROUTER just destroyed may take a moment to be free again.
    int rc = -1;
    for (int i = 0; i < 100 && (rc = zsock_bind(t->router, "%s", endpoint)) < 0; i++)
        zclock_sleep(20);
    ck_assert_int_ge(rc, 0);
    char *ep = zsock_last_endpoint(t->router); // the caller frees it
    snprintf(t->endpoint, sizeof(t->endpoint), "%s", ep);
    free(ep);
    t->ingest = tsdb_ingest_new(0, 0);
}

static void
s_tsdb_forget_refs(struct s_tsdb *t)
{
    for (size_t i = 0; i < sizeof(t->refs) / sizeof(t->refs[0]); i++)
        fw_labels_clear(&t->refs[i]);
}

static void
s_tsdb_close(struct s_tsdb *t)
{
    zsock_destroy(&t->router);
    tsdb_ingest_destroy(&t->ingest);
    s_tsdb_forget_refs(t);
}

// True when every use of a ref in b is known.
static bool
s_tsdb_refs_known(const struct s_tsdb *t, const struct fw_batch *b)
{
    for (size_t i = 0; i < b->len; i++) {
        uint32_t ref = b->series[i].ref;
        ck_assert_uint_lt(ref, sizeof(t->refs) / sizeof(t->refs[0]));
        if (ref && b->series[i].labels.len == 0 && t->refs[ref].len == 0)
            return false;
    }
    return true;
}

// Keep b's definitions and note the name of its last series.
static void
s_tsdb_store_refs(struct s_tsdb *t, const struct fw_batch *b)
{
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *sr = &b->series[i];
        if (sr->ref && sr->labels.len > 0)
            fw_labels_copy(&t->refs[sr->ref], &sr->labels);
        const struct fw_labels *l = sr->ref ? &t->refs[sr->ref] : &sr->labels;
        const char *name = fw_labels_get(l, "__name__");
        snprintf(t->last_name, sizeof(t->last_name), "%s", name ? name : "");
    }
}

static void
s_tsdb_answer(struct s_tsdb *t, zframe_t *identity, const char *sender, bool resend,
              bool unknown_refs)
{
    json_t *body = json_pack("{sssI}", "sender", sender, "acked",
                             (json_int_t)tsdb_ingest_acked(t->ingest, sender));
    if (unknown_refs)
        json_object_set_new(body, "unknown_refs", json_true()); // steals
    if (resend)
        json_object_set_new(body, "resend", json_true());         // steals
    struct fw_msg *m = fw_msg_new_json(FW_MSG_SAMPLES_ACK, body); // steals body
    zmsg_t *z = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    ck_assert_ptr_nonnull(z);
    zframe_t *id = zframe_dup(identity);
    zmsg_prepend(z, &id);
    ck_assert_int_eq(zmsg_send(&z, t->router), 0);
}

// Handle every batch waiting.
static void
s_tsdb_serve(struct s_tsdb *t)
{
    while (zsock_events(t->router) & ZMQ_POLLIN) {
        zmsg_t *z = zmsg_recv(t->router);
        ck_assert_ptr_nonnull(z);
        zframe_t *identity = zmsg_pop(z);
        struct fw_msg *m = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_decode(z, &m, &err) == 0, "%s", err.msg);
        zmsg_destroy(&z);
        ck_assert_int_eq(m->type, FW_MSG_SAMPLES);
        const struct fw_batch *b = m->batch;
        t->received++;
        t->last_oldest = b->oldest;
        if (t->silent || (b->seq == t->lose_seq && !t->lost)) {
            t->lost = t->lost || b->seq == t->lose_seq;
            goto next;
        }
        uint64_t next = tsdb_ingest_next(t->ingest, b->sender);
        if (!s_tsdb_refs_known(t, b) && !(next && b->seq < next)) { // as tsdb.c does
            t->unknown_answers++;
            s_tsdb_answer(t, identity, b->sender, false, true);
            goto next;
        }
        tsdb_ingest_verdict_t v = tsdb_ingest_offer(t->ingest, b->sender, b->seq, b->oldest, 0);
        if (v == TSDB_INGEST_ACCEPT) {
            ck_assert_uint_le(b->seq, S_MAX_SEQ);
            t->stored[b->seq]++;
            t->samples += fw_batch_samples(b);
            s_tsdb_store_refs(t, b);
            tsdb_ingest_committed(t->ingest);
        }
        if (!t->mute_acks)
            s_tsdb_answer(t, identity, b->sender, v == TSDB_INGEST_GAP, false);
    next:
        zframe_destroy(&identity);
        fw_msg_destroy(&m);
    }
}

// Serve and poll the sender until it holds nothing or ms pass; true when it emptied.
static bool
s_run_until_acked(struct s_tsdb *t, fw_sender_t *s, int ms)
{
    int64_t deadline = fw_time_mono_ms() + ms;
    while (fw_time_mono_ms() < deadline) {
        zpoller_t *p = zpoller_new(t->router, NULL);
        (void)zpoller_wait(p, 5);
        zpoller_destroy(&p);
        s_tsdb_serve(t);
        fw_sender_poll(s, 5);
        if (fw_sender_unacked(s) == 0)
            return true;
    }
    return false;
}

// A batch of n series with one sample each, values from base.
static struct fw_batch *
s_batch(size_t n, double base)
{
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    char v[32];
    for (size_t i = 0; i < n; i++) {
        fw_labels_set(&l, "__name__", "m");
        snprintf(v, sizeof(v), "%zu", i);
        fw_labels_set(&l, "i", v);
        fw_series_add(fw_batch_add_series(b, &l), 1000, base + (double)i);
    }
    fw_labels_clear(&l);
    return b;
}

static fw_sender_t *
s_sender(const char *endpoint, fw_metrics_t *m, int64_t batches, int64_t bytes, int64_t resend_ms)
{
    struct fw_sender_opts o = {.endpoint = endpoint,
                               .name = "test",
                               .buffer_batches = batches,
                               .buffer_bytes = bytes,
                               .resend_ms = resend_ms};
    fw_sender_t *s = fw_sender_new(&o, m);
    fw_err_t err;
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    return s;
}

static void
s_send(fw_sender_t *s, size_t n, double base)
{
    struct fw_batch *b = s_batch(n, base);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert_ptr_null(b);
}

START_TEST(test_fw_sender_new_send_ack_destroy)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(t.endpoint, m, 0, 0, 0);
    ck_assert_ptr_nonnull(strstr(fw_sender_id(s), "test/"));
    ck_assert_uint_le(strlen(fw_sender_id(s)), FW_MSG_SENDER_MAX);
    zsock_t *pub = zsock_new_pub("inproc://check-fw-sender-pub");
    zsock_t *sub = zsock_new_sub("inproc://check-fw-sender-pub", "SAMPLES");
    zclock_sleep(50); // the subscription reaches the PUB
    struct fw_batch *b = s_batch(4, 0);
    ck_assert_int_eq(fw_sender_send(s, &b, pub), 0);
    s_send(s, 4, 10);
    s_send(s, 4, 20);
    ck_assert_uint_eq(fw_sender_last_seq(s), 3);
    ck_assert_uint_le(fw_sender_settled(s), fw_sender_acked(s)); // none settled unacked
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_uint_eq(fw_sender_acked(s), 3);
    ck_assert_uint_eq(fw_sender_settled(s), 3);
    ck_assert_uint_eq(fw_sender_unacked_bytes(s), 0);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(t.stored[i], 1);
    ck_assert_uint_eq(t.samples, 12);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 3);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_acked_total", "") == 3);
    ck_assert(fw_metrics_get(m, "fw_sender_unacked_batches", "") == 0);
    // the tap got the first batch, numbered
    zsock_set_rcvtimeo(sub, 2000);
    struct fw_msg *tap = NULL;
    fw_err_t err;
    ck_assert_int_eq(fw_msg_recv(sub, &tap, &err), 0);
    ck_assert_uint_eq(tap->batch->seq, 1);
    ck_assert_str_eq(tap->batch->sender, fw_sender_id(s));
    fw_msg_destroy(&tap);
    zsock_destroy(&sub);
    zsock_destroy(&pub);
    fw_sender_destroy(&s);
    fw_sender_destroy(&s);
    ck_assert_ptr_null(s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// hold (the scraper's): batches wait for the tick, which sends all of them back to back, so
// tsdb reads them together; SAMPLES_SYNC sends the held ones first.
START_TEST(test_fw_sender_hold_sends_at_the_tick)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    struct fw_sender_opts o = {.endpoint = t.endpoint, .name = "test", .hold = true};
    fw_sender_t *s = fw_sender_new(&o, m);
    fw_err_t err;
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    zclock_sleep(100); // connected
    for (int i = 0; i < 3; i++)
        s_send(s, 4, 10.0 * i);
    zclock_sleep(100);
    s_tsdb_serve(&t);
    ck_assert_int_eq(t.received, 0);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 0);
    ck_assert_uint_eq(fw_sender_unacked(s), 3);
    fw_sender_poll(s, 0); // the tick
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 3);
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.received, 3);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(t.stored[i], 1);
    // a held batch goes before the SYNC that follows it
    s_send(s, 4, 40);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 3);
    ck_assert_int_eq(fw_sender_sync(s), 0);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 4);
    ck_assert_uint_eq(fw_sender_flushes(s), 2); // the tick's three together, then the one
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// hold is bounded: past a quarter of the buffer's batches or bytes, what waits goes at once (a
// held batch is never dropped unsent for want of a pump). Without the bound: 2 and 1 waiting.
START_TEST(test_fw_sender_hold_bounded)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    struct fw_sender_opts o = {
        .endpoint = t.endpoint, .name = "test", .hold = true, .buffer_batches = 8};
    fw_sender_t *s = fw_sender_new(&o, NULL);
    fw_err_t err;
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    zclock_sleep(100); // connected
    s_send(s, 4, 0);
    ck_assert_uint_eq(fw_sender_waiting(s), 1);
    s_send(s, 4, 10); // 2 of 8: sent together
    ck_assert_uint_eq(fw_sender_waiting(s), 0);
    ck_assert_uint_eq(fw_sender_flushes(s), 1);
    fw_sender_destroy(&s);
    o.buffer_batches = 0;
    o.buffer_bytes = 4096; // a quarter is 1 KiB: a batch of 200 series is more
    s = fw_sender_new(&o, NULL);
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    zclock_sleep(100);
    s_send(s, 200, 0);
    ck_assert_uint_eq(fw_sender_waiting(s), 0);
    ck_assert_uint_eq(fw_sender_flushes(s), 1);
    fw_sender_destroy(&s);
    s_tsdb_close(&t);
}
END_TEST

// Wait up to ms for a batch at t, then answer what came.
static void
s_tsdb_wait_serve(struct s_tsdb *t, int ms)
{
    zpoller_t *p = zpoller_new(t->router, NULL);
    (void)zpoller_wait(p, ms);
    zpoller_destroy(&p);
    zclock_sleep(20); // the rest of a burst
    s_tsdb_serve(t);
}

// The scraper's kind of sender: batches held for the tick, acknowledgements read lazily.
static fw_sender_t *
s_sender_lazy(const char *endpoint, fw_metrics_t *m, int64_t resend_ms)
{
    struct fw_sender_opts o = {.endpoint = endpoint,
                               .name = "test",
                               .hold = true,
                               .lazy_acks = true,
                               .tick_ms = 1000,
                               .resend_ms = resend_ms};
    fw_sender_t *s = fw_sender_new(&o, m);
    fw_err_t err;
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    return s;
}

// lazy_acks (the scraper's): attached to a loop, the sender is not woken for an
// acknowledgement; fw_sender_pump reads it (and sends what is held), and so does the slow
// tick, before it checks the resend timeout: an acknowledgement read late is no lost batch.
START_TEST(test_fw_sender_lazy_acks)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender_lazy(t.endpoint, m, 300);
    zloop_t *loop = zloop_new();
    ck_assert_int_eq(fw_sender_attach(s, loop), 0);
    zclock_sleep(100); // connected
    for (int i = 0; i < 3; i++)
        s_send(s, 4, 10.0 * i);
    ck_assert_int_eq(fw_sender_pump(s), 0); // nothing acknowledged yet; the three go
    ck_assert(fw_metrics_get(m, "fw_sender_batches_sent_total", "") == 3);
    s_tsdb_wait_serve(&t, 2000);
    ck_assert_int_eq(t.received, 3);
    check_util_loop_for(loop, 200); // the acknowledgements wait: no reader, no tick yet
    ck_assert_uint_eq(fw_sender_unacked(s), 3);
    ck_assert_int_ge(fw_sender_pump(s), 1);
    ck_assert_uint_eq(fw_sender_unacked(s), 0);
    // one acknowledged only by the tick, later than the resend timeout: not sent again
    s_send(s, 4, 40);
    fw_sender_pump(s);
    s_tsdb_wait_serve(&t, 2000);
    ck_assert_int_eq(t.received, 4);
    check_util_loop_for(loop, 1300);
    ck_assert_uint_eq(fw_sender_unacked(s), 0);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_resent_total", "") == 0);
    fw_sender_detach(s);
    zloop_destroy(&loop);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// A wake-up that gets one acknowledgement (the scraper's housekeeping: a lazy sender's
// fw_sender_poll with no wait) reads it, then finds the socket empty, and asks nothing
// else. What is left is libzmq's (strace: the command announcing the message, getpid, poll,
// getpid, read, a second look at the mailbox, the empty read's getpid and poll, the
// writer's credit, getpid and write) and the counter's own read: 9 here. Before, a
// ZMQ_EVENTS before the read, before and after each message and again in the tick: 13.
START_TEST(test_fw_sender_one_ack_syscalls)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender_lazy(t.endpoint, m, 60000);
    int fd = check_util_syscalls_open(0);
    if (fd < 0) {
        check_util_skip("sender ack syscalls: not counted here (perf_event_open: %s)",
                        strerror(errno));
    } else {
        double worst = 0;
        for (int round = 0; round < 6; round++) {
            s_send(s, 4, 10.0 * round);
            (void)fw_sender_pump(s); // the held batch goes
            s_tsdb_wait_serve(&t, 2000);
            double got = -1;
            for (int i = 0; i < 2000 && got < 0; i++) { // bounded: 2000 x 1 ms
                double a = check_util_syscalls_read(fd);
                int n = fw_sender_poll(s, 0);
                double b = check_util_syscalls_read(fd);
                if (n == 1) {
                    got = b - a;
                } else { // not yet: a batch refused before the connection is sent again by
                    // a later poll's tick (1 s), and served here, outside the counted window
                    s_tsdb_serve(&t);
                    zclock_sleep(1);
                }
            }
            ck_assert_msg(got >= 0, "round %d: no acknowledgement", round);
            if (round > 0 && got > worst) // round 0 also takes the connection's commands
                worst = got;
        }
        close(fd);
        fprintf(stderr, "sender one ack: %.0f system calls a wake-up (worst of 5)\n", worst);
        ck_assert_msg(worst <= 10, "%.0f system calls for one acknowledgement", worst);
    }
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// tsdb away: sends never block, the buffer keeps the newest, drops are counted, and what
// is kept is delivered once tsdb is back, starting at the sender's oldest.
START_TEST(test_fw_sender_overflow_drops_oldest)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    char endpoint[128];
    snprintf(endpoint, sizeof(endpoint), "%s", t.endpoint);
    s_tsdb_close(&t); // nobody listens now
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(endpoint, m, 3, 0, 100);
    int64_t start = fw_time_mono_ms();
    for (int i = 0; i < 5; i++)
        s_send(s, (size_t)i + 1, 0);                   // batch i holds i + 1 samples
    ck_assert_int_lt(fw_time_mono_ms() - start, 1000); // never blocked
    ck_assert_uint_eq(fw_sender_unacked(s), 3);
    ck_assert_uint_eq(fw_sender_settled(s), 2); // 1 and 2 dropped: settled, never acked
    ck_assert_uint_eq(fw_sender_acked(s), 0);
    ck_assert(fw_metrics_get(m, "fw_sender_dropped_batches_total", "") == 2);
    ck_assert(fw_metrics_get(m, "fw_sender_dropped_samples_total", "") == 1 + 2);
    ck_assert(fw_metrics_get(m, "fw_sender_unacked_batches", "") == 3);
    for (int i = 0; i < 3; i++)
        fw_sender_poll(s, 10); // the timer retries, still nobody there
    ck_assert_uint_eq(fw_sender_unacked(s), 3);

    s_tsdb_open(&t, endpoint); // tsdb is back
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.stored[1] + t.stored[2], 0); // dropped: never sent
    ck_assert_uint_eq(fw_sender_settled(s), 5);
    for (int i = 3; i <= 5; i++)
        ck_assert_int_eq(t.stored[i], 1);
    ck_assert_uint_eq(t.samples, 3 + 4 + 5);
    ck_assert_uint_eq(t.last_oldest, 3);

    // the byte bound: batches of ~850 bytes in 1KiB keep one
    fw_metrics_t *m2 = fw_metrics_new();
    fw_sender_t *bytes = s_sender("tcp://127.0.0.1:1", m2, 100, 1024, 100);
    s_send(bytes, 16, 0);
    s_send(bytes, 16, 0);
    ck_assert_uint_eq(fw_sender_unacked(bytes), 1);
    ck_assert_uint_le(fw_sender_unacked_bytes(bytes), 1024);
    ck_assert(fw_metrics_get(m2, "fw_sender_dropped_batches_total", "") == 1);
    ck_assert(fw_metrics_get(m2, "fw_sender_dropped_samples_total", "") == 16);
    fw_sender_destroy(&bytes);
    fw_metrics_destroy(&m2);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// tsdb takes the batches but answers nothing: after the resend timeout everything goes
// again, in order; once it answers, each batch is stored exactly once.
START_TEST(test_fw_sender_go_back_after_timeout)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    // The resend timeout (1 s) is far beyond the first window (150 ms): a window overrun by a
    // preempted turn under load (the test failed twice at load 12 with a 200 ms timeout) must
    // not count as a go-back.
    fw_sender_t *s = s_sender(t.endpoint, m, 0, 0, 1000);
    t.silent = true;
    for (int i = 0; i < 4; i++)
        s_send(s, 2, i * 10);
    ck_assert(!s_run_until_acked(&t, s, 150)); // within the timeout: nothing resent
    ck_assert_int_eq(t.received, 4);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_resent_total", "") == 0);
    t.silent = false;
    int64_t start = fw_time_mono_ms();
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_ge(fw_time_mono_ms() - start, 20); // waited for the timeout
    ck_assert_int_ge(t.received, 8);
    ck_assert(fw_metrics_get(m, "fw_sender_batches_resent_total", "") >= 4);
    for (int i = 1; i <= 4; i++)
        ck_assert_int_eq(t.stored[i], 1);

    // answers lost: tsdb stores them, the sender resends, tsdb stores nothing twice
    t.mute_acks = true;
    for (int i = 0; i < 3; i++)
        s_send(s, 2, 100 + i);
    ck_assert(!s_run_until_acked(&t, s, 1500)); // at least one go-back happened
    t.mute_acks = false;
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_ge(t.received, 8 + 6);
    for (int i = 5; i <= 7; i++)
        ck_assert_int_eq(t.stored[i], 1);
    ck_assert_uint_eq(t.samples, 7 * 2);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// Sends give libzmq references to the stored frames, not copies; a resend that writes a new
// oldest into a batch must not touch bytes a receiver still holds. Over inproc libzmq hands
// the receiver the sender's very buffer, so a batch received before the resend shows it.
START_TEST(test_fw_sender_resend_leaves_sent_bytes_alone)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    ck_assert_int_eq(zsock_bind(router, "inproc://fw-sender-shared"), 0);
    fw_sender_t *s = s_sender("inproc://fw-sender-shared", NULL, 0, 0, 100);
    s_send(s, 50, 0);
    s_send(s, 50, 100);
    zmsg_t *got[2] = {NULL, NULL};
    zframe_t *identity = NULL;
    for (int k = 0; k < 2; k++) {
        zpoller_t *p = zpoller_new(router, NULL);
        ck_assert_ptr_nonnull(zpoller_wait(p, 2000));
        zpoller_destroy(&p);
        got[k] = zmsg_recv(router);
        ck_assert_ptr_nonnull(got[k]);
        zframe_destroy(&identity);
        identity = zmsg_pop(got[k]);
    }
    // acknowledge batch 1: batch 2 is now the oldest held, and its resend says so
    json_t *body = json_pack("{sssI}", "sender", fw_sender_id(s), "acked", (json_int_t)1);
    struct fw_msg *m = fw_msg_new_json(FW_MSG_SAMPLES_ACK, body);
    zmsg_t *ack = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    zmsg_prepend(ack, &identity);
    ck_assert_int_eq(zmsg_send(&ack, router), 0);
    zmsg_t *again = NULL;
    for (int k = 0; k < 200 && !again; k++) {
        fw_sender_poll(s, 10);
        if (zsock_events(router) & ZMQ_POLLIN) {
            again = zmsg_recv(router);
            zframe_t *id = zmsg_pop(again);
            zframe_destroy(&id);
        }
    }
    ck_assert_ptr_nonnull(again); // the resend timeout sent batch 2 again
    struct fw_msg *first = NULL, *second = NULL, *resent = NULL;
    fw_err_t err;
    ck_assert_int_eq(fw_msg_decode(got[0], &first, &err), 0);
    ck_assert_int_eq(fw_msg_decode(got[1], &second, &err), 0);
    ck_assert_int_eq(fw_msg_decode(again, &resent, &err), 0);
    ck_assert_uint_eq(first->batch->seq, 1);
    ck_assert_uint_eq(second->batch->seq, 2);
    ck_assert_uint_eq(second->batch->oldest, 1); // as it was sent
    ck_assert_uint_eq(resent->batch->seq, 2);
    ck_assert_uint_eq(resent->batch->oldest, 2);
    fw_msg_destroy(&first);
    fw_msg_destroy(&second);
    fw_msg_destroy(&resent);
    zmsg_destroy(&got[0]);
    zmsg_destroy(&got[1]);
    zmsg_destroy(&again);
    fw_sender_destroy(&s);
    zsock_destroy(&router);
}
END_TEST

// One batch lost on the way: the next shows tsdb a gap, it answers resend, and the sender
// goes back at once, long before its 10 s timeout.
START_TEST(test_fw_sender_go_back_on_resend)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(t.endpoint, m, 0, 0, 10000);
    t.lose_seq = 2;
    int64_t start = fw_time_mono_ms();
    for (int i = 0; i < 5; i++)
        s_send(s, 1, i);
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_lt(fw_time_mono_ms() - start, 3000);
    ck_assert(t.lost);
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(t.stored[i], 1);
    // 3, 4, 5 each asked for a resend; one go-back served them: 2..5 went twice at most
    double resent = fw_metrics_get(m, "fw_sender_batches_resent_total", "");
    ck_assert_msg(resent >= 4 && resent <= 8, "resent %g", resent);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// tsdb restarts on the same address with the table it had committed: batches sent to the
// old one and lost with it are resent, nothing is stored twice.
START_TEST(test_fw_sender_survives_tsdb_restart)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    char endpoint[128];
    snprintf(endpoint, sizeof(endpoint), "%s", t.endpoint);
    fw_sender_t *s = s_sender(endpoint, NULL, 0, 0, 300);
    s_send(s, 1, 0);
    s_send(s, 1, 1);
    ck_assert(s_run_until_acked(&t, s, 5000));
    size_t len;
    void *state = tsdb_ingest_save(t.ingest, &len);
    int stored[S_MAX_SEQ + 1];
    memcpy(stored, t.stored, sizeof(stored));
    t.silent = true; // 3 and 4 reach a tsdb that dies before storing them
    s_send(s, 1, 2);
    s_send(s, 1, 3);
    ck_assert(!s_run_until_acked(&t, s, 100));
    s_tsdb_close(&t);
    s_send(s, 1, 4); // sent while tsdb is away
    s_tsdb_open(&t, endpoint);
    ck_assert_int_eq(tsdb_ingest_load(t.ingest, state, len, NULL), 0);
    free(state);
    memcpy(t.stored, stored, sizeof(stored));
    ck_assert(s_run_until_acked(&t, s, 5000));
    for (int i = 1; i <= 5; i++)
        ck_assert_msg(t.stored[i] == 1, "seq %d stored %d times", i, t.stored[i]);
    fw_sender_destroy(&s);
    s_tsdb_close(&t);
}
END_TEST

START_TEST(test_fw_sender_rejects_bad_acks_and_bad_batches)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(t.endpoint, m, 0, 0, 10000);
    t.silent = true;
    s_send(s, 1, 0);
    ck_assert(!s_run_until_acked(&t, s, 200));
    // an answer for another sender, and one acknowledging a seq never given out
    zmsg_t *z = zmsg_recv_nowait(t.router);
    ck_assert_ptr_null(z);
    s_send(s, 1, 1);
    zpoller_t *p = zpoller_new(t.router, NULL);
    ck_assert_ptr_eq(zpoller_wait(p, 2000), t.router);
    zpoller_destroy(&p);
    z = zmsg_recv(t.router);
    zframe_t *identity = zmsg_pop(z);
    zmsg_destroy(&z);
    (void)tsdb_ingest_offer(t.ingest, "someone-else", 1, 1, 0);
    tsdb_ingest_committed(t.ingest);
    s_tsdb_answer(&t, identity, "someone-else", false, false);
    zmsg_t *bogus = zmsg_new();
    zmsg_addstr(bogus, "SAMPLES_ACK");
    zmsg_addstr(bogus, "1");
    char body[160];
    snprintf(body, sizeof(body), "{\"sender\":\"%s\",\"acked\":99}", fw_sender_id(s));
    zmsg_addstr(bogus, body);
    zframe_t *id2 = zframe_dup(identity);
    zmsg_prepend(bogus, &id2);
    zmsg_send(&bogus, t.router);
    zframe_destroy(&identity);
    for (int i = 0;
         i < 20 && fw_metrics_get(m, "fw_msg_rejected_total", "type=\"SAMPLES_ACK\"") < 2; i++)
        fw_sender_poll(s, 50);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"SAMPLES_ACK\"") == 2);
    ck_assert_uint_eq(fw_sender_unacked(s), 2);
    ck_assert_uint_eq(fw_sender_acked(s), 0);

    // a batch that cannot be encoded (here: an id the wire refuses) uses no seq
    struct fw_sender_opts o = {.endpoint = t.endpoint, .id = "not valid"};
    fw_sender_t *bad = fw_sender_new(&o, m);
    fw_err_t err;
    ck_assert_int_eq(fw_sender_open(bad, &err), 0);
    struct fw_batch *b = s_batch(3, 0);
    ck_assert_int_eq(fw_sender_send(bad, &b, NULL), -1);
    ck_assert_ptr_null(b);
    ck_assert_uint_eq(fw_sender_last_seq(bad), 0);
    ck_assert_uint_eq(fw_sender_unacked(bad), 0);
    ck_assert(fw_metrics_get(m, "fw_sender_dropped_samples_total", "") == 3);
    fw_sender_destroy(&bad);
    s_send(s, 1, 2);
    ck_assert_uint_eq(fw_sender_last_seq(s), 3);
    t.silent = false;
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.stored[1] + t.stored[2] + t.stored[3], 3);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// Shutdown: what is unacknowledged goes out again and the flush waits for the answers.
START_TEST(test_fw_sender_flush)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*[50000-59999]");
    fw_sender_t *s = s_sender(t.endpoint, NULL, 0, 0, 10000);
    t.silent = true;
    s_send(s, 1, 0);
    ck_assert(!s_run_until_acked(&t, s, 100));
    ck_assert_uint_eq(fw_sender_flush(s, 200), 1); // nobody answers: bounded, says so
    t.silent = false;
    // tsdb answers between short flushes (one thread here)
    int64_t deadline = fw_time_mono_ms() + 5000;
    size_t left = 1;
    while (left > 0 && fw_time_mono_ms() < deadline) {
        left = fw_sender_flush(s, 50);
        s_tsdb_serve(&t);
    }
    ck_assert_uint_eq(left, 0);
    ck_assert_int_eq(t.stored[1], 1);
    fw_sender_destroy(&s);
    s_tsdb_close(&t);
}
END_TEST

START_TEST(test_fw_sender_refuses_bad_options)
{
    struct fw_sender_opts o = {.endpoint = "tcp://127.0.0.1:1", .name = "x", .buffer_batches = -1};
    fw_sender_t *s = fw_sender_new(&o, NULL);
    fw_err_t err;
    ck_assert_int_eq(fw_sender_open(s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "--zmq.send-buffer"));
    fw_sender_destroy(&s);
    o = (struct fw_sender_opts){.endpoint = "nonsense://x", .name = "x"};
    s = fw_sender_new(&o, NULL);
    ck_assert_int_eq(fw_sender_open(s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nonsense://x"));
    fw_sender_destroy(&s);
    o = (struct fw_sender_opts){.endpoint = "tcp://127.0.0.1:1", .id = "fixed/id"};
    s = fw_sender_new(&o, NULL);
    ck_assert_str_eq(fw_sender_id(s), "fixed/id");
    fw_sender_destroy(&s);
}
END_TEST

// A batch of one series: ref's definition (labels __name__=name) or, name NULL, its use.
static struct fw_batch *
s_ref_batch(uint32_t ref, const char *name, double v)
{
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    if (name)
        fw_labels_set(&l, "__name__", name);
    struct fw_series *sr = fw_batch_add_series(b, &l);
    sr->ref = ref;
    fw_series_add(sr, 1000, v);
    fw_labels_clear(&l);
    return b;
}

// The frames of batch b (taken), as an encoder on another thread makes them.
static zmsg_t *
s_frames(fw_sender_t *s, struct fw_batch *b)
{
    snprintf(b->sender, sizeof(b->sender), "%s", fw_sender_id(s));
    b->seq = b->oldest = 1;
    struct fw_msg *msg = fw_msg_new_samples(&b);
    fw_err_t err;
    fw_err_clear(&err);
    zmsg_t *frames = fw_msg_encode(msg, &err);
    fw_msg_destroy(&msg);
    ck_assert_ptr_nonnull(frames);
    return frames;
}

// An encoder that says a body holds no definitions spares the sender reading it (a scrape
// of known series); one that says it does, or says nothing, has them learnt.
START_TEST(test_fw_sender_kinds_spare_the_walk)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*");
    fw_sender_t *s = s_sender(t.endpoint, NULL, 0, 0, 10000);
    fw_sender_refs_t *refs = fw_sender_refs(s);
    uint32_t r1 = fw_sender_refs_alloc(refs), r2 = fw_sender_refs_alloc(refs);
    uint64_t gen = fw_sender_refs_gen(refs);
    zmsg_t *f = s_frames(s, s_ref_batch(r1, "one", 1));
    ck_assert_int_eq(fw_sender_send_frames_kinds(s, &f, 1, gen, FW_SENDER_REFS_USES, NULL), 0);
    ck_assert_ptr_null(f);
    ck_assert_uint_eq(fw_sender_refs_count(refs), 0); // not read
    f = s_frames(s, s_ref_batch(r1, "one", 2));
    ck_assert_int_eq(fw_sender_send_frames_kinds(s, &f, 1, gen, FW_SENDER_REFS_DEFS, NULL), 0);
    ck_assert_uint_eq(fw_sender_refs_count(refs), 1);
    f = s_frames(s, s_ref_batch(r2, "two", 3));
    ck_assert_int_eq(fw_sender_send_frames(s, &f, 1, gen, NULL), 0);
    ck_assert_uint_eq(fw_sender_refs_count(refs), 2);
    ck_assert(s_run_until_acked(&t, s, 5000));
    fw_sender_destroy(&s);
    s_tsdb_close(&t);
}
END_TEST

// tsdb forgot the sender's refs (a restart): it answers unknown_refs to a batch that uses
// one, and the sender sends that batch again with the ref's labels, which tsdb stores once.
START_TEST(test_fw_sender_unknown_refs_resent_with_labels)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(t.endpoint, m, 0, 0, 10000);
    fw_sender_refs_t *refs = fw_sender_refs(s);
    uint32_t r = fw_sender_refs_alloc(refs);
    ck_assert_uint_eq(r, 1);
    struct fw_batch *b = s_ref_batch(r, "defined", 1);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_uint_eq(fw_sender_refs_count(refs), 1); // the definition was learnt
    b = s_ref_batch(r, NULL, 2);                      // the use alone: tsdb knows the ref
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.unknown_answers, 0);
    ck_assert_str_eq(t.last_name, "defined");

    s_tsdb_forget_refs(&t);
    uint64_t gen = fw_sender_refs_gen(refs);
    b = s_ref_batch(r, NULL, 3);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.unknown_answers, 1);
    ck_assert_int_eq(t.stored[3], 1); // once, with the labels the sender kept
    ck_assert_str_eq(t.last_name, "defined");
    ck_assert_uint_eq(fw_sender_refs_gen(refs), gen + 1); // encoders define refs again
    ck_assert(fw_metrics_get(m, "fw_sender_refs_resets_total", "") == 1);
    ck_assert(fw_metrics_get(m, "fw_sender_dropped_samples_total", "") == 0);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

// A ref is reused once its old meaning left the buffer, and tsdb may still know that
// meaning. When the batch defining its new meaning is dropped from a full buffer, the uses
// held must carry the new labels: no sample may reach the old series.
START_TEST(test_fw_sender_dropped_definition_never_relied_on)
{
    struct s_tsdb t;
    s_tsdb_open(&t, "tcp://127.0.0.1:*");
    fw_metrics_t *m = fw_metrics_new();
    fw_sender_t *s = s_sender(t.endpoint, m, 2, 0, 100);
    fw_sender_refs_t *refs = fw_sender_refs(s);
    uint32_t r = fw_sender_refs_alloc(refs);
    struct fw_batch *b = s_ref_batch(r, "old", 1);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert(s_run_until_acked(&t, s, 5000)); // tsdb: r is "old"
    fw_sender_refs_release(refs, r);
    fw_sender_poll(s, 0); // nothing held: r is free again
    ck_assert_uint_eq(fw_sender_refs_alloc(refs), r);
    t.silent = true; // tsdb reads nothing for now
    b = s_ref_batch(r, "new", 2);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    uint64_t gen = fw_sender_refs_gen(refs);
    b = s_ref_batch(r, NULL, 3);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    b = s_ref_batch(r, NULL, 4); // the buffer holds 2: the definition goes
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    ck_assert(fw_metrics_get(m, "fw_sender_dropped_batches_total", "") == 1);
    ck_assert_uint_eq(fw_sender_refs_gen(refs), gen + 1); // encoders define refs again
    zclock_sleep(50);
    s_tsdb_serve(&t); // what was sent while tsdb was silent is lost
    t.silent = false;
    ck_assert(s_run_until_acked(&t, s, 5000));
    ck_assert_int_eq(t.stored[3] + t.stored[4], 2);
    ck_assert_str_eq(t.last_name, "new"); // stored under the labels the batches were made with
    ck_assert_int_eq(t.unknown_answers, 0);
    fw_sender_destroy(&s);
    fw_metrics_destroy(&m);
    s_tsdb_close(&t);
}
END_TEST

Suite *
fw_sender_suite(void)
{
    Suite *s = suite_create("fw_sender");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fw_sender_new_send_ack_destroy);
    tcase_add_test(tc, test_fw_sender_overflow_drops_oldest);
    tcase_add_test(tc, test_fw_sender_hold_sends_at_the_tick);
    tcase_add_test(tc, test_fw_sender_hold_bounded);
    tcase_add_test(tc, test_fw_sender_lazy_acks);
    tcase_add_test(tc, test_fw_sender_one_ack_syscalls);
    tcase_add_test(tc, test_fw_sender_go_back_after_timeout);
    tcase_add_test(tc, test_fw_sender_go_back_on_resend);
    tcase_add_test(tc, test_fw_sender_resend_leaves_sent_bytes_alone);
    tcase_add_test(tc, test_fw_sender_survives_tsdb_restart);
    tcase_add_test(tc, test_fw_sender_rejects_bad_acks_and_bad_batches);
    tcase_add_test(tc, test_fw_sender_flush);
    tcase_add_test(tc, test_fw_sender_refuses_bad_options);
    tcase_add_test(tc, test_fw_sender_unknown_refs_resent_with_labels);
    tcase_add_test(tc, test_fw_sender_kinds_spare_the_walk);
    tcase_add_test(tc, test_fw_sender_dropped_definition_never_relied_on);
    suite_add_tcase(s, tc);
    return s;
}
