/*  fw_zfd.h — a ZeroMQ socket polled by its descriptor (ZMQ_FD), and the read that keeps
    that descriptor telling the truth.

    A loop polls a socket by its ZMQ_FD, as a plain descriptor (zloop_poller), rather than
    as a socket (zloop_reader), because zmq_poll() asks every socket it is given for its
    events (ZMQ_EVENTS: libzmq's fork check's getpid and a poll() of the socket's mailbox)
    on its zero-timeout first pass and after every wait: four system calls a socket on
    every wake-up of the loop, whichever socket woke it. The ZMQ_FD is edge-triggered: it
    signals that commands came since libzmq last looked, and any use of the socket may look
    and take the signal. So the owner reads until a read finds nothing (fw_zfd_drain): that
    empty ZMQ_DONTWAIT read is itself the state check ZMQ_FD asks for after a recv (libzmq's
    recv, finding no message, processes the socket's commands with a zero timeout and tries
    again before it says EAGAIN, as getsockopt(ZMQ_EVENTS) does before it answers:
    socket_base.cpp), so a message that came meanwhile is read, and one that comes later
    signals the descriptor again. A ZMQ_EVENTS after it would cost two more system calls
    and answer the same. The owner's thread must be the only one using the socket (a send
    from it may take the signal too: then it must drain after sending).
*/
#ifndef FW_ZFD_H
#define FW_ZFD_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

// sock's ZMQ_FD, or -1 when libzmq has none for it.
int fw_zfd_fd(zsock_t *sock);

// Poll sock's ZMQ_FD in loop: *item is filled in (zloop keeps a copy; the caller keeps it to
// name the poller to zloop_poller_end) and handler is called with arg when the descriptor
// signals; the handler must read with fw_zfd_drain (see above). 0, or -1 when sock has no
// descriptor or loop refuses it.
int fw_zfd_poller(zloop_t *loop, zsock_t *sock, zmq_pollitem_t *item, zloop_fn *handler, void *arg);

// One ZMQ_DONTWAIT read of the caller's socket, by fw_zfd_drain: 1 when it took a message,
// 0 when none was waiting (EAGAIN), -1 with errno otherwise (EINTR is retried).
typedef int(fw_zfd_read_fn)(void *arg);

// Call read(arg) until it finds the socket empty, fails, or has taken max messages; a read
// interrupted by a signal (EINTR, whose poll may have taken the signal) is tried again, up
// to 16 times. Returns how many messages were taken; *emptied says whether the last read
// found none, leaving the descriptor to signal the next message. When max messages were
// taken (emptied false) more may be waiting and the descriptor will not signal for them:
// the caller must come back soon (a zero timer).
size_t fw_zfd_drain(fw_zfd_read_fn *read, void *arg, size_t max, bool *emptied);

#endif
