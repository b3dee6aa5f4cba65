/*  fw_expfmt_om.c — OpenMetrics 1.0 metric-family rules for the exposition parser.

    Design: the scanner (fw_expfmt.c) hands over each line that scanned; this file keeps one
    family's state at a time and checks, as the OpenMetrics specification and its reference
    parser (prometheus_client's openmetrics/parser.py, which the upstream suite follows) do:

    - metadata (HELP, TYPE, UNIT) once per family and before its samples; UNIT non-empty only
      as the suffix of the family name, and not on info or stateset families;
    - a family's lines contiguous, and no name used twice: when a family ends, its name and
      its name with each suffix of its type (counter: _total, _created; histogram: _bucket,
      _count, _sum, _created; ...) go into a set, and a later family or sample name in that
      set fails;
    - each type's sample names, labels (le on buckets, quantile on summary quantiles, the
      family name on stateset samples; le and quantile canonical, +Inf spelt so) and values
      (counter-like samples not NaN and not negative, counts and buckets integers, info 1,
      stateset 0 or 1, quantile values not negative); exemplars only on counter _total and
      histogram _bucket samples;
    - groups: a group is a sample's labels without le, quantile or the stateset label (info
      families have one group). A group's samples are contiguous, carry a timestamp on all of
      them or none, and their timestamps do not go back (except info's);
    - histogram and gauge histogram points (a group's samples with one timestamp): buckets in
      increasing le with non-decreasing values, a +Inf bucket equal to _count, _sum and
      _count together (_gsum and _gcount), no _sum with negative buckets, a negative _gsum
      only with negative buckets.

    Groups are compared by a 64-bit hash of their labels that does not depend on label order
    (the sum of each label's hash), so nothing of earlier lines is kept and the line mode
    works alike. Two different groups of one family with the same hash (a chance of 2^-64
    per pair) could change the verdict on that one exposition, never the data handed out.
    All state reuses its buffers between runs: no allocation per sample once warm.
*/
#include "fw_expfmt_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_mem.h"

enum { S_SEEN_HELP = 1, S_SEEN_TYPE = 2, S_SEEN_UNIT = 4, S_SEEN_SAMPLE = 8 };

// A sample name's suffix after its family name, as far as the value rules care.
enum { S_SUF_OTHER, S_SUF_TOTAL, S_SUF_BUCKET, S_SUF_COUNT, S_SUF_SUM, S_SUF_GCOUNT, S_SUF_GSUM };

struct s_suf {
    const char *s; // NULL ends a list
    size_t len;
    int kind; // S_SUF_*
};
#define S_SUF(x, k)                                                                                \
    {                                                                                              \
        x, sizeof(x) - 1, k                                                                        \
    }

// Per type (FW_EXPFMT_OM_* order), the sample-name suffixes a family of that type uses ("" is
// the bare family name).
static const struct {
    const char *type;
    struct s_suf suf[5];
} s_types[] = {
    {"unknown", {S_SUF("", S_SUF_OTHER)}},
    {"gauge", {S_SUF("", S_SUF_OTHER)}},
    {"counter", {S_SUF("_total", S_SUF_TOTAL), S_SUF("_created", S_SUF_OTHER)}},
    {"histogram",
     {S_SUF("_bucket", S_SUF_BUCKET), S_SUF("_count", S_SUF_COUNT), S_SUF("_sum", S_SUF_SUM),
      S_SUF("_created", S_SUF_OTHER)}},
    {"gaugehistogram",
     {S_SUF("_bucket", S_SUF_BUCKET), S_SUF("_gcount", S_SUF_GCOUNT), S_SUF("_gsum", S_SUF_GSUM)}},
    {"summary",
     {S_SUF("", S_SUF_OTHER), S_SUF("_count", S_SUF_COUNT), S_SUF("_sum", S_SUF_SUM),
      S_SUF("_created", S_SUF_OTHER)}},
    {"info", {S_SUF("_info", S_SUF_OTHER)}},
    {"stateset", {S_SUF("", S_SUF_OTHER)}},
};

