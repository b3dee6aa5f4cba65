/*  notifyd_req.c — see notifyd_req.h. */
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "notifyd_req.h"

int
notifyd_req_header(struct notifyd_req *r, const char *name, const char *value)
{
    if (r->headers_len >= NOTIFYD_REQ_MAX_HEADERS)
        return -1;
    r->headers[r->headers_len++] = fw_asprintf("%s: %s", name, value);
    return 0;
}

char *
notifyd_req_headers_text(const struct notifyd_req *r)
{
    size_t n = 1;
    for (size_t i = 0; i < r->headers_len; i++)
        n += strlen(r->headers[i]) + 1;
    char *out = fw_calloc(1, n);
    for (size_t i = 0; i < r->headers_len; i++) {
        if (i)
            strcat(out, "\n");
        strcat(out, r->headers[i]);
    }
    return out;
}

void
notifyd_req_clear(struct notifyd_req *r)
{
    free(r->url);
    free(r->body);
    for (size_t i = 0; i < r->headers_len; i++)
        free(r->headers[i]);
    memset(r, 0, sizeof *r);
}
