/*  alertd_matcher.c — parse, compile and apply Alertmanager label matchers.

    The parser is a small hand-written scanner over one `matchers:` entry rather than a
    regex, so it can report the column of the problem and handle quoted values holding
    commas or braces. Regexes are compiled once through fw_regex (RE2, Alertmanager's own
    engine), anchored as ^(?:re)$ (Alertmanager's rule); a match always decides, in time
    linear in the value, so a hostile pattern can neither hang alertd nor fail to match.
*/
#include <stdlib.h>
#include <string.h>

#include "alertd_matcher.h"
#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_names.h"

int
alertd_regex_check(const char *re, fw_err_t *err)
{
    fw_regex_t *c = fw_regex_new(re, FW_REGEX_ALERTMANAGER, err);
    if (!c)
        return -1;
    fw_regex_destroy(&c);
    return 0;
}

int
alertd_matchers_add(struct alertd_matchers *ms, fw_match_op_t op, const char *name,
                    const char *value, fw_err_t *err)
{
    struct fw_matcher m;
    if (fw_matcher_init(&m, op, name, value, FW_REGEX_ALERTMANAGER, err) != 0)
        return -1;
    fw_mem_grow((void **)&ms->items, &ms->cap, ms->len + 1, sizeof *ms->items);
    ms->items[ms->len++] = m;
    return 0;
}

void
alertd_matchers_clear(struct alertd_matchers *ms)
{
    for (size_t i = 0; i < ms->len; i++)
        fw_matcher_clear(&ms->items[i]);
    free(ms->items);
    ms->items = NULL;
    ms->len = ms->cap = 0;
}

void
alertd_matchers_copy(struct alertd_matchers *dst, const struct alertd_matchers *src)
{
    fw_mem_grow((void **)&dst->items, &dst->cap, dst->len + src->len, sizeof *dst->items);
    for (size_t i = 0; i < src->len; i++)
        fw_matcher_copy(&dst->items[dst->len++], &src->items[i]);
}

// --- matching ---

bool
alertd_matchers_match(const struct alertd_matchers *ms, const struct fw_labels *l)
{
    return fw_matchers_match(ms->items, ms->len, l);
}

static int
s_cmp(const void *a, const void *b)
{
    const struct fw_matcher *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->value, y->value);
    if (c)
        return c;
    return (int)x->op - (int)y->op;
}

void
alertd_matchers_sort(struct alertd_matchers *ms)
{
    if (ms->len > 1)
        qsort(ms->items, ms->len, sizeof *ms->items, s_cmp);
}

char *
alertd_quote_append(char *buf, const char *s)
{
    size_t n = strlen(buf), cap = n + strlen(s) * 4 + 3;
    buf = fw_realloc(buf, cap);
    char *p = buf + n;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;
        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;
        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;
        case '\r':
            *p++ = '\\';
            *p++ = 'r';
            break;
        case '\t':
            *p++ = '\\';
            *p++ = 't';
            break;
        default:
            if (*c < 0x20 || *c == 0x7f) {
                static const char hex[] = "0123456789abcdef";
                *p++ = '\\';
                *p++ = 'x';
                *p++ = hex[*c >> 4];
                *p++ = hex[*c & 15];
            } else {
                *p++ = (char)*c;
            }
        }
    }
    *p++ = '"';
    *p = '\0';
    return buf;
}

char *
alertd_matchers_format(const struct alertd_matchers *ms)
{
    char *buf = fw_strdup("{");
    for (size_t i = 0; i < ms->len; i++) {
        const struct fw_matcher *m = &ms->items[i];
        // a UTF-8 name is quoted, as Alertmanager 0.27+ prints it, so the text parses back
        bool legacy = fw_label_name_valid(m->name);
        char *pre = fw_asprintf("%s%s%s", buf, i ? "," : "", legacy ? m->name : "");
        free(buf);
        if (!legacy)
            pre = alertd_quote_append(pre, m->name);
        buf = fw_asprintf("%s%s", pre, fw_match_op_str(m->op));
        free(pre);
        buf = alertd_quote_append(buf, m->value);
    }
    char *out = fw_asprintf("%s}", buf);
    free(buf);
    return out;
}

