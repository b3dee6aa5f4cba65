/*  fw_url.c — see fw_url.h.
 */
#include <string.h>

#include "fw_mem.h"
#include "fw_url.h"

void
fw_url_query_escape(char **buf, size_t *len, size_t *cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    // At most three bytes a byte of s, and the NUL: one growth, not one a byte.
    fw_mem_grow((void **)buf, cap, *len + 3 * strlen(s) + 1, 1);
    char *o = *buf + *len;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else if (*p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    *len = (size_t)(o - *buf);
}

char *
fw_url_query_escaped(const char *s)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    fw_url_query_escape(&out, &len, &cap, s);
    return out;
}
