/*  check_util.h — the fixtures the Check suites share: temporary directories under test/tmp
    and their removal, an open tsdb store and the store suites' helpers (appends, reads,
    selection, raw LMDB), HTTP requests with libcurl and a bounded wait for
    an HTTP answer, input files, label specs, scrape jobs, relabel rules, config-error
    lookups, nested inputs and the
    shortest digits of a double.

    Every helper here fails the running test through ck_assert where the test could not go
    on (a directory that cannot be made), and reports through its return value where the
    test wants to look at the failure itself (an HTTP request that got no answer).
    check_util.c defines no suite; test/module.mk links it into check_fw with the suites.
*/
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <lmdb.h>
#include <stdint.h>

#include "../tsdb/tsdb_store.h"
#include "fw_names.h"

struct fw_cfg_errors;
struct fw_labels;
struct fw_relabel_config;
struct fw_scrape_config;

// Make a new directory test/tmp/<prefix>.XXXXXX (test/ and test/tmp/ are made when missing)
// and write its path into buf (cap bytes). Fails the test when it cannot.
void check_util_tmpdir_new(char *buf, size_t cap, const char *prefix);

// Remove dir and everything below it (files, links, directories; links are not followed).
// Refuses a path outside test/tmp/; gives up below 8 levels or past 10000 entries. NULL and
// an empty or missing dir are fine. 0 when dir is gone, -1 (and a line on stderr) if not.
int check_util_tmpdir_remove(const char *dir);

// The fixture of the suites whose every test works in a directory of its own:
// tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown). The
// setup makes check_util_tmpdir a new directory test/tmp/<test case or check>.XXXXXX (one test runs
// at a time in a process, so one buffer serves every suite); the teardown removes it and
// fails the test when it cannot. A suite names it s_dir:
// static const char *const s_dir = check_util_tmpdir;
extern char check_util_tmpdir[128];

// A check that cannot run here (no perf counters, an input directory absent): prints
// "SKIPPED: <what>" and records it in the file named by $CK_SKIP_LOG (check_main sets it),
// so that check_fw's summary counts it as skipped: Check itself counts it as passed.
void check_util_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_util_tmpdir_setup(void);
void check_util_tmpdir_teardown(void);

// An HTTP answer. body is owned (free with check_util_http_clear), NUL-terminated and never
// NULL after a request; status is 0 when no answer came.
struct check_util_http {
    long status;
    char *body; // owned
    size_t len, cap;
    char ctype[128]; // Content-Type, "" when none
    char allow[64];  // the Allow header (405 answers), "" when none
};

// Run loop for ms (a one-shot timer ends it), then return: what the loop's handlers did in
// that time has happened.
void check_util_loop_for(zloop_t *loop, int ms);

// One request to url: method "GET", "POST", "HEAD", "DELETE", ... body (body_len bytes;
// NULL sends none), ctype the Content-Type header (NULL: none, or curl's form type for a
// POST body), headers further header lines ("Name: value") ending in NULL (or NULL), and a
// timeout of timeout_ms (0: 10 s). 0 when an answer came, -1 when none (out is then
// status 0 and an empty body). *out is overwritten.
int check_util_http_request(const char *method, const char *url, const char *body, size_t body_len,
                            const char *ctype, const char *const *headers, long timeout_ms,
                            struct check_util_http *out);

// GET url; fails the test when no answer came.
struct check_util_http check_util_http_get(const char *url);

// POST body (a NUL-terminated string) to url with Content-Type ctype (NULL: a form, as
// curl and promtool send); fails the test when no answer came.
struct check_util_http check_util_http_post(const char *url, const char *body, const char *ctype);

// Free r's body and zero it; NULL is fine.
void check_util_http_clear(struct check_util_http *r);

// GET url every 100 ms until its body holds every one of the NULL-terminated needles, for
// at most timeout_ms. Returns the last body (caller frees; "" when no answer came); *ok
// says whether all needles were seen.
char *check_util_http_wait_for(const char *url, const char *const *needles, long timeout_ms,
                               bool *ok);

// A tsdb store on dir (new or not) with a map of mapsize bytes (0: 64 MiB), opened; fails
// the test, with the reason, when it cannot open. tsdb_store_destroy it.
tsdb_store_t *check_util_store_open(const char *dir, size_t mapsize);
// Make the closed store in dir look like an older storage format: meta "format" set to
// format (one character) and the named database drop (NULL: none) deleted, with raw LMDB.
void check_util_store_set_format(const char *dir, char format, const char *drop);
// The storage format character the store in dir (closed) holds.
char check_util_store_format(const char *dir);
// The store suites' helpers (check_tsdb_store*.c). Each fails the test through ck_assert
// when the store refuses what it asks. sel is a PromQL selector ("name{a=\"b\"}").
// Set l (cleared first) to the labels sel's equality matchers name.
void check_util_store_labels(struct fw_labels *l, const char *sel);
// Append n samples (t[k], v[k]) to the series sel (tsdb_store_append_series); the call's
// stats.
struct tsdb_store_stats check_util_store_put(tsdb_store_t *st, const char *sel, size_t n,
                                             const int64_t *t, const double *v);