// --- parsing ---

static const char *
s_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

// Read a double-quoted string starting at *pp (on the quote); returns a new string or NULL.
static char *
s_read_quoted(const char **pp)
{
    const char *p = *pp + 1;
    size_t len = strlen(p);
    char *out = fw_malloc(len + 1), *o = out;
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case '\\': *o++ = '\\'; break;
        case '"': *o++ = '"'; break;
        case '\'': *o++ = '\''; break;
        case '\0': free(out); return NULL;
        default:
            *o++ = '\\';
            *o++ = *p;
            break;
        }
    }
    if (*p != '"') {
        free(out);
        return NULL;
    }
    *o = '\0';
    *pp = p + 1;
    return out;
}

int
alertd_matchers_parse(struct alertd_matchers *ms, const char *text, fw_err_t *err)
{
    const char *p = s_skip_ws(text);
    bool braces = false;
    char *name = NULL, *value = NULL;
    if (*p == '{') {
        braces = true;
        p++;
    }
    size_t added = 0;
    for (;;) {
        p = s_skip_ws(p);
        if (*p == '\0' || (braces && *p == '}'))
            break;
        const char *start = p;
        if (*p == '"') {
            name = s_read_quoted(&p);
            if (!name)
                goto bad_quote;
        } else {
            while (*p && !strchr("=!~,{}\" \t\r\n", *p))
                p++;
            name = fw_strndup(start, (size_t)(p - start));
        }
        if (!*name || !fw_names_label_valid(name, FW_NAMES_UTF8)) {
            fw_err_set_at(err, NULL, 0, (int)(start - text) + 1,
                          "bad matcher format: %s: expected a label name", text);
            goto fail;
        }
        p = s_skip_ws(p);
        fw_match_op_t type;
        if (strncmp(p, "=~", 2) == 0) {
            type = FW_MATCH_RE;
            p += 2;
        } else if (strncmp(p, "!~", 2) == 0) {
            type = FW_MATCH_NRE;
            p += 2;
        } else if (strncmp(p, "!=", 2) == 0) {
            type = FW_MATCH_NE;
            p += 2;
        } else if (*p == '=') {
            type = FW_MATCH_EQ;
            p++;
        } else {
            fw_err_set_at(err, NULL, 0, (int)(p - text) + 1,
                          "bad matcher format: %s: expected an operator (=, !=, =~, !~)", text);
            goto fail;
        }
        p = s_skip_ws(p);
        if (*p == '"') {
            start = p;
            value = s_read_quoted(&p);
            if (!value)
                goto bad_quote;
        } else {
            start = p;
            while (*p && *p != ',' && !(braces && *p == '}'))
                p++;
            const char *end = p;
            while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            value = fw_strndup(start, (size_t)(end - start));
        }
        fw_err_t rerr;
        fw_err_clear(&rerr);
        if (alertd_matchers_add(ms, type, name, value, &rerr) < 0) {
            fw_err_set_at(err, NULL, 0, (int)(start - text) + 1, "%s", rerr.msg);
            goto fail;
        }
        added++;
        free(name);
        free(value);
        name = value = NULL;
        p = s_skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0' || (braces && *p == '}'))
            break;
        fw_err_set_at(err, NULL, 0, (int)(p - text) + 1, "bad matcher format: %s: unexpected '%c'",
                      text, *p);
        goto fail;
    }
    if (braces) {
        if (*p != '}') {
            fw_err_set_at(err, NULL, 0, (int)(p - text) + 1,
                          "bad matcher format: %s: missing closing '}'", text);
            goto fail;
        }
        p = s_skip_ws(p + 1);
        if (*p) {
            fw_err_set_at(err, NULL, 0, (int)(p - text) + 1,
                          "bad matcher format: %s: text after '}'", text);
            goto fail;
        }
    }
    if (added == 0 && !braces) {
        fw_err_set_at(err, NULL, 0, 1, "bad matcher format: empty matcher");
        return -1;
    }
    return 0;
bad_quote:
    fw_err_set_at(err, NULL, 0, (int)(p - text) + 1,
                  "bad matcher format: %s: unterminated quoted string", text);
fail:
    free(name);
    free(value);
    return -1;
}
