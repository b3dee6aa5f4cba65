/*  fw_tmpl_html.c — html/template's escaping for sets in HTML mode (fw_tmpl_set_html), as
    Alertmanager runs its email HTML: the output of each action is escaped for where it lands,
    found from the output written so far (template text makes the structure; escaped values
    cannot change it):
      - text and RCDATA (<title>): html/template's htmlEscaper (& < > " ' + and NUL);
      - a quoted attribute value: the same, and for URL attributes (href, src, action, ...)
        first the URL filter (a scheme other than http, https, mailto gives #ZgotmplZ, at the
        start of the value), the normalizer before '?' or '#', percent-encoding after;
      - where an attribute's name goes: a plain lowercase name, else ZgotmplZ (htmlNameFilter);
      - anywhere else (a tag's name, an unquoted value, <script>, <style>): an error, where
        html/template would use its JS/CSS escapers: not supported here.
    HTML comments in template text are removed, as html/template removes them. A value of
    safeHtml is written as is in text context.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_tmpl_int.h"

static void
s_html_escape(fw_tmpl_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\0': fw_tmpl_buf_add(b, "\xef\xbf\xbd", 3); break;
        case '"': fw_tmpl_buf_add(b, "&#34;", 5); break;
        case '&': fw_tmpl_buf_add(b, "&amp;", 5); break;
        case '\'': fw_tmpl_buf_add(b, "&#39;", 5); break;
        case '+': fw_tmpl_buf_add(b, "&#43;", 5); break;
        case '<': fw_tmpl_buf_add(b, "&lt;", 4); break;
        case '>': fw_tmpl_buf_add(b, "&gt;", 4); break;
        default: fw_tmpl_buf_add(b, s + i, 1);
        }
    }
}

// html/template's processURLOnto: norm keeps reserved characters and '%'.
static void
s_url(fw_tmpl_buf_t *b, const char *s, size_t n, bool norm)
{
    char esc[4];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep =
            isalnum(c) || strchr("-._~", c) || (norm && c && strchr("!#$&*+,/:;=?@[]%", c) != NULL);
        if (keep && c) {
            fw_tmpl_buf_add(b, s + i, 1);
        } else {
            snprintf(esc, sizeof(esc), "%%%02x", c);
            fw_tmpl_buf_add(b, esc, 3);
        }
    }
}

static bool
s_url_attr(const char *name, size_t n)
{
    static const char *const attrs[] = {
        "href",     "src",  "action", "cite",     "formaction", "poster", "longdesc", "background",
        "codebase", "data", "icon",   "manifest", "profile",    "usemap", NULL};
    for (int i = 0; attrs[i]; i++)
        if (strlen(attrs[i]) == n && strncasecmp(attrs[i], name, n) == 0)
            return true;
    return false;
}

// An action where a tag's attribute name goes: html/template's htmlNameFilter writes a
// plain name of ASCII letters and digits, lowercased, and ZgotmplZ for anything else (a
// name of a URL, script or style attribute among them, so that a value cannot choose one).
static void
s_attr_name(fw_tmpl_buf_t *dst, const char *s, size_t n)
{
    char low[64];
    bool ok = n > 0 && n < sizeof(low);
    for (size_t i = 0; ok && i < n; i++) {
        low[i] = (char)tolower((unsigned char)s[i]);
        ok = isdigit((unsigned char)low[i]) || (low[i] >= 'a' && low[i] <= 'z');
    }
    if (ok) {
        low[n] = '\0';
        ok = !s_url_attr(low, n) && strncmp(low, "on", 2) != 0 && strcmp(low, "style") != 0 &&
             strcmp(low, "srcdoc") != 0 && !strstr(low, "src") && !strstr(low, "uri") &&
             !strstr(low, "url");
    }
    if (ok)
        fw_tmpl_buf_add(dst, low, n);
    else
        fw_tmpl_buf_add(dst, "ZgotmplZ", 8);
}

static const char *
s_last(const char *out, size_t len, const char *needle)
{
    const char *last = NULL;
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (strncasecmp(out + i, needle, k) == 0)
            last = out + i;
    return last;
}

// Does a tag start at p[0..n) (just after a '<')? As html/template's tText: a letter, or '/'
// and a letter; anything else, the end of the output included, leaves '<' as text.
static bool
s_tag_start(const char *p, size_t n)
{
    if (n >= 1 && isalpha((unsigned char)p[0]))
        return true;
    return n >= 2 && p[0] == '/' && isalpha((unsigned char)p[1]);
}

// The '<' of the tag the output o[0..len) ends inside, or NULL when it ends in text.
static const char *
s_open_tag(const char *o, size_t len)
{
    const char *lt = NULL, *gt = NULL;
    for (size_t i = len; i-- > 0 && !(lt && gt);) {
        if (!lt && o[i] == '<' && s_tag_start(o + i + 1, len - i - 1))
            lt = o + i;
        if (!gt && o[i] == '>')
            gt = o + i;
        if (gt && !lt)
            break;
    }
    return !lt || (gt && gt > lt) ? NULL : lt;
}

int
fw_tmpl_html_escape(const fw_tmpl_buf_t *out, const json_t *v, const char *s, size_t n,
                    fw_tmpl_buf_t *dst, char *err, size_t errsize)
{
    const char *o = out->s ? out->s : "";
    size_t len = out->len;
    const char *lt = s_open_tag(o, len);
    if (!lt) {
        // text: not inside <script> or <style>
        const char *ss = s_last(o, len, "<script"), *se = s_last(o, len, "</script");
        const char *ts = s_last(o, len, "<style"), *te = s_last(o, len, "</style");
        if ((ss && (!se || se < ss)) || (ts && (!te || te < ts))) {
            snprintf(err, errsize, "html mode: actions in <script> or <style> are not supported");
            return -1;
        }
        if (json_is_object(v) && json_object_get(v, "\x01html"))
            fw_tmpl_buf_add(dst, s, n);
        else
            s_html_escape(dst, s, n);
        return 0;
    }
    // inside a tag: find the attribute whose quoted value we are in
    const char *p = lt + 1;
    while (*p && !isspace((unsigned char)*p) && *p != '>')
        p++;
    const char *name = NULL, *val = NULL;
    size_t nlen = 0;
    char quote = 0;
    while (p < o + len) {
        if (quote) {
            if (*p == quote)
                quote = 0, val = NULL;
            p++;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *ns = p;
        while (p < o + len && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
            p++;
        name = ns, nlen = (size_t)(p - ns);
        if (p < o + len && *p == '=') {
            p++;
            if (p < o + len && (*p == '"' || *p == '\'')) {
                quote = *p++;
                val = p;
            } else {
                break;
            }
        }
    }
    if (!quote && len > 0 && isspace((unsigned char)o[len - 1])) {
        s_attr_name(dst, s, n); // where an attribute's name goes
        return 0;
    }
    if (!quote || !val) {
        snprintf(err, errsize,
                 "html mode: an action in a tag's name or an unquoted attribute "
                 "value is not supported");
        return -1;
    }
    if (!s_url_attr(name, nlen)) {
        s_html_escape(dst, s, n);
        return 0;
    }
    fw_tmpl_buf_t u = {0};
    size_t sofar = (size_t)(o + len - val);
    if (memchr(val, '?', sofar) || memchr(val, '#', sofar)) {
        s_url(&u, s, n, false);
    } else {
        const char *colon = memchr(s, ':', n), *slash = memchr(s, '/', n);
        if (sofar == 0 && colon && (!slash || colon < slash)) {
            size_t k = (size_t)(colon - s);
            bool ok = (k == 4 && strncasecmp(s, "http", 4) == 0) ||
                      (k == 5 && strncasecmp(s, "https", 5) == 0) ||
                      (k == 6 && strncasecmp(s, "mailto", 6) == 0);
            if (!ok) {
                fw_tmpl_buf_add(dst, "#ZgotmplZ", 9);
                return 0;
            }
        }
        s_url(&u, s, n, true);
    }
    s_html_escape(dst, u.s ? u.s : "", u.len);
    free(u.s);
    return 0;
}

void
fw_tmpl_html_text(const fw_tmpl_buf_t *out, fw_tmpl_buf_t *dst, const char *s, size_t n)
{
    // Template text as html/template writes it: HTML comments removed, and in text a '<'
    // that starts no tag (nor <!DOCTYPE) written as &lt;. Inside a tag (this text may go on
    // one an earlier node opened) everything is kept up to the '>' that closes it outside
    // quotes.
    const char *o = out->s ? out->s : "";
    const char *lt = s_open_tag(o, out->len);
    bool in_tag = lt != NULL;
    char quote = 0;
    for (const char *p = lt; p && p < o + out->len; p++)
        if (quote ? *p == quote : (*p == '"' || *p == '\''))
            quote = quote ? 0 : *p;
    size_t i = 0;
    while (i < n) {
        if (in_tag) {
            if (quote ? s[i] == quote : (s[i] == '"' || s[i] == '\''))
                quote = quote ? 0 : s[i];
            else if (!quote && s[i] == '>')
                in_tag = false;
            fw_tmpl_buf_add(dst, s + i++, 1);
            continue;
        }
        if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
            size_t e = i + 4;
            while (e + 3 <= n && memcmp(s + e, "-->", 3) != 0)
                e++;
            if (e + 3 > n) { // a comment that does not end in this text: kept
                fw_tmpl_buf_add(dst, s + i, n - i);
                return;
            }
            i = e + 3;
            continue;
        }
        if (s[i] == '<' && s_tag_start(s + i + 1, n - i - 1)) {
            in_tag = true;
            quote = 0;
            fw_tmpl_buf_add(dst, "<", 1);
        } else if (s[i] == '<' && (n - i < 9 || strncasecmp(s + i, "<!doctype", 9) != 0)) {
            fw_tmpl_buf_add(dst, "&lt;", 4);
        } else {
            fw_tmpl_buf_add(dst, s + i, 1);
        }
        i++;
    }
}
