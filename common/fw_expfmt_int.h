/*  fw_expfmt_int.h — PRIVATE to the exposition parser: the parser object, its sample
    records and line scan state, the scanner helpers and the functions its files share.
    Only fw_expfmt*.c include it; everyone else uses fw_expfmt.h, where fw_expfmt_t is
    opaque. Each file keeps its own s_* statics; what more than one file needs is named
    fw_expfmt_int_* (or fw_expfmt_om_*, fw_expfmt_st_* after the file that defines it).

    Who does what:
    - fw_expfmt.c: the object, the runs (fw_expfmt_parse_flags) and the line-at-a-time mode,
      and the sample lines (names, labels, values, timestamps, exemplars, the known- and
      expected-series fast paths): the hot loop, kept in one translation unit so that its
      helpers inline.
    - fw_expfmt_meta.c: comment lines (# HELP, # TYPE, # UNIT, # EOF), quoted names, and
      handing metadata to the caller's fw_expfmt_meta_fn.
    - fw_expfmt_num.c: numbers as Go's ParseFloat reads them (with a fast decimal path).
    - fw_expfmt_om.c: after each OpenMetrics line that scanned, fw_expfmt_om_line() applies
      the rules that need the metric family's state (metadata placement, name clashes, each
      type's sample names, labels and values, groups of samples, histogram buckets), and
      fw_expfmt_om_eof() closes the last family at "# EOF".
    - fw_expfmt_st.c: `_created` lines as start times (FW_EXPFMT_START_TIMES).
*/
#ifndef FW_EXPFMT_INT_H
#define FW_EXPFMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_err.h"
#include "fw_expfmt.h"

struct fw_expfmt_lab {
    size_t name_off; // into arena; the value follows the name's NUL there
    size_t value_off;
};

// struct fw_expfmt_rec, one sample's record, is in fw_expfmt.h (for fw_expfmt_tagged_get).

// FW_EXPFMT_START_TIMES: the state after a metadata line (fw_expfmt_st.c): the type of the
// last TYPE line ('c'ounter, 's'ummary, 'h'istogram, 0 another) and the name length of
// the last metadata line.
struct fw_expfmt_stblock {
    char kind;
    uint32_t mf_len;
};

// A `_created` line: after samples [0, at), in block `block`, its series' key, its value as
// milliseconds (0: none).
struct fw_expfmt_created {
    size_t at;
    uint32_t block;
    uint64_t key;
    int64_t st;
};

// A family name, or a family name and a suffix of its type, in fam_arena (base: the family
// name's length); len 0 is an empty slot or none.
struct fw_expfmt_fam {
    size_t off, len, base;
};

// A group's hash in the set of one family's groups; entries of another generation (an
// earlier family) are empty slots, so a new family starts with an empty set in O(1).
struct fw_expfmt_grp {
    uint64_t hash;
    uint32_t gen;
};

// The checks of one histogram or gauge histogram point: the samples of one group with one
// timestamp, in exposition order.
struct fw_expfmt_hrun {
    bool on;
    uint64_t group;
    bool has_t;
    double t;
    bool has_bucket, has_count, has_sum, has_gsum, neg_bucket, neg_gsum;
    double le;       // the last bucket's bound
    double bucket_v; // the last bucket's value
    double count;
};

// A record's name_off with this bit: its name was not copied into the arena (the series
// text a caller expected, fw_expfmt_set_expect, read with its tag: nobody asks its name in
// a steady scrape) and is the first (name_off & ~bit) bytes of its series text;
// fw_expfmt_get copies it into the arena room kept for it (name_defer) when asked.
#define FW_EXPFMT_NAME_DEFERRED ((size_t)1 << (sizeof(size_t) * 8 - 1))

