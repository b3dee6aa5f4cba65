/*  fw_zfd.c — a ZeroMQ socket polled by its descriptor (fw_zfd.h says why and how). */
#include "fw_zfd.h"

#include <errno.h>

int
fw_zfd_fd(zsock_t *sock)
{
    int fd = -1;
    size_t size = sizeof(fd);
    if (!sock || zmq_getsockopt(zsock_resolve(sock), ZMQ_FD, &fd, &size) != 0)
        return -1;
    return fd;
}

int
fw_zfd_poller(zloop_t *loop, zsock_t *sock, zmq_pollitem_t *item, zloop_fn *handler, void *arg)
{
    int fd = fw_zfd_fd(sock);
    if (fd < 0)
        return -1;
    *item = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = ZMQ_POLLIN};
    return zloop_poller(loop, item, handler, arg);
}

size_t
fw_zfd_drain(fw_zfd_read_fn *read, void *arg, size_t max, bool *emptied)
{
    size_t taken = 0;
    int interrupted = 0;
    *emptied = false;
    while (taken < max) {
        int rc = read(arg);
        if (rc < 0 && errno == EINTR && interrupted++ < 16)
            continue;
        if (rc < 0)
            break;
        if (rc == 0) {
            *emptied = true;
            break;
        }
        taken++;
    }
    return taken;
}
