/*  notifyd_req.c — see notifyd_req.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fw_mem.h"
#include "notifyd_req.h"

int
notifyd_req_header(struct notifyd_req *r, const char *name, const char *value)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->headers_len; i++)
        if (strncasecmp(r->headers[i], name, nl) == 0 && r->headers[i][nl] == ':') {
            free(r->headers[i]);
            r->headers[i] = fw_asprintf("%s: %s", name, value);
            return 0;
        }
    if (r->headers_len >= NOTIFYD_REQ_MAX_HEADERS)
        return -1;
    r->headers[r->headers_len++] = fw_asprintf("%s: %s", name, value);
    return 0;
}

void
notifyd_req_move(struct notifyd_req *dst, struct notifyd_req *src)
{
    if (dst == src)
        return;
    notifyd_req_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static void
s_free_secret(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

void
notifyd_req_clear(struct notifyd_req *r)
{
    struct notifyd_req_smtp *m = &r->smtp;
    free(m->from);
    for (size_t i = 0; m->rcpts && m->rcpts[i]; i++)
        free(m->rcpts[i]);
    free(m->rcpts);
    free(m->username);
    s_free_secret(m->password);
    free(m->authzid);
    free(m->ca_file);
    free(m->cert_file);
    free(m->key_file);
    free(m->smarthost);
    free(r->url);
    free(r->body);
    for (size_t i = 0; i < r->headers_len; i++)
        free(r->headers[i]);
    s_free_secret(r->key);
    free(r->failed);
    json_decref(r->http);
    if (r->then) {
        notifyd_req_clear(r->then);
        free(r->then);
    }
    memset(r, 0, sizeof *r);
}
