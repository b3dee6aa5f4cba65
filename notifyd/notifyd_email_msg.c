/*  notifyd_email_msg.c — the email message as Alertmanager's email notifier writes it:
    headers (Q-encoded when not plain ASCII, as Go's mime.QEncoding), Message-Id, Date
    (RFC 1123 with numeric zone), multipart/alternative body with quoted-printable parts
    (Go's mime/quotedprintable Writer: 76-byte lines, soft breaks, CRLF line ends, trailing
    blanks encoded).
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_mem.h"
#include "fw_tmpl.h"
#include "notifyd_email.h"
#include "notifyd_tmpl.h"

// --- quoted-printable (mime/quotedprintable.Writer, Binary false) ---

struct s_qp {
    FILE *out;
    char line[80];
    int i;
    bool cr;
};

static void
s_qp_flush(struct s_qp *q)
{
    fwrite(q->line, 1, (size_t)q->i, q->out);
    q->i = 0;
}

static void
s_qp_crlf(struct s_qp *q)
{
    q->line[q->i++] = '\r';
    q->line[q->i++] = '\n';
    s_qp_flush(q);
}

static void
s_qp_soft(struct s_qp *q)
{
    q->line[q->i++] = '=';
    s_qp_crlf(q);
}

static void
s_qp_encode(struct s_qp *q, unsigned char b)
{
    static const char hex[] = "0123456789ABCDEF";
    if (76 - 1 - q->i < 3)
        s_qp_soft(q);
    q->line[q->i++] = '=';
    q->line[q->i++] = hex[b >> 4];
    q->line[q->i++] = hex[b & 15];
}

static void
s_qp_last(struct s_qp *q)
{
    if (q->i == 0)
        return;
    unsigned char b = (unsigned char)q->line[q->i - 1];
    if (b == ' ' || b == '\t') {
        q->i--;
        s_qp_encode(q, b);
    }
}

static void
s_qp_write(struct s_qp *q, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char b = *p;
        if ((b >= '!' && b <= '~' && b != '=') || b == ' ' || b == '\t') {
            if (q->i == 76 - 1)
                s_qp_soft(q);
            q->line[q->i++] = (char)b;
            q->cr = false;
        } else if (b == '\n' || b == '\r') {
            if (q->cr && b == '\n') {
                q->cr = false;
                continue;
            }
            q->cr = b == '\r';
            s_qp_last(q);
            s_qp_crlf(q);
        } else {
            s_qp_encode(q, b);
            q->cr = false;
        }
    }
    s_qp_last(q);
    s_qp_flush(q);
}

// --- headers ---

static void
s_header(FILE *f, const char *name, const char *value)
{
    bool plain = true;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < ' ' || *p > '~') && *p != '\t')
            plain = false;
    fprintf(f, "%s: ", name);
    if (plain) {
        fprintf(f, "%s\r\n", value);
        return;
    }
    // Encoded words of at most 75 bytes, runes kept whole (Go's mime.WordEncoder).
    static const char hex[] = "0123456789ABCDEF";
    const size_t max = 75 - strlen("=?utf-8?q?") - strlen("?=");
    const unsigned char *p = (const unsigned char *)value;
    while (*p) {
        fputs("=?utf-8?q?", f);
        size_t used = 0;
        while (*p) {
            size_t rl = 1;
            while ((p[rl] & 0xC0) == 0x80)
                rl++;
            size_t enc = 0;
            for (size_t k = 0; k < rl; k++)
                enc += p[k] == ' ' || (p[k] > ' ' && p[k] <= '~' && !strchr("=?_", p[k])) ? 1 : 3;
            if (used + enc > max && used > 0)
                break;
            for (size_t k = 0; k < rl; k++) {
                if (p[k] == ' ')
                    fputc('_', f);
                else if (p[k] > ' ' && p[k] <= '~' && !strchr("=?_", p[k]))
                    fputc(p[k], f);
                else
                    fprintf(f, "=%c%c", hex[p[k] >> 4], hex[p[k] & 15]);
            }
            used += enc;
            p += rl;
        }
        fputs("?=", f);
        if (*p)
            fputc(' ', f);
    }
    fputs("\r\n", f);
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
notifyd_email_message(const json_t *config, const json_t *data, int64_t now_ms,
                      const char *hostname, const char *boundary, fw_err_t *err)
{
    (void)err;
    const json_t *headers = json_object_get(config, "headers");
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    // Go ranges over a map in random order; sorted here, so the order is stable.
    size_t n = json_object_size(headers), i = 0;
    const char **names = fw_calloc(n + 1, sizeof *names);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)headers, key, v) names[i++] = key;
    qsort(names, n, sizeof *names, s_cmp);
    bool subject = false, msgid = false;
    for (i = 0; i < n; i++) {
        // every value is a template text (Subject's default: email.default.subject)
        bool is_subject = strcmp(names[i], "Subject") == 0;
        char *hk = fw_asprintf("headers.%s", names[i]);
        char *value =
            notifyd_tmpl_text(names[i], json_string_value(json_object_get(headers, names[i])), data,
                              fw_tmpl_am_key_default("email_configs", hk));
        free(hk);
        s_header(f, names[i], value);
        free(value);
        subject = subject || is_subject;
        msgid = msgid || strcmp(names[i], "Message-Id") == 0;
    }
    free(names);
    if (!subject) {
        char *s =
            notifyd_tmpl_default(fw_tmpl_am_key_default("email_configs", "headers.Subject"), data);
        s_header(f, "Subject", s);
        free(s);
    }
    if (!msgid) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long r = ((unsigned long long)random() << 32) ^ (unsigned long long)random();
        fprintf(f, "Message-Id: <%lld%09ld.%llu@%s>\r\n", (long long)ts.tv_sec, ts.tv_nsec, r,
                hostname);
    }
    char date[64];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
    fprintf(f, "Date: %s\r\n", date);
    char rnd[61];
    if (!boundary) {
        for (int k = 0; k < 60; k++)
            rnd[k] = "0123456789abcdef"[random() & 15];
        rnd[60] = '\0';
        boundary = rnd;
    }
    fprintf(f, "Content-Type: multipart/alternative;  boundary=%s\r\n", boundary);
    fputs("MIME-Version: 1.0\r\n\r\n", f);
    // text: a template text (absent: no text part); html: one rendered in HTML mode,
    // Alertmanager's ExecuteHTMLString (absent: email.default.html; "": no HTML part)
    char *text = notifyd_tmpl_key(config, "email_configs", "text", data);
    const char *hj = json_string_value(json_object_get(config, "html"));
    const char *html_def = fw_tmpl_am_key_default("email_configs", "html");
    char *html = notifyd_tmpl_html(hj ? "html" : html_def, hj, data, html_def);
    bool first = true;
    for (int k = 0; k < 2; k++) {
        const char *body = k ? html : text;
        if (!body || !*body)
            continue;
        fprintf(f, "%s--%s\r\n", first ? "" : "\r\n", boundary);
        first = false;
        fprintf(f,
                "Content-Transfer-Encoding: quoted-printable\r\n"
                "Content-Type: text/%s; charset=UTF-8\r\n\r\n",
                k ? "html" : "plain");
        struct s_qp q = {.out = f};
        s_qp_write(&q, body);
    }
    fprintf(f, "\r\n--%s--\r\n", boundary);
    free(text);
    free(html);
    fclose(f);
    return buf;
}

// --- addresses ---

char **
notifyd_email_addresses(const char *list, fw_err_t *err)
{
    size_t cap = 4, n = 0;
    char **out = fw_calloc(cap + 1, sizeof *out);
    const char *p = list;
    while (p && *p) {
        // One element: up to a comma outside quotes and angle brackets.
        const char *s = p;
        bool q = false;
        int angle = 0;
        for (; *p && (q || angle || *p != ','); p++) {
            if (*p == '"' && (p == s || p[-1] != '\\'))
                q = !q;
            else if (!q && *p == '<')
                angle++;
            else if (!q && *p == '>' && angle)
                angle--;
        }
        const char *e = p;
        if (*p == ',')
            p++;
        const char *lt = memchr(s, '<', (size_t)(e - s));
        const char *gt = lt ? memchr(lt, '>', (size_t)(e - lt)) : NULL;
        const char *a = lt && gt ? lt + 1 : s, *b = lt && gt ? gt : e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b && !lt && e == s + strspn(s, " \t,"))
            continue; // an empty element between commas
        if (!memchr(a, '@', (size_t)(b - a)) || memchr(a, ' ', (size_t)(b - a))) {
            fw_err_set(err, "mail: no address in \"%.*s\"", (int)(e - s), s);
            notifyd_email_addresses_free(out);
            return NULL;
        }
        if (n == cap)
            out = fw_realloc(out, ((cap *= 2) + 1) * sizeof *out);
        out[n++] = fw_strndup(a, (size_t)(b - a));
        out[n] = NULL;
    }
    if (n == 0) {
        fw_err_set(err, "mail: no address");
        notifyd_email_addresses_free(out);
        return NULL;
    }
    return out;
}

void
notifyd_email_addresses_free(char **a)
{
    for (size_t i = 0; a && a[i]; i++)
        free(a[i]);
    free(a);
}
