/*  fw_thread.c — threads that never take the daemon's signals (see fw_thread.h).

    The mask is set around the creation rather than inside the new thread, so there is no
    moment at which the new thread could take a signal.

    An actor's thread frees OpenSSL's per-thread state (its DRBGs, its error queue) itself,
    after the actor returns and before czmq's shim signals the end to zactor_destroy.
    OpenSSL would free it from a thread-local destructor at pthread exit, but czmq signals
    first, so an owner that stops its actors and exits races that destructor with
    OPENSSL_cleanup at exit, which deletes the key: the state is then lost, and
    LeakSanitizer reports it (seen with kubernetes_sd's TLS watches).
*/
#include "fw_thread.h"

#include <openssl/crypto.h>

#include "fw_mem.h"

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

struct s_actor_shim {
    zactor_fn *actor;
    void *args;
};

static void
s_actor_shim(zsock_t *pipe, void *args)
{
    struct s_actor_shim shim = *(struct s_actor_shim *)args;
    free(args);
    shim.actor(pipe, shim.args);
    OPENSSL_thread_stop();
}

zactor_t *
fw_thread_actor_new(zactor_fn *actor, void *args)
{
    struct s_actor_shim *shim = fw_calloc(1, sizeof(*shim));
    shim->actor = actor;
    shim->args = args;
    sigset_t old;
    fw_thread_block_signals(&old);
    zactor_t *self = zactor_new(s_actor_shim, shim);
    fw_thread_restore_signals(&old);
    return self;
}
