/*  scraper_bench.h — `scraper --bench-parse=FILE`: the scraper's own CPU per sample on one
    exposition body, for `make bench` (tools/bench-ingest.sh).

    Parses FILE (text 0.0.4, or OpenMetrics when it ends with "# EOF") over and over for
    about a second of thread CPU time and prints the parse throughput (MB/s, ns per sample);
    then runs the whole per-scrape work of a worker (scraper_work_run: parse, target labels,
    the first job's metric_relabel_configs through its cache, limits, staleness, the SAMPLES
    parts encoded) as a target of the config's first job scraping FILE every time, and prints
    its ns per sample. Single-threaded; nothing is sent.

    `scraper --bench-work=FILE[,FILE2]` is the fixed-count form for instruction counts: as
    a target of the config's first job it scrapes FILE then FILE2 (two scrapes of one target,
    their values apart; FILE again when there is no FILE2) to learn their series, then
    SCRAPER_BENCH_STEADY more in turn, all of known series, inside s_bench_steady; it prints
    the samples kept and their CPU. Instructions per known sample:
        valgrind --tool=callgrind --collect-atstart=no --toggle-collect=s_bench_steady \
            scraper --config.file=F --bench-work=FILE,FILE2
    then the Ir collected over the samples printed. No sample_limit (the job's own applies).
*/
#ifndef SCRAPER_BENCH_H
#define SCRAPER_BENCH_H

#include "fw_promcfg.h"

// 0, or -1 when FILE cannot be read or does not parse (told on stderr).
int scraper_bench_parse(const char *file, const struct fw_promcfg *cfg);
#define SCRAPER_BENCH_STEADY 20
// files: "FILE" or "FILE,FILE2". 0, or -1 when one cannot be read or the config has no job
// (told on stderr).
int scraper_bench_work(const char *files, const struct fw_promcfg *cfg);

#endif
