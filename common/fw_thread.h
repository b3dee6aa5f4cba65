/*  fw_thread.h — threads that never take the daemon's signals.

    A daemon's signals (SIGINT and SIGTERM: stop, through czmq's handler and
    zsys_interrupted; SIGHUP: reload, fw_process_init) are meant for its zloop on the main
    thread. A process-directed signal goes to any thread that does not block it, and the
    kernel passes over the main thread when it is busy or already has one pending. The
    thread that takes it sees its poll fail with EINTR, and czmq 4.2.1 treats that as the
    end even for a nonstop zpoller or zloop (zpoller_wait sets terminated on any -1 from
    zmq_poll; zloop_start breaks out): an actor ended that way sends its exit signal early,
    and an owner that reads the actor's pipe can take it, so that zactor_destroy waits
    forever for it. So every thread the project starts blocks SIGINT, SIGTERM and SIGHUP
    from its first instruction (a new thread inherits its creator's mask), and only the
    main thread, which never blocks them, takes them.
*/
#ifndef FW_THREAD_H
#define FW_THREAD_H

#include <czmq.h>
#include <pthread.h>
#include <signal.h>

// Block SIGINT, SIGTERM and SIGHUP in the calling thread; *old (may be NULL) gets the mask
// it had. Signals that come meanwhile stay pending for the process until unblocked.
void fw_thread_block_signals(sigset_t *old);
// Put back a mask saved by fw_thread_block_signals.
void fw_thread_restore_signals(const sigset_t *old);

// pthread_create, with the new thread blocking SIGINT, SIGTERM and SIGHUP from its start.
// The caller's mask is unchanged afterwards. 0, or an error number (as pthread_create).
int fw_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

// zactor_new, with the actor's thread blocking SIGINT, SIGTERM and SIGHUP from its start,
// and freeing OpenSSL's per-thread state when the actor returns, before zactor_destroy
// hears of its end. Every actor the daemons start goes through here.
zactor_t *fw_thread_actor_new(zactor_fn *actor, void *args);

#endif
