/*  scraper_meta.c — a scrape's metric metadata to tsdb (see scraper_meta.h).
 */
#include "scraper_meta.h"

#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"

struct s_family {
    char *name, *type, *help, *unit; // owned
};

struct scraper_meta {
    struct s_family *fams; // owned: this scrape's families, in the order first seen
    size_t n, cap;
    bool om; // the body is OpenMetrics (its HELP escapes \" too)
};

scraper_meta_t *
scraper_meta_new(void)
{
    return fw_calloc(1, sizeof(scraper_meta_t));
}

static void
s_reset(scraper_meta_t *self)
{
    for (size_t k = 0; k < self->n; k++) {
        free(self->fams[k].name);
        free(self->fams[k].type);
        free(self->fams[k].help);
        free(self->fams[k].unit);
    }
    self->n = 0;
}

void
scraper_meta_destroy(scraper_meta_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_reset(*self_p);
    free((*self_p)->fams);
    free(*self_p);
    *self_p = NULL;
}

// The help text of a HELP line, unescaped (\\ and \n; OpenMetrics also \").
static char *
s_unescape(const char *s, size_t n, bool om)
{
    char *out = fw_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n &&
            (s[i + 1] == '\\' || s[i + 1] == 'n' || (om && s[i + 1] == '"'))) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i];
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static void
s_on_meta(void *arg, char kind, const char *name, size_t name_len, const char *text,
          size_t text_len)
{
    scraper_meta_t *self = arg;
    struct s_family *f = NULL;
    // A family's metadata lines come together: look at the last family, then the others.
    for (size_t k = self->n; k-- > 0 && !f;)
        if (strlen(self->fams[k].name) == name_len &&
            memcmp(self->fams[k].name, name, name_len) == 0)
            f = &self->fams[k];
    if (!f) {
        if (self->n == SCRAPER_META_MAX_FAMILIES)
            return;
        fw_mem_grow((void **)&self->fams, &self->cap, self->n + 1, sizeof(*self->fams));
        f = &self->fams[self->n++];
        *f = (struct s_family){fw_strndup(name, name_len), NULL, NULL, NULL};
    }
    char **slot = kind == 'H' ? &f->help : kind == 'T' ? &f->type : &f->unit;
    free(*slot);
    *slot = kind == 'H' ? s_unescape(text, text_len, self->om) : fw_strndup(text, text_len);
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
        const char *parts[] = {f->name, f->type ? f->type : "", f->help ? f->help : "",
                               f->unit ? f->unit : ""};
        for (size_t j = 0; j < 4; j++)
            h = fw_hash64_seed(parts[j], strlen(parts[j]) + 1, h + j + 1);
    }
    bool stale = *last_sent_ms == 0 || now_ms - *last_sent_ms >= SCRAPER_META_RESEND_MS;
    if (h == *last_hash && (!stale || self->n == 0))
        return NULL;
    json_t *list = json_array();
    for (size_t k = 0; k < self->n; k++) {
        const struct s_family *f = &self->fams[k];
        const char *type = f->type && strcmp(f->type, "untyped") != 0 ? f->type : "unknown";
        json_array_append_new(list,
                              json_pack("{ssssssss}", "metric", f->name, "type", type, "help",
                                        f->help ? f->help : "", "unit", f->unit ? f->unit : ""));
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
