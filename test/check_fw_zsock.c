/*  check_fw_zsock.c — socket roles, receive-with-reject counting, the size limit of the
    receiving roles with its guard (oversized messages refused and counted, peers that
    merely hang up not counted; a SIGTERM sent to the guard's own thread neither ends it
    nor makes its destruction hang), and the loop runner surviving SIGHUP (the reload
    signal) while stopping on a handler's -1.
*/
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fw_flags.h"
#include "fw_zsock.h"

START_TEST(test_fw_zsock_push_pull_and_reject)
{
    fw_err_t err;
    zsock_t *pull = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 0, &err);
    ck_assert_ptr_nonnull(pull);
    char *ep = zsock_last_endpoint(pull); // czmq: the caller frees it
    zsock_t *push = fw_zsock_push(ep, &err);
    free(ep);
    ck_assert_ptr_nonnull(push);
    zsock_set_rcvtimeo(pull, 5000);
    fw_metrics_t *m = fw_metrics_new();
    fw_zsock_declare_metrics(m);

    // a good message of the wanted type
    struct fw_msg *msg =
        fw_msg_new_json(FW_MSG_ALERTS, json_pack("{ss s[]}", "source", "t", "alerts"));
    ck_assert_int_eq(fw_msg_send(&msg, push, &err), 0);
    struct fw_msg *got;
    ck_assert_int_eq(fw_zsock_recv(pull, FW_MSG_ALERTS, m, &got), 0);
    ck_assert_int_eq(got->type, FW_MSG_ALERTS);
    fw_msg_destroy(&got);

    // a valid message of another type is rejected and counted under its type
    msg = fw_msg_new_json(FW_MSG_QUERY, json_pack("{ssss}", "id", "1", "query", "up"));
    ck_assert_int_eq(fw_msg_send(&msg, push, &err), 0);
    ck_assert_int_eq(fw_zsock_recv(pull, FW_MSG_ALERTS, m, &got), -1);
    ck_assert_ptr_null(got);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"QUERY\"") == 1);

    // a truncated SAMPLES body counts as SAMPLES; garbage counts as unknown
    zstr_sendx(push, "SAMPLES", "1", "\x01\x02", NULL);
    ck_assert_int_eq(fw_zsock_recv(pull, FW_MSG_SAMPLES, m, &got), -1);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"SAMPLES\"") == 1);
    zstr_send(push, "garbage");
    ck_assert_int_eq(fw_zsock_recv(pull, FW_MSG_SAMPLES, m, &got), -1);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"unknown\"") == 1);

    // a bad endpoint is an error that names it
    ck_assert_ptr_null(fw_zsock_pub("nonsense://x", &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "nonsense://x"));
    fw_metrics_destroy(&m);
    zsock_destroy(&push);
    zsock_destroy(&pull);
}
END_TEST

// An ALERTS message from `source` whose one annotation is pad bytes long.
static struct fw_msg *
s_alerts(const char *source, size_t pad)
{
    char *text = malloc(pad + 1);
    memset(text, 'x', pad);
    text[pad] = '\0';
    json_t *body = json_pack("{ss s[{s{ss}s{ss}}]}", "source", source, "alerts", "labels",
                             "alertname", "A", "annotations", "pad", text);
    free(text);
    return fw_msg_new_json(FW_MSG_ALERTS, body); // steals body
}

// Wait (at most ms) for a message on the PULL, adding the guard's drops to *drops
// meanwhile. The source of what arrived, or NULL; *got_out gets the message.
static const char *
s_recv_guarded(zsock_t *pull, fw_zsock_guard_t *guard, fw_metrics_t *m, int ms, int *drops,
               struct fw_msg **got_out)
{
    *got_out = NULL;
    zpoller_t *poller = zpoller_new(pull, fw_zsock_guard_events(guard), NULL);
    int64_t deadline = zclock_mono() + ms;
    while (!*got_out && zclock_mono() < deadline) {
        void *ready = zpoller_wait(poller, (int)(deadline - zclock_mono()));
        if (ready == pull)
            fw_zsock_recv(pull, FW_MSG_ALERTS, m, got_out);
        else if (ready)
            *drops += fw_zsock_guard_read(guard);
    }
    zpoller_destroy(&poller);
    return *got_out ? json_string_value(json_object_get((*got_out)->body, "source")) : NULL;
}

