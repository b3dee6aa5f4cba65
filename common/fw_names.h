/*  fw_names.h — metric and label names as Prometheus 3 validates and escapes them.

    Prometheus 3 accepts any non-empty valid UTF-8 string as a metric or label name (its
    "utf8" name validation scheme, the default); the "legacy" scheme keeps the old
    character sets (label names [a-zA-Z_][a-zA-Z0-9_]*, metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
    fw_label_name_valid and fw_metric_name_valid in fw_labels.h). floorwatch's strings are C
    strings, so a name holding a NUL byte is refused under both schemes.

    Escaping turns a UTF-8 name into a legacy one for peers that need it (Prometheus's
    model.EscapeName): "underscores" replaces every other character with '_', "dots" writes
    '.' as "_dot_" and '_' as "__", and "values" writes "U__" followed by the name with '_'
    doubled and each other character as _<hex code point>_. Only "values" can be undone
    (fw_names_unescape: /api/v1/label/U__.../values).
*/
#ifndef FW_NAMES_H
#define FW_NAMES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    FW_NAMES_UTF8 = 0, // any non-empty valid UTF-8 without NUL (Prometheus 3's default)
    FW_NAMES_LEGACY,   // the Prometheus 2 character sets
} fw_names_scheme_t;

typedef enum {
    FW_NAMES_ESC_NONE = 0,    // "allow-utf-8"
    FW_NAMES_ESC_UNDERSCORES, // "underscores"
    FW_NAMES_ESC_DOTS,        // "dots"
    FW_NAMES_ESC_VALUES,      // "values"
} fw_names_escaping_t;

// A name of n bytes under the utf8 scheme: non-empty, valid UTF-8, no NUL byte.
bool fw_names_valid(const char *name, size_t n);
// A label name under scheme (NUL-terminated).
bool fw_names_label_valid(const char *name, fw_names_scheme_t scheme);
// A metric name under scheme (NUL-terminated).
bool fw_names_metric_valid(const char *name, fw_names_scheme_t scheme);

// "utf8" or "legacy" (Prometheus's metric_name_validation_scheme values); an empty string
// is utf8. 0, or -1 for any other word.
int fw_names_scheme_parse(const char *s, fw_names_scheme_t *out);
// "allow-utf-8", "underscores", "dots" or "values" (metric_name_escaping_scheme and the
// escaping= parameter of an Accept header). 0, or -1 for any other word.
int fw_names_escaping_parse(const char *s, fw_names_escaping_t *out);
// The word fw_names_escaping_parse reads for e.
const char *fw_names_escaping_str(fw_names_escaping_t e);

// name escaped with e (a copy when nothing changes). Caller frees.
char *fw_names_escape(const char *name, fw_names_escaping_t e);
// The name a "values"-escaped name stands for: "U__" names decoded, any other name (or one
// that does not decode) returned as it is, as Prometheus's model.UnescapeName does. Caller
// frees.
char *fw_names_unescape(const char *name);

#endif
