/*  fw_http_listen.c — the listening socket of fw_http (see the header).
 */
#include "fw_http_listen.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Split "host:port", "[v6]:port" or ":port". 0 or -1.
static int
s_split_address(const char *addr, char *host, size_t host_size, char *port, size_t port_size)
{
    const char *colon;
    const char *hbeg = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        hbeg = addr + 1;
        hlen = (size_t)(close - hbeg);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - addr);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || hlen >= host_size || plen >= port_size)
        return -1;
    for (size_t i = 0; i < plen; i++)
        if (!isdigit((unsigned char)p[i]))
            return -1;
    if (strtol(p, NULL, 10) > 65535)
        return -1;
    memcpy(host, hbeg, hlen);
    host[hlen] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
}

// Bind and listen on one address; returns the socket or -1 with errno set.
static int
s_listen_on(const struct sockaddr *sa, socklen_t salen, bool dual_stack)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (dual_stack)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, sa, salen) != 0 || listen(fd, 128) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// Open the listening socket for host/port; -1 with err set.
static int
s_listen(const char *addr, const char *host, const char *port, fw_err_t *err)
{
    unsigned short pnum = (unsigned short)strtol(port, NULL, 10);
    if (!host[0]) {
        // All addresses: dual-stack [::] as Go does, else IPv4 only.
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons(pnum);
        int fd = s_listen_on((struct sockaddr *)&a6, sizeof(a6), true);
        if (fd < 0 && errno != EADDRINUSE && errno != EACCES) {
            struct sockaddr_in a4;
            memset(&a4, 0, sizeof(a4));
            a4.sin_family = AF_INET;
            a4.sin_addr.s_addr = htonl(INADDR_ANY);
            a4.sin_port = htons(pnum);
            fd = s_listen_on((struct sockaddr *)&a4, sizeof(a4), false);
        }
        if (fd < 0)
            fw_err_set(err, "http: listen on %s: %s", addr, strerror(errno));
        return fd;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fw_err_set(err, "http: listen on %s: %s", addr,
                   gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1, saved = EADDRNOTAVAIL;
    // IPv4 first: "localhost:9090" then serves the clients that try 127.0.0.1 first.
    for (int pass = 0; pass < 2 && fd < 0; pass++) {
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            if ((pass == 0) != (ai->ai_family == AF_INET))
                continue;
            fd = s_listen_on(ai->ai_addr, ai->ai_addrlen, false);
            if (fd < 0)
                saved = errno;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fw_err_set(err, "http: listen on %s: %s", addr, strerror(saved));
    return fd;
}

static int
s_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

bool
fw_http_listen_valid(const char *listen_address)
{
    char host[256], port[8];
    return listen_address &&
           s_split_address(listen_address, host, sizeof(host), port, sizeof(port)) == 0;
}

int
fw_http_listen(const char *listen_address, int *port_out, fw_err_t *err)
{
    char host[256], port[8];
    if (!fw_http_listen_valid(listen_address) ||
        s_split_address(listen_address, host, sizeof(host), port, sizeof(port)) != 0) {
        fw_err_set(err, "http: invalid listen address '%s' (want host:port)",
                   listen_address ? listen_address : "");
        return -1;
    }
    int fd = s_listen(listen_address, host, port, err);
    if (fd >= 0 && port_out)
        *port_out = s_bound_port(fd);
    return fd;
}
