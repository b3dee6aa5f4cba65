/*  scraper_bench.c — `scraper --bench-parse=FILE` (see scraper_bench.h).
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
        stored = job->tally.post;
        scraper_work_job_destroy(&job);
        iters++;
    }
    printf("work: %zu metric_relabel_configs, %zu of %zd samples kept, %zu passes: %.0f ns per "
           "sample (parse, labels, relabel, limits, staleness, encode)\n",
           sc->n_metric_relabel_configs, stored, n, iters, t * 1e9 / ((double)iters * (double)n));
    scraper_work_state_destroy(&st);
    scraper_target_destroy(&tg);
    fw_sender_refs_destroy(&refs);
    free(body);
    return 0;
}
