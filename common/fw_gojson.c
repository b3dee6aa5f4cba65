/*  fw_gojson.c — fw_gojson.h: Go 1.19's encoding/json scanner (scanner.go), its states as an
    enum and its step as one switch, run as json.Decoder.readValue runs it.
*/
#include "fw_gojson.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define S_MAX_DEPTH 10000 // Go's maxNestingDepth

enum s_state {
    S_BEGIN_VALUE,
    S_BEGIN_VALUE_OR_EMPTY,
    S_BEGIN_STRING_OR_EMPTY,
    S_BEGIN_STRING,
    S_END_VALUE,
    S_IN_STRING,
    S_IN_STRING_ESC,
    S_IN_STRING_ESC_U, // and the three after it: hex digits still to come = 4 - (state - U)
    S_IN_STRING_ESC_U1,
    S_IN_STRING_ESC_U12,
    S_IN_STRING_ESC_U123,
    S_NEG,
    S_1,
    S_0,
    S_DOT,
    S_DOT0,
    S_E,
    S_E_SIGN,
    S_E0,
    S_LITERAL, // inside true, false or null: lit names it, lit_at the next letter
    S_DONE,
};

struct s_scan {
    enum s_state state;
    uint8_t *stack; // 1: in an object's key, 2: an object's value, 3: an array
    size_t depth;
    const char *lit; // "true", "false", "null" while in one
    size_t lit_at;
    char *msg;
    size_t cap;
};

enum { S_OBJECT_KEY = 1, S_OBJECT_VALUE, S_ARRAY_VALUE };

