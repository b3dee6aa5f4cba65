/*  ruled_test_series.h — the input series of a rule unit test (`ruled test`), in Prometheus's
    promql test notation, as promtool's `input_series` has them:
        series: 'up{job="a"}'          a metric in PromQL syntax (equality matchers only)
        values: '1 2 _ 3+2x3 5-1x2 _x2 stale 1x2 Inf NaN'
    The values are whitespace-separated items, the i-th value at i × interval from 0:
        N            one value (a float: 1, -2.5, 1e3, Inf, NaN)
        _            no value at this step
        _xK          no value for K steps
        stale        a staleness marker (Prometheus's stale NaN)
        NxK          N repeated K+1 times
        N+MxK N-MxK  K+1 values N, N±M, ..., N±K·M
    As in Prometheus's lexer, no hexadecimal numbers (0x10 is ten zeros after a zero).
*/
#ifndef RULED_TEST_SERIES_H
#define RULED_TEST_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"

// Values past this many per series are refused (a typo like 1x1e9 must not eat memory).
#define RULED_TEST_SERIES_MAX_VALUES 10000000

struct ruled_test_points {
    int64_t *t; // owned; milliseconds from 0
    double *v;  // owned
    size_t len, cap;
};

// Parse text as a metric ("up", 'up{job="a"}', '{__name__="up"}') into out (cleared first).
// 0, or -1 with err ("1:4: parse error: ...").
int ruled_test_series_parse_metric(const char *text, struct fw_labels *out, fw_err_t *err);

// Expand values with one step of interval_ms into out (cleared first). 0, or -1 with err
// naming the bad item.
int ruled_test_series_expand(const char *values, int64_t interval_ms, struct ruled_test_points *out,
                             fw_err_t *err);

void ruled_test_points_clear(struct ruled_test_points *p);

#endif
