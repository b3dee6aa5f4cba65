/*  scraper_bench.c — `scraper --bench-parse=FILE` and `--bench-work=FILE[,FILE2]` (see
    scraper_bench.h).
 */
#include "scraper_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_expfmt.h"
#include "fw_mem.h"
#include "scraper_target.h"
#include "scraper_work.h"

static double
s_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
s_read(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = fw_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = fw_realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

// How many targets the memory-cold figure scrapes in turn (the ingest bench's), and the
// bytes it writes before each scrape to take the target's memory out of the CPU's caches
// (this machine's L3 is 32 MiB), as the daemon's other threads and processes do between
// two scrapes of one target: without it the figure is that of a machine doing nothing else.
#define S_TARGETS 20
#define S_EVICT_BYTES (32u << 20)

// One scrape's work for target tg (its iters-th): the samples kept.
static size_t
s_work_once(scraper_work_state_t *st, struct scraper_target *tg, const struct fw_scrape_config *sc,
            fw_sender_refs_t *refs, const char *body, size_t len, const char *ctype, size_t iters)
{
    struct scraper_work_job *job = scraper_work_job_new();
    job->target = tg;
    job->res.body = zframe_new(body, len);
    job->res.content_type = fw_strdup(ctype);
    job->ts = 1700000000000 + (int64_t)iters * 1000;
    job->mrc = sc->metric_relabel_configs;
    job->n_mrc = sc->n_metric_relabel_configs;
    job->sender = "bench";
    job->refs = refs;
    scraper_work_run(st, job);
    size_t stored = job->tally.post;
    scraper_work_job_destroy(&job);
    return stored;
}

int
scraper_bench_parse(const char *file, const struct fw_promcfg *cfg)
{
    size_t len = 0;
    char *body = s_read(file, &len);
    if (!body) {
        fprintf(stderr, "scraper: --bench-parse: cannot read %s\n", file);
        return -1;
    }
    bool om = len >= 6 && memcmp(body + len - 6, "# EOF\n", 6) == 0;
    const char *ctype =
        om ? "application/openmetrics-text; version=1.0.0" : "text/plain; version=0.0.4";
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    ssize_t n =
        fw_expfmt_parse_flags(p, body, len, fw_expfmt_format(ctype), FW_EXPFMT_PROMETHEUS, &err);
    if (n <= 0) {
        fprintf(stderr, "scraper: --bench-parse: %s: %s\n", file, n < 0 ? err.msg : "no samples");
        fw_expfmt_destroy(&p);
        free(body);
        return -1;
    }
    size_t iters = 0;
    double t0 = s_cpu_s(), t = 0;
    while ((t = s_cpu_s() - t0) < 1.0 || iters < 3) {
        (void)fw_expfmt_parse_flags(p, body, len, fw_expfmt_format(ctype), FW_EXPFMT_PROMETHEUS,
                                    &err);
        iters++;
    }
    double parse_ns = t * 1e9 / ((double)iters * (double)n);
    printf("parse: %zu bytes, %zd samples, %zu passes: %.1f MB/s, %.0f ns per sample\n", len, n,
           iters, (double)len * (double)iters / t / 1e6, parse_ns);
    fw_expfmt_destroy(&p);

    // The worker's whole job, as a target of the first job.
    struct fw_scrape_config bare = {.job_name = (char *)"bench",
                                    .scrape_interval_ms = 15000,
                                    .scrape_timeout_ms = 10000,
                                    .honor_timestamps = true};
    const struct fw_scrape_config *sc =
        cfg && cfg->n_scrape_configs ? &cfg->scrape_configs[0] : &bare;
    struct scraper_target *tg = scraper_target_new(sc, "127.0.0.1:9100", NULL);
    if (!tg)
        tg = scraper_target_new(&bare, "127.0.0.1:9100", NULL);
    scraper_work_state_t *st = scraper_work_state_new();
    fw_sender_refs_t *refs = fw_sender_refs_new(); // known series go as refs, as in the daemon
    iters = 0;
    size_t stored = 0;
    t0 = s_cpu_s();
    while ((t = s_cpu_s() - t0) < 1.0 || iters < 3) {
        stored = s_work_once(st, tg, sc, refs, body, len, ctype, iters);
        iters++;
    }
    printf("work: %zu metric_relabel_configs, %zu of %zd samples kept, %zu passes: %.0f ns per "
           "sample (parse, labels, relabel, limits, staleness, encode)\n",
           sc->n_metric_relabel_configs, stored, n, iters, t * 1e9 / ((double)iters * (double)n));
    scraper_target_destroy(&tg);

    // The same work for S_TARGETS targets in turn, as the daemon scrapes them: each one's
    // cache and staleness memory are out of the CPU's caches when its turn comes again
    // (memory-bound: the daemon's work per sample is this figure, not the one above).
    struct scraper_target *tgs[S_TARGETS];
    for (size_t k = 0; k < S_TARGETS; k++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "127.0.0.1:%zu", 9100 + k);
        tgs[k] = scraper_target_new(sc, addr, NULL);
        if (!tgs[k])
            tgs[k] = scraper_target_new(&bare, addr, NULL);
    }
    iters = 0;
    t0 = s_cpu_s();
    unsigned char *evict = fw_calloc(1, S_EVICT_BYTES);
    double evicting = 0;
    while ((t = s_cpu_s() - t0 - evicting) < 2.0 || iters < 3 * S_TARGETS) {
        double e0 = s_cpu_s(); // not counted: what the daemon's other work does for free
        for (size_t k = 0; k < S_EVICT_BYTES; k += 64)
            evict[k]++;
        evicting += s_cpu_s() - e0;
        s_work_once(st, tgs[iters % S_TARGETS], sc, refs, body, len, ctype, iters);
        iters++;
    }
    free(evict);
    printf("work, %d targets in turn, caches evicted before each: %.0f ns per sample\n", S_TARGETS,
           t * 1e9 / ((double)iters * (double)n));
    for (size_t k = 0; k < S_TARGETS; k++)
        scraper_target_destroy(&tgs[k]);
    scraper_work_state_destroy(&st);
    fw_sender_refs_destroy(&refs);
    free(body);
    return 0;
}