struct fw_expfmt {
    char *arena; // owned: every string of a run (or line), NUL-terminated
    size_t arena_len, arena_cap;
    size_t name_defer;            // arena bytes the deferred names take with their NULs (reserved)
    struct fw_expfmt_lab *labels; // owned
    size_t labels_len, labels_cap;
    struct fw_expfmt_rec *samples; // owned
    size_t samples_len, samples_cap;
    const char **names;  // owned array; entries borrowed from arena
    const char **values; // owned array; entries borrowed from arena
    size_t names_cap, values_cap;
    // The sample line just scanned, for the family rules: its metric name's length, its
    // timestamp in seconds and the sum of its labels' hashes (each over "name\0value").
    size_t line_name_len;
    size_t line_qname; // a quoted metric name's ({"my.metric"}) arena offset, else SIZE_MAX
    double line_t;
    uint64_t line_lsum;
    // OpenMetrics metric families, valid during one run or stream of lines.
    char *fam_arena; // owned: family names, and names with their type's suffixes
    size_t fam_arena_len, fam_arena_cap;
    struct fw_expfmt_fam *fams; // owned open-addressing set of the names finished families use
    size_t fams_cap, fams_len;
    struct fw_expfmt_fam cur; // the current family's name (len 0: none yet)
    int cur_type;             // FW_EXPFMT_OM_* type
    unsigned cur_seen;        // FW_EXPFMT_OM_SEEN_* bits
    bool cur_unit;            // a non-empty unit was given
    // The current family's groups (a sample's labels without le, quantile or the stateset
    // label): the set of their hashes, the last one and its timestamp.
    struct fw_expfmt_grp *groups; // owned open-addressing set
    size_t groups_cap, groups_len;
    uint32_t groups_gen;
    bool have_group;
    uint64_t group;
    bool group_has_t;
    double group_t;
    struct fw_expfmt_hrun hrun;
    // Line-at-a-time mode (fw_expfmt_begin/line/end).
    fw_expfmt_fmt_t line_fmt;
    unsigned line_flags; // FW_EXPFMT_*
    unsigned scan_flags; // FW_EXPFMT_* of the run (fw_expfmt_parse_flags) or stream of lines
    size_t ex_dropped;   // FW_EXPFMT_PROMETHEUS: exemplars dropped in the run
    bool *scan_ex_dup;   // while an exemplar's labels scan: set on a repeated name, not failed
    fw_expfmt_known_fn *known; // borrowed, or NULL: fw_expfmt_set_known
    void *known_arg;
    fw_expfmt_expect_fn *expect;                     // borrowed, or NULL: fw_expfmt_set_expect
    const struct fw_expfmt_text *const *expect_list; // borrowed, or NULL: _set_expect_list
    size_t expect_n;
    size_t fast_lines;       // samples of the last run read by s_fast_line (fw_expfmt_fast_lines)
    fw_expfmt_meta_fn *meta; // borrowed, or NULL: fw_expfmt_set_meta
    void *meta_arg;
    int lineno;    // lines given so far
    bool line_eof; // OpenMetrics "# EOF" seen
    // FW_EXPFMT_START_TIMES (fw_expfmt_st.c), during and after one fw_expfmt_parse_flags run
    bool st_on;
    struct fw_expfmt_stblock *st_blocks; // owned: [0] before any metadata line
    size_t st_blocks_len, st_blocks_cap;
    struct fw_expfmt_created *created; // owned: the run's `_created` lines, in order
    size_t created_len, created_cap;
    int64_t *st; // owned: each sample's start time, when st_valid
    size_t st_cap;
    bool st_valid;
};

// The name of record r and its length: in the arena, or its series text's first bytes
// (FW_EXPFMT_NAME_DEFERRED; then not NUL-terminated).
static inline const char *
fw_expfmt_int_rec_name(const fw_expfmt_t *self, const struct fw_expfmt_rec *r, size_t *len)
{
    if (r->name_off & FW_EXPFMT_NAME_DEFERRED) {
        *len = r->name_off & ~FW_EXPFMT_NAME_DEFERRED;
        return r->series;
    }
    *len = strlen(self->arena + r->name_off);
    return self->arena + r->name_off;
}

// The scan state of one line.
struct fw_expfmt_scan {
    const char *p; // line start
    size_t len;    // without the line end
    size_t pos;    // cursor
    int lineno;
    bool bare; // line mode: the message leaves the position to err->line and err->col
    fw_err_t *err;
};

// OpenMetrics metric types (indexes into fw_expfmt_om.c's table).
enum {
    FW_EXPFMT_OM_UNKNOWN,
    FW_EXPFMT_OM_GAUGE,
    FW_EXPFMT_OM_COUNTER,
    FW_EXPFMT_OM_HISTOGRAM,
    FW_EXPFMT_OM_GAUGEHISTOGRAM,
    FW_EXPFMT_OM_SUMMARY,
    FW_EXPFMT_OM_INFO,
    FW_EXPFMT_OM_STATESET,
};

