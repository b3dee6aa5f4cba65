/*  ruled_tmpl.c — a Go-template subset for alert annotations and labels.

    The expander walks the text once. Literal text is copied; each {{ action }} is split into
    a pipeline of commands separated by '|', each command a list of words. The first
    command yields a value (an operand, or a function applied to its arguments); each later
    command is a function that receives the previous value as its last argument, as in Go.
    Values are either numbers or strings. Output goes to a growing buffer; an error stops
    the expansion and the caller decides what to show.
*/
#include "ruled_tmpl.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

#define S_MAX_WORDS 8

struct s_buf {
    char *data;
    size_t len, cap;
};

struct s_val {
    bool is_num;
    double num;
    char *str; // owned when !is_num
};

static void
s_buf_addn(struct s_buf *b, const char *s, size_t n)
{
    fw_mem_grow((void **)&b->data, &b->cap, b->len + n + 1, 1);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
s_buf_add(struct s_buf *b, const char *s)
{
    s_buf_addn(b, s, strlen(s));
}

// =================================================================================
//  Number formatting (Go's fmt and Prometheus's humanize functions)
// =================================================================================

// Go's %.4g: like C's, but NaN and infinities spelled as Go spells them.
static const char *
s_fmt_4g(double v, const char *suffix, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "NaN%s", suffix);
    else if (isinf(v))
        snprintf(buf, size, "%sInf%s", v > 0 ? "+" : "-", suffix);
    else
        snprintf(buf, size, "%.4g%s", v, suffix);
    return buf;
}

const char *
ruled_tmpl_format_value(double v, char *buf, size_t size)
{
    if (isnan(v) || isinf(v))
        return s_fmt_4g(v, "", buf, size);
    if (v == 0) {
        snprintf(buf, size, "%s", signbit(v) ? "-0" : "0");
        return buf;
    }
    // Shortest %e that reads back as v, then strconv's 'g' rule for the shortest
    // precision: exponent form when the decimal exponent is < -4 or >= 6 (1e+06).
    char tmp[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    const char *e = strchr(tmp, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 6)
        snprintf(buf, size, "%s", tmp);
    else
        snprintf(buf, size, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
    return buf;
}

const char *
ruled_tmpl_humanize(double v, char *buf, size_t size)
{
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    if (v == 0 || isnan(v) || isinf(v))
        return s_fmt_4g(v, "", buf, size);
    if (fabs(v) >= 1) {
        for (size_t i = 0; i < 8 && fabs(v) >= 1000; i++) {
            prefix = big[i];
            v /= 1000;
        }
    } else {
        for (size_t i = 0; i < 8 && fabs(v) < 1; i++) {
            prefix = small[i];
            v *= 1000;
        }
    }
    return s_fmt_4g(v, prefix, buf, size);
}

static const char *
s_humanize1024(double v, char *buf, size_t size)
{
    static const char *const big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    const char *prefix = "";
    if (fabs(v) <= 1 || isnan(v) || isinf(v))
        return s_fmt_4g(v, "", buf, size);
    for (size_t i = 0; i < 8 && fabs(v) >= 1024; i++) {
        prefix = big[i];
        v /= 1024;
    }
    return s_fmt_4g(v, prefix, buf, size);
}

const char *
ruled_tmpl_humanize_percentage(double v, char *buf, size_t size)
{
    return s_fmt_4g(v * 100, "%", buf, size);
}

const char *
ruled_tmpl_humanize_duration(double v, char *buf, size_t size)
{
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    if (isnan(v) || isinf(v))
        return s_fmt_4g(v, "", buf, size);
    if (v == 0)
        return s_fmt_4g(v, "s", buf, size);
    if (fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        v = fabs(v);
        long long d = (long long)v;
        long long secs = d % 60, mins = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400;
        if (days != 0)
            snprintf(buf, size, "%s%lldd %lldh %lldm %llds", sign, days, hours, mins, secs);
        else if (hours != 0)
            snprintf(buf, size, "%s%lldh %lldm %llds", sign, hours, mins, secs);
        else if (mins != 0)
            snprintf(buf, size, "%s%lldm %llds", sign, mins, secs);
        else
            snprintf(buf, size, "%s%.4gs", sign, v);
        return buf;
    }
    const char *prefix = "";
    for (size_t i = 0; i < 8 && fabs(v) < 1; i++) {
        prefix = small[i];
        v *= 1000;
    }
    snprintf(buf, size, "%.4g%ss", v, prefix);
    return buf;
}

// =================================================================================
//  Actions
// =================================================================================

static void
s_val_free(struct s_val *v)
{
    if (!v->is_num)
        free(v->str);
    v->str = NULL;
}

static void
s_val_str(struct s_val *v, const char *s)
{
    s_val_free(v);
    v->is_num = false;
    v->str = fw_strdup(s);
}

static void
s_val_num(struct s_val *v, double d)
{
    s_val_free(v);
    v->is_num = true;
    v->num = d;
}

// Text form of a value, as Go prints it with {{ }}.
static const char *
s_val_text(const struct s_val *v, char *buf, size_t size)
{
    return v->is_num ? ruled_tmpl_format_value(v->num, buf, size) : (v->str ? v->str : "");
}

// Numeric form, as Prometheus's convertToFloat: numbers, and strings that parse.
static int
s_val_float(const struct s_val *v, double *out, fw_err_t *err)
{
    if (v->is_num) {
        *out = v->num;
        return 0;
    }
    char *end = NULL;
    *out = strtod(v->str ? v->str : "", &end);
    if (!v->str || end == v->str || *end != '\0') {
        fw_err_set(err, "can't convert \"%s\" to float", v->str ? v->str : "");
        return -1;
    }
    return 0;
}

// Split an action into words: quoted strings stay one word (with their quotes).
static int
s_split_words(char *s, char **words, size_t *n, fw_err_t *err)
{
    *n = 0;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        if (*n == S_MAX_WORDS) {
            fw_err_set(err, "too many arguments");
            return -1;
        }
        words[(*n)++] = s;
        if (*s == '"' || *s == '`') {
            char q = *s++;
            while (*s && *s != q) {
                if (q == '"' && *s == '\\' && s[1])
                    s++;
                s++;
            }
            if (*s != q) {
                fw_err_set(err, "unterminated quoted string");
                return -1;
            }
            s++;
        } else {
            while (*s && !isspace((unsigned char)*s))
                s++;
        }
        if (*s)
            *s++ = '\0';
    }
    return 0;
}

// Unquote a string literal word into a new string.
static char *
s_unquote(const char *w)
{
    size_t n = strlen(w);
    char *out = fw_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        if (w[0] == '"' && w[i] == '\\' && i + 2 < n) {
            i++;
            char c = w[i];
            out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
            out[o++] = w[i];
        }
    }
    out[o] = '\0';
    return out;
}

