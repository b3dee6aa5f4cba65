/*  fw_http_hdr.c — HTTP response header lines (see fw_http_hdr.h).
 */
#include "fw_http_hdr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
fw_http_hdr_status(const char *line, size_t len)
{
    if (len < 5 || strncasecmp(line, "HTTP/", 5) != 0)
        return -1;
    size_t i = 5;
    while (i < len && line[i] != ' ') // the version
        i++;
    while (i < len && line[i] == ' ')
        i++;
    int code = 0, digits = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && digits < 4; i++, digits++)
        code = code * 10 + (line[i] - '0');
    if (digits != 3 || (i < len && !s_space(line[i])) || code < 100)
        return -1;
    return code;
}

bool
fw_http_hdr_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    const char *v = line + n + 1;
    size_t vl = len - n - 1;
    while (vl > 0 && s_space(*v))
        v++, vl--;
    while (vl > 0 && s_space(v[vl - 1]))
        vl--;
    if (cap > 0)
        snprintf(out, cap, "%.*s", (int)vl, v);
    return true;
}
