/*  fw_tmpl_funcs.c — Go's builtin template functions, fmt's %v printing and Sprintf over JSON
    values (see fw_tmpl.h for the value model).
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_json_out.h"
#include "fw_mem.h"
#include "fw_tmpl_int.h"

// Sprintf builds C formats from the template's verbs and flags (checked: only flags, a
// precision and one verb of the right type each).
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void
fw_tmpl_buf_add(fw_tmpl_buf_t *b, const char *s, size_t n)
{
    fw_mem_grow((void **)&b->s, &b->cap, b->len + n + 1, 1);
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
s_adds(fw_tmpl_buf_t *b, const char *s)
{
    fw_tmpl_buf_add(b, s, strlen(s));
}

const char *
fw_tmpl_type_name(const json_t *v)
{
    if (!v || json_is_null(v))
        return "<nil>";
    switch (json_typeof(v)) {
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float64";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_ARRAY: return "[]interface {}";
    default: return "map[string]interface {}";
    }
}

bool
fw_tmpl_truth(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0;
    case JSON_TRUE: return true;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_OBJECT: // safeHtml's template.HTML is a Go string
        if (json_object_size(v) == 1 && json_is_string(json_object_get(v, "\x01html")))
            return json_string_length(json_object_get(v, "\x01html")) > 0;
        return json_object_size(v) > 0;
    default: return false;
    }
}

static int
s_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
fw_tmpl_print(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, const json_t *v)
{
    char num[64];
    if (!v) {
        s_adds(b, "<no value>");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: fw_tmpl_buf_add(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        s_adds(b, num);
        break;
    case JSON_REAL: s_adds(b, fw_gofloat_format(json_real_value(v), 'g', num, sizeof(num))); break;
    case JSON_TRUE: s_adds(b, "true"); break;
    case JSON_FALSE: s_adds(b, "false"); break;
    case JSON_NULL: s_adds(b, "<nil>"); break;
    case JSON_ARRAY:
        s_adds(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                s_adds(b, " ");
            fw_tmpl_print(set, b, json_array_get(v, i));
        }
        s_adds(b, "]");
        break;
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        json_t *pn = json_object_get(v, "Name"), *pv = json_object_get(v, "Value");
        json_t *safe = json_object_get(v, "\x01html");
        if (n == 1 && json_is_string(safe)) { // safeHtml's value (html/template's HTML type)
            fw_tmpl_print(set, b, safe);
            break;
        }
        const struct fw_tmpl_struct *st = set ? fw_tmpl_set_struct_of(set, v) : NULL;
        if (st) { // a Go struct: its fields' values in declaration order, {a b c}
            s_adds(b, "{");
            for (size_t i = 0; i < st->nfields; i++) {
                if (i)
                    s_adds(b, " ");
                fw_tmpl_print(set, b, json_object_get(v, st->fields[i]));
            }
            s_adds(b, "}");
            break;
        }
        if (n == 2 && json_is_string(pn) && json_is_string(pv)) {
            // Alertmanager's template.Pair, a Go struct: {name value}
            s_adds(b, "{");
            fw_tmpl_print(set, b, pn);
            s_adds(b, " ");
            fw_tmpl_print(set, b, pv);
            s_adds(b, "}");
            break;
        }
        const char **keys = fw_calloc(n + 1, sizeof(char *));
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, n, sizeof(char *), s_keycmp);
        s_adds(b, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                s_adds(b, " ");
            s_adds(b, keys[i]);
            s_adds(b, ":");
            fw_tmpl_print(set, b, json_object_get(v, keys[i]));
        }
        s_adds(b, "]");
        free(keys);
        break;
    }
    }
}

// A value of Go's string kind: a string, or safeHtml's template.HTML (Sprint puts no space
// next to one).
static bool
s_is_go_string(const json_t *v)
{
    return json_is_string(v) || (json_is_object(v) && json_object_size(v) == 1 &&
                                 json_is_string(json_object_get(v, "\x01html")));
}

void
fw_tmpl_sprint(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, json_t *const *args, size_t nargs,
               bool ln)
{
    s_adds(b, "");
    for (size_t i = 0; i < nargs; i++) {
        // Sprint: a space between operands when neither is a string; Sprintln: always
        if (i > 0 && (ln || (!s_is_go_string(args[i]) && !s_is_go_string(args[i - 1]))))
            s_adds(b, " ");
        if (!args[i] || json_is_null(args[i]))
            s_adds(b, "<nil>");
        else
            fw_tmpl_print(set, b, args[i]);
    }
    if (ln)
        s_adds(b, "\n");
}

// ---- builtins ----

#define S_FN(name)                                                                                 \
    static int name(void *user, json_t *const *a, size_t n, json_t **res, char *e, size_t es)

static json_t *
s_take(fw_tmpl_buf_t *b)
{
    json_t *s = json_stringn_nocheck(b->s ? b->s : "", b->len);
    free(b->s);
    return s;
}

S_FN(s_not)
{
    (void)user, (void)n, (void)e, (void)es;
    *res = json_boolean(!fw_tmpl_truth(a[0]));
    return 0;
}

// safeHtml's template.HTML is a Go string: its text, else v.
static const json_t *
s_unsafe(const json_t *v)
{
    const json_t *s =
        json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, "\x01html") : NULL;
    return s ? s : v;
}

// Go's basicKind: 0 for the kinds it cannot compare (nil, slices, maps, structs).
static int
s_kind(const json_t *v)
{
    v = s_unsafe(v);
    return json_is_boolean(v)   ? 1
           : json_is_integer(v) ? 2
           : json_is_real(v)    ? 3
           : json_is_string(v)  ? 4
                                : 0;
}

// Go 1.19's eq/lt: -2 incompatible, -3 invalid type, else -1/0/1 (2: unordered NaN). lt
// refuses a non-basic operand before it compares kinds; eq lets nil equal only nil and
// refuses two values of different kinds.
static int
s_cmp(const json_t *x, const json_t *y, bool ordered)
{
    int kx = s_kind(x), ky = s_kind(y);
    bool xn = !x || json_is_null(x), yn = !y || json_is_null(y);
    if (ordered && (!kx || !ky))
        return -3;
    if (kx != ky)
        return ordered || (!xn && !yn) ? -2 : 1;
    if (!kx) // Go: nil against nil or a value; two non-nil composites are not comparable
        return xn || yn ? (xn && yn ? 0 : 1) : -4;
    if (kx == 1) {
        if (ordered)
            return -3;
        return json_is_true(x) == json_is_true(y) ? 0 : 1;
    }
    if (kx == 4) {
        int c = strcmp(json_string_value(s_unsafe(x)), json_string_value(s_unsafe(y)));
        return c < 0 ? -1 : c > 0;
    }
    if (json_is_integer(x)) {
        json_int_t p = json_integer_value(x), q = json_integer_value(y);
        return p < q ? -1 : p > q;
    }
    double p = json_real_value(x), q = json_real_value(y);
    return p < q ? -1 : p > q ? 1 : p == q ? 0 : 2;
}

// -4: Go's eq on two slices, maps or structs, naming them (x of the first, y the other)
static int
s_cmp_err(const fw_tmpl_set_t *set, int c, const json_t *x, const json_t *y, char *e, size_t es)
{
    if (c != -4 || !set) {
        snprintf(e, es, "%s",
                 c == -2 ? "incompatible types for comparison" : "invalid type for comparison");
        return -1;
    }
    fw_tmpl_buf_t px = {0}, py = {0};
    fw_tmpl_print(set, &px, x);
    fw_tmpl_print(set, &py, y);
    fw_tmpl_buf_add(&px, "", 0);
    fw_tmpl_buf_add(&py, "", 0);
    if (json_typeof(x) != json_typeof(y)) // Go's canCompare: kinds differ
        snprintf(e, es, "non-comparable types %s: %s, %s: %s", px.s, fw_tmpl_set_type_name(set, x),
                 fw_tmpl_set_type_name(set, y), py.s);
    else
        snprintf(e, es, "non-comparable type %s: %s", py.s, fw_tmpl_set_type_name(set, y));
    free(px.s);
    free(py.s);
    return -1;
}

S_FN(s_eq)
{
    (void)user;
    if (n < 2) {
        snprintf(e, es, "missing argument for comparison");
        return -1;
    }
    bool any = false;
    for (size_t i = 1; i < n && !any; i++) {
        int c = s_cmp(a[0], a[i], false);
        if (c <= -2)
            return s_cmp_err(user, c, a[0], a[i], e, es);
        any = c == 0;
    }
    *res = json_boolean(any);
    return 0;
}

S_FN(s_ne)
{
    (void)n;
    int c = s_cmp(a[0], a[1], false);
    if (c <= -2)
        return s_cmp_err(user, c, a[0], a[1], e, es);
    *res = json_boolean(c != 0);
    return 0;
}

static int
s_order(json_t *const *a, json_t **res, char *e, size_t es, int want)
{
    int c = s_cmp(a[0], a[1], true);
    if (c <= -2)
        return s_cmp_err(NULL, c, a[0], a[1], e, es);
    bool r = want == 0   ? c == -1
             : want == 1 ? (c == -1 || c == 0)
             : want == 2 ? c == 1
                         : (c == 1 || c == 0);
    *res = json_boolean(r);
    return 0;
}

S_FN(s_lt)
{
    (void)user, (void)n;
    return s_order(a, res, e, es, 0);
}
S_FN(s_le)
{
    (void)user, (void)n;
    return s_order(a, res, e, es, 1);
}
S_FN(s_gt)
{
    (void)user, (void)n;
    return s_order(a, res, e, es, 2);
}
S_FN(s_ge)
{
    (void)user, (void)n;
    return s_order(a, res, e, es, 3);
}

S_FN(s_len)
{
    (void)n;
    const json_t *v = s_unsafe(a[0]);
    if (fw_tmpl_set_struct_of(user, v)) {
        snprintf(e, es, "len of type %s", fw_tmpl_set_type_name(user, v));
        return -1;
    }
    if (json_is_string(v))
        *res = json_integer((json_int_t)json_string_length(v));
    else if (json_is_array(v))
        *res = json_integer((json_int_t)json_array_size(v));
    else if (json_is_object(v))
        *res = json_integer((json_int_t)json_object_size(v));
    else if (!v) { // Go: no value at all (a nil literal, a missing key)
        snprintf(e, es, "reflect: call of reflect.Value.Type on zero Value");
        return -1;
    } else if (json_is_null(v)) {
        snprintf(e, es, "len of nil pointer");
        return -1;
    } else {
        snprintf(e, es, "len of type %s", fw_tmpl_set_type_name(user, v));
        return -1;
    }
    return 0;
}

static int
s_int_arg(const json_t *v, long long *out, char *e, size_t es)
{
    if (!json_is_integer(v)) {
        if (!v || json_is_null(v))
            snprintf(e, es, "cannot index slice/array with nil");
        else
            snprintf(e, es, "cannot index slice/array with type %s", fw_tmpl_type_name(v));
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

S_FN(s_index)
{
    json_t *v = a[0];
    if (!v || json_is_null(v)) {
        snprintf(e, es, "index of untyped nil");
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if (json_is_array(v) || json_is_string(v)) {
            long long k;
            if (s_int_arg(a[i], &k, e, es) < 0)
                return -1;
            size_t len = json_is_array(v) ? json_array_size(v) : json_string_length(v);
            if (k < 0 || (size_t)k > len) {
                snprintf(e, es, "index out of range: %lld", k);
                return -1;
            }
            if ((size_t)k == len) { // Go's indexArg lets the length through to reflect
                snprintf(e, es, "reflect: %s index out of range",
                         json_is_string(v) ? "string" : "slice");
                return -1;
            }
            if (json_is_string(v)) {
                *res = json_integer((unsigned char)json_string_value(v)[k]); // a byte
                return 0;
            }
            v = json_array_get(v, (size_t)k);
        } else if (json_is_object(v) && !fw_tmpl_set_struct_of(user, v)) {
            if (!a[i] || json_is_null(a[i])) {
                snprintf(e, es, "value is nil; should be of type string");
                return -1;
            }
            if (!json_is_string(a[i])) {
                snprintf(e, es, "value has type %s; should be string",
                         fw_tmpl_set_type_name(user, a[i]));
                return -1;
            }
            json_t *next = json_object_get(v, json_string_value(a[i]));
            if (!next) {
                const fw_tmpl_set_t *set = user;
                *res = set->missingkey == FW_TMPL_MISSINGKEY_ZERO ? json_string("") : json_null();
                return 0;
            }
            v = next;
        } else {
            snprintf(e, es, "can't index item of type %s", fw_tmpl_set_type_name(user, v));
            return -1;
        }
    }
    *res = json_incref(v);
    return 0;
}

S_FN(s_slice)
{
    json_t *v = a[0];
    // Go 1.19's slice(): its checks in its order
    if (!v || json_is_null(v)) {
        snprintf(e, es, "slice of untyped nil");
        return -1;
    }
    if (n > 4 || (n == 4 && json_is_string(v))) {
        snprintf(e, es, n > 4 ? "too many slice indexes: %zu" : "cannot 3-index slice a string",
                 n - 1);
        return -1;
    }
    if (!json_is_array(v) && !json_is_string(v)) {
        snprintf(e, es, "can't slice item of type %s", fw_tmpl_set_type_name(user, v));
        return -1;
    }
    size_t len = json_is_array(v) ? json_array_size(v) : json_string_length(v);
    long long idx[3] = {0, (long long)len, (long long)len};
    for (size_t i = 1; i < n; i++) {
        if (s_int_arg(a[i], &idx[i - 1], e, es) < 0)
            return -1;
        if (idx[i - 1] < 0 || idx[i - 1] > (long long)len) {
            snprintf(e, es, "index out of range: %lld", idx[i - 1]);
            return -1;
        }
    }
    if (idx[0] > idx[1] || (n == 4 && idx[1] > idx[2])) {
        snprintf(e, es, "invalid slice index: %lld > %lld", idx[0] > idx[1] ? idx[0] : idx[1],
                 idx[0] > idx[1] ? idx[1] : idx[2]);
        return -1;
    }
    if (json_is_string(v)) {
        *res = json_stringn_nocheck(json_string_value(v) + idx[0], (size_t)(idx[1] - idx[0]));
        return 0;
    }
    json_t *out = json_array();
    for (long long i = idx[0]; i < idx[1]; i++)
        json_array_append(out, json_array_get(v, (size_t)i));
    *res = out;
    return 0;
}

S_FN(s_print)
{
    (void)user, (void)e, (void)es;
    fw_tmpl_buf_t b = {0};
    fw_tmpl_sprint(user, &b, a, n, false);
    *res = s_take(&b);
    return 0;
}

S_FN(s_println)
{
    (void)user, (void)e, (void)es;
    fw_tmpl_buf_t b = {0};
    fw_tmpl_sprint(user, &b, a, n, true);
    *res = s_take(&b);
    return 0;
}

S_FN(s_printf)
{
    (void)user;
    if (!json_is_string(a[0])) {
        snprintf(e, es, "wrong type for value; expected string; got %s", fw_tmpl_type_name(a[0]));
        return -1;
    }
    fw_tmpl_buf_t b = {0};
    fw_tmpl_sprintf(user, &b, json_string_value(a[0]), a + 1, n - 1);
    *res = s_take(&b);
    return 0;
}

// html, js, urlquery: Go's evalArgs (a lone string as is, else Sprint), then the escaper.
static char *
s_joined(const fw_tmpl_set_t *set, json_t *const *a, size_t n)
{
    fw_tmpl_buf_t b = {0};
    if (n == 1 && json_is_string(a[0])) {
        fw_tmpl_buf_add(&b, json_string_value(a[0]), json_string_length(a[0]));
    } else {
        // Go's printableValue: a nil is "<no value>" here (fmt would print <nil>)
        json_t **v = fw_calloc(n + 1, sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
            v[i] = !a[i] || json_is_null(a[i]) ? json_string("<no value>") : json_incref(a[i]);
        fw_tmpl_sprint(set, &b, v, n, false);
        for (size_t i = 0; i < n; i++)
            json_decref(v[i]);
        free(v);
    }
    fw_tmpl_buf_add(&b, "", 0);
    return b.s;
}

S_FN(s_html)
{
    (void)e, (void)es;
    char *s = s_joined(user, a, n);
    fw_tmpl_buf_t b = {0};
    s_adds(&b, "");
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': s_adds(&b, "&lt;"); break;
        case '>': s_adds(&b, "&gt;"); break;
        case '&': s_adds(&b, "&amp;"); break;
        case '\'': s_adds(&b, "&#39;"); break;
        case '"': s_adds(&b, "&#34;"); break;
        default: fw_tmpl_buf_add(&b, p, 1);
        }
    }
    free(s);
    *res = s_take(&b);
    return 0;
}

S_FN(s_js)
{
    (void)e, (void)es;
    char *s = s_joined(user, a, n);
    struct fw_json_out b = {0};
    fw_json_out_esc(&b, s, strlen(s), FW_JSON_OUT_GOJS); // Go's JSEscapeString
    free(s);
    *res = json_stringn_nocheck(b.p ? b.p : "", b.len);
    free(b.p);
    return 0;
}

S_FN(s_urlquery)
{
    (void)e, (void)es;
    char *s = s_joined(user, a, n);
    fw_tmpl_buf_t b = {0};
    s_adds(&b, "");
    char esc[4];
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            fw_tmpl_buf_add(&b, p, 1);
        } else if (c == ' ') {
            s_adds(&b, "+");
        } else {
            snprintf(esc, sizeof(esc), "%%%02X", c);
            s_adds(&b, esc);
        }
    }
    free(s);
    *res = s_take(&b);
    return 0;
}

void
fw_tmpl_funcs_builtin(fw_tmpl_set_t *set)
{
    fw_tmpl_set_func(set, "not", s_not, NULL, 1, 1);
    fw_tmpl_set_func(set, "eq", s_eq, set, 1, -1); // Go: arg1 is required, then s_eq
    fw_tmpl_set_func(set, "ne", s_ne, set, 2, 2);
    fw_tmpl_set_func(set, "lt", s_lt, NULL, 2, 2);
    fw_tmpl_set_func(set, "le", s_le, NULL, 2, 2);
    fw_tmpl_set_func(set, "gt", s_gt, NULL, 2, 2);
    fw_tmpl_set_func(set, "ge", s_ge, NULL, 2, 2);
    fw_tmpl_set_func(set, "len", s_len, set, 1, 1);
    fw_tmpl_set_func(set, "index", s_index, set, 1, -1);
    fw_tmpl_set_func(set, "slice", s_slice, set, 1, -1);
    fw_tmpl_set_func(set, "print", s_print, set, 0, -1);
    fw_tmpl_set_func(set, "println", s_println, set, 0, -1);
    fw_tmpl_set_func(set, "printf", s_printf, set, 1, -1);
    fw_tmpl_set_func(set, "html", s_html, set, 0, -1);
    fw_tmpl_set_func(set, "js", s_js, set, 0, -1);
    fw_tmpl_set_func(set, "urlquery", s_urlquery, set, 0, -1);
}
