/*  fw_relabel.c — Prometheus relabeling (see fw_relabel.h).

    Rules are checked in the order and with the texts of Prometheus 3's Config.Validate, label
    names under the rule's name scheme (fw_relabel.h). A rule works on a struct fw_labels that
    owns its strings; the value joined from the source labels goes into a stack buffer, or a
    heap one past 1 KiB.
*/
#include "fw_relabel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_labels_pack.h"
#include "fw_md5.h"
#include "fw_mem.h"
#include "fw_names.h"

static const char *const s_action_names[] = {"replace",   "keep",      "drop",      "keepequal",
                                             "dropequal", "hashmod",   "labelmap",  "labeldrop",
                                             "labelkeep", "lowercase", "uppercase", NULL};

// Go's relabelTargetLegacy: a legacy label name in which ${var} and $var may stand for
// letters.
static bool
s_valid_with_vars(const char *s)
{
    if (!*s)
        return false;
    bool first = true;
    for (const char *p = s; *p;) {
        if (*p == '$') {
            p++;
            if (*p == '{') {
                const char *q = ++p;
                while (*q == '_' || (*q >= '0' && *q <= '9') ||
                       ((*q | 32) >= 'a' && (*q | 32) <= 'z'))
                    q++;
                if (q == p || *q != '}')
                    return false;
                p = q + 1;
            } else {
                const char *q = p;
                while (*q == '_' || (*q >= '0' && *q <= '9') ||
                       ((*q | 32) >= 'a' && (*q | 32) <= 'z'))
                    q++;
                if (q == p)
                    return false;
                p = q;
            }
        } else if (*p == '_' || ((*p | 32) >= 'a' && (*p | 32) <= 'z') ||
                   (!first && *p >= '0' && *p <= '9')) {
            p++;
        } else {
            return false;
        }
        first = false;
    }
    return true;
}

static int
s_check_action(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    for (int i = 0; s_action_names[i]; i++)
        if (strcasecmp(value, s_action_names[i]) == 0)
            return 0;
    fw_cfg_errors_add(errs, file, pos, "unknown relabel action \"%s\"", value);
    return -1;
}

static int
s_check_regex(const char *value, const char *file, struct fw_cfg_pos pos,
              struct fw_cfg_errors *errs)
{
    fw_err_t err;
    fw_err_clear(&err);
    fw_regex_t *re = fw_regex_new(value, FW_REGEX_PROMETHEUS, &err);
    if (!re) {
        fw_cfg_errors_add(errs, file, pos, "%s", err.msg);
        return -1;
    }
    fw_regex_destroy(&re);
    return 0;
}

// A source label: model.LabelName's check, utf8 whatever the job's scheme (Prometheus 3
// leaves model.NameValidationScheme at utf8).
static int
s_check_label_name(const char *value, const char *file, struct fw_cfg_pos pos,
                   struct fw_cfg_errors *errs)
{
    if (fw_names_label_valid(value, FW_NAMES_UTF8))
        return 0;
    fw_cfg_errors_add(errs, file, pos, "\"%s\" is not a valid label name", value);
    return -1;
}

const struct fw_cfg_field fw_relabel_fields[] = {
    {.key = "source_labels",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_relabel_config, source_labels),
     .count_off = offsetof(struct fw_relabel_config, n_source_labels),
     .check = s_check_label_name},
    {.key = "separator",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_relabel_config, separator),
     .def = ";"},
    {.key = "regex",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_relabel_config, regex),
     .check = s_check_regex},
    {.key = "modulus",
     .type = FW_CFG_INT,
     .off = offsetof(struct fw_relabel_config, modulus),
     .min = 0,
     .max = 9.2e18},
    {.key = "target_label",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_relabel_config, target_label)},
    {.key = "replacement",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_relabel_config, replacement),
     .def = "$1"},
    {.key = "action",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_relabel_config, action),
     .def = "replace",
     .check = s_check_action},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_relabel_config, pos)},
    {.key = NULL},
};

// ---------------------------------------------------------------------------------------
//  Validation (Prometheus's Config.Validate, in its order)

static const char *
s_or(const char *s, const char *def)
{
    return s ? s : def;
}

// A target_label or labelmap replacement holding $ templates: any UTF-8 name under utf8
// ('$', '{' and '}' are characters of it), a legacy name with templates under legacy.
static bool
s_valid_template(const char *s, fw_names_scheme_t scheme)
{
    return scheme == FW_NAMES_UTF8 ? fw_names_label_valid(s, scheme) : s_valid_with_vars(s);
}