static const char *
s_label(const struct fw_labels *l, const char *name)
{
    const char *v = l ? fw_labels_get(l, name) : NULL;
    return v ? v : "<no value>";
}

// Evaluate one operand word into v.
static int
s_operand(const char *w, const struct ruled_tmpl_data *d, struct s_val *v, fw_err_t *err)
{
    if (w[0] == '"' || w[0] == '`') {
        char *s = s_unquote(w);
        s_val_str(v, s);
        free(s);
        return 0;
    }
    if (strncmp(w, "$labels.", 8) == 0 || strncmp(w, ".Labels.", 8) == 0) {
        s_val_str(v, s_label(d->labels, w + 8));
        return 0;
    }
    if (strncmp(w, "$externalLabels.", 16) == 0 || strncmp(w, ".ExternalLabels.", 16) == 0) {
        s_val_str(v, s_label(d->external_labels, w + 16));
        return 0;
    }
    if (strcmp(w, "$value") == 0 || strcmp(w, ".Value") == 0) {
        s_val_num(v, d->value);
        return 0;
    }
    if (strcmp(w, "$externalURL") == 0 || strcmp(w, ".ExternalURL") == 0) {
        s_val_str(v, d->external_url ? d->external_url : "");
        return 0;
    }
    char *end = NULL;
    double num = strtod(w, &end);
    if (end != w && *end == '\0' &&
        (isdigit((unsigned char)w[0]) || w[0] == '-' || w[0] == '+' || w[0] == '.')) {
        s_val_num(v, num);
        return 0;
    }
    fw_err_set(err, "unsupported operand \"%s\"", w);
    return -1;
}

