/*  fw_http_listen.h — the listening socket of fw_http: we bind it ourselves, so a bind
    failure names the address and errno and port 0 tells us the port the kernel picked.

    "host:port", "[v6]:port" or ":port" (all addresses: dual-stack [::] as Go does, else
    IPv4 only). A host name binds its IPv4 address first, so "localhost:9090" serves the
    clients that try 127.0.0.1 first.
*/
#ifndef FW_HTTP_LISTEN_H
#define FW_HTTP_LISTEN_H

#include <stdbool.h>

#include "fw_err.h"

// Is listen_address of a form fw_http_listen() takes?
bool fw_http_listen_valid(const char *listen_address);

// Bind and listen (backlog 128, SO_REUSEADDR, close-on-exec). The socket, with the port
// bound in *port (may be NULL), or -1 with err naming the address.
int fw_http_listen(const char *listen_address, int *port, fw_err_t *err);

#endif
