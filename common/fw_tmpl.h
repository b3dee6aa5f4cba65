/*  fw_tmpl.h — Go's text/template language over JSON data: the project's one template engine.

    Alertmanager (notification texts, `templates:` files) and Prometheus (alerting rule labels
    and annotations) use Go's text/template. This module implements that language as they use
    it: text and {{ actions }}, trim markers {{- -}}, comments {{/ * * /}}, pipelines with |,
    parenthesised pipelines, variables ($x := ..., $x = ..., $ the root), fields and map keys
    (.A.B, $labels.x, (pipe).F), if / else if / else, range (arrays, objects in key order, with
    $i, $v := and else, break, continue), with / else with / else, define / template / block, and
    Go's builtins (and, or, not, eq with several operands, ne, lt, le, gt, ge, len, index, slice,
    print, printf, println, html, js, urlquery). Function libraries (fw_tmpl_funcs.c) add
    Alertmanager's and Prometheus's functions.

    Data model: the dot is a jansson json_t. Printing follows Go's fmt %v: strings as is,
    integers in decimal, reals as Go prints a float64 ("0.5", "1e+06"), true/false, arrays as
    [a b], objects as map[k:v] in key order, JSON null as <nil>, a missing key as <no value>
    (or "" with FW_TMPL_MISSINGKEY_ZERO, Alertmanager's missingkey=zero on its string maps); an
    object of exactly two strings Name and Value prints as the Go struct Alertmanager's Pair is,
    {name value}, and an object with exactly the fields of a struct of the set
    (fw_tmpl_set_struct: Alertmanager's Data, Alert) as Go prints the struct, {v1 v2 ...} in
    field order; such an object has no keys to range over, index or count, as in Go.
    Ranging over an integer fails, as in Go 1.19 (our peers' Go; 1.22 allows it).
    JSON integers are Go ints and reals float64s: `eq 1 1.0` fails as in Go ("incompatible types
    for comparison"). Go methods are "methods" of a set (fw_tmpl_set_method): Alertmanager's
    KV.SortedPairs/Names/Values/Remove and Alerts.Firing/Resolved come with
    fw_tmpl_set_use_alertmanager(). Data for Alertmanager templates uses the Go field names
    (Receiver, Status, Alerts, GroupLabels, CommonLabels, CommonAnnotations, ExternalURL; each
    alert Status, Labels, Annotations, StartsAt, EndsAt, GeneratorURL, Fingerprint), built from
    the webhook payload by fw_tmpl_am_data().

    Errors are Go's texts: parse errors at load, "template: NAME:LINE: function \"x\" not
    defined"; execution errors "template: NAME:LINE:COL: executing \"NAME\" at <.A>: ..." (COL
    is the 0-based byte offset in the line, as Go's). err->line/col carry the position too.

    Limits (Go has none of the first three; a template is user input and may loop): nesting of
    blocks and parentheses and {{template}} calls at most FW_TMPL_MAX_DEPTH deep; output at most
    fw_tmpl_set_limits()' max_output bytes (default 16 MiB) and at most max_iterations range
    iterations per execution (default 1,000,000): past them execution fails with "template
    output too large" / "too many range iterations". printf width and precision at most 10000.
    Not implemented: html/template's JS and CSS contexts (fw_tmpl_set_html covers text and
    attributes), complex
    numbers, `call`, methods other than the registered ones, Go's time.Time type (times are
    RFC 3339 strings, as in the webhook payload).

    How notifiers call it (issue 8):
        fw_tmpl_set_t *set = fw_tmpl_set_new();
        fw_tmpl_set_use_alertmanager(set);               // functions, methods, missingkey=zero
        fw_tmpl_set_use_am_defaults(set);                // floorwatch's default.tmpl
        fw_tmpl_parse(set, path, text_of_templates_file, &err);  // each `templates:` glob match
        json_t *data = fw_tmpl_am_data(webhook_payload);
        char *title;
        if (fw_tmpl_exec(set, "slack.default.title", data, &title, &err) < 0) ... log err
        // email HTML: the same set in HTML mode, as upstream's html/template:
        // fw_tmpl_exec_html(set, "email.default.html", NULL, data, &html, &err) gives what
        // Alertmanager 0.25 sends (check_fw_tmpl_default compares it byte for byte)
        // a config field such as slack_configs[].title is itself a template text:
        fw_tmpl_exec_text(set, "title", cfg_title, data, &title, &err);
    A set is not thread-safe while parsing; after loading, any number of threads may execute
    templates of it at once (execution keeps its state on the caller's side).
*/
#ifndef FW_TMPL_H
#define FW_TMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"

