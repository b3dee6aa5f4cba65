/*  fw_metrics.h — a daemon's own metrics, rendered in Prometheus text format 0.0.4.

    A registry of counters and gauges, each family declared once with its help text, each
    series identified by a label string in exposition form without braces ('receiver="x"',
    or "" for none). Updates take a mutex because the HTTP thread renders while the zloop
    thread counts; that is cheap at the rates self-metrics change. Every daemon's registry
    also carries process_start_time_seconds, process_resident_memory_bytes and
    process_cpu_seconds_total, filled in at render time.
*/
#ifndef FW_METRICS_H
#define FW_METRICS_H

#include <stddef.h>

typedef struct fw_metrics fw_metrics_t;

// FW_METRIC_SUMMARY is a summary without quantiles (a valid Prometheus summary): each series
// renders as name_sum and name_count, fed by fw_metrics_observe.
typedef enum {
    FW_METRIC_COUNTER,
    FW_METRIC_GAUGE,
    FW_METRIC_HISTOGRAM,
    FW_METRIC_SUMMARY
} fw_metric_type_t;

fw_metrics_t *fw_metrics_new(void);
void fw_metrics_destroy(fw_metrics_t **self_p);

// Declare a family. name and help are copied. Declaring twice is a no-op.
void fw_metrics_declare(fw_metrics_t *self, const char *name, fw_metric_type_t type,
                        const char *help);
// Add delta to a series (created at 0); the family must be declared (else: logged, ignored).
void fw_metrics_add(fw_metrics_t *self, const char *name, const char *labels, double delta);
// Declare a histogram family with the n upper bounds (ascending; +Inf is implied), copied.
// Each series renders as name_bucket{...,le="b"} (cumulative), name_sum and name_count. A
// histogram series is created (all zero) by fw_metrics_add with delta 0, and fed only by
// fw_metrics_observe; fw_metrics_add and _set with other values leave it alone.
void fw_metrics_declare_histogram(fw_metrics_t *self, const char *name, const char *help,
                                  const double *bounds, size_t n);
// Observe v in a histogram or summary series (created when absent).
void fw_metrics_observe(fw_metrics_t *self, const char *name, const char *labels, double v);
// Set a series to value.
void fw_metrics_set(fw_metrics_t *self, const char *name, const char *labels, double value);
// One more holder of a series (created at 0 when absent): a series that several owners keep
// alive (two file_sd providers reading one file, an old one stopping after a new one
// started), removed when the last one lets go.
void fw_metrics_hold(fw_metrics_t *self, const char *name, const char *labels);
// One holder fewer: the series is removed from the family (no longer rendered) when that was
// the last one, or when it was never held. A series that does not exist: nothing.
void fw_metrics_release(fw_metrics_t *self, const char *name, const char *labels);
// Current value of a series, 0 when absent. For tests and housekeeping.
double fw_metrics_get(fw_metrics_t *self, const char *name, const char *labels);
// 'name="value"' into buf (size bytes), the value escaped as the exposition format wants: a
// series' labels for the calls above. A value too long for buf is cut.
void fw_metrics_label(char *buf, size_t size, const char *name, const char *value);
// Render every family; the caller frees the result.
char *fw_metrics_render(fw_metrics_t *self);

#endif
