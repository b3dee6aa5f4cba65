/*  ruled_test_report.h — how `ruled test` words results: promtool's texts, byte for byte
    (cmd/promtool/unittest.go), so scripts that read promtool's output read ours.
*/
#ifndef RULED_TEST_REPORT_H
#define RULED_TEST_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"

// A growing string.
struct ruled_test_buf {
    char *s; // owned, NUL-terminated (NULL while empty)
    size_t len, cap;
};
void ruled_test_buf_printf(struct ruled_test_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ruled_test_buf_clear(struct ruled_test_buf *b);

// Go's strconv.Quote (%q) of s, appended to b: "a\"b".
void ruled_test_quote(struct ruled_test_buf *b, const char *s);
// Go's time.Duration String for ms ("0s", "1m0s", "1h0m0s", "1.5s", "100ms") into buf.
const char *ruled_test_go_duration(int64_t ms, char *buf, size_t size);
// Prometheus's labels.Labels String(): {__name__="up", job="a"} (every label, name order).
void ruled_test_labels_str(struct ruled_test_buf *b, const struct fw_labels *l);

// When every error in errs is an unknown key of a test file (rule_file false) or of a rule
// file (true), write them as Go's yaml package does for promtool ("yaml: unmarshal
// errors:\n  line 6: field x not found in type main.unitTestFile", "... rulefmt.RuleNode")
// to b and return true; otherwise write nothing and return false.
bool ruled_test_yaml_unknown_keys(struct ruled_test_buf *b, const struct fw_cfg_errors *errs,
                                  bool rule_file);

// One alert for comparison: labels and annotations (both owned).
struct ruled_test_alert {
    struct fw_labels labels, annotations;
};
// Sort alerts as promtool does (labels, then annotations).
void ruled_test_alerts_sort(struct ruled_test_alert *a, size_t n);
bool ruled_test_alerts_equal(const struct ruled_test_alert *a, size_t na,
                             const struct ruled_test_alert *b, size_t nb);
// labelsAndAnnotations String() indented as promtool's alert failure shows it.
void ruled_test_alerts_str(struct ruled_test_buf *b, const struct ruled_test_alert *a, size_t n);

// One sample for comparison.
struct ruled_test_sample {
    struct fw_labels labels; // owned
    double v;
};
void ruled_test_samples_sort(struct ruled_test_sample *s, size_t n);
// reflect.DeepEqual as promtool uses it: same labels, values == (so NaN never matches).
bool ruled_test_samples_equal(const struct ruled_test_sample *a, size_t na,
                              const struct ruled_test_sample *b, size_t nb);
// parsedSamplesString: "nil", or `{...} 1E+00, {...} 2E+00`.
void ruled_test_samples_str(struct ruled_test_buf *b, const struct ruled_test_sample *s, size_t n);

#endif
