/*  tsdb_migrate.c — `tsdb migrate` (see tsdb_migrate.h).

    One libcurl request a slice, on the calling thread (a command, not the daemon). The body
    callback does the work as bytes arrive: a streamed answer is cut into frames in a
    buffer that holds at most one frame and the start of the next, each frame's series
    decoded and appended at once; a SAMPLES answer is gathered and read when it is
    complete. Anything wrong stops the transfer (the callback returns 0) with the reason.
*/
#include "tsdb_migrate.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "fw_err.h"
#include "fw_flags.h"
#include "fw_http_hdr.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "fw_json_out.h"
#include "tsdb_pb.h"
#include "tsdb_rread_proto.h"
#include "tsdb_rwproto.h"
#include "tsdb_store.h"
#include "tsdb_xor.h"

#define S_PROGRESS_US 250000
#define S_ERRBODY_MAX 4096

enum { S_UNKNOWN, S_STREAMED, S_SAMPLES };

struct s_mig {
    tsdb_store_t *store; // borrowed
    const char *url;     // borrowed
    FILE *errout;
    bool progress, shown;
    int64_t start, end;     // the whole range
    int64_t s_start, s_end; // the slice being read (both included)
    // the answer being read
    long status;
    int mode;
    char ctype[160];
    struct fw_json_out buf;
    bool failed;
    fw_err_t err;
    // scratch
    struct fw_labels labels;
    struct fw_sample *smp;
    size_t smp_cap;
    // counts
    uint64_t read, appended, since_commit, frames, chunks;
    size_t slices, commits;
    bool seen[2]; // answers seen: SAMPLES, STREAMED
    struct tsdb_store_stats st;
    struct tsdb_store_counters c0; // the store's counters before the migration
    int64_t t0_us, last_progress_us;
};

static int64_t
s_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
s_progress(struct s_mig *m, bool force)
{
    if (!m->progress)
        return;
    int64_t now = s_now_us();
    if (!force && now - m->last_progress_us < S_PROGRESS_US)
        return;
    m->last_progress_us = now;
    double span = (double)(m->end - m->start + 1);
    double pct = span > 0 ? 100.0 * (double)(m->s_start - m->start) / span : 100.0;
    double secs = (double)(now - m->t0_us) / 1e6;
    char at[40];
    fprintf(m->errout, "\rtsdb migrate: %s %5.1f%%, %llu samples, %.0f samples/s ",
            fw_time_rfc3339(m->s_start, at, sizeof(at)), pct, (unsigned long long)m->appended,
            secs > 0 ? (double)m->appended / secs : 0.0);
    fflush(m->errout);
    m->shown = true;
}

static void
s_progress_clear(struct s_mig *m)
{
    if (m->shown)
        fprintf(m->errout, "\r%80s\r", "");
    m->shown = false;
}

static int
s_commit(struct s_mig *m)
{
    if (tsdb_store_commit(m->store, &m->err) != 0)
        return -1;
    m->commits++;
    m->since_commit = 0;
    return 0;
}

// Append the series' samples smp[0..n) (those inside the slice were kept) to the store.
static int
s_append(struct s_mig *m, size_t n)
{
    if (n == 0)
        return 0;
    fw_err_t err;
    if (tsdb_store_append_series(m->store, &m->labels, m->smp, n, &m->st, &err) != 0) {
        char *l = fw_labels_format(&m->labels);
        fw_err_set(&m->err, "series %s: %s", l, err.msg);
        free(l);
        return -1;
    }
    m->appended += n;
    m->since_commit += n;
    if (m->since_commit >= TSDB_MIGRATE_COMMIT_SAMPLES)
        return s_commit(m);
    return 0;
}

static void
s_keep(struct s_mig *m, size_t *n, int64_t t, double v)
{
    m->read++;
    if (t < m->s_start || t > m->s_end)
        return;
    fw_mem_grow((void **)&m->smp, &m->smp_cap, *n + 1, sizeof(*m->smp));
    m->smp[(*n)++] = (struct fw_sample){t, v};
}

// ---------------------------------------------------------------------------------------
// Answers

