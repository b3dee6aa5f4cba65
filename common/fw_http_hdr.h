/*  fw_http_hdr.h — reading the response header lines an HTTP client gets one at a time
    (libcurl's CURLOPT_HEADERFUNCTION: each line with its CRLF, not NUL-terminated): the
    status line's code, and one header's value, trimmed. Used by tsdb's migrate (remote
    read) and Azure Blob clients; any daemon's client can use them. Pure functions: they
    never read past len.
*/
#ifndef FW_HTTP_HDR_H
#define FW_HTTP_HDR_H

#include <stdbool.h>
#include <stddef.h>

// The status code of a status line ("HTTP/1.1 503 Service Unavailable\r\n", "HTTP/2 200"):
// 100..999, or -1 when line[0..len) is no status line. Each response (a redirect, a 100
// Continue, the final one) starts with one: callers reset what they read of the last.
int fw_http_hdr_status(const char *line, size_t len);

// When line[0..len) is the header name (case-insensitive) with its colon, copy its value
// without the spaces, tabs, CR and LF around it into out[0..cap) (NUL-terminated, cut to
// fit) and return true; otherwise false, out untouched.
bool fw_http_hdr_value(const char *line, size_t len, const char *name, char *out, size_t cap);

#endif
