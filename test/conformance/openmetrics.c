/*  openmetrics.c — runs the upstream OpenMetrics parser suite against the exposition parser
   (fw_expfmt).

    Design: every directory under $SHARED/conformance/openmetrics/parsers that holds a
    test.json is one case. The input file is read as raw bytes and handed unchanged to
    fw_expfmt_parse() in OpenMetrics mode; a case passes when "parsed" equals the case's
    shouldParse. test.json carries only type, file, shouldParse and an optional comment (no
    expected samples), so for must-parse cases the one extra check is that the returned
    sample count agrees with what fw_expfmt_count() reports. The total is checked
    against openmetrics-cases.tsv (the project's index of the suite), and the pass count
    against a floor file so that a regression fails `make check`.

    Usage: openmetrics [FLOOR_FILE]   (reads $SHARED; skips when the data is absent)
*/
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw_err.h"
#include "fw_expfmt.h"
#include "fw_mem.h"

#ifndef S_MAX_FAIL_LINES
#define S_MAX_FAIL_LINES 60
#endif

struct s_case {
    char *name; // owned
    bool should_parse;
    char *fail; // owned; why the case failed, NULL when it passed
};

// Read a whole file into a fresh buffer (not NUL-terminated in meaning; a NUL is appended
// for convenience). Returns NULL when it cannot be read.
static char *
s_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = fw_malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = fw_realloc(buf, cap);
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

// Find "shouldParse": true|false in test.json. Returns 1/0, or -1 when absent.
static int
s_json_should_parse(const char *json)
{
    const char *k = strstr(json, "\"shouldParse\"");
    if (!k)
        return -1;
    k += strlen("\"shouldParse\"");
    while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r' || *k == ':')
        k++;
    if (strncmp(k, "true", 4) == 0)
        return 1;
    if (strncmp(k, "false", 5) == 0)
        return 0;
    return -1;
}

// The "file" field of test.json, or "metrics" when absent. Writes into out (cap bytes).
static void
s_json_file(const char *json, char *out, size_t cap)
{
    snprintf(out, cap, "metrics");
    const char *k = strstr(json, "\"file\"");
    if (!k)
        return;
    k = strchr(k + 6, '"');
    if (!k)
        return;
    const char *e = strchr(k + 1, '"');
    if (!e || (size_t)(e - k - 1) >= cap || e == k + 1 || memchr(k + 1, '/', (size_t)(e - k - 1)))
        return;
    memcpy(out, k + 1, (size_t)(e - k - 1));
    out[e - k - 1] = '\0';
}

static int
s_case_cmp(const void *a, const void *b)
{
    return strcmp(((const struct s_case *)a)->name, ((const struct s_case *)b)->name);
}

// Count the case rows of openmetrics-cases.tsv (non-comment, non-header). -1 if unreadable.
static long
s_tsv_cases(const char *path, long *n_parse)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    long n = 0;
    *n_parse = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n' || strncmp(line, "case\t", 5) == 0)
            continue;
        n++;
        const char *tab = strchr(line, '\t');
        if (tab && strncmp(tab + 1, "true", 4) == 0)
            (*n_parse)++;
    }
    fclose(f);
    return n;
}

static long
s_read_floor(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char *end;
        long x = strtol(line, &end, 10);
        if (end != line) {
            v = x;
            break;
        }
    }
    fclose(f);
    return v;
}