struct s_span {
    const char *p;
    size_t len;
};

// Fail line l at column 1 with "<kind> \"<family>\": <what>".
static int
s_fail_family(fw_expfmt_t *self, struct fw_expfmt_scan *l, const char *what)
{
    char msg[200];
    int n = self->cur.len > 64 ? 64 : (int)self->cur.len;
    snprintf(msg, sizeof(msg), "%s family \"%.*s%s\": %s", s_types[self->cur_type].type, n,
             self->fam_arena + self->cur.off, (size_t)n < self->cur.len ? "..." : "", what);
    l->pos = 0;
    return fw_expfmt_fail(l, msg);
}

// ---------------------------------------------------------------------------------------
//  The set of names finished families use

static bool
s_fam_eq(const fw_expfmt_t *self, struct fw_expfmt_fam f, struct s_span sp)
{
    return f.len == sp.len && memcmp(self->fam_arena + f.off, sp.p, sp.len) == 0;
}

// Insert f (in fam_arena); the caller checked it is not there.
static void
s_fams_add(fw_expfmt_t *self, struct fw_expfmt_fam f)
{
    if ((self->fams_len + 1) * 2 > self->fams_cap) {
        size_t old_cap = self->fams_cap;
        struct fw_expfmt_fam *old = self->fams;
        self->fams_cap = old_cap ? old_cap * 2 : 64;
        self->fams = fw_calloc(self->fams_cap, sizeof(*self->fams));
        self->fams_len = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].len)
                s_fams_add(self, old[i]);
        free(old);
    }
    size_t mask = self->fams_cap - 1;
    size_t i = (size_t)fw_hash64(self->fam_arena + f.off, f.len) & mask;
    while (self->fams[i].len)
        i = (i + 1) & mask;
    self->fams[i] = f;
    self->fams_len++;
}

static const struct fw_expfmt_fam *
s_fams_find(const fw_expfmt_t *self, struct s_span sp)
{
    if (self->fams_cap == 0)
        return NULL;
    size_t mask = self->fams_cap - 1;
    for (size_t i = (size_t)fw_hash64(sp.p, sp.len) & mask;; i = (i + 1) & mask) {
        if (self->fams[i].len == 0)
            return NULL;
        if (s_fam_eq(self, self->fams[i], sp))
            return &self->fams[i];
    }
}

// Copy the current family's name and suffix into fam_arena.
static struct fw_expfmt_fam
s_fam_put(fw_expfmt_t *self, const char *suffix)
{
    size_t slen = strlen(suffix), off = self->fam_arena_len;
    fw_mem_grow((void **)&self->fam_arena, &self->fam_arena_cap, off + self->cur.len + slen, 1);
    memcpy(self->fam_arena + off, self->fam_arena + self->cur.off, self->cur.len);
    memcpy(self->fam_arena + off + self->cur.len, suffix, slen);
    self->fam_arena_len += self->cur.len + slen;
    return (struct fw_expfmt_fam){off, self->cur.len + slen, self->cur.len};
}

// ---------------------------------------------------------------------------------------
//  The current family's groups

static void
s_groups_clear(fw_expfmt_t *self)
{
    self->groups_len = 0;
    self->have_group = false;
    if (++self->groups_gen == 0) {
        if (self->groups_cap)
            memset(self->groups, 0, self->groups_cap * sizeof(*self->groups));
        self->groups_gen = 1;
    }
}

static bool
s_groups_has(const fw_expfmt_t *self, uint64_t h)
{
    if (self->groups_cap == 0)
        return false;
    size_t mask = self->groups_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (self->groups[i].gen != self->groups_gen)
            return false;
        if (self->groups[i].hash == h)
            return true;
    }
}