// One ChunkedReadResponse.
static int
s_frame(struct s_mig *m, const unsigned char *msg, size_t len)
{
    int64_t qi;
    if (tsdb_rread_chunked_check(msg, len, &qi, &m->err) != 0)
        return -1;
    if (qi != 0)
        return fw_err_set(&m->err, "a frame for query %lld; one query was asked", (long long)qi),
               -1;
    m->frames++;
    size_t off = 0;
    struct tsdb_rread_series s;
    while (tsdb_rread_next_series(msg, len, &off, &s)) {
        if (tsdb_rread_series_labels(&s, &m->labels, &m->err) != 0)
            return -1;
        size_t co = 0, n = 0;
        struct tsdb_rread_chunk c;
        while (tsdb_rread_next_chunk(&s, &co, &c)) {
            m->chunks++;
            if (c.type != TSDB_XOR_ENCODING)
                return fw_err_set(&m->err,
                                  "chunk encoding %d is not supported (XOR only: float samples)",
                                  c.type),
                       -1;
            if (c.maxt < m->s_start || c.mint > m->s_end)
                continue;
            struct tsdb_xor_iter it;
            tsdb_xor_iter_init(&it, c.data, c.len);
            while (tsdb_xor_iter_next(&it))
                s_keep(m, &n, it.t, it.v);
            if (it.err)
                return fw_err_set(&m->err, "a damaged XOR chunk (%zu bytes, %lld..%lld)", c.len,
                                  (long long)c.mint, (long long)c.maxt),
                       -1;
        }
        if (s_append(m, n) != 0)
            return -1;
    }
    return 0;
}

// The frames complete in m->buf, consumed; the rest moved to its start.
static int
s_frames(struct s_mig *m)
{
    size_t off = 0;
    for (;;) {
        const unsigned char *msg;
        size_t ml, used;
        int rc = tsdb_rread_frame((const unsigned char *)m->buf.p + off, m->buf.len - off,
                                  TSDB_MIGRATE_MAX_FRAME, &msg, &ml, &used, &m->err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        if (s_frame(m, msg, ml) != 0)
            return -1;
        off += used;
    }
    if (off > 0) {
        memmove(m->buf.p, m->buf.p + off, m->buf.len - off);
        m->buf.len -= off;
    }
    return 0;
}

// A whole SAMPLES answer (a snappy ReadResponse) in m->buf.
static int
s_samples(struct s_mig *m)
{
    char *pb;
    size_t n;
    int rc = tsdb_pb_unsnappy((const unsigned char *)m->buf.p, m->buf.len,
                              4 * TSDB_MIGRATE_MAX_SAMPLES_BODY, &pb, &n, &m->err);
    if (rc != 0)
        return -1;
    size_t off = 0, qr_len;
    const unsigned char *qr;
    fw_err_t perr = {0};
    while (rc == 0 && tsdb_rread_next_result((unsigned char *)pb, n, &off, &qr, &qr_len, &perr)) {
        if (tsdb_rwproto_check(qr, qr_len, TSDB_RWPROTO_V1, NULL, &m->err) != 0) {
            rc = -1;
            break;
        }
        size_t so = 0;
        struct tsdb_rwproto_series s;
        while (rc == 0 && tsdb_rwproto_next_series(qr, qr_len, TSDB_RWPROTO_V1, &so, &s)) {
            fw_labels_clear(&m->labels);
            struct tsdb_rwproto_cursor cur = {0};
            struct tsdb_rwproto_label l;
            while (tsdb_rwproto_next_label(&s, NULL, &cur, &l) == 1) {
                char *name = fw_strndup(l.name, l.name_len);
                fw_labels_setn(&m->labels, name, l.value, l.value_len);
                free(name);
            }
            size_t po = 0, k = 0;
            struct fw_sample p;
            while (tsdb_rwproto_next_sample(&s, &po, &p))
                s_keep(m, &k, p.t_ms, p.v);
            rc = s_append(m, k);
        }
    }
    if (rc == 0 && perr.msg[0]) {
        m->err = perr;
        rc = -1;
    }
    free(pb);
    return rc;
}

static size_t
s_on_header(char *p, size_t size, size_t n, void *arg)
{
    struct s_mig *m = arg;
    size_t len = size * n;
    int status = fw_http_hdr_status(p, len);
    if (status > 0) {
        m->status = status;
        m->ctype[0] = '\0';
    } else {
        fw_http_hdr_value(p, len, "Content-Type", m->ctype, sizeof(m->ctype));
    }
    return len;
}

// The answer's type, from its Content-Type.
static void
s_mode(struct s_mig *m)
{
    bool streamed = strncasecmp(m->ctype, "application/x-streamed-protobuf", 31) == 0;
    m->mode = streamed ? S_STREAMED : S_SAMPLES;
    m->seen[streamed] = true;
}

static size_t
s_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct s_mig *m = arg;
    size_t len = size * n;
    if (m->status != 200) { // an error's text, kept short
        if (m->buf.len < S_ERRBODY_MAX)
            fw_json_out_put(&m->buf, p, len < S_ERRBODY_MAX ? len : S_ERRBODY_MAX);
        return len;
    }
    if (m->mode == S_UNKNOWN)
        s_mode(m);
    fw_json_out_put(&m->buf, p, len);
    if (m->mode == S_SAMPLES && m->buf.len > TSDB_MIGRATE_MAX_SAMPLES_BODY) {
        fw_err_set(&m->err, "a samples answer over %zu bytes: read smaller slices (--slice)",
                   TSDB_MIGRATE_MAX_SAMPLES_BODY);
        m->failed = true;
        return 0;
    }
    if (m->mode == S_STREAMED && s_frames(m) != 0) {
        m->failed = true;
        return 0;
    }
    s_progress(m, false);
    return len;
}