START_TEST(test_fw_zsock_oversize_refused_and_counted)
{
    fw_err_t err;
    zsock_t *pull = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 4096, &err);
    ck_assert_ptr_nonnull(pull);
    ck_assert_int_eq(zsock_maxmsgsize(pull), 4096);
    fw_metrics_t *m = fw_metrics_new();
    fw_zsock_declare_metrics(m);
    fw_zsock_guard_t *guard = fw_zsock_guard_new(pull, "test", m);
    ck_assert_ptr_nonnull(guard);
    char *ep = zsock_last_endpoint(pull); // czmq: the caller frees it
    zsock_t *push = fw_zsock_push(ep, &err);
    ck_assert_ptr_nonnull(push);
    int drops = 0;

    // under the limit: delivered
    struct fw_msg *msg = s_alerts("small", 100), *got;
    ck_assert_int_eq(fw_msg_send(&msg, push, &err), 0);
    ck_assert_str_eq(s_recv_guarded(pull, guard, m, 5000, &drops, &got), "small");
    fw_msg_destroy(&got);
    ck_assert_int_eq(fw_zsock_guard_sync(guard), 0); // the guard has seen the connection

    // a body of 64 KiB is refused: never delivered; the peer is dropped and counted
    msg = s_alerts("big", 64 * 1024);
    ck_assert_int_eq(fw_msg_send(&msg, push, &err), 0);
    for (int i = 0; i < 50 && drops == 0; i++)
        ck_assert_ptr_null(s_recv_guarded(pull, guard, m, 100, &drops, &got));
    ck_assert_int_eq(drops, 1);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"oversize\"") == 1);

    // the same PUSH reconnects by itself, and its next normal message arrives
    msg = s_alerts("after", 100);
    ck_assert_int_eq(fw_msg_send(&msg, push, &err), 0);
    ck_assert_str_eq(s_recv_guarded(pull, guard, m, 5000, &drops, &got), "after");
    fw_msg_destroy(&got);

    // a peer that sends a normal message and hangs up is not counted
    zsock_t *other = fw_zsock_push(ep, &err);
    msg = s_alerts("other", 100);
    ck_assert_int_eq(fw_msg_send(&msg, other, &err), 0);
    ck_assert_str_eq(s_recv_guarded(pull, guard, m, 5000, &drops, &got), "other");
    fw_msg_destroy(&got);
    zsock_destroy(&other);
    ck_assert_ptr_null(s_recv_guarded(pull, guard, m, 500, &drops, &got)); // its hang-up
    drops += fw_zsock_guard_sync(guard);
    ck_assert_int_eq(drops, 1);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"oversize\"") == 1);

    free(ep);
    zsock_destroy(&push);
    fw_zsock_guard_destroy(&guard);
    fw_zsock_guard_destroy(&guard); // twice is fine
    zsock_destroy(&pull);
    fw_metrics_destroy(&m);
}
END_TEST

// The ids of this process's threads (at most max), from /proc/self/task.
static int
s_tids(pid_t *tids, int max)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; n < max && (e = readdir(d));)
        if (e->d_name[0] != '.')
            tids[n++] = (pid_t)atoi(e->d_name);
    closedir(d);
    return n;
}

static volatile sig_atomic_t s_terms; // SIGTERMs handled, whichever thread took them

static void
s_on_term(int sig)
{
    (void)sig;
    s_terms++;
}

struct s_term_guard {
    fw_zsock_guard_t *guard;
    pid_t tid;       // the guard actor's thread
    int synced;      // fw_zsock_guard_sync's result after the signal
    atomic_int done; // 1 once the guard is destroyed
};

static void *
s_term_then_destroy(void *arg)
{
    struct s_term_guard *t = arg;
    syscall(SYS_tgkill, getpid(), t->tid, SIGTERM); // as when the kernel picks that thread
    usleep(100 * 1000);
    t->synced = fw_zsock_guard_sync(t->guard); // the guard still answers
    fw_zsock_guard_destroy(&t->guard);         // as alertd_destroy after SIGTERM
    atomic_store(&t->done, 1);
    return NULL;
}