// Insert h; the caller checked it is not there.
static void
s_groups_add(fw_expfmt_t *self, uint64_t h)
{
    if ((self->groups_len + 1) * 2 > self->groups_cap) {
        size_t old_cap = self->groups_cap;
        struct fw_expfmt_grp *old = self->groups;
        self->groups_cap = old_cap ? old_cap * 2 : 64;
        self->groups = fw_calloc(self->groups_cap, sizeof(*self->groups));
        uint32_t gen = self->groups_gen;
        self->groups_gen = 1;
        self->groups_len = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].gen == gen)
                s_groups_add(self, old[i].hash);
        free(old);
    }
    size_t mask = self->groups_cap - 1;
    size_t i = (size_t)h & mask;
    while (self->groups[i].gen == self->groups_gen)
        i = (i + 1) & mask;
    self->groups[i] = (struct fw_expfmt_grp){h, self->groups_gen};
    self->groups_len++;
}

// ---------------------------------------------------------------------------------------
//  Families

// The histogram point in hrun is complete: check it and close it.
static int
s_hrun_check(fw_expfmt_t *self, struct fw_expfmt_scan *l)
{
    struct fw_expfmt_hrun *r = &self->hrun;
    r->on = false;
    if (!r->has_bucket || !(isinf(r->le) && r->le > 0))
        return s_fail_family(self, l, "a point without a +Inf bucket");
    if (r->has_count && r->bucket_v != r->count)
        return s_fail_family(self, l, "the count differs from the +Inf bucket");
    if (r->has_sum && !r->has_count)
        return s_fail_family(self, l, "_sum without _count");
    if (r->has_gsum && !r->has_count)
        return s_fail_family(self, l, "_gsum without _gcount");
    if (r->has_count && !r->has_sum && !r->has_gsum)
        return s_fail_family(self, l, "a count without a sum");
    if (r->neg_bucket && r->has_sum)
        return s_fail_family(self, l, "_sum with negative buckets");
    if (!r->neg_bucket && r->neg_gsum)
        return s_fail_family(self, l, "negative _gsum without negative buckets");
    return 0;
}

// Put the current family's name with suffix into the set of used names.
static int
s_family_register(fw_expfmt_t *self, struct fw_expfmt_scan *l, const char *suffix)
{
    struct fw_expfmt_fam f = *suffix ? s_fam_put(self, suffix) : self->cur;
    f.base = self->cur.len;
    if (s_fams_find(self, (struct s_span){self->fam_arena + f.off, f.len}))
        return s_fail_family(self, l, "a sample name of the family clashes with another family");
    s_fams_add(self, f);
    return 0;
}

// The current family ends: its last histogram point, then its names into the set (each of
// its type's sample names, and the bare name in any case).
static int
s_family_close(fw_expfmt_t *self, struct fw_expfmt_scan *l)
{
    if (!self->cur.len)
        return 0;
    if (self->hrun.on && s_hrun_check(self, l) != 0)
        return -1;
    const struct s_suf *suf = s_types[self->cur_type].suf;
    bool bare = false;
    for (size_t i = 0; suf[i].s; i++) {
        bare = bare || suf[i].len == 0;
        if (s_family_register(self, l, suf[i].s) != 0)
            return -1;
    }
    if (!bare && s_family_register(self, l, "") != 0)
        return -1;
    self->cur.len = 0;
    return 0;
}

// Fail line l if name sp is in the set of used names.
static int
s_family_unused(fw_expfmt_t *self, struct fw_expfmt_scan *l, struct s_span sp)
{
    const struct fw_expfmt_fam *f = s_fams_find(self, sp);
    if (f && f->len == f->base)
        return fw_expfmt_fail(l, "metric family appears again after another family");
    if (f)
        return fw_expfmt_fail(l, "metric family name clashes with an earlier family's samples");
    return 0;
}

