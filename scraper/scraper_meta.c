/*  scraper_meta.c — a scrape's metric metadata to tsdb (see scraper_meta.h).
 */
#include "scraper_meta.h"

#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"

// A family's texts, as offsets into the collector's buffer (S_NONE: not given).
struct s_family {
    size_t name, name_len, type, help, unit;
};
#define S_NONE SIZE_MAX

struct scraper_meta {
    struct s_family *fams; // owned: this scrape's families, in the order first seen
    size_t n, cap;
    char *buf; // owned: this scrape's texts, each NUL-terminated; reused scrape after scrape
    size_t len, buf_cap;
    bool om; // the body is OpenMetrics (its HELP escapes \" too)
};

scraper_meta_t *
scraper_meta_new(void)
{
    return fw_calloc(1, sizeof(scraper_meta_t));
}

// Forget the last scrape's families; their buffers stay for the next one, which
// mostly holds the same texts (so a steady scrape allocates nothing here).
static void
s_reset(scraper_meta_t *self)
{
    self->n = 0;
    self->len = 0;
}

void
scraper_meta_destroy(scraper_meta_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->fams);
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

// Room for n more bytes at the end of the buffer: their offset.
static size_t
s_room(scraper_meta_t *self, size_t n)
{
    fw_mem_grow((void **)&self->buf, &self->buf_cap, self->len + n, 1);
    return self->len;
}

// s (n bytes) copied to the buffer, NUL-terminated: its offset.
static size_t
s_put(scraper_meta_t *self, const char *s, size_t n)
{
    size_t off = s_room(self, n + 1);
    memcpy(self->buf + off, s, n);
    self->buf[off + n] = '\0';
    self->len += n + 1;
    return off;
}

// The help text of a HELP line (n bytes at s), unescaped (\\ and \n; OpenMetrics also \")
// into the buffer: its offset.
static size_t
s_put_unescaped(scraper_meta_t *self, const char *s, size_t n, bool om)
{
    size_t off = s_room(self, n + 1);
    char *o = self->buf + off;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n &&
            (s[i + 1] == '\\' || s[i + 1] == 'n' || (om && s[i + 1] == '"'))) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i];
        } else {
            *o++ = s[i];
        }
    }
    *o++ = '\0';
    self->len = (size_t)(o - self->buf);
    return off;
}

static void
s_on_meta(void *arg, char kind, const char *name, size_t name_len, const char *text,
          size_t text_len)
{
    scraper_meta_t *self = arg;
    struct s_family *f = NULL;
    // A family's metadata lines come together: look at the last family, then the others.
    for (size_t k = self->n; k-- > 0 && !f;)
        if (self->fams[k].name_len == name_len &&
            memcmp(self->buf + self->fams[k].name, name, name_len) == 0)
            f = &self->fams[k];
    if (!f) {
        if (self->n == SCRAPER_META_MAX_FAMILIES)
            return;
        fw_mem_grow((void **)&self->fams, &self->cap, self->n + 1, sizeof(*self->fams));
        size_t off = s_put(self, name, name_len);
        f = &self->fams[self->n++];
        *f = (struct s_family){off, name_len, S_NONE, S_NONE, S_NONE};
    }
    // a repeated line's text replaces the earlier one's (whose bytes stay unused until the
    // next scrape)
    size_t *slot = kind == 'H' ? &f->help : kind == 'T' ? &f->type : &f->unit;
    *slot =
        kind == 'H' ? s_put_unescaped(self, text, text_len, self->om) : s_put(self, text, text_len);
}

// Text off of the buffer, or "" when not given.
static const char *
s_text(const scraper_meta_t *self, size_t off)
{
    return off == S_NONE ? "" : self->buf + off;
}

void
scraper_meta_begin(scraper_meta_t *self, fw_expfmt_t *parser, fw_expfmt_fmt_t fmt)
{
    s_reset(self);
    self->om = fmt == FW_EXPFMT_OPENMETRICS;
    fw_expfmt_set_meta(parser, s_on_meta, self);
}

json_t *
scraper_meta_finish(scraper_meta_t *self, fw_expfmt_t *parser, bool ok, uint64_t *last_hash,
                    int64_t *last_sent_ms, int64_t now_ms)
{
    fw_expfmt_set_meta(parser, NULL, NULL);
    if (!ok)
        return NULL;
    uint64_t h = 0;
    for (size_t k = 0; k < self->n; k++) {
        const struct s_family *f = &self->fams[k];
        const char *parts[] = {s_text(self, f->name), s_text(self, f->type), s_text(self, f->help),
                               s_text(self, f->unit)};
        for (size_t j = 0; j < 4; j++)
            h = fw_hash64_seed(parts[j], strlen(parts[j]) + 1, h + j + 1);
    }
    bool stale = *last_sent_ms == 0 || now_ms - *last_sent_ms >= SCRAPER_META_RESEND_MS;
    if (h == *last_hash && (!stale || self->n == 0))
        return NULL;
    json_t *list = json_array();
    for (size_t k = 0; k < self->n; k++) {
        const struct s_family *f = &self->fams[k];
        const char *type = s_text(self, f->type);
        if (f->type == S_NONE || strcmp(type, "untyped") == 0)
            type = "unknown";
        json_array_append_new(list, json_pack("{ssssssss}", "metric", s_text(self, f->name), "type",
                                              type, "help", s_text(self, f->help), "unit",
                                              s_text(self, f->unit)));
    }
    *last_hash = h;
    *last_sent_ms = now_ms;
    return list;
}

int
scraper_meta_send(zsock_t *sock, zsock_t *pub, const char *sender, const char *target,
                  json_t **metadata_p)
{
    json_t *body = json_object(); // set_new steals each value
    json_object_set_new(body, "sender", json_string(sender));
    json_object_set_new(body, "target", json_string(target));
    json_object_set_new(body, "metadata", *metadata_p); // moved into the message
    *metadata_p = NULL;
    struct fw_msg *m = fw_msg_new_json(FW_MSG_METADATA, body); // steals body
    fw_err_t err;
    zmsg_t *frames = fw_msg_encode(m, &err);
    fw_msg_destroy(&m);
    if (!frames) {
        fw_warn("msg.encode.fail", "type=METADATA err=%s", err.msg);
        return -1;
    }
    if (pub) {
        zmsg_t *copy = zmsg_dup(frames);
        if (zmsg_send(&copy, pub) != 0)
            zmsg_destroy(&copy);
    }
    int rc = sock && zmsg_send(&frames, sock) == 0 ? 0 : -1;
    zmsg_destroy(&frames);
    return rc;
}