static bool
s_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
s_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_hex(unsigned char c)
{
    return s_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's quoteChar: the byte as strconv.Quote writes the rune U+00cc, in single quotes.
static void
s_quote_char(unsigned char c, char *out, size_t cap)
{
    if (c == '\'') {
        snprintf(out, cap, "'\\''");
    } else if (c == '"') {
        snprintf(out, cap, "'\"'");
    } else if (c == '\\') {
        snprintf(out, cap, "'\\\\'");
    } else if (c >= 0x20 && c < 0x7f) {
        snprintf(out, cap, "'%c'", c);
    } else if (c < 0x20 || c == 0x7f) {
        static const char *const named[] = {['\a'] = "a", ['\b'] = "b", ['\f'] = "f", ['\n'] = "n",
                                            ['\r'] = "r", ['\t'] = "t", ['\v'] = "v"};
        if (c < sizeof named / sizeof named[0] && named[c])
            snprintf(out, cap, "'\\%s'", named[c]);
        else
            snprintf(out, cap, "'\\x%02x'", c);
    } else if (c < 0xa1 || c == 0xad) { // C1 controls, no-break space, soft hyphen: not printable
        snprintf(out, cap, "'\\u%04x'", c);
    } else { // Latin-1's printable letters and signs, as UTF-8
        snprintf(out, cap, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    }
}

// s.error(c, context): "invalid character 'c' context". Returns false (stop).
static bool
s_error(struct s_scan *s, unsigned char c, const char *context)
{
    char q[16];
    s_quote_char(c, q, sizeof q);
    snprintf(s->msg, s->cap, "invalid character %s %s", q, context);
    return false;
}

static bool
s_push(struct s_scan *s, unsigned char c, uint8_t what)
{
    if (s->depth >= S_MAX_DEPTH)
        return s_error(s, c, "exceeded max depth");
    s->stack[s->depth++] = what;
    return true;
}

// stateEndValue.
static bool
s_end_value(struct s_scan *s, unsigned char c)
{
    if (s->depth == 0) { // the first value is whole: the Decoder stops here
        s->state = S_DONE;
        return true;
    }
    if (s_space(c)) {
        s->state = S_END_VALUE;
        return true;
    }
    switch (s->stack[s->depth - 1]) {
    case S_OBJECT_KEY:
        if (c == ':') {
            s->stack[s->depth - 1] = S_OBJECT_VALUE;
            s->state = S_BEGIN_VALUE;
            return true;
        }
        return s_error(s, c, "after object key");
    case S_OBJECT_VALUE:
        if (c == ',') {
            s->stack[s->depth - 1] = S_OBJECT_KEY;
            s->state = S_BEGIN_STRING;
            return true;
        }
        if (c == '}') {
            s->depth--;
            s->state = S_END_VALUE;
            return s->depth > 0 || (s->state = S_DONE, true);
        }
        return s_error(s, c, "after object key:value pair");
    default:
        if (c == ',') {
            s->state = S_BEGIN_VALUE;
            return true;
        }
        if (c == ']') {
            s->depth--;
            s->state = S_END_VALUE;
            return s->depth > 0 || (s->state = S_DONE, true);
        }
        return s_error(s, c, "after array element");
    }
}

static bool
s_begin_value(struct s_scan *s, unsigned char c)
{
    if (s_space(c))
        return true;
    switch (c) {
    case '{': s->state = S_BEGIN_STRING_OR_EMPTY; return s_push(s, c, S_OBJECT_KEY);
    case '[': s->state = S_BEGIN_VALUE_OR_EMPTY; return s_push(s, c, S_ARRAY_VALUE);
    case '"': s->state = S_IN_STRING; return true;
    case '-': s->state = S_NEG; return true;
    case '0': s->state = S_0; return true;
    case 't':
    case 'f':
    case 'n':
        s->lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        s->lit_at = 1;
        s->state = S_LITERAL;
        return true;
    }
    if (c >= '1' && c <= '9') {
        s->state = S_1;
        return true;
    }
    return s_error(s, c, "looking for beginning of value");
}

static bool
s_step(struct s_scan *s, unsigned char c)
{
    switch (s->state) {
    case S_BEGIN_VALUE: return s_begin_value(s, c);
    case S_BEGIN_VALUE_OR_EMPTY:
        if (s_space(c))
            return true;
        return c == ']' ? s_end_value(s, c) : s_begin_value(s, c);
    case S_BEGIN_STRING_OR_EMPTY:
        if (s_space(c))
            return true;
        if (c == '}') {
            s->stack[s->depth - 1] = S_OBJECT_VALUE;
            return s_end_value(s, c);
        }
        /* fall through */
    case S_BEGIN_STRING:
        if (s_space(c))
            return true;
        if (c == '"') {
            s->state = S_IN_STRING;
            return true;
        }
        return s_error(s, c, "looking for beginning of object key string");
    case S_END_VALUE: return s_end_value(s, c);
    case S_IN_STRING:
        if (c == '"') {
            s->state = S_END_VALUE;
            return true;
        }
        if (c == '\\') {
            s->state = S_IN_STRING_ESC;
            return true;
        }
        return c < 0x20 ? s_error(s, c, "in string literal") : true;
    case S_IN_STRING_ESC:
        if (strchr("bfnrt\\/\"", c) && c) {
            s->state = S_IN_STRING;
            return true;
        }
        if (c == 'u') {
            s->state = S_IN_STRING_ESC_U;
            return true;
        }
        return s_error(s, c, "in string escape code");
    case S_IN_STRING_ESC_U:
    case S_IN_STRING_ESC_U1:
    case S_IN_STRING_ESC_U12:
    case S_IN_STRING_ESC_U123:
        if (!s_hex(c))
            return s_error(s, c, "in \\u hexadecimal character escape");
        s->state = s->state == S_IN_STRING_ESC_U123 ? S_IN_STRING : s->state + 1;
        return true;
    case S_NEG:
        if (c == '0') {
            s->state = S_0;
            return true;
        }
        if (c >= '1' && c <= '9') {
            s->state = S_1;
            return true;
        }
        return s_error(s, c, "in numeric literal");
    case S_1:
        if (s_digit(c))
            return true;
        /* fall through */
    case S_0:
        if (c == '.') {
            s->state = S_DOT;
            return true;
        }
        if (c == 'e' || c == 'E') {
            s->state = S_E;
            return true;
        }
        return s_end_value(s, c);
    case S_DOT:
        if (s_digit(c)) {
            s->state = S_DOT0;
            return true;
        }
        return s_error(s, c, "after decimal point in numeric literal");
    case S_DOT0:
        if (s_digit(c))
            return true;
        if (c == 'e' || c == 'E') {
            s->state = S_E;
            return true;
        }
        return s_end_value(s, c);
    case S_E:
        if (c == '+' || c == '-') {
            s->state = S_E_SIGN;
            return true;
        }
        /* fall through */
    case S_E_SIGN:
        if (s_digit(c)) {
            s->state = S_E0;
            return true;
        }
        return s_error(s, c, "in exponent of numeric literal");
    case S_E0: return s_digit(c) ? true : s_end_value(s, c);
    case S_LITERAL: {
        if (c == (unsigned char)s->lit[s->lit_at]) {
            if (!s->lit[++s->lit_at])
                s->state = S_END_VALUE;
            return true;
        }
        char context[48];
        snprintf(context, sizeof context, "in literal %s (expecting '%c')", s->lit,
                 s->lit[s->lit_at]);
        return s_error(s, c, context);
    }
    case S_DONE: return true;
    }
    return true;
}

int
fw_gojson_decode_error(const char *buf, size_t len, char *msg, size_t cap)
{
    uint8_t stack[S_MAX_DEPTH]; // what each open object or array expects next
    struct s_scan s = {.state = S_BEGIN_VALUE, .stack = stack, .msg = msg, .cap = cap};
    for (size_t i = 0; i < len && s.state != S_DONE; i++) {
        if (!s_step(&s, (unsigned char)buf[i]))
            return 1;
        // A string or literal at the top is whole at its last byte; a number when the byte
        // after it is not part of it (s_end_value at depth 0).
        if (s.depth == 0 && s.state == S_END_VALUE)
            s.state = S_DONE;
    }
    if (s.state == S_DONE)
        return 0;
    // The input ended inside the value. Go steps a space to see whether it is whole: only a
    // number at the top is; nothing but white space is io.EOF.
    bool blank = true;
    for (size_t k = 0; k < len && blank; k++)
        blank = s_space((unsigned char)buf[k]);
    if (blank) {
        snprintf(msg, cap, "EOF");
        return 1;
    }
    if (s.depth == 0 && (s.state == S_1 || s.state == S_0 || s.state == S_DOT0 || s.state == S_E0))
        return 0;
    snprintf(msg, cap, "unexpected EOF");
    return 1;
}
