/*  check_fw_thread.c — threads and actors started through fw_thread block the daemon's
    signals (SIGINT, SIGTERM, SIGHUP) from their start, and the creator's mask is unchanged.
*/
#include <check.h>
#include <signal.h>
#include <stdbool.h>

#include "fw_thread.h"

// Does the calling thread block all three of the daemon's signals?
static bool
s_blocks_daemon_signals(void)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, SIGINT) == 1 && sigismember(&cur, SIGTERM) == 1 &&
           sigismember(&cur, SIGHUP) == 1;
}

static void *
s_thread(void *arg)
{
    *(bool *)arg = s_blocks_daemon_signals();
    return NULL;
}

static void
s_actor(zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_signal(pipe, 0);
    char *cmd = zstr_recv(pipe);
    zstr_send(pipe, s_blocks_daemon_signals() ? "blocked" : "open");
    free(cmd);
    char *term = zstr_recv(pipe); // $TERM
    free(term);
}

START_TEST(test_fw_thread_create_and_actor_block_signals)
{
    ck_assert(!s_blocks_daemon_signals()); // the main thread takes them
    bool blocked = false;
    pthread_t t;
    ck_assert_int_eq(fw_thread_create(&t, NULL, s_thread, &blocked), 0);
    pthread_join(t, NULL);
    ck_assert(blocked);
    ck_assert(!s_blocks_daemon_signals()); // the creator's mask is put back

    zactor_t *a = fw_thread_actor_new(s_actor, NULL);
    ck_assert_ptr_nonnull(a);
    zstr_send(a, "ASK");
    char *answer = zstr_recv(a);
    ck_assert_str_eq(answer, "blocked");
    free(answer);
    zactor_destroy(&a);
    ck_assert(!s_blocks_daemon_signals());

    // a plain pthread_create, for contrast, inherits the open mask
    blocked = true;
    ck_assert_int_eq(pthread_create(&t, NULL, s_thread, &blocked), 0);
    pthread_join(t, NULL);
    ck_assert(!blocked);
}
END_TEST

Suite *
fw_thread_suite(void)
{
    Suite *s = suite_create("fw_thread");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_thread_create_and_actor_block_signals);
    suite_add_tcase(s, tc);
    return s;
}
