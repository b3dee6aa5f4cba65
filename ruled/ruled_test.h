/*  ruled_test.h — `ruled test FILE...`: rule unit tests in promtool's format
    (`promtool test rules`, docs: configuration/unit_testing_rules), with promtool's output
    and exit code (0 every file passed, 1 one failed).
    A test file:
        rule_files: [<glob>, ...]          relative to the test file
        evaluation_interval: <duration>    default 1m
        group_eval_order: [<group name>, ...]
        tests:
          - interval: <duration>           the input series' step (0 when absent, as 2.42)
            name: <string>
            external_labels: {<name>: <value>}
            input_series: [{series: <metric>, values: <notation>}]   ruled_test_series.h
            alert_rule_test: [{eval_time, alertname, exp_alerts: [{exp_labels, exp_annotations}]}]
            promql_expr_test: [{expr, eval_time, exp_samples: [{labels, value}]}]
    Unknown keys fail the file (promtool 2.42 reads it with yaml.UnmarshalStrict).
    Each test group runs on its own private tsdb (ruled_test_tsdb.h): the input series are
    pushed to it, every rule (one by one, its samples pushed before the next) is evaluated at 0,
    evaluation_interval, ... up to the largest eval_time by ruled's evaluator (ruled_group.h); at
    each eval_time the firing alerts of the named alerting rules are compared; then each
    promql_expr_test is queried at its eval_time.
*/
#ifndef RULED_TEST_H
#define RULED_TEST_H

#include <stdio.h>

// Run `ruled test [--enable-feature=LIST] FILE...` with argv[0] = "test" (argv's file
// arguments are reordered). Writes as promtool does (results on out, failures on errout).
// Returns the exit code: 0 all passed (or --help), 1 a test failed or bad arguments.
int ruled_test_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