// Fail the line at the cursor with reason what: -1, err set ("line N: what at column C", or
// the bare reason in line mode).
int fw_expfmt_fail(struct fw_expfmt_scan *l, const char *what);
// A number as Go's ParseFloat reads it, decimal only (OpenMetrics). 0 or -1.
int fw_expfmt_om_number(const char *s, size_t n, double *out);
// A float as Go's strconv.ParseFloat reads exposition values (text format): decimal or hex,
// or Inf/Infinity/NaN with an optional sign, case-insensitive; overflow is refused. 0 or -1.
int fw_expfmt_int_parse_float(const char *s, size_t n, double *out);

// --- comment lines (fw_expfmt_meta.c) ---

// A comment line, cursor on its '#': 0, 1 when the line is OpenMetrics' "# EOF", or -1 with
// the line failed. OpenMetrics allows only HELP, TYPE, UNIT and EOF, each token separated by
// one space; the text format ignores other comments.
int fw_expfmt_int_parse_comment(struct fw_expfmt_scan *l, fw_expfmt_fmt_t fmt);
// The checks Prometheus's OpenMetrics parser makes on a metadata line that scanned
// ("# HELP|TYPE|UNIT name rest"), with its texts. 0 or -1 with the line failed.
int fw_expfmt_int_prom_metadata(struct fw_expfmt_scan *l);
// Give the metadata line that parsed at l->p[hash] ('#') to self->meta (must be set); a free
// comment is not given.
void fw_expfmt_int_emit_meta(fw_expfmt_t *self, const struct fw_expfmt_scan *l, size_t hash);

// --- scanner helpers (static inline: the hot loop in fw_expfmt.c inlines them) ---

static inline bool
fw_expfmt_int_blank(char c)
{
    return c == ' ' || c == '\t';
}

static inline void
fw_expfmt_int_skip_blanks(struct fw_expfmt_scan *l)
{
    while (l->pos < l->len && fw_expfmt_int_blank(l->p[l->pos]))
        l->pos++;
}

static inline bool
fw_expfmt_int_at_end(const struct fw_expfmt_scan *l)
{
    return l->pos >= l->len;
}

