/*  fw_matcher.c — apply one label matcher (see fw_matcher.h). */
#include "fw_matcher.h"

#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

static const char *s_op_str[] = {"=", "!=", "=~", "!~"};

const char *
fw_match_op_str(fw_match_op_t op)
{
    return (unsigned)op < 4 ? s_op_str[op] : "?";
}

static bool
s_is_regex(fw_match_op_t op)
{
    return op == FW_MATCH_RE || op == FW_MATCH_NRE;
}

int
fw_matcher_init(struct fw_matcher *m, fw_match_op_t op, const char *name, const char *value,
                fw_regex_dialect_t dialect, fw_err_t *err)
{
    memset(m, 0, sizeof *m);
    fw_regex_t *re = NULL;
    if (s_is_regex(op)) {
        re = fw_regex_new(value, dialect, err);
        if (!re)
            return -1;
    }
    m->op = op;
    m->name = fw_strdup(name);
    m->value = fw_strdup(value);
    m->re = re;
    return 0;
}

void
fw_matcher_copy(struct fw_matcher *dst, const struct fw_matcher *src)
{
    *dst = *src;
    dst->name = fw_strdup(src->name);
    dst->value = fw_strdup(src->value);
    dst->re = fw_regex_copy(src->re);
}

void
fw_matcher_clear(struct fw_matcher *m)
{
    free(m->name);
    free(m->value);
    fw_regex_destroy(&m->re);
    memset(m, 0, sizeof *m);
}

bool
fw_matcher_matches(const struct fw_matcher *m, const char *value)
{
    if (!value)
        value = "";
    switch (m->op) {
    case FW_MATCH_EQ: return strcmp(value, m->value) == 0;
    case FW_MATCH_NE: return strcmp(value, m->value) != 0;
    // RE2 decides every match in linear time: no limit, so no undecided "no match".
    case FW_MATCH_RE: return fw_regex_match(m->re, value);
    case FW_MATCH_NRE: return !fw_regex_match(m->re, value);
    }
    return false;
}

bool
fw_matcher_matches_empty(const struct fw_matcher *m)
{
    return fw_matcher_matches(m, "");
}

bool
fw_matchers_match(const struct fw_matcher *ms, size_t n, const struct fw_labels *l)
{
    for (size_t i = 0; i < n; i++)
        if (!fw_matcher_matches(&ms[i], fw_labels_get(l, ms[i].name)))
            return false;
    return true;
}