// The first problem of rule rc as Prometheus words it, or NULL.
static const char *
s_invalid(const struct fw_relabel_config *rc, char *buf, size_t size)
{
    fw_relabel_action_t a = rc->act;
    const char *name = s_action_names[a];
    const char *target = s_or(rc->target_label, "");
    const char *repl = s_or(rc->replacement, "$1");
    bool needs_target = a == FW_RELABEL_REPLACE || a == FW_RELABEL_HASHMOD ||
                        a == FW_RELABEL_LOWERCASE || a == FW_RELABEL_UPPERCASE ||
                        a == FW_RELABEL_KEEPEQUAL || a == FW_RELABEL_DROPEQUAL;
    bool plain_target = a == FW_RELABEL_LOWERCASE || a == FW_RELABEL_UPPERCASE ||
                        a == FW_RELABEL_KEEPEQUAL || a == FW_RELABEL_DROPEQUAL;
    bool vars = strchr(target, '$') != NULL;
    bool target_ok = fw_names_label_valid(target, rc->scheme);

    if (rc->modulus == 0 && a == FW_RELABEL_HASHMOD)
        return "relabel configuration for hashmod requires non-zero modulus";
    if (needs_target && !*target) {
        snprintf(buf, size, "relabel configuration for %s action requires 'target_label' value",
                 name);
        return buf;
    }
    if ((a == FW_RELABEL_REPLACE && !vars && !target_ok) ||
        (a == FW_RELABEL_REPLACE && vars && !s_valid_template(target, rc->scheme)) ||
        (plain_target && !target_ok) || (a == FW_RELABEL_HASHMOD && !target_ok)) {
        snprintf(buf, size, "\"%s\" is invalid 'target_label' for %s action", target, name);
        return buf;
    }
    if (plain_target && strcmp(repl, "$1") != 0) {
        snprintf(buf, size, "'replacement' can not be set for %s action", name);
        return buf;
    }
    if (a == FW_RELABEL_LABELMAP && !s_valid_template(repl, rc->scheme)) {
        snprintf(buf, size, "\"%s\" is invalid 'replacement' for %s action", repl, name);
        return buf;
    }
    const char *sep = s_or(rc->separator, ";");
    if ((a == FW_RELABEL_KEEPEQUAL || a == FW_RELABEL_DROPEQUAL) &&
        (rc->regex || rc->modulus != 0 || strcmp(sep, ";") != 0 || strcmp(repl, "$1") != 0)) {
        snprintf(buf, size,
                 "%s action requires only 'source_labels' and `target_label`, and no other "
                 "fields",
                 name);
        return buf;
    }
    if ((a == FW_RELABEL_LABELDROP || a == FW_RELABEL_LABELKEEP) &&
        (rc->n_source_labels > 0 || *target || rc->modulus != 0 || strcmp(sep, ";") != 0 ||
         strcmp(repl, "$1") != 0)) {
        snprintf(buf, size, "%s action requires only 'regex', and no other fields", name);
        return buf;
    }
    return NULL;
}

int
fw_relabel_prepare(struct fw_relabel_config *rc, size_t n, fw_names_scheme_t scheme,
                   const char *file, struct fw_cfg_errors *errs)
{
    int rc_out = 0;
    for (size_t i = 0; i < n; i++) {
        struct fw_relabel_config *r = &rc[i];
        r->act = FW_RELABEL_REPLACE;
        r->scheme = scheme;
        for (int j = 0; s_action_names[j]; j++)
            if (r->action && strcasecmp(r->action, s_action_names[j]) == 0)
                r->act = (fw_relabel_action_t)j;
        if (r->action && strcasecmp(r->action, s_action_names[r->act]) != 0) {
            rc_out = -1; // reported by s_check_action
            continue;
        }
        fw_err_t err;
        fw_err_clear(&err);
        fw_regex_destroy(&r->re);
        r->re = fw_regex_new(s_or(r->regex, "(.*)"), FW_REGEX_PROMETHEUS, &err);
        if (!r->re) {
            rc_out = -1; // reported by s_check_regex
            continue;
        }
        char buf[256];
        const char *why = s_invalid(r, buf, sizeof(buf));
        if (why) {
            fw_cfg_errors_add(errs, file, r->pos, "%s", why);
            rc_out = -1;
        }
    }
    return rc_out;
}

void
fw_relabel_release(struct fw_relabel_config *rc, size_t n)
{
    for (size_t i = 0; rc && i < n; i++)
        fw_regex_destroy(&rc[i].re);
}

// ---------------------------------------------------------------------------------------
//  Applying

static const char *
s_get(const struct fw_labels *l, const char *name)
{
    const char *v = fw_labels_get(l, name);
    return v ? v : "";
}

