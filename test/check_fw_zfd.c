/*  check_fw_zfd.c — a socket polled by its ZMQ_FD: the descriptor signals, a drain takes
    every message and leaves it to signal the next (edge-triggered), a capped drain leaves
    the rest for the caller, a zloop poller calls its handler. */
#include <check.h>
#include <czmq.h>
#include <errno.h>
#include <poll.h>

#include "fw_zfd.h"

struct s_pair {
    zsock_t *rx, *tx;
    int taken;
};

static int
s_read(void *arg)
{
    struct s_pair *p = arg;
    char buf[16];
    int n = zmq_recv(zsock_resolve(p->rx), buf, sizeof(buf), ZMQ_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    p->taken++;
    return 1;
}

static void
s_pair_open(struct s_pair *p, const char *endpoint)
{
    p->rx = zsock_new_pair(endpoint);     // "@inproc://...": binds
    p->tx = zsock_new_pair(endpoint + 1); // plain: connects
    ck_assert_ptr_nonnull(p->rx);
    ck_assert_ptr_nonnull(p->tx);
    p->taken = 0;
}

// Whether fd is readable within ms milliseconds.
static bool
s_readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 1;
}

static void
s_send(struct s_pair *p, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(zmq_send(zsock_resolve(p->tx), "m", 1, 0), 1);
}

START_TEST(test_fw_zfd_drain_takes_all_and_rearms)
{
    struct s_pair p;
    s_pair_open(&p, "@inproc://check_fw_zfd_drain");
    int fd = fw_zfd_fd(p.rx);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fw_zfd_fd(NULL), -1);
    bool emptied = false;
    (void)fw_zfd_drain(s_read, &p, 100, &emptied); // the connection's own commands
    ck_assert(emptied);
    s_send(&p, 5);
    ck_assert(s_readable(fd, 5000));
    p.taken = 0;
    ck_assert_uint_eq(fw_zfd_drain(s_read, &p, 100, &emptied), 5);
    ck_assert(emptied);
    ck_assert_int_eq(p.taken, 5);
    // Edge-triggered: drained, it does not signal again until something comes.
    ck_assert(!s_readable(fd, 0));
    s_send(&p, 1);
    ck_assert(s_readable(fd, 5000));
    ck_assert_uint_eq(fw_zfd_drain(s_read, &p, 100, &emptied), 1);
    ck_assert(emptied);
    ck_assert(!s_readable(fd, 0));
    zsock_destroy(&p.tx);
    zsock_destroy(&p.rx);
}
END_TEST

// A drain capped at max leaves the rest, for which the fd does not signal: the caller comes
// back (scraper_work's zero timer), and the next drain takes them and ends empty.
START_TEST(test_fw_zfd_drain_capped)
{
    struct s_pair p;
    s_pair_open(&p, "@inproc://check_fw_zfd_capped");
    int fd = fw_zfd_fd(p.rx);
    s_send(&p, 5);
    ck_assert(s_readable(fd, 5000));
    bool emptied = true;
    ck_assert_uint_eq(fw_zfd_drain(s_read, &p, 3, &emptied), 3);
    ck_assert(!emptied);
    ck_assert_uint_eq(fw_zfd_drain(s_read, &p, 3, &emptied), 2);
    ck_assert(emptied);
    ck_assert_int_eq(p.taken, 5);
    ck_assert(!s_readable(fd, 0));
    zsock_destroy(&p.tx);
    zsock_destroy(&p.rx);
}
END_TEST

static int
s_on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    bool emptied;
    (void)fw_zfd_drain(s_read, arg, 100, &emptied);
    return ((struct s_pair *)arg)->taken >= 3 ? -1 : 0; // all three: end the loop
}

static int
s_on_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

START_TEST(test_fw_zfd_poller_calls_handler)
{
    struct s_pair p;
    s_pair_open(&p, "@inproc://check_fw_zfd_poller");
    zloop_t *loop = zloop_new();
    zmq_pollitem_t item;
    ck_assert_int_eq(fw_zfd_poller(loop, p.rx, &item, s_on_fd, &p), 0);
    s_send(&p, 3);
    zloop_timer(loop, 10000, 1, s_on_timeout, NULL); // a bound: the loop never outlives 10 s
    ck_assert_int_eq(zloop_start(loop), -1);
    ck_assert_int_eq(p.taken, 3);
    zloop_poller_end(loop, &item);
    zloop_destroy(&loop);
    zsock_destroy(&p.tx);
    zsock_destroy(&p.rx);
}
END_TEST

Suite *
fw_zfd_suite(void)
{
    Suite *s = suite_create("fw_zfd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_zfd_drain_takes_all_and_rearms);
    tcase_add_test(tc, test_fw_zfd_drain_capped);
    tcase_add_test(tc, test_fw_zfd_poller_calls_handler);
    suite_add_tcase(s, tc);
    return s;
}
