/*  fw_tmpl_tree.c — fw_tmpl's parse tree: Go literals decoded for it (strings, characters,
    numbers as Go's idealConstant gives them to an interface{} parameter), and freeing.
*/
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_tmpl_int.h"

// Decode a Go string or character literal (quotes included in t). -1 on a bad escape.
int
fw_tmpl_unquote(const char *s, size_t n, fw_tmpl_buf_t *out)
{
    if (s[0] == '`') {
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] != '\r')
                fw_tmpl_buf_add(out, s + i, 1);
        return 0;
    }
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c != '\\') {
            fw_tmpl_buf_add(out, &c, 1);
            continue;
        }
        c = s[++i];
        const char *map = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''";
        const char *m = strchr(map, c);
        if (m && (m - map) % 2 == 0 && c) {
            fw_tmpl_buf_add(out, m + 1, 1);
            continue;
        }
        unsigned long cp = 0;
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : (c >= '0' && c <= '7') ? 3 : 0;
        if (!digits)
            return -1;
        int base = c >= '0' && c <= '7' ? 8 : 16;
        if (base == 8)
            i--;
        for (int d = 0; d < digits; d++) {
            char h = s[++i];
            if (i + 1 >= n || !isxdigit((unsigned char)h) || (base == 8 && (h < '0' || h > '7')))
                return -1;
            cp = cp * (unsigned long)base +
                 (unsigned long)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
        }
        if (c == 'x' || base == 8) {
            if (cp > 255)
                return -1;
            char ch = (char)cp;
            fw_tmpl_buf_add(out, &ch, 1);
            continue;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return -1;
        char u[4];
        fw_tmpl_buf_add(out, u, fw_utf8_put((uint32_t)cp, u));
    }
    return 0;
}

// A number literal as Go's idealConstant gives it to an interface{} parameter.
json_t *
fw_tmpl_number(const char *s, size_t n)
{
    char buf[128];
    size_t k = 0;
    if (n >= sizeof(buf))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            buf[k++] = s[i];
    buf[k] = '\0';
    const char *d = buf + (buf[0] == '+' || buf[0] == '-');
    bool hex = d[0] == '0' && (d[1] == 'x' || d[1] == 'X');
    bool is_float = hex ? strpbrk(d, ".pP") != NULL : strpbrk(d, ".eE") != NULL;
    char *end;
    errno = 0;
    if (!is_float) {
        int base = 10;
        const char *digits = d;
        if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
            base = 16, digits = d + 2;
        else if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O'))
            base = 8, digits = d + 2;
        else if (d[0] == '0' && (d[1] == 'b' || d[1] == 'B'))
            base = 2, digits = d + 2;
        else if (d[0] == '0' && d[1])
            base = 8, digits = d + 1;
        if (!*digits)
            return NULL;
        long long v = strtoll(digits, &end, base);
        if (*end || errno)
            return NULL;
        return json_integer(buf[0] == '-' ? -v : v);
    }
    double v = strtod(buf, &end);
    if (*end || (errno && v != 0))
        return NULL;
    return json_real(v);
}

void
fw_tmpl_arg_free(struct fw_tmpl_arg *a)
{
    free(a->name);
    for (int i = 0; i < a->nchain; i++)
        free(a->chain[i]);
    free(a->chain);
    json_decref(a->lit);
    fw_tmpl_pipe_free(a->pipe);
    free(a->text);
}

void
fw_tmpl_pipe_free(struct fw_tmpl_pipe *pp)
{
    if (!pp)
        return;
    for (int i = 0; i < pp->nvars; i++)
        free(pp->vars[i]);
    for (int c = 0; c < pp->ncmds; c++) {
        for (int a = 0; a < pp->cmds[c].nargs; a++)
            fw_tmpl_arg_free(&pp->cmds[c].args[a]);
        free(pp->cmds[c].args);
    }
    free(pp->cmds);
    free(pp);
}

bool
fw_tmpl_list_empty(const struct fw_tmpl_node *n)
{
    for (; n; n = n->next) {
        if (n->kind != FW_TMPL_NODE_TEXT)
            return false;
        for (size_t i = 0; i < n->len; i++)
            if (!strchr(" \t\r\n", n->text[i]))
                return false;
    }
    return true;
}

void
fw_tmpl_list_free(struct fw_tmpl_node *n)
{
    while (n) {
        struct fw_tmpl_node *next = n->next;
        free(n->text);
        fw_tmpl_pipe_free(n->pipe);
        fw_tmpl_list_free(n->list);
        fw_tmpl_list_free(n->alt);
        free(n);
        n = next;
    }
}

void
fw_tmpl_trees_free(struct fw_tmpl_tree *t)
{
    while (t) {
        struct fw_tmpl_tree *next = t->next;
        fw_tmpl_list_free(t->root);
        free(t->name);
        free(t->parse_name);
        if (--*t->src_refs == 0) {
            free(t->src);
            free(t->src_refs);
        }
        free(t);
        t = next;
    }
}
