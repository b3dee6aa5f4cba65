/*  slod_windows.c — load Sloth's AlertWindows catalogs (see slod_windows.h).
 */
#include "slod_windows.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_time.h"

#define S_API_VERSION "sloth.slok.dev/v1"
#define S_KIND "AlertWindows"

struct s_window {
    double percent;
    int64_t short_ms, long_ms;
    struct fw_cfg_pos pos;
};

struct s_pair {
    struct s_window quick, slow;
    struct fw_cfg_pos pos;
};

struct s_spec {
    int64_t period_ms;
    struct s_pair page, ticket;
    struct fw_cfg_pos pos;
};

struct s_doc {
    char *api_version, *kind;
    struct s_spec spec;
};

static int
s_check_api_version(const char *value, const char *file, struct fw_cfg_pos pos,
                    struct fw_cfg_errors *errs)
{
    if (strcmp(value, S_API_VERSION) == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "apiVersion \"%s\" is not supported: an alert window catalog is "
                      "Sloth's " S_API_VERSION " AlertWindows",
                      value);
    return -1;
}

static int
s_check_kind(const char *value, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    if (strcmp(value, S_KIND) == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "kind \"%s\" is not supported in alert_windows_files: only " S_KIND, value);
    return -1;
}

static const struct fw_cfg_field s_window_fields[] = {
    {.key = "errorBudgetPercent",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct s_window, percent),
     .required = true,
     .min = 1e-9,
     .max = 100},
    {.key = "shortWindow",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_window, short_ms),
     .required = true,
     .min = 1,
     .max = 1e12},
    {.key = "longWindow",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_window, long_ms),
     .required = true,
     .min = 1,
     .max = 1e12},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct s_window, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_pair_fields[] = {
    {.key = "quick",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct s_pair, quick),
     .child = s_window_fields},
    {.key = "slow",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct s_pair, slow),
     .child = s_window_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct s_pair, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_spec_fields[] = {
    {.key = "sloPeriod",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct s_spec, period_ms),
     .required = true,
     .min = 1,
     .max = 1e12},
    {.key = "page",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct s_spec, page),
     .child = s_pair_fields},
    {.key = "ticket",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct s_spec, ticket),
     .child = s_pair_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct s_spec, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_doc_fields[] = {
    {.key = "apiVersion",
     .type = FW_CFG_STR,
     .off = offsetof(struct s_doc, api_version),
     .required = true,
     .check = s_check_api_version},
    {.key = "kind",
     .type = FW_CFG_STR,
     .off = offsetof(struct s_doc, kind),
     .required = true,
     .check = s_check_kind},
    {.key = "spec",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct s_doc, spec),
     .child = s_spec_fields},
    {.key = NULL},
};

// Whether slod evaluates a window of ms for an SLO of period_ms.
static bool
s_evaluated(int64_t ms, int64_t period_ms)
{
    for (size_t w = 0; w < SLOD_N_FIXED_WINDOWS; w++)
        if (slod_fixed_window_ms[w] == ms)
            return true;
    return ms == period_ms;
}

// Check one catalog window (written at `at`) and turn it into an alert window: burn rate
// errorBudgetPercent / 100 x period / longWindow, as Sloth computes it. 0 or -1 (reported).
static int
s_window(const char *file, const char *where, const struct s_window *w, struct fw_cfg_pos at,
         int64_t period_ms, int severity, struct slod_window_cfg *out, struct fw_cfg_errors *errs)
{
    char b1[32], b2[32], b3[32];
    if (w->long_ms == 0 || w->short_ms == 0) {
        fw_cfg_errors_add(errs, file, at,
                          "spec.%s: errorBudgetPercent, shortWindow and longWindow are required",
                          where);
        return -1;
    }
    fw_duration_format(w->short_ms, b1, sizeof(b1));
    fw_duration_format(w->long_ms, b2, sizeof(b2));
    fw_duration_format(period_ms, b3, sizeof(b3));
    if (w->short_ms >= w->long_ms || w->long_ms > period_ms) {
        fw_cfg_errors_add(errs, file, at,
                          "spec.%s: shortWindow %s must be shorter than longWindow %s, and "
                          "longWindow no longer than sloPeriod %s",
                          where, b1, b2, b3);
        return -1;
    }
    if (!s_evaluated(w->short_ms, period_ms) || !s_evaluated(w->long_ms, period_ms)) {
        fw_cfg_errors_add(errs, file, at,
                          "spec.%s: window %s is not one slod evaluates (5m, 30m, 1h, 2h, 6h, "
                          "1d, 3d or the sloPeriod %s): not supported",
                          where, s_evaluated(w->short_ms, period_ms) ? b2 : b1, b3);
        return -1;
    }
    *out = (struct slod_window_cfg){.severity = severity,
                                    .long_ms = w->long_ms,
                                    .short_ms = w->short_ms,
                                    .burn_rate =
                                        w->percent / 100.0 * (double)period_ms / (double)w->long_ms,
                                    .pos = at};
    return 0;
}

