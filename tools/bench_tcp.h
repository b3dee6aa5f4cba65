/*  bench_tcp.h — the loopback TCP socket the first-notification bench's two C tools
    (first-notify-probe.c, notify-floor.c) both open: each is compiled on its own by
    tools/bench-first-notify.sh, so the one function lives here as a static function.
*/
#ifndef BENCH_TCP_H
#define BENCH_TCP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

// A TCP socket on 127.0.0.1:port, listening (listening != 0) or connected, with
// TCP_NODELAY; -1 on failure.
static int
bench_tcp(int port, int listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listening ? bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0
                  : connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

#endif
