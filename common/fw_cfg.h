/*  fw_cfg.h — YAML configuration loaded into validated structs through field tables.

    Each daemon describes its config file as static tables of struct fw_cfg_field (Redis
    config.c): the key, the type, the offsetof() of the target member, limits, the default
    (written once, as the YAML scalar text it would have in a file), whether it is required,
    and a child table for nested mappings. fw_cfg_load() parses the YAML with libyaml,
    walks it against the table, and fills the struct. Every problem — a YAML syntax error,
    an unknown key, a wrong type, a value out of range, a missing required key — is
    collected (up to FW_CFG_MAX_ERRORS) with its file:line:column, so one run shows them all
    (OpenSMTPD parse.y). Positions are 1-based.

    Keys a daemon accepts but does not use (the rest of a user's prometheus.yml) are listed
    with FW_CFG_IGNORE so that real config files load while typos are still caught. Keys that
    mean something the program does not do are FW_CFG_UNSUPPORTED instead: the key is known
    (so the message can name it), and any non-null value is an error, "sect.key: not supported
    by floorwatch", unless it is one of the field's enum_names (the values whose behaviour is
    what the program does anyway, e.g. `enable_http2: true`).

    A YAML null (`key:` or `key: ~`) counts as absent: the default applies.

    Ownership: strings, lists and label sets written into the target struct are owned by it;
    fw_cfg_free() with the same table releases them all.
*/
#ifndef FW_CFG_H
#define FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

#define FW_CFG_MAX_ERRORS 50
// Deepest nesting of sequences and mappings a document may have (libyaml's own later
// default). Deeper documents fail to load with "exceeded max depth of 1000" before libyaml
// builds them (its scanner slows quadratically with nesting), and the walk stops at this
// many mappings even where an alias names its own ancestor, so nothing recursive over a
// loaded config (alertd's route tree) can be driven deeper.
#define FW_CFG_MAX_DEPTH 1000

struct fw_cfg_pos {
    int line; // 1-based, 0 when unknown
    int col;  // 1-based
};

// Where one scalar value of a mapping sits in the file (FW_CFG_VALUE_POS), for checks made
// after loading that point inside the value (a template's parse error).
struct fw_cfg_vpos {
    char *key;             // owned: the key, or "KEY.NAME" for a value of the STR_MAP KEY
    struct fw_cfg_pos pos; // the value's first character (a quoted scalar's quote)
    int text_col;          // > 0 when the value is one line that the file holds byte for byte
                           // (plain, or quoted without escapes; ASCII): byte k of the text is
                           // at column text_col + k of pos.line. 0 otherwise.
    int block_indent;      // > 0 for a literal block scalar (|) whose lines the file holds
                           // byte for byte after this many spaces: text line n's byte k is at
                           // line pos.line + n, column block_indent + 1 + k. 0 otherwise.
};

struct fw_cfg_vpos_list {
    struct fw_cfg_vpos *items; // owned
    size_t len;
};

struct fw_cfg_errors {
    fw_err_t items[FW_CFG_MAX_ERRORS];
    size_t len;
    size_t dropped; // errors past FW_CFG_MAX_ERRORS, counted but not kept
};

typedef enum {
    FW_CFG_STR,          // char *                     any scalar, as text
    FW_CFG_INT,          // int64_t                    integer in [min, max] when max > min
    FW_CFG_FLOAT,        // double                     in [min, max] when max > min
    FW_CFG_BOOL,         // bool                       true/false
    FW_CFG_DURATION,     // int64_t milliseconds       Prometheus duration, in [min, max] ms
    FW_CFG_SIZE,         // int64_t bytes              "64MiB", "1GB", plain bytes
    FW_CFG_ENUM,         // int                        index into enum_names
    FW_CFG_STR_LIST,     // char ** at off, size_t at count_off: a sequence of scalars
    FW_CFG_LABELS,       // struct fw_labels           mapping; names must be valid label names
    FW_CFG_STR_MAP,      // struct fw_labels           mapping of scalars; names not validated
    FW_CFG_STR_LIST_MAP, // char ** at off, size_t at count_off: a mapping of sequences of
                         // scalars (URL query params), kept as name, value, name, value, ...
                         // (a name once per value, in file order); count counts strings
    FW_CFG_STRUCT,       // nested struct at off       mapping, fields in child
    FW_CFG_LIST,         // T * at off, size_t at count_off: a sequence of mappings, each a T of
                         // elem_size bytes (zeroed, then filled through child)
    FW_CFG_POS,          // struct fw_cfg_pos: no key; receives the enclosing mapping's position
    FW_CFG_VALUE_POS,    // struct fw_cfg_vpos_list: no key; receives where each scalar value
                         // of the enclosing mapping sits (and each value of its STR_MAPs)
    FW_CFG_IGNORE,       // known key, any value, not used
    // Known key, refused at the key: "sect.key: not supported by floorwatch[ (note)]". A null
    // value is absent and accepted, and so is a scalar listed in enum_names (the values that
    // describe what the program does anyway).
    FW_CFG_UNSUPPORTED,
} fw_cfg_type_t;

