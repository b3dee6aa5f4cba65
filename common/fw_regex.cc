/*  fw_regex.cc — RE2 behind a C interface (see fw_regex.h).

    The only C++ in floorwatch. It stays small on purpose: compile, match, expand. RE2 is
    Go's regexp engine in C++ (Debian libre2-dev), so matchers behave exactly as in
    Prometheus and Alertmanager and run in linear time. Compile errors are re-worded into
    Go's messages so users see the same text as upstream.
*/
#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

extern "C" {
#include "fw_mem.h"
#include "fw_regex.h"
}

struct fw_regex {
    re2::RE2 *re;               // owned
    char *source;               // owned: the pattern as the user wrote it
    fw_regex_dialect_t dialect; // how source was wrapped
};

// Go's regexp/syntax ErrorCode texts, indexed by RE2's ErrorCode.
static const char *
s_go_error_text(re2::RE2::ErrorCode code)
{
    switch (code) {
    case re2::RE2::NoError: return "no error";
    case re2::RE2::ErrorInternal: return "regexp/syntax: internal error";
    case re2::RE2::ErrorBadEscape: return "invalid escape sequence";
    case re2::RE2::ErrorBadCharClass: return "invalid character class";
    case re2::RE2::ErrorBadCharRange: return "invalid character class range";
    case re2::RE2::ErrorMissingBracket: return "missing closing ]";
    case re2::RE2::ErrorMissingParen: return "missing closing )";
    case re2::RE2::ErrorUnexpectedParen: return "unexpected )";
    case re2::RE2::ErrorTrailingBackslash: return "trailing backslash at end of expression";
    case re2::RE2::ErrorRepeatArgument: return "missing argument to repetition operator";
    case re2::RE2::ErrorRepeatSize: return "invalid repeat count";
    case re2::RE2::ErrorRepeatOp: return "invalid nested repetition operator";
    case re2::RE2::ErrorBadPerlOp: return "invalid or unsupported Perl syntax";
    case re2::RE2::ErrorBadUTF8: return "invalid UTF-8";
    case re2::RE2::ErrorBadNamedCapture: return "invalid named capture";
    case re2::RE2::ErrorPatternTooLarge: return "expression too large";
    }
    return "regexp/syntax: internal error";
}

// Where the first invalid UTF-8 sequence in s starts (Go quotes the pattern from there; RE2
// gives no argument for this error), or s + strlen(s).
static const char *
s_invalid_utf8(const char *s)
{
    const unsigned char *p = reinterpret_cast<const unsigned char *>(s);
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (n == 0)
            break;
        int k = 1;
        while (k < n && (p[k] & 0xC0) == 0x80)
            k++;
        if (k < n)
            break;
        p += n;
    }
    return reinterpret_cast<const char *>(p);
}

fw_regex_t *
fw_regex_new(const char *pattern, fw_regex_dialect_t dialect, fw_err_t *err)
{
    std::string anchored(dialect == FW_REGEX_PROMETHEUS   ? "^(?s:"
                         : dialect == FW_REGEX_UNANCHORED ? ""
                                                          : "^(?:");
    anchored += pattern;
    anchored += dialect == FW_REGEX_UNANCHORED ? "" : ")$";

    re2::RE2::Options opts;
    opts.set_log_errors(false); // errors go to the caller, never to stderr
    re2::RE2 *re = new re2::RE2(anchored, opts);
    if (!re->ok()) {
        // RE2 leaves the argument empty where Go quotes the pattern: from the bad byte for
        // invalid UTF-8, the whole of it for a program too large (truncated by fw_err).
        const char *arg = re->error_arg().c_str();
        if (re->error_code() == re2::RE2::ErrorBadUTF8)
            arg = s_invalid_utf8(anchored.c_str());
        else if (re->error_code() == re2::RE2::ErrorPatternTooLarge)
            arg = anchored.c_str();
        fw_err_set(err, "error parsing regexp: %s: `%s`", s_go_error_text(re->error_code()), arg);
        delete re;
        return NULL;
    }
    fw_regex_t *self = static_cast<fw_regex_t *>(fw_malloc(sizeof *self));
    self->re = re;
    self->source = fw_strdup(pattern);
    self->dialect = dialect;
    return self;
}

fw_regex_t *
fw_regex_copy(const fw_regex_t *self)
{
    // It compiled once, so it compiles again.
    return self ? fw_regex_new(self->source, self->dialect, NULL) : NULL;
}

void
fw_regex_destroy(fw_regex_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_regex_t *self = *self_p;
    delete self->re;
    free(self->source);
    free(self);
    *self_p = NULL;
}

const char *
fw_regex_source(const fw_regex_t *self)
{
    return self->source;
}

bool
fw_regex_match_n(const fw_regex_t *self, const char *s, size_t len)
{
    re2::StringPiece text(s ? s : "", s ? len : 0);
    // UNANCHORED search of the ^...$-wrapped pattern is exactly Go's MatchString on it.
    return self->re->Match(text, 0, text.size(), re2::RE2::UNANCHORED, NULL, 0);
}

bool
fw_regex_match(const fw_regex_t *self, const char *s)
{
    return fw_regex_match_n(self, s, s ? strlen(s) : 0);
}

// --- expansion (Go's Regexp.expand) ---