static void
s_load_file(const char *path, struct slod_catalog *out, struct fw_cfg_errors *errs)
{
    struct s_doc doc;
    memset(&doc, 0, sizeof(doc));
    size_t before = errs->len + errs->dropped;
    struct fw_cfg_errors *mine = fw_calloc(1, sizeof(*mine)); // fw_cfg_load clears its errors
    fw_cfg_load(path, NULL, s_doc_fields, &doc, mine);
    for (size_t i = 0; i < mine->len; i++) {
        if (errs->len < FW_CFG_MAX_ERRORS)
            errs->items[errs->len++] = mine->items[i];
        else
            errs->dropped++;
    }
    errs->dropped += mine->dropped;
    free(mine);
    const struct s_spec *sp = &doc.spec;
    struct slod_period_windows pw = {.period_ms = sp->period_ms};
    const struct {
        const char *where;
        const struct s_window *w;
        struct fw_cfg_pos parent;
        int severity;
    } ws[SLOD_CATALOG_WINDOWS] = {
        {"page.quick", &sp->page.quick, sp->page.pos, SLOD_PAGE},
        {"page.slow", &sp->page.slow, sp->page.pos, SLOD_PAGE},
        {"ticket.quick", &sp->ticket.quick, sp->ticket.pos, SLOD_TICKET},
        {"ticket.slow", &sp->ticket.slow, sp->ticket.pos, SLOD_TICKET},
    };
    if (errs->len + errs->dropped == before) {
        for (size_t i = 0; i < SLOD_CATALOG_WINDOWS; i++) {
            struct fw_cfg_pos at = ws[i].w->pos.line > 0   ? ws[i].w->pos
                                   : ws[i].parent.line > 0 ? ws[i].parent
                                   : sp->pos.line > 0      ? sp->pos
                                                           : (struct fw_cfg_pos){1, 1};
            (void)s_window(path, ws[i].where, ws[i].w, at, sp->period_ms, ws[i].severity,
                           &pw.windows[i], errs);
        }
        for (size_t i = 0; i < out->len; i++)
            if (out->items[i].period_ms == pw.period_ms) {
                char b[32];
                fw_cfg_errors_add(errs, path, sp->pos, "sloPeriod %s is already defined by %s",
                                  fw_duration_format(pw.period_ms, b, sizeof(b)),
                                  out->items[i].file);
            }
    }
    if (errs->len + errs->dropped == before) {
        out->items = fw_realloc(out->items, (out->len + 1) * sizeof(*out->items));
        pw.file = fw_strdup(path);
        out->items[out->len++] = pw;
    }
    fw_cfg_free(s_doc_fields, &doc);
}

void
slod_catalog_load(const char *config_file, char *const *patterns, const struct fw_cfg_pos *pos,
                  size_t n, struct slod_catalog *out, struct fw_cfg_errors *errs)
{
    memset(out, 0, sizeof(*out));
    const char *slash = config_file ? strrchr(config_file, '/') : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *pat = patterns[i];
        char *full = pat[0] == '/' || !slash
                         ? fw_strdup(pat)
                         : fw_asprintf("%.*s/%s", (int)(slash - config_file), config_file, pat);
        glob_t g;
        memset(&g, 0, sizeof(g));
        int rc = glob(full, 0, NULL, &g);
        if (rc != 0)
            fw_cfg_errors_add(errs, config_file, pos ? pos[i] : (struct fw_cfg_pos){0, 0},
                              "alert_windows_files: '%s' matches no file", full);
        for (size_t j = 0; rc == 0 && j < g.gl_pathc; j++)
            s_load_file(g.gl_pathv[j], out, errs);
        globfree(&g);
        free(full);
    }
}

void
slod_catalog_free(struct slod_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->len; i++)
        free(c->items[i].file);
    free(c->items);
    memset(c, 0, sizeof(*c));
}

const struct slod_period_windows *
slod_catalog_find(const struct slod_catalog *c, int64_t period_ms)
{
    for (size_t i = 0; c && i < c->len; i++)
        if (c->items[i].period_ms == period_ms)
            return &c->items[i];
    return NULL;
}