int
main(int argc, char **argv)
{
    const char *shared = getenv("SHARED");
    char root[4096], tsv[4096];
    snprintf(root, sizeof(root), "%s/conformance/openmetrics/parsers", shared ? shared : "");
    snprintf(tsv, sizeof(tsv), "%s/conformance/openmetrics-cases.tsv", shared ? shared : "");
    DIR *d = shared && *shared ? opendir(root) : NULL;
    if (!d) {
        printf("openmetrics conformance: skipped, %s not found (set SHARED)\n", root);
        return 0;
    }

    struct s_case *cases = NULL;
    size_t n_cases = 0, cap_cases = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s/test.json", root, de->d_name);
        size_t jlen;
        char *json = s_read_file(path, &jlen);
        if (!json)
            continue;
        int sp = s_json_should_parse(json);
        free(json);
        if (sp < 0) {
            fprintf(stderr, "openmetrics conformance: %s: no shouldParse\n", path);
            continue;
        }
        if (n_cases == cap_cases) {
            cap_cases = cap_cases ? cap_cases * 2 : 256;
            cases = fw_realloc(cases, cap_cases * sizeof(*cases));
        }
        cases[n_cases].name = fw_strdup(de->d_name);
        cases[n_cases].should_parse = sp == 1;
        cases[n_cases].fail = NULL;
        n_cases++;
    }
    closedir(d);
    if (n_cases > 1)
        qsort(cases, n_cases, sizeof(*cases), s_case_cmp);

    int rc = 0;
    long tsv_parse = 0;
    long tsv_n = s_tsv_cases(tsv, &tsv_parse);
    size_t want_parse = 0;
    for (size_t i = 0; i < n_cases; i++)
        want_parse += cases[i].should_parse;
    if (tsv_n < 0)
        printf("openmetrics conformance: note: %s not readable, total not cross-checked\n", tsv);
    else if ((size_t)tsv_n != n_cases || (size_t)tsv_parse != want_parse) {
        printf("openmetrics conformance: FAIL: %zu cases (%zu must parse) on disk, but %s lists "
               "%ld (%ld must parse)\n",
               n_cases, want_parse, tsv, tsv_n, tsv_parse);
        rc = 1;
    }

    fw_expfmt_t *parser = fw_expfmt_new();
    size_t pass = 0, pass_parse = 0, pass_reject = 0, shown = 0, n_fail = 0;
    for (size_t i = 0; i < n_cases; i++) {
        char path[8192], file[256];
        snprintf(path, sizeof(path), "%s/%s/test.json", root, cases[i].name);
        size_t jlen;
        char *json = s_read_file(path, &jlen);
        s_json_file(json ? json : "", file, sizeof(file));
        free(json);
        snprintf(path, sizeof(path), "%s/%s/%s", root, cases[i].name, file);
        size_t len = 0;
        char *body = s_read_file(path, &len);
        char reason[512] = "";
        bool ok;
        if (!body) {
            snprintf(reason, sizeof(reason), "cannot read %s: %s", file, strerror(errno));
            ok = false;
        } else {
            fw_err_t err = {0};
            ssize_t n = fw_expfmt_parse(parser, body, len, FW_EXPFMT_OPENMETRICS, &err);
            bool accepted = n >= 0;
            ok = accepted == cases[i].should_parse;
            if (!ok && accepted)
                snprintf(reason, sizeof(reason), "accepted (%zd samples), must be rejected", n);
            else if (!ok)
                snprintf(reason, sizeof(reason), "rejected: %s", err.msg);
            else if (accepted && (size_t)n != fw_expfmt_count(parser)) {
                snprintf(reason, sizeof(reason), "returned %zd samples but holds %zu", n,
                         fw_expfmt_count(parser));
                ok = false;
            }
            free(body);
        }
        if (ok) {
            pass++;
            if (cases[i].should_parse)
                pass_parse++;
            else
                pass_reject++;
            continue;
        }
        n_fail++;
        cases[i].fail = fw_strdup(reason);
    }
    // Must-parse failures first: a rejected valid exposition loses real scrapes.
    for (int pass_no = 0; pass_no < 2; pass_no++) {
        for (size_t i = 0; i < n_cases; i++) {
            if (!cases[i].fail || cases[i].should_parse != (pass_no == 0))
                continue;
            if (shown == 0)
                printf("openmetrics conformance: failing cases (must-parse first):\n");
            if (shown < S_MAX_FAIL_LINES)
                printf("  %-32s %.160s\n", cases[i].name, cases[i].fail);
            shown++;
        }
    }
    if (shown > S_MAX_FAIL_LINES)
        shown = S_MAX_FAIL_LINES;
    if (n_fail > shown)
        printf("  ... and %zu more\n", n_fail - shown);
    fw_expfmt_destroy(&parser);

    printf("openmetrics conformance: must-parse %zu of %zu, must-reject %zu of %zu\n", pass_parse,
           want_parse, pass_reject, n_cases - want_parse);
    printf("openmetrics conformance: %zu of %zu cases pass\n", pass, n_cases);

    if (argc > 1) {
        long floor = s_read_floor(argv[1]);
        if (floor < 0) {
            printf("openmetrics conformance: FAIL: no number in floor file %s\n", argv[1]);
            rc = 1;
        } else if ((long)pass < floor) {
            printf("openmetrics conformance: FAIL: %zu passing is below the floor %ld (%s)\n", pass,
                   floor, argv[1]);
            rc = 1;
        } else if ((long)pass > floor) {
            printf("openmetrics conformance: %zu passing is above the floor %ld; raise %s\n", pass,
                   floor, argv[1]);
        }
    }
    for (size_t i = 0; i < n_cases; i++) {
        free(cases[i].name);
        free(cases[i].fail);
    }
    free(cases);
    return rc;
}