struct fw_cfg_field;

// Optional validator for FW_CFG_STR values and FW_CFG_STR_LIST elements (a matcher, a
// regex, a PromQL expression). It reports problems with fw_cfg_errors_add() at pos and
// returns 0 or -1.
typedef int (*fw_cfg_check_fn)(const char *value, const char *file, struct fw_cfg_pos pos,
                               struct fw_cfg_errors *errs);

struct fw_cfg_field {
    const char *key; // NULL ends a table (and is the key of FW_CFG_POS entries:
                     // use type FW_CFG_POS with key "" instead)
    fw_cfg_type_t type;
    size_t off;                       // offsetof the target member
    size_t count_off;                 // FW_CFG_STR_LIST, FW_CFG_LIST: offsetof the size_t count
    size_t elem_size;                 // FW_CFG_LIST: sizeof one element
    const struct fw_cfg_field *child; // FW_CFG_STRUCT, FW_CFG_LIST
    const char *def;                  // default as YAML scalar text, NULL for none (zero)
    bool required;
    double min, max;               // range check when max > min (durations in ms)
    const char *const *enum_names; // FW_CFG_ENUM: NULL-terminated; FW_CFG_UNSUPPORTED: the
                                   // scalar values accepted (NULL: none)
    fw_cfg_check_fn check;         // optional; FW_CFG_LABELS: checks each name instead of
                                   // the legacy [a-zA-Z_][a-zA-Z0-9_]* rule; FW_CFG_STR_MAP:
                                   // checks each non-null value
    const char *note;              // FW_CFG_UNSUPPORTED: why, or what to use instead (optional)
    // FW_CFG_STR_LIST: offsetof a struct fw_cfg_pos * (owned) that receives each element's
    // position, parallel to the strings, for checks that depend on other keys (0: none, so
    // it is never a struct's first member)
    size_t pos_off;
};

// Table entries for a key a daemon knows and does not do: refused at the key with
// "<section>.<key>: not supported by floorwatch". FW_CFG_WHY adds a note saying what to use
// instead; FW_CFG_ONLY accepts the listed values (NULL-terminated), the ones that describe
// what floorwatch does anyway.
// clang-format off
#define FW_CFG_NO(k)              { .key = (k), .type = FW_CFG_UNSUPPORTED }
#define FW_CFG_WHY(k, why)        { .key = (k), .type = FW_CFG_UNSUPPORTED, .note = (why) }
#define FW_CFG_ONLY(k, vals, why) \
    { .key = (k), .type = FW_CFG_UNSUPPORTED, .enum_names = (vals), .note = (why) }
// clang-format on

// Load YAML into out (which the caller zeroed) following table. `name` is the file name
// used in messages; when text is NULL the file `name` is read. Defaults are applied to
// absent keys, recursively. Returns 0, or -1 with errs filled (out then holds what could be
// parsed; free it with fw_cfg_free all the same).
int fw_cfg_load(const char *name, const char *text, const struct fw_cfg_field *table, void *out,
                struct fw_cfg_errors *errs);

// Does the YAML in text (len bytes) nest sequences and mappings deeper than FW_CFG_MAX_DEPTH?
// Reads events only as far as the first too-deep collection, whose position goes to *pos
// (may be NULL). A syntax error before that counts as not too deep.
bool fw_cfg_too_deep(const char *text, size_t len, struct fw_cfg_pos *pos);

// Release everything fw_cfg_load() allocated in out (following table) and zero those members.
void fw_cfg_free(const struct fw_cfg_field *table, void *out);

// The recorded position of key's value in l (key compared ignoring case, as header names
// are), or NULL (l may be NULL). Borrowed from l.
const struct fw_cfg_vpos *fw_cfg_vpos_find(const struct fw_cfg_vpos_list *l, const char *key);

// The file position of byte col (0-based) of line `line` (1-based) of a value's text: there
// when the value's text_col (line 1) or block_indent says the file holds it byte for byte,
// else the value's own position. v NULL: fallback.
struct fw_cfg_pos fw_cfg_vpos_at(const struct fw_cfg_vpos *v, int line, int col,
                                 struct fw_cfg_pos fallback);

// Append an error at pos (file may be NULL). Past FW_CFG_MAX_ERRORS only counts it.
void fw_cfg_errors_add(struct fw_cfg_errors *errs, const char *file, struct fw_cfg_pos pos,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

// Log every error (event=config.error) and, when `to_stderr`, also print each one alone on
// stderr in the compiler style "file:line:col: error: msg" for --check-config.
void fw_cfg_errors_report(const struct fw_cfg_errors *errs, bool to_stderr);

#endif
