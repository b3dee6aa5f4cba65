/*  fw_expfmt_st.c — OpenMetrics `_created` lines as start times (FW_EXPFMT_START_TIMES).

    Design: what Prometheus 3's scrape does when it parses start timestamps (ParseST, on with
    its st-storage and created-timestamp-zero-ingestion features; floorwatch stores start
    times always): in a family whose last "# TYPE" said counter, summary or histogram, a
    sample named "..._created" is no series of its own, and its value (seconds, made
    milliseconds as int64(v * 1000)) is the start time of the samples of the same series
    before it. The facts are upstream's (model/textparse/openmetricsparse.go,
    StartTimestamp): a sample's start time is the first `_created` line after it that comes
    before the next metadata line (HELP, TYPE or UNIT), if that line's series matches; else
    it has none. The series match when the family name (the sample name cut to the length
    of the last metadata line's name; the `_created` name without its suffix) and the label
    names and values as written, in their order, are the same, without `le` in a histogram
    and `quantile` in a summary. The type of the last TYPE line holds until the next one.

    The scanner hands over each metadata line (fw_expfmt_st_meta: a new block) and each
    `_created` sample (fw_expfmt_st_created: kept here, not among the samples, so the
    indexes the known-series callback saw stay the samples' indexes); once the body parsed,
    fw_expfmt_st_resolve walks the samples backwards beside the `_created` lines and gives
    each sample its start time. Keys are 64-bit hashes of the series text's parts: both
    sides are hashed the same way, and nothing of a `_created` line is kept but its block,
    position, key and value. Nothing is done for a body without `_created` lines, and the
    buffers are reused from run to run.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt_int.h"
#include "fw_hash.h"
#include "fw_mem.h"

#define S_CREATED "_created"
#define S_CREATED_LEN 8

void
fw_expfmt_st_reset(fw_expfmt_t *self)
{
    self->st_blocks_len = 0;
    self->created_len = 0;
    self->st_valid = false;
    fw_mem_grow((void **)&self->st_blocks, &self->st_blocks_cap, 1, sizeof(*self->st_blocks));
    self->st_blocks[self->st_blocks_len++] = (struct fw_expfmt_stblock){0, 0};
}

void
fw_expfmt_st_free(fw_expfmt_t *self)
{
    free(self->st_blocks);
    free(self->created);
    free(self->st);
}

void
fw_expfmt_st_meta(fw_expfmt_t *self, const struct fw_expfmt_scan *l)
{
    // "# HELP name text", "# TYPE name type", "# UNIT name unit": one space each (OpenMetrics)
    if (l->len < 8)
        return;
    const char *p = l->p;
    char kw = p[2];
    size_t start = 7, end = start;
    if (p[start] == '"') {
        size_t q = fw_expfmt_quoted(p + start, l->len - start, NULL);
        end = start + q;
        start++; // the name's length without its quotes
        if (q >= 2)
            end--;
    } else {
        while (end < l->len && p[end] != ' ')
            end++;
    }
    struct fw_expfmt_stblock b = self->st_blocks[self->st_blocks_len - 1];
    b.mf_len = (uint32_t)(end - start);
    if (kw == 'T') {
        const char *t = p + l->len;
        while (t > p + end && t[-1] != ' ')
            t--;
        size_t n = (size_t)(p + l->len - t);
        t--; // at the space before the type
        b.kind = 0;
        if (n == 7 && memcmp(t + 1, "counter", 7) == 0)
            b.kind = 'c';
        else if (n == 7 && memcmp(t + 1, "summary", 7) == 0)
            b.kind = 's';
        else if (n == 9 && memcmp(t + 1, "histogram", 9) == 0)
            b.kind = 'h';
    }
    fw_mem_grow((void **)&self->st_blocks, &self->st_blocks_cap, self->st_blocks_len + 1,
                sizeof(*self->st_blocks));
    self->st_blocks[self->st_blocks_len++] = b;
}

bool
fw_expfmt_st_is_created(const fw_expfmt_t *self, const char *name, size_t len)
{
    return self->st_blocks[self->st_blocks_len - 1].kind != 0 && len > S_CREATED_LEN &&
           memcmp(name + len - S_CREATED_LEN, S_CREATED, S_CREATED_LEN) == 0;
}

// The end of the quoted string at p[i] ('"'), escapes skipped: the index after its quote.
static size_t
s_quoted_end(const char *p, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return len;
}

// The key of a series: its family name, then its labels' names and values as written in
// series[0..len) ("name{...}" or "{\"name\",...}"), in order, without `skip` (NULL: none).
static uint64_t
s_key(const char *family, size_t family_len, const char *series, size_t len, const char *skip)
{
    uint64_t h = fw_hash64(family, family_len);
    const char *brace = memchr(series, '{', len);
    size_t i = brace ? (size_t)(brace - series) + 1 : len;
    size_t skip_len = skip ? strlen(skip) : 0;
    while (i < len && series[i] != '}') {
        if (series[i] == ',' || series[i] == ' ') {
            i++;
            continue;
        }
        size_t n0 = i;
        if (series[i] == '"')
            i = s_quoted_end(series, len, i);
        else
            while (i < len && series[i] != '=' && series[i] != ',' && series[i] != '}' &&
                   series[i] != ' ')
                i++;
        size_t n1 = i;
        while (i < len && series[i] == ' ')
            i++;
        if (i >= len || series[i] != '=')
            continue; // the quoted metric name inside the braces: not a label
        i++;
        while (i < len && series[i] == ' ')
            i++;
        if (i >= len || series[i] != '"')
            break; // never: the line parsed
        size_t v0 = i + 1;
        i = s_quoted_end(series, len, i);
        size_t v1 = i > v0 ? i - 1 : v0;
        if (skip && n1 - n0 == skip_len && memcmp(series + n0, skip, skip_len) == 0)
            continue;
        h = fw_hash64_seed(series + n0, n1 - n0, h);
        h = fw_hash64_seed(series + v0, v1 - v0, h);
    }
    return h;
}

static const char *
s_skip_label(char kind)
{
    return kind == 'h' ? "le" : kind == 's' ? "quantile" : NULL;
}

void
fw_expfmt_st_created(fw_expfmt_t *self, const struct fw_expfmt_rec *s)
{
    const struct fw_expfmt_stblock *b = &self->st_blocks[s->st_block];
    const char *name = self->arena + s->name_off;
    size_t name_len = strlen(name);
    double ms = s->v * 1000.0;
    // int64(v * 1000) as upstream; a value that is no int64 gives none
    int64_t st = isfinite(ms) && ms > -9.2e18 && ms < 9.2e18 ? (int64_t)ms : 0;
    fw_mem_grow((void **)&self->created, &self->created_cap, self->created_len + 1,
                sizeof(*self->created));
    self->created[self->created_len++] = (struct fw_expfmt_created){
        .at = self->samples_len,
        .block = s->st_block,
        .key =
            s_key(name, name_len - S_CREATED_LEN, s->series, s->series_len, s_skip_label(b->kind)),
        .st = st,
    };
}

void
fw_expfmt_st_resolve(fw_expfmt_t *self)
{
    if (self->created_len == 0)
        return;
    size_t n = self->samples_len;
    fw_mem_grow((void **)&self->st, &self->st_cap, n + 1, sizeof(*self->st));
    memset(self->st, 0, (n + 1) * sizeof(*self->st));
    self->st_valid = true;
    size_t k = self->created_len; // the first `_created` line after sample j: created[k]
    for (size_t j = n; j-- > 0;) {
        while (k > 0 && self->created[k - 1].at > j)
            k--;
        if (k == self->created_len)
            continue;
        const struct fw_expfmt_created *c = &self->created[k];
        const struct fw_expfmt_rec *s = &self->samples[j];
        const struct fw_expfmt_stblock *b = &self->st_blocks[s->st_block];
        if (c->block != s->st_block || b->kind == 0 || c->st == 0)
            continue; // a metadata line between them, or not a family with start times
        size_t name_len;
        const char *name = fw_expfmt_int_rec_name(self, s, &name_len);
        if (b->mf_len < name_len)
            name_len = b->mf_len;
        if (s_key(name, name_len, s->series, s->series_len, s_skip_label(b->kind)) == c->key)
            self->st[j] = c->st;
    }
}

int64_t
fw_expfmt_st_get(const fw_expfmt_t *self, size_t i)
{
    return self->st_valid ? self->st[i] : 0;
}
