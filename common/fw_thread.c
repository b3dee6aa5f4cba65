/*  fw_thread.c — threads that never take the daemon's signals (see fw_thread.h).

    The mask is set around the creation rather than inside the new thread, so there is no
    moment at which the new thread could take a signal.
*/
#include "fw_thread.h"

static void
s_daemon_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

void
fw_thread_block_signals(sigset_t *old)
{
    sigset_t set;
    s_daemon_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void
fw_thread_restore_signals(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

int
fw_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    sigset_t old;
    fw_thread_block_signals(&old);
    int rc = pthread_create(thread, attr, fn, arg);
    fw_thread_restore_signals(&old);
    return rc;
}

zactor_t *
fw_thread_actor_new(zactor_fn *actor, void *args)
{
    sigset_t old;
    fw_thread_block_signals(&old);
    zactor_t *self = zactor_new(actor, args);
    fw_thread_restore_signals(&old);
    return self;
}
