/*  fw_secret.h — show configs and messages with their secrets masked, from one list per schema.

    Prometheus and Alertmanager never show a password, token or key they were given: their
    status endpoints re-marshal the loaded config, and every field of type Secret comes out
    as "<secret>" (a URL's password as "xxxxx"). floorwatch does the same from data: each
    schema (alertmanager.yml in alertd_cfg.c, prometheus.yml in fw_promcfg.c, the NOTIFY
    message in fw_msg.def) keeps ONE list of the key paths that hold secrets, and the
    functions here apply such a list to a YAML document or a JSON value. Nothing else in the
    code decides what is secret.

    A path names keys from the document root, separated by '.':
        global.smtp_auth_password           a key of a mapping
        receivers[].email_configs[].auth_password
                                            "[]": every element of a sequence
        **.basic_auth.password              "**": any number of levels (zero or more)
        **.*_sd_configs[].secret_key        '*' in a key: any run of characters
        **.proxy_connect_header.*[]         every value of every header
    YAML merge keys (`<<: *anchor`) are followed as if their pairs were written in place, so
    a secret cannot hide behind an alias. Masking replaces the node itself, so every alias of
    a masked node is masked too.

    YAML output is libyaml's emitter over the loaded document: keys and values in their
    order and styles, comments dropped (a commented-out password is not shown either), only
    the first document. Work is bounded: a document whose walk would visit more than
    FW_SECRET_NODE_BUDGET nodes (aliases can multiply a small file) or nest deeper than
    FW_SECRET_MAX_DEPTH fails, so a caller never falls back to showing the raw text.
*/
#ifndef FW_SECRET_H
#define FW_SECRET_H

#include <jansson.h>
#include <stdbool.h>

#include "fw_err.h"

// What a masked secret reads as, as in Prometheus and Alertmanager.
#define FW_SECRET_TOKEN "<secret>"
// What replaces the password of a URL (Prometheus's config.URL, e.g. remote_write url).
#define FW_SECRET_URL_PASSWORD "xxxxx"

#define FW_SECRET_NODE_BUDGET 500000L
#define FW_SECRET_MAX_DEPTH 128

typedef enum {
    FW_SECRET_VALUE,        // the whole value becomes FW_SECRET_TOKEN (empty values stay empty)
    FW_SECRET_URL_USERINFO, // a URL whose password, if any, becomes FW_SECRET_URL_PASSWORD
    FW_SECRET_URL_ORIGIN,   // a URL shown as its origin + "/<secret>" (fw_secret_url_masked)
} fw_secret_kind_t;

struct fw_secret_path {
    const char *path; // NULL ends a list
    fw_secret_kind_t kind;
};

// Re-emit the first YAML document of text with every value at a path of `secrets` masked.
// Returns 0 with a new string in *out (caller frees; "" for an empty document), or -1 with
// err (text is not YAML, or the walk exceeds its bounds). *out is untouched on failure.
int fw_secret_redact_yaml(const char *text, const struct fw_secret_path *secrets, char **out,
                          fw_err_t *err);

// Mask, in place, every value of j (a JSON object or array) at a path of `secrets`. String
// values become FW_SECRET_TOKEN (or have their URL password replaced); any other non-null
// value becomes the string FW_SECRET_TOKEN.
void fw_secret_redact_json(json_t *j, const struct fw_secret_path *secrets);

// True when the path of keys (sequence elements given as "[]") is one of `secrets`, with its
// kind in *kind (may be NULL).
bool fw_secret_match(const struct fw_secret_path *secrets, const char *const *keys, size_t n,
                     fw_secret_kind_t *kind);

// url with the password of its userinfo replaced by FW_SECRET_URL_PASSWORD (Go's
// url.URL.Redacted). A new string; a URL without a password is returned unchanged.
char *fw_secret_url_redacted(const char *url);

// The origin of url, "scheme://host[:port]", without userinfo, path, query or fragment: what
// a log line may name of a URL that is itself secret (a webhook URL holding a token). A new
// string; "" when url has no "scheme://".
char *fw_secret_url_origin(const char *url);

// url shown as "scheme://host[:port]/<secret>": userinfo, path, query and fragment (where
// webhook tokens live) hidden, the rest still a URL that a URL-typed field parses, so
// amtool 0.25, whose webhook url is a plain URL, still reads /api/v2/status. A URL with
// nothing after its origin (or only "/") is shown as its origin; a string without
// "scheme://" as FW_SECRET_TOKEN. A new string.
char *fw_secret_url_masked(const char *url);

#endif
