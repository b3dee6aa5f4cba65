/*  notifyd_email_html.c — Alertmanager's email.default.html rendered in C, as html/template
    renders it: the text between actions from notifyd_email_tmpl.h, every value escaped for
    its context (HTML text and <title>: & < > " ' + and NUL; href: the URL filtered to
    http, https or mailto else "#ZgotmplZ", normalised with lower-case %xx, then escaped as
    an attribute), label pairs with alertname first and the rest sorted (KV.SortedPairs).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "notifyd_email.h"
#include "notifyd_email_tmpl.h"
#include "notifyd_text.h"

static void
s_html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&#34;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '+': fputs("&#43;", f); break;
        default: fputc(*s, f);
        }
    }
}

static bool
s_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// html/template's URL handling in an attribute: norm keeps reserved characters and valid
// escapes (a whole URL), !norm escapes all but unreserved (a query value); then attribute
// escaping.
static void
s_url(FILE *f, const char *s, bool norm)
{
    char *buf;
    size_t len;
    FILE *u = open_memstream(&buf, &len);
    for (size_t i = 0; s && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            fputc(c, u);
        else if (norm && strchr("!#$&*+,/:;=?@[]", c))
            fputc(c, u);
        else if (norm && c == '%' && s_hex(s[i + 1]) && s_hex(s[i + 2]))
            fputc(c, u);
        else
            fprintf(u, "%%%02x", c);
    }
    fclose(u);
    s_html(f, buf);
    free(buf);
}

// A whole URL value at the start of an href: scheme filter, then s_url normalised.
static void
s_href(FILE *f, const char *s)
{
    const char *colon = strchr(s, ':');
    if (colon && colon < s + strcspn(s, "/?#")) {
        size_t n = (size_t)(colon - s);
        if (!((n == 4 && strncasecmp(s, "http", 4) == 0) ||
              (n == 5 && strncasecmp(s, "https", 5) == 0) ||
              (n == 6 && strncasecmp(s, "mailto", 6) == 0))) {
            fputs("#ZgotmplZ", f);
            return;
        }
    }
    s_url(f, s, true);
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Keys of o in KV.SortedPairs order (alertname first, then sorted): a new array of
// borrowed strings, *n set.
static const char **
s_sorted_keys(const json_t *o, size_t *n)
{
    *n = json_object_size(o);
    const char **k = fw_calloc(*n + 1, sizeof *k);
    size_t i = 0, start = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        (void)v;
        if (strcmp(key, "alertname") == 0) {
            memmove(k + 1, k, i * sizeof *k);
            k[0] = key;
            start = 1;
        } else {
            k[i] = key;
        }
        i++;
    }
    qsort(k + start, *n - start, sizeof *k, s_cmp);
    return k;
}

static size_t
s_count(const json_t *alerts, const char *status)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        const char *st = json_string_value(json_object_get(a, "status"));
        n += st && strcmp(st, status) == 0;
    }
    return n;
}

// {{ range .X.SortedPairs }}A{{ .Name }}B{{ .Value }}C{{ end }} with segments a, a+1, a+2.
static void
s_pairs(FILE *f, const json_t *o, int a)
{
    size_t n;
    const char **k = s_sorted_keys(o, &n);
    for (size_t i = 0; i < n; i++) {
        fputs(s_seg[a], f);
        s_html(f, k[i]);
        fputs(s_seg[a + 1], f);
        s_html(f, json_string_value(json_object_get(o, k[i])));
        fputs(s_seg[a + 2], f);
    }
    free(k);
}

// {{ range .Alerts.<status> }} ... {{ end }}: the body is segments first..first+11.
static void
s_alerts(FILE *f, const json_t *alerts, const char *status, int first)
{
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        const char *st = json_string_value(json_object_get(a, "status"));
        if (!st || strcmp(st, status) != 0)
            continue;
        const json_t *ann = json_object_get(a, "annotations");
        fputs(s_seg[first], f);                              // before range .Labels
        s_pairs(f, json_object_get(a, "labels"), first + 1); // name, value, end
        fputs(s_seg[first + 4], f);                          // before if .Annotations
        if (json_object_size(ann) > 0)
            fputs(s_seg[first + 5], f);
        fputs(s_seg[first + 6], f); // before range .Annotations
        s_pairs(f, ann, first + 7);
        fputs(s_seg[first + 10], f); // before .GeneratorURL
        const char *g = json_string_value(json_object_get(a, "generatorURL"));
        s_href(f, g ? g : "");
        fputs(s_seg[first + 11], f);
    }
}

char *
notifyd_email_default_html(const json_t *data)
{
    const json_t *alerts = json_object_get(data, "alerts");
    const json_t *gl = json_object_get(data, "groupLabels");
    size_t nf = s_count(alerts, "firing"), nr = s_count(alerts, "resolved");
    size_t n = json_array_size(alerts);
    const char *ext = json_string_value(json_object_get(data, "externalURL"));
    const char *rcv = json_string_value(json_object_get(data, "receiver"));
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    fputs(s_seg[0], f);
    char *subject = notifyd_text_default("__subject", data);
    s_html(f, subject);
    free(subject);
    fputs(s_seg[1], f);
    int b = nf > 0 ? 2 : 10; // the firing or the resolved header
    fputs(s_seg[b], f);
    fprintf(f, "%zu", n);
    fputs(s_seg[b + 1], f);
    if (n > 1)
        fputs(s_seg[b + 2], f);
    fputs(s_seg[b + 3], f);
    s_pairs(f, gl, b + 4);
    fputs(s_seg[b + 7], f); // up to {{ else }} or the second {{ end }}
    fputs(s_seg[18], f);
    s_href(f, ext ? ext : "");
    fputs("/#/alerts?receiver=", f);
    s_url(f, rcv ? rcv : "", false);
    fputs(s_seg[19], f);
    fputs("Alertmanager", f);
    fputs(s_seg[20], f);
    if (nf > 0) {
        fputs(s_seg[21], f);
        fprintf(f, "%zu", nf);
        fputs(s_seg[22], f);
    }
    fputs(s_seg[23], f);
    s_alerts(f, alerts, "firing", 24);
    fputs(s_seg[36], f);
    if (nr > 0) {
        fputs(s_seg[37], f);
        if (nf > 0)
            fputs(s_seg[38], f);
        fputs(s_seg[39], f);
        fprintf(f, "%zu", nr);
        fputs(s_seg[40], f);
    }
    fputs(s_seg[41], f);
    s_alerts(f, alerts, "resolved", 42);
    fputs(s_seg[54], f);
    s_href(f, ext ? ext : "");
    fputs(s_seg[55], f);
    fputs("Alertmanager", f);
    fputs(s_seg[56], f);
    fclose(f);
    return buf;
}
