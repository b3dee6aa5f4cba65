/*  tsdb_import.h — `tsdb import FILE...`: backfill text files into a data directory.

    Input: OpenMetrics text with a timestamp on every sample (float seconds, "# EOF" last:
    what `promtool tsdb create-blocks-from openmetrics` reads), or Prometheus text
    exposition with integer millisecond timestamps. The format is told with --format or
    found per file: a file whose last line is "# EOF" is OpenMetrics, any other is text.
    Lines are parsed one at a time by the scraper's parser (fw_expfmt), so a file of any
    size is read with a bounded buffer.

    Two passes, as promtool's backfill (which reads its input once to find the time range
    and refuses a file with a parse error before writing any block):
    1. check: every file is parsed; every bad line (syntax, a sample without a timestamp, a
       label set the index cannot hold) is reported as "file:line:col: error: reason", up
       to TSDB_IMPORT_MAX_REPORTED of them, and if there was any, NOTHING is written and
       the import fails. promtool stops at its first error and names no line; we report
       all of them so that one run shows everything to fix.
    2. import: the files are read again; each sample goes into its series' buffer (a series
       is found by the text of its "name{labels}" first, then by its label set, so a label
       set written two ways is still one series). Every max_samples buffered samples, each
       series' buffer is sorted by time if it arrived out of order (stable: of two samples
       with one timestamp the first in the file wins, as in promtool), handed to the store
       (tsdb_store_append_series) and the whole lot committed in one transaction
       (tsdb_store_commit). So memory is bounded by max_samples, whatever the order of the
       input: series after series (promtool's usual input, gen-openmetrics.py), scrape
       after scrape (time-major), or shuffled. The last commit first seals every open chunk
       (tsdb_store_seal_all), so imported history is stored in its smallest form; samples
       that come later to such a series start a new chunk.
    The store's out-of-order window is opened wide for the import: a sample older than what
    its series already holds (on disk, from an earlier import, or from a later buffer of
    this one) is merged into the series' chunks as a late sample (tsdb_head.h), never
    dropped. A sample at a timestamp already stored is a no-op when its value is the same
    (so re-running an import stores nothing twice) and is refused and counted when it
    differs (the stored value stays). promtool instead drops, silently, any sample older
    than the newest of its series within a 2-hour block; we keep it.

    The data directory is the daemon's (--storage.tsdb.path); the store's lock refuses the
    import while a tsdb runs on it. What was committed stays if the import is interrupted;
    running it again completes it.
*/
#ifndef TSDB_IMPORT_H
#define TSDB_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fw_err.h"
#include "tsdb_store.h"

// Bad lines reported before the rest are only counted.
#define TSDB_IMPORT_MAX_REPORTED 20
// The longest line accepted.
#define TSDB_IMPORT_MAX_LINE ((size_t)16 << 20)

typedef enum { TSDB_IMPORT_AUTO, TSDB_IMPORT_OPENMETRICS, TSDB_IMPORT_TEXT } tsdb_import_fmt_t;

struct tsdb_import_opts {
    tsdb_import_fmt_t format;
    size_t max_samples; // samples buffered between commits (0: the default, 1000000)
    FILE *errout;       // bad lines and warnings (NULL: stderr)
    bool progress;      // show progress on errout (the CLI: only when it is a terminal)
};

struct tsdb_import_stats {
    size_t files;
    size_t bytes;           // input bytes
    size_t lines;           // sample lines read in the import pass
    size_t read;            // samples read
    size_t bad_lines;       // lines refused by the check pass (then nothing was imported)
    size_t series;          // distinct series in the input
    size_t commits;         // transactions committed
    size_t committed;       // samples accepted by the store and committed
    size_t stored;          // samples on disk that were not before: store.samples less the
                            // late ones a commit found already stored
    size_t late_duplicates; // late samples found stored with the same value
    size_t late_conflicts;  // late samples found stored with another value (that stays)
    int64_t mint, maxt;     // range of the samples read (ms; mint > maxt when none)
    int64_t check_us;       // wall time of the check pass (microseconds)
    int64_t import_us;      // wall time of the import pass, last commit included (microseconds)
    struct tsdb_store_stats store; // what the store did with the samples
};

// Import the files paths[0..n) into the open store (borrowed). 0 when every line was good
// and everything was committed. -1 with err when a file had bad lines (each reported on
// opts->errout; nothing imported), could not be read (nothing imported if this happened
// in the check pass), or the store failed (what was committed before stays). *st (may be
// NULL) gets the counts in either case.
int tsdb_import_files(tsdb_store_t *store, const char *const *paths, size_t n,
                      const struct tsdb_import_opts *opts, struct tsdb_import_stats *st,
                      fw_err_t *err);

// `tsdb import [flags] FILE...` (argv[0] is "import"): flags, open the store, import,
// print the summary on out; errors and progress (only when err is a terminal) on err.
// Returns the exit code: 0 imported, 1 bad input or failure (promtool's code), 2 usage.
int tsdb_import_main(int argc, char **argv, FILE *out, FILE *err);

#endif