// Read the slice [s_start, s_end] with one request. 0 or -1 with m->err.
static int
s_slice(struct s_mig *m, CURL *c, const char *body, size_t body_len)
{
    m->status = 0;
    m->mode = S_UNKNOWN;
    m->buf.len = 0;
    m->failed = false;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    CURLcode cc = curl_easy_perform(c);
    if (m->failed)
        return -1;
    if (cc != CURLE_OK)
        return fw_err_set(&m->err, "error sending request to %s: %s", m->url,
                          curl_easy_strerror(cc)),
               -1;
    if (m->status != 200) {
        while (m->buf.len > 0 &&
               (m->buf.p[m->buf.len - 1] == '\n' || m->buf.p[m->buf.len - 1] == '\r'))
            m->buf.len--;
        return fw_err_set(&m->err, "remote server %s returned HTTP status %ld: %.*s", m->url,
                          m->status, (int)m->buf.len, m->buf.p ? m->buf.p : ""),
               -1;
    }
    if (m->mode == S_UNKNOWN) // no body: no frame, or (not snappy) an error below
        s_mode(m);
    if (m->mode == S_STREAMED && m->buf.len > 0)
        return fw_err_set(&m->err, "the answer ends inside a frame (%zu bytes left)", m->buf.len),
               -1;
    return m->mode == S_SAMPLES ? s_samples(m) : 0;
}

// Every slice of [start, end] with matchers ms[0..n). 0 or -1 with m->err.
static int
s_run(struct s_mig *m, const struct fw_matcher *ms, size_t n, int64_t slice_ms, int64_t timeout_ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    hs = curl_slist_append(hs, "Content-Encoding: snappy");
    hs = curl_slist_append(hs, "X-Prometheus-Remote-Read-Version: 0.1.0");
    hs = curl_slist_append(hs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 10000 ? timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, m);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "floorwatch-tsdb-migrate");
    const int types[] = {TSDB_RREAD_STREAMED_XOR_CHUNKS, TSDB_RREAD_SAMPLES};
    int rc = 0;
    for (int64_t s = m->start; rc == 0 && s <= m->end;) {
        m->s_start = s;
        m->s_end = m->end - s < slice_ms - 1 ? m->end : s + slice_ms - 1;
        struct fw_json_out pb = {0};
        tsdb_rread_request_encode(&pb, m->s_start, m->s_end, ms, n, types, 2);
        char *z;
        size_t zl;
        tsdb_pb_snappy(pb.p, pb.len, &z, &zl);
        free(pb.p);
        rc = s_slice(m, c, z, zl);
        free(z);
        if (rc == 0)
            rc = s_commit(m);
        m->slices++;
        s_progress(m, true);
        if (m->s_end == INT64_MAX)
            break;
        s = m->s_end + 1;
    }
    if (rc == 0) {
        tsdb_store_seal_all(m->store);
        rc = s_commit(m);
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return rc;
}