// Close the current family and open the one named sp. A name used before fails the line
// before the current family closes, so that in line mode the family's next lines still
// count as its own.
static int
s_family_start(fw_expfmt_t *self, struct fw_expfmt_scan *l, struct s_span sp)
{
    size_t pos = l->pos;
    if (s_family_unused(self, l, sp) != 0 || s_family_close(self, l) != 0)
        return -1;
    l->pos = pos;
    if (s_family_unused(self, l, sp) != 0)
        return -1;
    fw_mem_grow((void **)&self->fam_arena, &self->fam_arena_cap, self->fam_arena_len + sp.len, 1);
    memcpy(self->fam_arena + self->fam_arena_len, sp.p, sp.len);
    self->cur = (struct fw_expfmt_fam){self->fam_arena_len, sp.len, sp.len};
    self->fam_arena_len += sp.len;
    self->cur_type = FW_EXPFMT_OM_UNKNOWN;
    self->cur_seen = 0;
    self->cur_unit = false;
    self->hrun.on = false;
    s_groups_clear(self);
    return 0;
}

// Does sample name sp belong to the current family? Its suffix's S_SUF_* kind, or -1.
static int
s_in_family(const fw_expfmt_t *self, struct s_span sp)
{
    if (!self->cur.len || sp.len < self->cur.len ||
        memcmp(sp.p, self->fam_arena + self->cur.off, self->cur.len) != 0)
        return -1;
    const struct s_suf *suf = s_types[self->cur_type].suf;
    size_t rest = sp.len - self->cur.len;
    for (size_t i = 0; suf[i].s; i++)
        if (suf[i].len == rest && memcmp(sp.p + self->cur.len, suf[i].s, rest) == 0)
            return suf[i].kind;
    return -1;
}

// The metadata line of s_metadata, its name sp (unquoted) ending at byte end.
static int
s_metadata_of(fw_expfmt_t *self, struct fw_expfmt_scan *l, char kw, struct s_span sp, size_t end)
{
    size_t start = 7;
    struct s_span rest = {l->p + end + 1, end < l->len ? l->len - end - 1 : 0};
    l->pos = start;
    if (!s_fam_eq(self, self->cur, sp) && s_family_start(self, l, sp) != 0)
        return -1;
    unsigned bit = kw == 'H' ? S_SEEN_HELP : kw == 'T' ? S_SEEN_TYPE : S_SEEN_UNIT;
    if (self->cur_seen & S_SEEN_SAMPLE)
        return fw_expfmt_fail(l, "metadata after the family's samples");
    if (self->cur_seen & bit)
        return fw_expfmt_fail(l, "repeated metadata for one metric family");
    self->cur_seen |= bit;
    if (bit == S_SEEN_TYPE) {
        for (size_t i = 0; i < sizeof(s_types) / sizeof(s_types[0]); i++)
            if (strlen(s_types[i].type) == rest.len &&
                memcmp(s_types[i].type, rest.p, rest.len) == 0)
                self->cur_type = (int)i;
    } else if (bit == S_SEEN_UNIT && rest.len > 0) {
        // The unit is the name's suffix: "# UNIT a_seconds seconds".
        self->cur_unit = true;
        l->pos = end + 1;
        if (sp.len <= rest.len + 1 || sp.p[sp.len - rest.len - 1] != '_' ||
            memcmp(sp.p + sp.len - rest.len, rest.p, rest.len) != 0)
            return fw_expfmt_fail(l, "the metric name does not end with '_' and the unit");
    }
    if (self->cur_unit &&
        (self->cur_type == FW_EXPFMT_OM_INFO || self->cur_type == FW_EXPFMT_OM_STATESET))
        return s_fail_family(self, l, "a unit on an info or stateset family");
    return 0;
}