// tsdb_store_commit.
void check_util_store_commit(tsdb_store_t *st);
// A grid series: n samples every step ms from t0, the k-th valued base + (k % 7) * 0.25.
void check_util_store_grid(tsdb_store_t *st, const char *sel, int64_t t0, int64_t step, size_t n,
                           double base);
// The id of the one series matching sel, or 0 (none, or more than one).
uint64_t check_util_store_id(tsdb_store_t *st, const char *sel);
// Every sample of series id in [mint, maxt] (tsdb_store_samples, in a reader of its own)
// into *pts (yours to free, NULL at first); how many.
size_t check_util_store_read(tsdb_store_t *st, uint64_t id, int64_t mint, int64_t maxt,
                             struct fw_sample **pts);
// How many series tsdb_store_select answers for sel; each answer must match it.
size_t check_util_store_select_count(tsdb_store_t *st, const char *sel);
// v's bits, to compare values exactly (NaN payloads, -0).
uint64_t check_util_store_bits(double v);
// Raw LMDB on the store in dir, as an operator's tool sees the files: the environment
// (mdb_env_close it); the entries of database db; overwrite the value of db's first record
// whose key starts with id (8 bytes big-endian) with bytes[0..len).
MDB_env *check_util_store_raw_open(const char *dir);
size_t check_util_store_raw_entries(const char *dir, const char *db);
void check_util_store_raw_damage(const char *dir, const char *db, uint64_t id, const void *bytes,
                                 size_t len);

// Write text to path (created or truncated); fails the test when it cannot.
void check_util_write_file(const char *path, const char *text);
// The whole of path as a string (caller frees); fails the test when it cannot be read.
char *check_util_read_file(const char *path);

// Set the labels of spec, "name=value,name=value" (no escapes; values hold no comma), in
// l; fails the test on an item without '='.
void check_util_labels(struct fw_labels *l, const char *spec);

// relabel_configs loaded from the YAML "r: [rules]" (as file r.yml) and prepared.
struct check_util_rules {
    struct fw_relabel_config *r; // owned: free with check_util_rules_free
    size_t n;
};

// Load yaml into out (overwritten) and prepare the rules under the utf8 name scheme (or
// scheme); 0, or -1 with errs (a load or prepare error). check_util_rules_free it either way.
int check_util_rules_load(const char *yaml, struct check_util_rules *out,
                          struct fw_cfg_errors *errs);
int check_util_rules_load_scheme(const char *yaml, fw_names_scheme_t scheme,
                                 struct check_util_rules *out, struct fw_cfg_errors *errs);
void check_util_rules_free(struct check_util_rules *t);

// A scrape job named name (borrowed) scraped every 15 s with a 10 s timeout, the rest
// zero but honor_timestamps.
struct fw_scrape_config check_util_scrape_job(const char *name, bool honor_timestamps);

// Index of the first error whose message contains needle, or -1.
int check_util_cfg_error_find(const struct fw_cfg_errors *errs, const char *needle);

// Fail the test unless an error containing msg stands at line:col (and in file, unless
// file is NULL).
void check_util_cfg_error_assert(const struct fw_cfg_errors *errs, const char *file,
                                 const char *msg, int line, int col);

// How many times needle occurs in hay, not overlapping.
size_t check_util_count(const char *hay, const char *needle);

// before + prefix n times + mid + suffix n times + after, as a new string (caller frees):
// the deeply nested inputs the parsers' depth limits are tested with. NULL before or after
// is "".
char *check_util_nest(const char *before, const char *prefix, int n, const char *mid,
                      const char *suffix, const char *after);

// xorshift64*: a deterministic generator, so a failing case reproduces. *state starts non-zero.
uint64_t check_util_rand(uint64_t *state);
// xorshift64 (shifts 13, 7, 17), the generator of the suites written before
// check_util_rand, whose inputs follow its sequence. *state starts non-zero.
uint64_t check_util_xorshift64(uint64_t *state);

// The significant digits of the formatted number s (no sign, point, exponent, leading or
// trailing zeros) into out, which has room for strlen(s) + 1 bytes.
void check_util_sig_digits(const char *s, char *out);

// The shortest significant digits that read back as v, the closest of them (printf rounds
// correctly), into out (32 bytes): the reference a number formatter is checked against.
void check_util_shortest_digits(double v, char *out);

#endif