// --bench-work: the known-series scrapes, alone in one function so that
// callgrind counts them apart from the learning ones (--toggle-collect=s_bench_steady).
__attribute__((noinline)) static size_t
s_bench_steady(scraper_work_state_t *st, struct scraper_target *tg,
               const struct fw_scrape_config *sc, fw_sender_refs_t *refs, char *const body[2],
               const size_t len[2], const char *ctype, size_t scrapes)
{
    size_t stored = 0;
    for (size_t k = 0; k < scrapes; k++)
        stored += s_work_once(st, tg, sc, refs, body[k & 1], len[k & 1], ctype, 2 + k);
    return stored;
}

int
scraper_bench_work(const char *files, const struct fw_promcfg *cfg)
{
    char *names = fw_strdup(files), *comma = strchr(names, ',');
    if (comma)
        *comma++ = '\0';
    char *body[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    int rc = -1;
    body[0] = s_read(names, &len[0]);
    body[1] = comma ? s_read(comma, &len[1]) : NULL;
    if (!body[0] || (comma && !body[1])) {
        fprintf(stderr, "scraper: --bench-work: cannot read %s\n", body[0] ? comma : names);
        goto out;
    }
    if (!comma) { // one body: both turns scrape it
        body[1] = fw_malloc(len[0] ? len[0] : 1);
        memcpy(body[1], body[0], len[0]);
        len[1] = len[0];
    }
    bool om = len[0] >= 6 && memcmp(body[0] + len[0] - 6, "# EOF\n", 6) == 0;
    const char *ctype =
        om ? "application/openmetrics-text; version=1.0.0" : "text/plain; version=0.0.4";
    if (!cfg || cfg->n_scrape_configs == 0) {
        fprintf(stderr, "scraper: --bench-work: the config has no scrape job\n");
        goto out;
    }
    const struct fw_scrape_config *sc = &cfg->scrape_configs[0];
    struct scraper_target *tg = scraper_target_new(sc, "127.0.0.1:9100", NULL);
    if (!tg) {
        fprintf(stderr, "scraper: --bench-work: the first job's relabel_configs drop the target\n");
        goto out;
    }
    scraper_work_state_t *st = scraper_work_state_new();
    fw_sender_refs_t *refs = fw_sender_refs_new();
    // both bodies learnt first: every series of the steady scrapes is known
    size_t n = s_work_once(st, tg, sc, refs, body[0], len[0], ctype, 0);
    (void)s_work_once(st, tg, sc, refs, body[1], len[1], ctype, 1);
    // read at run time, so that GCC makes no constant-propagated clone of s_bench_steady
    // (callgrind would not find it under its name)
    volatile size_t scrapes = SCRAPER_BENCH_STEADY;
    double t0 = s_cpu_s();
    size_t stored = s_bench_steady(st, tg, sc, refs, body, len, ctype, scrapes);
    double t = s_cpu_s() - t0;
    printf("work: %d steady scrapes, %zu samples kept (%zu a scrape), %zu metric_relabel_configs: "
           "%.0f ns per kept sample\n",
           SCRAPER_BENCH_STEADY, stored, n, sc->n_metric_relabel_configs,
           stored ? t * 1e9 / (double)stored : 0.0);
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&tg);
    fw_sender_refs_destroy(&refs);
    rc = 0;
out:
    free(body[0]);
    free(body[1]);
    free(names);
    return rc;
}