// ---------------------------------------------------------------------------------------
//  The command line

struct s_cli {
    const char *from, *start, *end, *path, *data, *match;
    int64_t map_size, slice_ms, timeout_ms;
    bool quiet;
};

static const struct fw_flag s_flags[] = {
    {"from", FW_FLAG_STR, offsetof(struct s_cli, from), "",
     "the Prometheus server's remote-read URL (http://host:9090/api/v1/read; a URL without a "
     "path gets /api/v1/read)"},
    {"start", FW_FLAG_STR, offsetof(struct s_cli, start), "",
     "oldest time to read (RFC 3339 or Unix seconds)"},
    {"end", FW_FLAG_STR, offsetof(struct s_cli, end), "",
     "newest time to read, included (RFC 3339 or Unix seconds)"},
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct s_cli, path), "data/tsdb",
     "data directory to write into (tsdb's; not while a tsdb runs on it)"},
    {"data", FW_FLAG_STR, offsetof(struct s_cli, data), "",
     "the same as --storage.tsdb.path (this one wins when both are given)"},
    {"storage.tsdb.map-size", FW_FLAG_SIZE, offsetof(struct s_cli, map_size), "8GiB",
     "LMDB map size: the largest the database may grow"},
    {"match", FW_FLAG_STR, offsetof(struct s_cli, match), "{__name__=~\".+\"}",
     "series selector: the series to migrate"},
    {"slice", FW_FLAG_DURATION, offsetof(struct s_cli, slice_ms), "2h",
     "time read by one remote-read request (bounds memory when the server answers with "
     "samples, not streamed chunks)"},
    {"timeout", FW_FLAG_DURATION, offsetof(struct s_cli, timeout_ms), "5m",
     "the longest one request may take"},
    {"quiet", FW_FLAG_BOOL, offsetof(struct s_cli, quiet), "false",
     "no progress display (it is shown only on a terminal anyway)"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

// url, with /api/v1/read when it has no path. Caller frees.
static char *
s_read_url(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *path = strchr(host, '/');
    if (!path || strcmp(path, "/") == 0)
        return fw_asprintf("%.*s/api/v1/read", (int)(path ? path - url : (ptrdiff_t)strlen(url)),
                           url);
    return fw_strdup(url);
}

static void
s_summary(FILE *out, const struct s_mig *m, double secs)
{
    struct tsdb_store_counters c;
    tsdb_store_counters(m->store, &c);
    uint64_t dups = m->st.duplicates + (c.late_duplicates - m->c0.late_duplicates);
    uint64_t conflicts = m->st.conflicts + (c.late_conflicts - m->c0.late_conflicts);
    fprintf(out,
            "migrated %llu samples (%llu read) into %zu new series from %s in %zu slice%s "
            "(response: %s%s%s; %llu frames, %llu chunks) in %.2f s: %.0f samples/s\n",
            (unsigned long long)(m->appended - dups + m->st.duplicates),
            (unsigned long long)m->read, m->st.new_series, m->url, m->slices,
            m->slices == 1 ? "" : "s", m->seen[1] ? "streamed XOR chunks" : "",
            m->seen[0] && m->seen[1] ? ", " : "", m->seen[0] ? "samples" : "",
            (unsigned long long)m->frames, (unsigned long long)m->chunks, secs,
            secs > 0 ? (double)m->appended / secs : 0.0);
    fprintf(out,
            "not stored: %llu duplicates (already stored, same value), %llu conflicting (same "
            "timestamp, other value: the first stays)\n",
            (unsigned long long)dups, (unsigned long long)conflicts);
}

// Flags into cli and the matchers into *sel. 0, or the exit code.
static int
s_parse(int argc, char **argv, FILE *errout, struct s_cli *cli, int64_t *start, int64_t *end,
        fw_promql_expr_t **sel)
{
    int rc = fw_flags_parse(argc, argv, "tsdb migrate",
                            "pull a Prometheus server's history through its remote-read API "
                            "into a tsdb data directory",
                            s_flags, cli);
    if (rc != 0)
        return rc > 0 ? -1 : 2;
    if (!*cli->from || !*cli->start || !*cli->end) {
        fprintf(errout, "tsdb migrate: --from, --start and --end are required (see --help)\n");
        return 2;
    }
    if (fw_time_parse(cli->start, start) != 0 || fw_time_parse(cli->end, end) != 0) {
        fprintf(errout,
                "tsdb migrate: --start and --end take RFC 3339 or Unix seconds, not "
                "\"%s\", \"%s\"\n",
                cli->start, cli->end);
        return 2;
    }
    if (*start > *end) {
        fprintf(errout, "tsdb migrate: --start is after --end\n");
        return 2;
    }
    if (cli->slice_ms < 1 || cli->timeout_ms < 1) {
        fprintf(errout, "tsdb migrate: --slice and --timeout must be positive\n");
        return 2;
    }
    if ((uint64_t)(*end - *start) / (uint64_t)cli->slice_ms >= TSDB_MIGRATE_MAX_SLICES) {
        fprintf(errout, "tsdb migrate: --slice is too small for the range: more than %d requests\n",
                TSDB_MIGRATE_MAX_SLICES);
        return 2;
    }
    fw_err_t err;
    *sel = fw_promql_parse_match(cli->match, &err);
    if (!*sel) {
        fprintf(errout, "tsdb migrate: --match: %d:%d: parse error: %s\n", err.line ? err.line : 1,
                err.col, err.msg);
        return 2;
    }
    if ((*sel)->n_matchers == 0) {
        fprintf(errout, "tsdb migrate: --match selects nothing\n");
        fw_promql_expr_destroy(sel);
        return 2;
    }
    return 0;
}

int
tsdb_migrate_main(int argc, char **argv, FILE *out, FILE *errout)
{
    struct s_cli cli = {0};
    int64_t start, end;
    fw_promql_expr_t *sel = NULL;
    int code = s_parse(argc, argv, errout, &cli, &start, &end, &sel);
    if (code != 0)
        return code < 0 ? 0 : code;
    fw_log_init("tsdb", FW_LOG_WARN, FW_LOG_LOGFMT);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *url = s_read_url(cli.from);
    struct s_mig m = {.url = url,
                      .errout = errout,
                      .progress = !cli.quiet && isatty(fileno(errout)) == 1,
                      .start = start,
                      .end = end,
                      .labels = FW_LABELS_INIT,
                      .t0_us = s_now_us()};
    code = 1;
    fw_err_t err = {0};
    m.store = tsdb_store_new();
    tsdb_store_set_mapsize(m.store, (size_t)cli.map_size);
    tsdb_store_set_ooo_window(m.store, INT64_MAX); // history: older samples are merged
    const char *dir = *cli.data ? cli.data : cli.path;
    if (tsdb_store_open(m.store, dir, &err) != 0) {
        fprintf(errout, "tsdb migrate: %s\n", err.msg);
        goto out;
    }
    tsdb_store_counters(m.store, &m.c0);
    if (s_run(&m, sel->matchers, sel->n_matchers, cli.slice_ms, cli.timeout_ms) == 0) {
        s_progress_clear(&m);
        s_summary(out, &m, (double)(s_now_us() - m.t0_us) / 1e6);
        code = 0;
    } else {
        s_progress_clear(&m);
        char at[40];
        fprintf(errout, "tsdb migrate: slice from %s: %s\n",
                fw_time_rfc3339(m.s_start, at, sizeof(at)), m.err.msg);
        if (m.appended > 0)
            fprintf(errout,
                    "tsdb migrate: what was committed before the failure stays (%zu commits); "
                    "run the migration again to complete it (stored samples are not stored "
                    "twice)\n",
                    m.commits);
    }
out:
    tsdb_store_destroy(&m.store);
    fw_labels_clear(&m.labels);
    free(m.smp);
    free(m.buf.p);
    free(url);
    fw_promql_expr_destroy(&sel);
    curl_global_cleanup();
    return code;
}