#define FW_TMPL_MAX_DEPTH 1000

typedef struct fw_tmpl_set fw_tmpl_set_t;

typedef enum {
    FW_TMPL_MISSINGKEY_DEFAULT = 0, // a missing key is <no value> (Prometheus)
    FW_TMPL_MISSINGKEY_ZERO,        // "" (Alertmanager: missingkey=zero on map[string]string)
    FW_TMPL_MISSINGKEY_ERROR,       // error: map has no entry for key "x"
} fw_tmpl_missingkey_t;

// A function: args[0..nargs) are borrowed (NULL is Go's invalid value, <no value>). Set
// *result to a new reference (NULL for no value) and return 0, or write Go's error text to
// errbuf and return -1. user is the pointer given at registration.
typedef int fw_tmpl_func_fn(void *user, json_t *const *args, size_t nargs, json_t **result,
                            char *errbuf, size_t errsize);

// A new set with Go's builtins only; fw_tmpl_set_destroy() frees it (NULL-safe).
fw_tmpl_set_t *fw_tmpl_set_new(void);
void fw_tmpl_set_destroy(fw_tmpl_set_t **self_p);

void fw_tmpl_set_missingkey(fw_tmpl_set_t *self, fw_tmpl_missingkey_t mode);
// HTML mode (Alertmanager's email HTML, html/template upstream): each action's output is
// escaped for where it lands (text, quoted attribute, URL attribute), HTML comments in the
// template text are dropped, no value prints nothing; actions in <script>, <style>, inside a
// tag or an unquoted attribute fail as not supported. See fw_tmpl_html.c.
void fw_tmpl_set_html(fw_tmpl_set_t *self, bool on);

// Bounds on one execution (0 keeps the current value).
void fw_tmpl_set_limits(fw_tmpl_set_t *self, size_t max_output, size_t max_iterations);

// Register (or replace) function `name`; nargs_min..nargs_max (-1: variadic) are checked at
// execution with Go's "wrong number of args for NAME: want N got M".
void fw_tmpl_set_func(fw_tmpl_set_t *self, const char *name, fw_tmpl_func_fn *fn, void *user,
                      int nargs_min, int nargs_max);
// Declare the Go parameter types of function name (registered before; kept when it is
// registered again): one letter a parameter, the last repeated for a variadic one: 's' string,
// 'S' []string, '.' any. A call is then checked before fn runs, as Go's evalArg does: a
// literal of another kind fails "expected string; found 3" at the literal, any other value
// "wrong type for value; expected string; got int" at the argument. types: static storage.
void fw_tmpl_set_func_types(fw_tmpl_set_t *self, const char *name, const char *types);
// Register a method: `.NAME` (with optional arguments) on a value for which fn succeeds is fn
// called with args[0] = the receiver. fn returns 1 when it does not apply to the receiver (the
// field is then looked up as a key), 0 with *result set, -1 with errbuf (a failed call: "error
// calling NAME: errbuf"), -2 with errbuf as Go's evaluation reports it (argument count, type).
void fw_tmpl_set_method(fw_tmpl_set_t *self, const char *name, fw_tmpl_func_fn *fn, void *user);

// Declare a Go struct type the data holds: an object whose keys are exactly fields (NULL-
// ended, at most 16, the pointers kept: static storage) is a NAME, an array of them a
// slice_name (NULL: none). Such an object has no other field: `.X` fails with Go's "can't
// evaluate field X in type NAME" (not missingkey's zero), a field given arguments with "X has
// arguments but cannot be invoked as function", and error texts name these types.
void fw_tmpl_set_struct(fw_tmpl_set_t *self, const char *name, const char *slice_name,
                        const char *const *fields);
// The Go type name error texts give an object of strings (not a struct): Alertmanager's
// "template.KV". name: static storage; NULL: "map[string]interface {}".
void fw_tmpl_set_map_name(fw_tmpl_set_t *self, const char *name);