// "# HELP|TYPE|UNIT name rest" (already scanned, so its shape is strict).
static int
s_metadata(fw_expfmt_t *self, struct fw_expfmt_scan *l)
{
    char kw = l->p[2];
    size_t start = 7, end = start;
    char *unquoted = NULL; // a quoted UTF-8 name (Prometheus 3), already checked
    if (l->p[start] == '"')
        end += fw_expfmt_quoted(l->p + start, l->len - start, &unquoted);
    while (end < l->len && l->p[end] != ' ')
        end++;
    struct s_span sp = {l->p + start, end - start};
    if (unquoted)
        sp = (struct s_span){unquoted, strlen(unquoted)};
    int rc = s_metadata_of(self, l, kw, sp, end);
    free(unquoted);
    return rc;
}

// A canonical number in an le or quantile label: decimal, not NaN, infinity as +Inf/-Inf.
static int
s_bound(const char *v, double *out)
{
    if (fw_expfmt_om_number(v, strlen(v), out) != 0 || isnan(*out))
        return -1;
    if (isinf(*out) && strcmp(v, *out > 0 ? "+Inf" : "-Inf") != 0)
        return -1;
    return 0;
}

// The type's rules for one sample (rec) of the current family, named sp, whose suffix is of
// kind suf (S_SUF_*).
static int
s_sample(fw_expfmt_t *self, struct fw_expfmt_scan *l, const struct fw_expfmt_rec *rec,
         struct s_span sp, int suf)
{
    int type = self->cur_type;
    bool hist = type == FW_EXPFMT_OM_HISTOGRAM || type == FW_EXPFMT_OM_GAUGEHISTOGRAM;
    bool bucket = hist && suf == S_SUF_BUCKET;
    bool quantile = type == FW_EXPFMT_OM_SUMMARY && sp.len == self->cur.len;
    double v = rec->v;
    l->pos = 0;
    // The label outside the group: le, quantile, or the stateset's own.
    const char *special = bucket ? "le" : quantile ? "quantile" : NULL;
    size_t special_len = bucket ? 2 : quantile ? 8 : 0;
    if (type == FW_EXPFMT_OM_STATESET) {
        special = self->fam_arena + self->cur.off;
        special_len = self->cur.len;
    }
    const struct fw_expfmt_lab *lab = NULL;
    for (uint32_t i = 0; special && i < rec->n_labels && !lab; i++) {
        const struct fw_expfmt_lab *x = &self->labels[rec->label_first + i];
        if (x->value_off - x->name_off == special_len + 1 &&
            memcmp(self->arena + x->name_off, special, special_len) == 0)
            lab = x;
    }
    double bound = 0;
    if (type == FW_EXPFMT_OM_STATESET) {
        if (!lab)
            return s_fail_family(self, l, "a sample without the label named after the family");
        if (v != 0 && v != 1)
            return s_fail_family(self, l, "a value other than 0 or 1");
    } else if (type == FW_EXPFMT_OM_INFO && v != 1) {
        return s_fail_family(self, l, "a value other than 1");
    } else if (bucket && (!lab || s_bound(self->arena + lab->value_off, &bound) != 0)) {
        return s_fail_family(self, l, "a bucket without a valid le label");
    } else if (quantile && (!lab || s_bound(self->arena + lab->value_off, &bound) != 0 ||
                            bound < 0 || bound > 1)) {
        return s_fail_family(self, l, "a quantile label missing, invalid or not in [0, 1]");
    }
    if (quantile && v < 0)
        return s_fail_family(self, l, "a negative quantile value");
    if (suf != S_SUF_OTHER && isnan(v))
        return s_fail_family(self, l, "a NaN counter, count, sum or bucket");
    if (suf != S_SUF_OTHER && suf != S_SUF_GSUM && v < 0)
        return s_fail_family(self, l, "a negative counter, count, sum or bucket");
    if ((bucket || suf == S_SUF_COUNT || suf == S_SUF_GCOUNT) && (isinf(v) || v != floor(v)))
        return s_fail_family(self, l, "a count or bucket that is not an integer");
    if (rec->has_ex && !bucket && !(type == FW_EXPFMT_OM_COUNTER && suf == S_SUF_TOTAL))
        return s_fail_family(self, l, "an exemplar on a sample other than _total or _bucket");