// Append literal printf text, turning "%%" into "%".
static void
s_buf_add_literal(struct s_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 1 < n && s[i + 1] == '%')
            i++;
        s_buf_addn(b, &s[i], 1);
    }
}

// printf with a single verb applied to one value.
static int
s_printf(const char *fmt, const struct s_val *arg, struct s_buf *out, fw_err_t *err)
{
    char buf[512];
    const char *p = strchr(fmt, '%');
    while (p && p[1] == '%')
        p = strchr(p + 2, '%');
    if (!p) {
        s_buf_add_literal(out, fmt, strlen(fmt));
        return 0;
    }
    size_t spec = strspn(p + 1, "0123456789.-+ #");
    char verb = p[1 + spec];
    if (spec > 20 || !strchr("sdvfgeqx", verb)) {
        fw_err_set(err, "printf: unsupported verb in \"%s\"", fmt);
        return -1;
    }
    s_buf_add_literal(out, fmt, (size_t)(p - fmt));
    // Width and precision only (flags: '-' left-aligns), with literal formats throughout.
    const char *q = p + 1;
    bool left = false;
    while (strchr("-+ #0", *q) && *q) {
        left |= *q == '-';
        q++;
    }
    int width = 0, precision = -1;
    while (isdigit((unsigned char)*q))
        width = width * 10 + (*q++ - '0');
    if (*q == '.') {
        precision = 0;
        q++;
        while (isdigit((unsigned char)*q))
            precision = precision * 10 + (*q++ - '0');
    }
    if (left)
        width = -width;
    double num = 0;
    char tb[64];
    switch (verb) {
    case 's':
    case 'v': snprintf(buf, sizeof(buf), "%*s", width, s_val_text(arg, tb, sizeof(tb))); break;
    case 'q': snprintf(buf, sizeof(buf), "\"%s\"", s_val_text(arg, tb, sizeof(tb))); break;
    case 'd':
        if (s_val_float(arg, &num, err) < 0)
            return -1;
        snprintf(buf, sizeof(buf), "%*lld", width, (long long)num);
        break;
    case 'x':
        if (s_val_float(arg, &num, err) < 0)
            return -1;
        snprintf(buf, sizeof(buf), "%*llx", width, (unsigned long long)(long long)num);
        break;
    default:
        if (s_val_float(arg, &num, err) < 0)
            return -1;
        if (precision < 0)
            precision = 6;
        if (verb == 'f')
            snprintf(buf, sizeof(buf), "%*.*f", width, precision, num);
        else if (verb == 'e')
            snprintf(buf, sizeof(buf), "%*.*e", width, precision, num);
        else
            snprintf(buf, sizeof(buf), "%*.*g", width, precision, num);
        break;
    }
    s_buf_add(out, buf);
    // Text after the verb; a second verb would have no argument.
    const char *rest = p + 2 + spec;
    for (const char *r = rest; (r = strchr(r, '%')) != NULL; r += 2) {
        if (r[1] != '%') {
            fw_err_set(err, "printf: more verbs than arguments in \"%s\"", fmt);
            return -1;
        }
    }
    s_buf_add_literal(out, rest, strlen(rest));
    return 0;
}