static bool
s_apply(const struct fw_relabel_config *rc, struct fw_labels *lset, const char *val)
{
    const char *target = s_or(rc->target_label, "");
    switch (rc->act) {
    case FW_RELABEL_DROP: return !fw_regex_match(rc->re, val);
    case FW_RELABEL_KEEP: return fw_regex_match(rc->re, val);
    case FW_RELABEL_DROPEQUAL: return strcmp(s_get(lset, target), val) != 0;
    case FW_RELABEL_KEEPEQUAL: return strcmp(s_get(lset, target), val) == 0;
    case FW_RELABEL_REPLACE: {
        char *name = NULL, *res = NULL;
        if (!fw_regex_replace(rc->re, val, target, &name))
            return true; // no match: nothing is written
        if (fw_names_label_valid(name, rc->scheme) &&
            fw_regex_replace(rc->re, val, s_or(rc->replacement, "$1"), &res))
            fw_labels_set(lset, name, res); // "" deletes
        free(name);
        free(res);
        return true;
    }
    case FW_RELABEL_LOWERCASE:
    case FW_RELABEL_UPPERCASE: {
        char *v = fw_strdup(val);
        for (char *p = v; *p; p++)
            if (rc->act == FW_RELABEL_LOWERCASE && *p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
            else if (rc->act == FW_RELABEL_UPPERCASE && *p >= 'a' && *p <= 'z')
                *p = (char)(*p - 32);
        fw_labels_set(lset, target, v);
        free(v);
        return true;
    }
    case FW_RELABEL_HASHMOD: {
        uint8_t sum[16];
        fw_md5(val, strlen(val), sum);
        uint64_t h = 0;
        for (int i = 8; i < 16; i++)
            h = h << 8 | sum[i];
        char num[24];
        snprintf(num, sizeof(num), "%" PRIu64, h % (uint64_t)rc->modulus);
        fw_labels_set(lset, target, num);
        return true;
    }
    case FW_RELABEL_LABELMAP: {
        struct fw_labels snap = FW_LABELS_INIT;
        fw_labels_copy(&snap, lset);
        for (size_t i = 0; i < snap.len; i++) {
            char *name = NULL;
            if (fw_regex_replace(rc->re, snap.items[i].name, s_or(rc->replacement, "$1"), &name)) {
                if (fw_names_label_valid(name, FW_NAMES_UTF8))
                    fw_labels_set(lset, name, snap.items[i].value);
                free(name);
            }
        }
        fw_labels_clear(&snap);
        return true;
    }
    case FW_RELABEL_LABELDROP:
    case FW_RELABEL_LABELKEEP:
        for (size_t i = lset->len; i-- > 0;) {
            bool m = fw_regex_match(rc->re, lset->items[i].name);
            if (m == (rc->act == FW_RELABEL_LABELDROP))
                fw_labels_del(lset, lset->items[i].name);
        }
        return true;
    }
    return true;
}

bool
fw_relabel_process(const struct fw_relabel_config *rc, size_t n, struct fw_labels *lset)
{
    char stack[1024];
    for (size_t i = 0; i < n; i++) {
        const struct fw_relabel_config *r = &rc[i];
        if (!r->re)
            continue; // not prepared (an invalid rule never gets this far)
        const char *sep = s_or(r->separator, ";");
        size_t need = 1, seplen = strlen(sep);
        for (size_t j = 0; j < r->n_source_labels; j++)
            need += strlen(s_get(lset, r->source_labels[j])) + seplen;
        char *buf = need <= sizeof(stack) ? stack : fw_malloc(need);
        size_t off = 0;
        for (size_t j = 0; j < r->n_source_labels; j++) {
            if (j) {
                memcpy(buf + off, sep, seplen);
                off += seplen;
            }
            const char *v = s_get(lset, r->source_labels[j]);
            size_t vl = strlen(v);
            memcpy(buf + off, v, vl);
            off += vl;
        }
        buf[off] = '\0';
        bool keep = s_apply(r, lset, buf);
        if (buf != stack)
            free(buf);
        if (!keep)
            return false;
    }
    return true;
}

char *
fw_relabel_describe(const struct fw_relabel_config *rc)
{
    size_t cap = 256, len = 0;
    char *out = fw_malloc(cap);
    out[0] = '\0';
    const char *parts[][2] = {{"action", s_action_names[rc->act]},
                              {"target_label", s_or(rc->target_label, "")},
                              {"regex", s_or(rc->regex, "(.*)")},
                              {"replacement", s_or(rc->replacement, "$1")},
                              {"separator", s_or(rc->separator, ";")}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t need = len + strlen(parts[i][0]) + strlen(parts[i][1]) + 8;
        fw_mem_grow((void **)&out, &cap, need + 1, 1);
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? " " : "", parts[i][0],
                                parts[i][1]);
    }
    for (size_t j = 0; j < rc->n_source_labels; j++) {
        fw_mem_grow((void **)&out, &cap, len + strlen(rc->source_labels[j]) + 20, 1);
        len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                j ? "," : " source_labels=", rc->source_labels[j]);
    }
    return out;
}
