/*  notifyd_req.h — one HTTP request an integration builder produces: the URL to POST to,
    the body and any headers beyond Content-Type (application/json) and User-Agent, which
    the delivery actor (notifyd_webhook) always sends.
*/
#ifndef NOTIFYD_REQ_H
#define NOTIFYD_REQ_H

#include <stddef.h>

#define NOTIFYD_REQ_MAX_HEADERS 8

struct notifyd_req {
    char *url;                              // owned
    char *body;                             // owned
    char *headers[NOTIFYD_REQ_MAX_HEADERS]; // owned: "Name: value", NULL-padded
    size_t headers_len;
};

// Append "name: value" (copied); -1 when the request already has NOTIFYD_REQ_MAX_HEADERS.
int notifyd_req_header(struct notifyd_req *r, const char *name, const char *value);
// The headers joined by "\n" (a new string, "" for none), for the actor's pipe.
char *notifyd_req_headers_text(const struct notifyd_req *r);
void notifyd_req_clear(struct notifyd_req *r);

#endif