// Apply function `fn` to args (already evaluated); the result goes to v.
static int
s_call(const char *fn, struct s_val *args, size_t nargs, struct s_val *v, fw_err_t *err)
{
    char buf[128];
    double num = 0;
    if (strcmp(fn, "printf") == 0) {
        if (nargs < 1 || args[0].is_num) {
            fw_err_set(err, "printf: needs a format string");
            return -1;
        }
        struct s_buf out = {0};
        s_buf_add(&out, "");
        int rc = nargs >= 2 ? s_printf(args[0].str, &args[nargs - 1], &out, err) : 0;
        if (nargs < 2)
            s_buf_add_literal(&out, args[0].str, strlen(args[0].str));
        if (rc == 0)
            s_val_str(v, out.data);
        free(out.data);
        return rc;
    }
    if (nargs != 1) {
        fw_err_set(err, "wrong number of args for %s: want 1 got %zu", fn, nargs);
        return -1;
    }
    if (strcmp(fn, "toUpper") == 0 || strcmp(fn, "toLower") == 0) {
        char tb[64];
        char *s = fw_strdup(s_val_text(&args[0], tb, sizeof(tb)));
        for (char *c = s; *c; c++)
            *c = (char)(fn[2] == 'U' ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
        s_val_str(v, s);
        free(s);
        return 0;
    }
    if (s_val_float(&args[0], &num, err) < 0)
        return -1;
    if (strcmp(fn, "humanize") == 0)
        s_val_str(v, ruled_tmpl_humanize(num, buf, sizeof(buf)));
    else if (strcmp(fn, "humanize1024") == 0)
        s_val_str(v, s_humanize1024(num, buf, sizeof(buf)));
    else if (strcmp(fn, "humanizePercentage") == 0)
        s_val_str(v, ruled_tmpl_humanize_percentage(num, buf, sizeof(buf)));
    else if (strcmp(fn, "humanizeDuration") == 0)
        s_val_str(v, ruled_tmpl_humanize_duration(num, buf, sizeof(buf)));
    else {
        fw_err_set(err, "function \"%s\" not supported", fn);
        return -1;
    }
    return 0;
}

static bool
s_is_func(const char *w)
{
    return isalpha((unsigned char)w[0]) != 0;
}

// Evaluate one command of a pipeline. prev (may be NULL) is the piped-in value.
static int
s_command(char *cmd, const struct ruled_tmpl_data *d, struct s_val *prev, struct s_val *v,
          fw_err_t *err)
{
    char *words[S_MAX_WORDS];
    size_t n = 0;
    if (s_split_words(cmd, words, &n, err) < 0)
        return -1;
    if (n == 0) {
        fw_err_set(err, "missing value for command");
        return -1;
    }
    if (!s_is_func(words[0])) {
        if (n > 1 || prev) {
            fw_err_set(err, "can't give argument to non-function %s", words[0]);
            return -1;
        }
        return s_operand(words[0], d, v, err);
    }
    static const char *const control[] = {"if",    "else",     "end",      "range",
                                          "with",  "define",   "template", "block",
                                          "break", "continue", NULL};
    for (size_t i = 0; control[i]; i++) {
        if (strcmp(words[0], control[i]) == 0) {
            fw_err_set(err, "template action \"%s\" is not supported", words[0]);
            return -1;
        }
    }
    struct s_val args[S_MAX_WORDS + 1];
    memset(args, 0, sizeof(args));
    size_t nargs = 0;
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        rc = s_operand(words[i], d, &args[nargs++], err);
    if (rc == 0 && prev) {
        args[nargs] = *prev;
        if (!prev->is_num)
            args[nargs].str = fw_strdup(prev->str);
        nargs++;
    }
    if (rc == 0)
        rc = s_call(words[0], args, nargs, v, err);
    for (size_t i = 0; i < nargs; i++)
        s_val_free(&args[i]);
    return rc;
}

// Split a pipeline at '|' outside quotes and evaluate it into out.
static int
s_pipeline(char *act, const struct ruled_tmpl_data *d, struct s_buf *out, fw_err_t *err)
{
    struct s_val cur = {.is_num = true};
    bool have = false;
    char *start = act;
    char q = 0;
    for (char *p = act;; p++) {
        if (q) {
            if (*p == '\\' && q == '"' && p[1])
                p++;
            else if (*p == q)
                q = 0;
            if (*p)
                continue;
        }
        if (*p == '"' || *p == '`') {
            q = *p;
            continue;
        }
        if (*p != '|' && *p != '\0')
            continue;
        bool last = *p == '\0';
        *p = '\0';
        struct s_val next = {.is_num = true};
        int rc = s_command(start, d, have ? &cur : NULL, &next, err);
        s_val_free(&cur);
        if (rc < 0) {
            s_val_free(&next);
            return -1;
        }
        cur = next;
        have = true;
        if (last)
            break;
        start = p + 1;
    }
    char tb[64];
    s_buf_add(out, s_val_text(&cur, tb, sizeof(tb)));
    s_val_free(&cur);
    return 0;
}

// Find the "}}" closing an action that starts at s (just after "{{"), skipping quotes.
static const char *
s_action_end(const char *s)
{
    char q = 0;
    for (const char *p = s; *p; p++) {
        if (q) {
            if (*p == '\\' && q == '"' && p[1])
                p++;
            else if (*p == q)
                q = 0;
        } else if (*p == '"' || *p == '`') {
            q = *p;
        } else if (p[0] == '}' && p[1] == '}') {
            return p;
        }
    }
    return NULL;
}

char *
ruled_tmpl_expand(const char *text, const struct ruled_tmpl_data *data, fw_err_t *err)
{
    struct s_buf out = {0};
    s_buf_add(&out, "");
    const char *p = text;
    bool trim_next = false;
    while (*p) {
        const char *open = strstr(p, "{{");
        size_t lit = open ? (size_t)(open - p) : strlen(p);
        const char *ls = p;
        if (trim_next)
            while (lit > 0 && isspace((unsigned char)*ls))
                ls++, lit--;
        bool trim_prev = open && open[2] == '-' && isspace((unsigned char)open[3]);
        if (trim_prev)
            while (lit > 0 && isspace((unsigned char)ls[lit - 1]))
                lit--;
        s_buf_addn(&out, ls, lit);
        if (!open)
            break;
        const char *body = open + 2 + (trim_prev ? 1 : 0);
        const char *close = s_action_end(body);
        if (!close) {
            fw_err_set_at(err, NULL, 0, (int)(open - text) + 1, "unclosed action");
            goto fail;
        }
        const char *bend = close;
        trim_next =
            bend > body && bend[-1] == '-' && bend - 1 > body && isspace((unsigned char)bend[-2]);
        if (trim_next)
            bend--;
        char *act = fw_strndup(body, (size_t)(bend - body));
        char *a = act;
        while (isspace((unsigned char)*a))
            a++;
        int rc = 0;
        if (strncmp(a, "/*", 2) != 0)
            rc = s_pipeline(a, data, &out, err);
        free(act);
        if (rc < 0)
            goto fail;
        p = close + 2;
    }
    return out.data;
fail:
    free(out.data);
    return NULL;
}

static bool
s_var_known(const char *name, size_t n, char declared[][64], size_t ndeclared)
{
    static const char *const known[] = {"",  "labels", "value", "externalLabels", "externalURL",
                                        NULL};
    for (size_t i = 0; known[i]; i++)
        if (strlen(known[i]) == n && strncmp(known[i], name, n) == 0)
            return true;
    for (size_t i = 0; i < ndeclared; i++)
        if (strlen(declared[i]) == n && strncmp(declared[i], name, n) == 0)
            return true;
    return false;
}

int
ruled_tmpl_check(const char *text, fw_err_t *err)
{
    char declared[16][64];
    size_t ndeclared = 0;
    // Pass 1: declared variables ($x := ..., range $i, $x := ...).
    for (const char *p = text; (p = strchr(p, '$')) != NULL; p++) {
        size_t n = 0;
        while (isalnum((unsigned char)p[1 + n]) || p[1 + n] == '_')
            n++;
        const char *after = p + 1 + n;
        while (*after == ' ')
            after++;
        if (n > 0 && n < 64 && ndeclared < 16 &&
            (strncmp(after, ":=", 2) == 0 || (*after == ',' && strstr(after, ":=")))) {
            memcpy(declared[ndeclared], p + 1, n);
            declared[ndeclared++][n] = '\0';
        }
    }
    // Pass 2: actions closed, variables used inside actions defined.
    const char *p = text;
    while ((p = strstr(p, "{{")) != NULL) {
        const char *close = s_action_end(p + 2);
        if (!close) {
            fw_err_set_at(err, NULL, 0, (int)(p - text) + 1, "unclosed action");
            return -1;
        }
        for (const char *v = p + 2; v < close; v++) {
            if (*v == '"' || *v == '`') {
                const char *q = strchr(v + 1, *v);
                if (!q || q > close)
                    break;
                v = q;
                continue;
            }
            if (*v != '$')
                continue;
            size_t n = 0;
            while (isalnum((unsigned char)v[1 + n]) || v[1 + n] == '_')
                n++;
            if (!s_var_known(v + 1, n, declared, ndeclared)) {
                fw_err_set_at(err, NULL, 0, (int)(v - text) + 1, "undefined variable \"$%.*s\"",
                              (int)n, v + 1);
                return -1;
            }
            v += n;
        }
        p = close + 2;
    }
    return 0;
}