static inline bool
fw_expfmt_int_name_start(char c, bool metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static inline bool
fw_expfmt_int_name_char(char c, bool metric)
{
    return fw_expfmt_int_name_start(c, metric) || (c >= '0' && c <= '9');
}

// Scan a name at the cursor; returns its length (0: none there).
static inline size_t
fw_expfmt_int_scan_name(struct fw_expfmt_scan *l, bool metric)
{
    size_t start = l->pos;
    if (fw_expfmt_int_at_end(l) || !fw_expfmt_int_name_start(l->p[l->pos], metric))
        return 0;
    while (l->pos < l->len && fw_expfmt_int_name_char(l->p[l->pos], metric))
        l->pos++;
    return l->pos - start;
}

// A token of non-blank characters at the cursor: [*start, *start + returned length).
static inline size_t
fw_expfmt_int_scan_token(struct fw_expfmt_scan *l, size_t *start)
{
    *start = l->pos;
    while (l->pos < l->len && !fw_expfmt_int_blank(l->p[l->pos]))
        l->pos++;
    return l->pos - *start;
}

// OpenMetrics separates the parts of a line by exactly one space: accept one ' ' followed
// by a non-blank character.
static inline int
fw_expfmt_int_om_sep(struct fw_expfmt_scan *l, const char *what)
{
    if (l->pos + 1 >= l->len || l->p[l->pos] != ' ' || fw_expfmt_int_blank(l->p[l->pos + 1]))
        return fw_expfmt_fail(l, what);
    l->pos++;
    return 0;
}

// Clinger's fast path for the common case: a plain decimal ([+-]digits[.digits][e[+-]digits])
// at the start of s (n bytes at most) whose significand has at most 19 significant digits
// and stays below 2^53, scaled by a power of ten within +-22. Both operands are then exact
// doubles, so one correctly rounded multiplication or division gives the very double strtod
// returns, at a tenth of its cost. Returns the bytes read (the number ends where no digit,
// '.', exponent or sign can continue it), or 0 when the text needs the full conversion (or
// is no plain decimal): the caller checks that the number is the whole token. Inline: the
// sample lines (fw_expfmt.c) read a value with it in place, without a pass to find the
// token's end first. Always inlined: GCC otherwise calls it from the sample line, and the
// call's register saves were a tenth of its cost; but not under AddressSanitizer, where the
// inlined checks made check_fw_expfmt's 200,000 random values 15% slower, near its timeout
// when the machine is busy.
#if defined(__SANITIZE_ADDRESS__)
#define FW_EXPFMT_INT_DECIMAL_INLINE
#else
#define FW_EXPFMT_INT_DECIMAL_INLINE __attribute__((always_inline))
#endif
static inline FW_EXPFMT_INT_DECIMAL_INLINE size_t
fw_expfmt_int_decimal(const char *s, size_t n, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    // The integer digits, then the fraction's (each counts in scale); leading zeros are no
    // significant digits. Each loop only accumulates (past 19 digits w wraps, and the
    // count refuses it below): this runs for every sample of every scrape.
    uint64_t w = 0;
    size_t first = i;
    while (i < n && s[i] == '0')
        i++;
    size_t sig = i;
    for (unsigned d; i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 10; i++)
        w = w * 10 + d;
    size_t digits = i - sig;
    bool any = i > first;
    int scale = 0;
    if (i < n && s[i] == '.') {
        size_t frac = ++i;
        if (w == 0)
            while (i < n && s[i] == '0')
                i++;
        size_t fsig = i;
        for (unsigned d; i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 10; i++)
            w = w * 10 + d;
        digits += i - fsig;
        scale = (int)(i - frac);
        any = any || i > frac;
    }
    if (!any || digits > 19)
        return 0;
    int e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == n || s[i] < '0' || s[i] > '9')
            return 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9' && e < 1000; i++)
            e = e * 10 + (s[i] - '0');
        e = eneg ? -e : e;
    }
    if (w > (UINT64_C(1) << 53))
        return 0;
    int q = e - scale;
    if (w != 0 && (q < -22 || q > 22))
        return 0;
    double v = (double)w;
    if (w != 0)
        v = q < 0 ? v / pow10[-q] : v * pow10[q];
    *out = neg ? -v : v;
    return i;
}

// Forget the families of an earlier run.
void fw_expfmt_om_reset(fw_expfmt_t *self);
// The family rules for line l, which scanned (a metadata line, or a sample line whose record
// is the last of self->samples). 0 or -1 with the line failed.
int fw_expfmt_om_line(fw_expfmt_t *self, struct fw_expfmt_scan *l);
// "# EOF" (line l): close the last family. 0 or -1.
int fw_expfmt_om_eof(fw_expfmt_t *self, struct fw_expfmt_scan *l);
// Free the family state's buffers.
void fw_expfmt_om_free(fw_expfmt_t *self);

// --- start times (fw_expfmt_st.c) ---

// Forget the last run's; one block, of no type.
void fw_expfmt_st_reset(fw_expfmt_t *self);
void fw_expfmt_st_free(fw_expfmt_t *self);
// Metadata line l ("# HELP|TYPE|UNIT name ...") scanned: a new block.
void fw_expfmt_st_meta(fw_expfmt_t *self, const struct fw_expfmt_scan *l);
// Whether a sample named name (len bytes) in the current block is a `_created` line.
bool fw_expfmt_st_is_created(const fw_expfmt_t *self, const char *name, size_t len);
// Keep the `_created` line s scanned (not among the samples).
void fw_expfmt_st_created(fw_expfmt_t *self, const struct fw_expfmt_rec *s);
// The body parsed: give the samples their start times.
void fw_expfmt_st_resolve(fw_expfmt_t *self);
// Sample i's start time (ms; 0: none).
int64_t fw_expfmt_st_get(const fw_expfmt_t *self, size_t i);

// The quoted name at p (n bytes, p[0] == '"'; Prometheus 3's UTF-8 names, `"my.metric"`):
// its length with both quotes, or 0 when it does not close or is not a valid name. With out,
// *out gets the name unescaped (\\, \" and \n), which the caller frees.
size_t fw_expfmt_quoted(const char *p, size_t n, char **out);

#endif