static bool
s_name_byte(unsigned char c)
{
    // Go takes letters, digits and '_' (Unicode classes); bytes of multi-byte UTF-8
    // sequences are counted as letters, which covers the letters people use in names.
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c >= 0x80;
}

// Parse a group reference after '$' at *p: a name or number, optionally in braces. On
// success set name/len, advance *p past it and return true; false leaves *p alone.
static bool
s_extract(const char **p, const char **name, size_t *len)
{
    const char *s = *p;
    bool brace = *s == '{';
    if (brace)
        s++;
    const char *start = s;
    while (*s && s_name_byte((unsigned char)*s))
        s++;
    if (s == start)
        return false;
    *name = start;
    *len = (size_t)(s - start);
    if (brace) {
        if (*s != '}')
            return false;
        s++;
    }
    *p = s;
    return true;
}

// The group index a reference names, or -1: a decimal number without a leading zero
// (Go caps it at 1e8), else a named group.
static int
s_group_index(const re2::RE2 *re, const char *name, size_t len)
{
    long num = 0;
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        if (name[i] < '0' || name[i] > '9' || num >= 100000000) {
            digits = false;
            break;
        }
        num = num * 10 + (name[i] - '0');
    }
    if (digits && !(name[0] == '0' && len > 1))
        return num <= re->NumberOfCapturingGroups() ? (int)num : -1;
    if (digits)
        return -1;
    const std::map<std::string, int> &named = re->NamedCapturingGroups();
    auto it = named.find(std::string(name, len));
    return it == named.end() ? -1 : it->second;
}

static void
s_append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    fw_mem_grow(reinterpret_cast<void **>(out), cap, *len + n + 1, 1);
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

// Append tmpl expanded with the submatches in groups (Go's Regexp.Expand).
static void
s_expand(const re2::RE2 *re, const re2::StringPiece *groups, const char *tmpl, char **res,
         size_t *len, size_t *cap)
{
    for (const char *p = tmpl; *p;) {
        const char *dollar = strchr(p, '$');
        if (!dollar) {
            s_append(res, len, cap, p, strlen(p));
            break;
        }
        s_append(res, len, cap, p, (size_t)(dollar - p));
        p = dollar + 1;
        if (*p == '$') {
            s_append(res, len, cap, "$", 1);
            p++;
            continue;
        }
        const char *name;
        size_t name_len;
        if (!s_extract(&p, &name, &name_len)) {
            s_append(res, len, cap, "$", 1); // malformed: the dollar is plain text
            continue;
        }
        int idx = s_group_index(re, name, name_len);
        // A group that did not take part has a NULL data pointer.
        if (idx >= 0 && groups[idx].data() != NULL)
            s_append(res, len, cap, groups[idx].data(), groups[idx].size());
    }
}

bool
fw_regex_replace(const fw_regex_t *self, const char *subject, const char *tmpl, char **out)
{
    enum { S_STACK_GROUPS = 16 };
    re2::StringPiece stack_groups[S_STACK_GROUPS];
    int n = 1 + self->re->NumberOfCapturingGroups();
    re2::StringPiece *groups = n <= S_STACK_GROUPS ? stack_groups : new re2::StringPiece[n];
    re2::StringPiece text(subject ? subject : "");
    bool hit = self->re->Match(text, 0, text.size(), re2::RE2::UNANCHORED, groups, n);
    if (hit) {
        size_t len = 0, cap = 0;
        char *res = NULL;
        s_append(&res, &len, &cap, "", 0);
        s_expand(self->re, groups, tmpl, &res, &len, &cap);
        *out = res;
    }
    if (groups != stack_groups)
        delete[] groups;
    return hit;
}

char *
fw_regex_replace_all(const fw_regex_t *self, const char *subject, const char *tmpl)
{
    enum { S_STACK_GROUPS = 16 };
    re2::StringPiece stack_groups[S_STACK_GROUPS];
    int n = 1 + self->re->NumberOfCapturingGroups();
    re2::StringPiece *groups = n <= S_STACK_GROUPS ? stack_groups : new re2::StringPiece[n];
    re2::StringPiece text(subject ? subject : "");
    size_t len = 0, cap = 0, last_end = 0, search = 0, end = text.size();
    char *res = NULL;
    s_append(&res, &len, &cap, "", 0);
    while (search <= end) {
        if (!self->re->Match(text, search, end, re2::RE2::UNANCHORED, groups, n))
            break;
        size_t a0 = (size_t)(groups[0].data() - text.data()), a1 = a0 + groups[0].size();
        s_append(&res, &len, &cap, text.data() + last_end, a0 - last_end);
        // no replacement for an empty match right after another match (Go's replaceAll)
        if (a1 > last_end || a0 == 0)
            s_expand(self->re, groups, tmpl, &res, &len, &cap);
        last_end = a1;
        size_t width = 1;
        if (search < end) {
            unsigned char c = (unsigned char)text[search];
            width = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            if (search + width > end)
                width = 1;
        }
        if (search + width > a1)
            search += width;
        else if (search + 1 > a1)
            search++;
        else
            search = a1;
    }
    s_append(&res, &len, &cap, text.data() + last_end, end - last_end);
    if (groups != stack_groups)
        delete[] groups;
    return res;
}