    // Groups: contiguous, timestamps on all or none, never going back (info excepted).
    uint64_t g = 0;
    if (type != FW_EXPFMT_OM_INFO) {
        g = self->line_lsum;
        if (lab)
            g -= fw_hash64(self->arena + lab->name_off,
                           lab->value_off - lab->name_off + strlen(self->arena + lab->value_off));
    }
    bool has_t = rec->has_t;
    double t = has_t ? self->line_t : 0;
    if (self->have_group && g == self->group) {
        if (has_t != self->group_has_t)
            return s_fail_family(self, l, "a group with and without timestamps");
        if (has_t && t < self->group_t && type != FW_EXPFMT_OM_INFO)
            return s_fail_family(self, l, "a group's timestamps go back");
    } else {
        if (s_groups_has(self, g))
            return s_fail_family(self, l, "a group's samples are not together");
        s_groups_add(self, g);
    }
    self->have_group = true;
    self->group = g;
    self->group_has_t = has_t;
    self->group_t = t;
    if (!hist)
        return 0;

    // Histogram points: one group's samples with one timestamp.
    struct fw_expfmt_hrun *r = &self->hrun;
    if (r->on && (g != r->group || has_t != r->has_t || t != r->t) && s_hrun_check(self, l) != 0)
        return -1;
    if (!r->on)
        *r = (struct fw_expfmt_hrun){.on = true, .group = g, .has_t = has_t, .t = t};
    if (bucket) {
        if (r->has_bucket && bound <= r->le)
            return s_fail_family(self, l, "buckets out of order");
        if (v < r->bucket_v)
            return s_fail_family(self, l, "a bucket smaller than the one before");
        r->neg_bucket = r->neg_bucket || bound < 0;
        r->has_bucket = true;
        r->le = bound;
        r->bucket_v = v;
    } else if (suf == S_SUF_COUNT || suf == S_SUF_GCOUNT) {
        r->has_count = true;
        r->count = v;
    } else if (suf == S_SUF_SUM) {
        r->has_sum = true;
    } else if (suf == S_SUF_GSUM) {
        r->has_gsum = true;
        r->neg_gsum = r->neg_gsum || v < 0;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------

int
fw_expfmt_om_line(fw_expfmt_t *self, struct fw_expfmt_scan *l)
{
    if (l->p[0] == '#')
        return s_metadata(self, l);
    // the line starts with the name, or quotes it in its braces ({"my.metric"})
    struct s_span sp = {self->line_qname != SIZE_MAX ? self->arena + self->line_qname : l->p,
                        self->line_name_len};
    int suf = s_in_family(self, sp);
    if (suf < 0) {
        l->pos = 0;
        if (s_family_start(self, l, sp) != 0)
            return -1;
        suf = S_SUF_OTHER; // a family of unknown type, named as the sample
    }
    self->cur_seen |= S_SEEN_SAMPLE;
    return s_sample(self, l, &self->samples[self->samples_len - 1], sp, suf);
}

int
fw_expfmt_om_eof(fw_expfmt_t *self, struct fw_expfmt_scan *l)
{
    return s_family_close(self, l);
}

void
fw_expfmt_om_reset(fw_expfmt_t *self)
{
    if (self->fams_len)
        memset(self->fams, 0, self->fams_cap * sizeof(*self->fams));
    self->fams_len = 0;
    self->fam_arena_len = 0;
    self->cur.len = 0;
    self->cur_type = FW_EXPFMT_OM_UNKNOWN;
    self->cur_seen = 0;
    self->cur_unit = false;
    self->hrun.on = false;
    s_groups_clear(self);
}

void
fw_expfmt_om_free(fw_expfmt_t *self)
{
    free(self->groups);
    free(self->fams);
    free(self->fam_arena);
}
