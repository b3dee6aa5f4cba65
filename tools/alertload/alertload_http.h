/*  alertload_http.h — alertload's plain-socket HTTP/1.1 clients for --post-url.

    Both send the same requests as libcurl does (POST with Host, Accept, Content-Type and
    Content-Length) over keep-alive connections and read each answer up to its
    Content-Length, without libcurl's per-request work. Body k of n goes on connection
    k % connections, and each connection has one request in flight, as with libcurl.

    raw:   a thread per connection, blocking sendmsg() and recv().
    epoll: one thread drives every connection from one epoll set, as wrk does: the answers
           that are in when it wakes are all read before it sleeps again, so the client
           thread is not put to sleep and woken once per request (with 4 connections on 2
           cores, raw's client took more CPU a POST than alertd).
    An answer without Content-Length, or a closed connection, counts as an error and the
    connection is opened again for the next body.
*/
#ifndef ALERTLOAD_HTTP_H
#define ALERTLOAD_HTTP_H

#include <stddef.h>

// POST bodies[0..n) to url ("http://host:port/path") over connections connections, with
// the raw or epoll client (epoll true). Returns the requests not answered 200 (all n when
// url cannot be parsed).
size_t alertload_http_post(const char *url, char *const *bodies, size_t n, size_t connections,
                           int epoll);

#endif