// SIGTERM delivered to the guard's actor thread while it polls (the kernel may give a
// process-directed signal to any thread that does not block it): czmq 4.2.1's zpoller
// called that "terminated" even in nonstop mode, the actor ended, the drain in
// fw_zsock_guard_destroy took its exit signal, and zactor_destroy waited forever for it
// (an alertd hung after SIGTERM). Now the actor's thread blocks the daemon's signals and
// the guard keeps working. On the old code the actor's thread takes the signal (s_terms)
// and the dead guard never answers the sync; the wait is bounded, so it fails, not hangs.
START_TEST(test_fw_zsock_guard_survives_sigterm_on_its_thread)
{
    fw_err_t err;
    zsock_t *pull = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 4096, &err);
    ck_assert_ptr_nonnull(pull);
    // After the first socket: czmq's zsys_init installs its own SIGTERM handler then.
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_term;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGTERM, &sa, &old), 0);
    pid_t before[64], after[64];
    int nb = s_tids(before, 64);
    struct s_term_guard t = {.guard = fw_zsock_guard_new(pull, "test", NULL)};
    ck_assert_ptr_nonnull(t.guard);
    ck_assert_int_eq(fw_zsock_guard_sync(t.guard), 0); // its thread is up and polling
    int na = s_tids(after, 64), fresh = 0;
    for (int i = 0; i < na; i++) {
        bool seen = false;
        for (int j = 0; j < nb; j++)
            seen = seen || after[i] == before[j];
        if (!seen) {
            t.tid = after[i];
            fresh++;
        }
    }
    ck_assert_int_eq(fresh, 1); // the actor's thread
    atomic_init(&t.done, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, s_term_then_destroy, &t), 0);
    for (int i = 0; i < 60 && !atomic_load(&t.done); i++) // at most 3 s (Check: 4 s)
        usleep(50 * 1000);
    ck_assert_msg(atomic_load(&t.done),
                  "the guard's sync or destroy hung after SIGTERM on its thread");
    pthread_join(th, NULL);
    ck_assert_int_eq(t.synced, 0);
    ck_assert_int_eq(s_terms, 0); // the actor's thread never took it
    zsock_destroy(&pull);
    sigaction(SIGTERM, &old, NULL);
}
END_TEST

struct s_hup {
    pthread_t target;
};

static void *
s_send_hup(void *arg)
{
    struct s_hup *h = arg;
    usleep(100 * 1000);
    pthread_kill(h->target, SIGHUP);
    return NULL;
}

static int
s_on_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    *(bool *)arg = true;
    return -1;
}

START_TEST(test_fw_zsock_loop_survives_sighup)
{
    fw_process_init();
    zloop_t *loop = zloop_new();
    bool stopped_by_timer = false;
    zloop_timer(loop, 400, 1, s_on_stop, &stopped_by_timer);
    struct s_hup h = {pthread_self()};
    pthread_t t;
    pthread_create(&t, NULL, s_send_hup, &h);
    ck_assert_int_eq(fw_zloop_run(loop), -1); // stopped by the handler, not by the SIGHUP
    pthread_join(t, NULL);
    ck_assert(stopped_by_timer);
    ck_assert(fw_signal_take_hup());  // the reload request is there for housekeeping
    ck_assert(!fw_signal_take_hup()); // once
    zloop_destroy(&loop);
}
END_TEST

// Read subscription messages from xpub into t for up to 2 s, until want(type) == expect.
static bool
s_topics_until(zsock_t *xpub, struct fw_zsock_topics *t, const char *type, bool expect)
{
    for (int k = 0; k < 40 && fw_zsock_topics_want(t, type) != expect; k++)
        if (zsock_events(xpub) & ZMQ_POLLIN)
            fw_zsock_topics_read(xpub, t);
        else
            zclock_sleep(50);
    return fw_zsock_topics_want(t, type) == expect;
}

// An XPUB knows what its subscribers want: a topic is wanted while one subscriber holds
// it, by prefix, and no longer once the last one leaves.
START_TEST(test_fw_zsock_xpub_topics)
{
    fw_err_t err;
    zsock_t *xpub = fw_zsock_xpub("tcp://127.0.0.1:*[50000-59999]", &err);
    ck_assert_msg(xpub != NULL, "%s", err.msg);
    struct fw_zsock_topics t = {0};
    ck_assert(!fw_zsock_topics_want(&t, "SAMPLES"));
    zsock_t *sub = zsock_new_sub(zsock_endpoint(xpub), "SAMP");
    ck_assert_ptr_nonnull(sub);
    ck_assert(s_topics_until(xpub, &t, "SAMPLES", true));
    ck_assert(!fw_zsock_topics_want(&t, "ALERTS"));
    zsock_t *all = zsock_new_sub(zsock_endpoint(xpub), "");
    ck_assert(s_topics_until(xpub, &t, "ALERTS", true));
    zsock_destroy(&all);
    ck_assert(s_topics_until(xpub, &t, "ALERTS", false));
    ck_assert(fw_zsock_topics_want(&t, "SAMPLES"));
    zsock_destroy(&sub);
    ck_assert(s_topics_until(xpub, &t, "SAMPLES", false));
    fw_zsock_topics_clear(&t);
    zsock_destroy(&xpub);
}
END_TEST

Suite *
fw_zsock_suite(void)
{
    Suite *s = suite_create("fw_zsock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_zsock_push_pull_and_reject);
    tcase_add_test(tc, test_fw_zsock_oversize_refused_and_counted);
    tcase_add_test(tc, test_fw_zsock_guard_survives_sigterm_on_its_thread);
    tcase_add_test(tc, test_fw_zsock_loop_survives_sighup);
    tcase_add_test(tc, test_fw_zsock_xpub_topics);
    suite_add_tcase(s, tc);
    return s;
}
