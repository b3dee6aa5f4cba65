/*  scraper_sd_file.h — file_sd_configs: target groups read from JSON and YAML files.

    A provider actor for one file_sd_config: its `files` patterns ('*' in the last path
    component, as Prometheus's filepath.Glob) are expanded, each file read and parsed, and
    all the groups sent as one full update (scraper_sd.h) whenever something changed. Files
    are re-read when their directory changes (inotify on each pattern's directory) and
    every refresh_interval. Each group is named "<path>:<index>" and carries the label
    __meta_filepath=<path>.

    A file that cannot be read or parsed keeps the groups it last had, and the reason is
    logged once per version of the file (event=sd.file.fail, with file:line:col where the
    parser knows it); a file no longer matched (removed) loses its groups.

    File format, as Prometheus's: a list of groups, each {targets: [host:port, ...],
    labels: {name: value, ...}}; .json is JSON, .yml/.yaml YAML (unknown keys are errors in
    YAML, ignored in JSON, as Go's decoders do).
*/
#ifndef SCRAPER_SD_FILE_H
#define SCRAPER_SD_FILE_H

#include <czmq.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"
#include "scraper_sd.h"

// Largest file read; a larger one is an error (its last good groups stay).
#define SCRAPER_SD_FILE_MAX_BYTES (64u * 1024 * 1024)

// Start the provider actor for c (copied: the actor owns what it needs) of job (for logs),
// counting into metrics (borrowed, may be NULL; must outlive the actor; families declared
// by scraper_sd_new): prometheus_sd_file_read_errors_total (every failed read or parse of
// a refresh) and prometheus_sd_file_scan_duration_seconds (each refresh). NULL only if
// czmq fails.
zactor_t *scraper_sd_file_new(const struct fw_file_sd_config *c, const char *job,
                              fw_metrics_t *metrics);

// Parse the text (len bytes) of file `path` (its extension picks JSON or YAML) into a new
// update (not full) holding its groups, or NULL with err (the file, and the line and column
// where known).
struct scraper_sd_update *scraper_sd_file_parse(const char *path, const char *text, size_t len,
                                                fw_err_t *err);

#endif