// Alertmanager's functions (toUpper, toLower, title, trimSpace, join, match, reReplaceAll,
// safeHtml, safeUrl, urlUnescape, stringSlice, date, tz, since, humanizeDuration) and methods
// (KV SortedPairs, Names, Values, Remove; Pairs Names, Values; Alerts Firing, Resolved), its
// structs (template.Data, template.Alert(s), template.Pair(s)) and missingkey=zero.
void fw_tmpl_set_use_alertmanager(fw_tmpl_set_t *self);

// Prometheus's rule template functions without a query (humanize, humanize1024,
// humanizeDuration, humanizePercentage, humanizeTimestamp, toTime, toDuration, title, toUpper,
// toLower, match, reReplaceAll, safeHtml, stripPort, stripDomain, parseDuration, first, label,
// value, strvalue, sortByLabel, args, pathPrefix, externalURL). query(expr) calls `query` when
// it is not NULL; without it `query` is not defined. external_url feeds externalURL/pathPrefix.
void fw_tmpl_set_use_prometheus(fw_tmpl_set_t *self, const char *external_url,
                                fw_tmpl_func_fn *query, void *query_user);

// Parse text as template `name` (and every {{define}} in it) into the set; a later definition
// of a name replaces the earlier one, as in Go (an empty body does not replace a non-empty one).
// 0, or -1 with err ("template: NAME:LINE: ..."; err->file NAME, err->line, err->col).
int fw_tmpl_parse(fw_tmpl_set_t *self, const char *name, const char *text, fw_err_t *err);

// True when the set defines template `name`.
bool fw_tmpl_has(const fw_tmpl_set_t *self, const char *name);

// Execute template `name` with data as the dot and $ (NULL data is Go's nil). 0 and a new
// string in *out (caller frees), or -1 with err and *out NULL.
int fw_tmpl_exec(const fw_tmpl_set_t *self, const char *name, json_t *data, char **out,
                 fw_err_t *err);

// Parse text as template `name` for this call only (its {{define}}s too), seeing the set's
// definitions, and execute it (Alertmanager's ExecuteTextString). The set is not changed.
int fw_tmpl_exec_text(const fw_tmpl_set_t *self, const char *name, const char *text, json_t *data,
                      char **out, fw_err_t *err);

// fw_tmpl_exec_text (text NULL: fw_tmpl_exec of name) in HTML mode whatever the set's mode:
// Alertmanager's ExecuteHTMLString, over the same definitions as the text mode uses.
int fw_tmpl_exec_html(const fw_tmpl_set_t *self, const char *name, const char *text, json_t *data,
                      char **out, fw_err_t *err);

// Parse text only (load-time check): 0 or -1 with err. Undefined variables and functions are
// parse errors, as in Go.
int fw_tmpl_check(const fw_tmpl_set_t *self, const char *name, const char *text, fw_err_t *err);

// Parse floorwatch's default notification templates (common/fw_tmpl_default.tmpl, compiled
// in) into the set as "default.tmpl": every name Alertmanager 0.25's default.tmpl and
// email.tmpl define, rendering what they render. Call it after fw_tmpl_set_use_alertmanager
// and before parsing `templates:` files, which may then call and redefine those names.
void fw_tmpl_set_use_am_defaults(fw_tmpl_set_t *self);

// The text keys of Alertmanager's integration configs and the default template of each (NULL:
// empty by default), the one table of them: notifyd renders with it, alertd's template
// render lists them. array is NOTIFY's ("slack_configs"); a key "details.X" or "headers.X"
// is X of the config's details or headers map. html: rendered in HTML mode. Ends with
// {NULL}.
struct fw_tmpl_am_key {
    const char *array, *key, *def;
    bool html;
};
extern const struct fw_tmpl_am_key fw_tmpl_am_keys[];

// The default template of key in array's configs, or NULL (none, or not in the table).
const char *fw_tmpl_am_key_default(const char *array, const char *key);

// Alertmanager's template data from a webhook payload (receiver, status, alerts[],
// groupLabels, ...): the same values under Go's field names. New reference.
json_t *fw_tmpl_am_data(const json_t *payload);

#endif
