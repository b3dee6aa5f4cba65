/*  ruled_main.c — main() of ruled, the rule evaluator: flags, configuration, then the
    daemon class (ruled.c). `ruled test FILE...` runs rule unit tests (ruled_test.h).
    Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_ports.h"
#include "fw_sender.h"
#include "ruled.h"
#include "ruled_test.h"

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct ruled_opts, common, FW_HTTP_RULED),
    {"zmq.tsdb-address", FW_FLAG_STR, offsetof(struct ruled_opts, eval.tsdb_address),
     FW_ZMQ_TSDB_SAMPLES, "tsdb's samples endpoint (DEALER connects; acknowledged)"},
    FW_SENDER_FLAGS(struct ruled_opts, eval.sender),
    {"zmq.query-address", FW_FLAG_STR, offsetof(struct ruled_opts, eval.query_address),
     FW_ZMQ_TSDB_QUERY, "tsdb's query endpoint (DEALER connects)"},
    {"zmq.alertd-address", FW_FLAG_STR, offsetof(struct ruled_opts, eval.alertd_address),
     FW_ZMQ_ALERTD_ALERTS, "alertd's alerts endpoint (PUSH connects)"},
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct ruled_opts, eval.pub_address),
     FW_ZMQ_RULED_PUB, "where to publish recorded samples and alerts (PUB binds)"},
    {"query.timeout", FW_FLAG_DURATION, offsetof(struct ruled_opts, eval.query_timeout_ms), "10s",
     "how long one rule's query may take"},
    {"storage.path", FW_FLAG_STR, offsetof(struct ruled_opts, storage_path), "data/ruled",
     "directory of the alert state (LMDB), read at start; empty: keep none"},
    {"rules.alert.for-grace-period", FW_FLAG_DURATION, offsetof(struct ruled_opts, for_grace_ms),
     "10m", "minimum time an alert of a rule with a long `for` waits after a restart"},
    {"rules.alert.for-outage-tolerance", FW_FLAG_DURATION,
     offsetof(struct ruled_opts, outage_tolerance_ms), "1h",
     "longest downtime after which alert state is still restored"},
    {"rules.group-workers", FW_FLAG_INT, offsetof(struct ruled_opts, group_workers), "4",
     "rule groups evaluated at once, each by a worker thread with its own tsdb query link "
     "(1..256)"},
    FW_FLAG_EXTERNAL_URL(struct ruled_opts, external_url),
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "test") == 0)
        return ruled_test_main(argc - 1, argv + 1, stdout, stderr);
    struct ruled_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "ruled",
                            "evaluates Prometheus recording and alerting "
                            "rules against tsdb",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("ruled", &opts.common) < 0 || fw_flags_check_web_config(&opts.common) < 0)
        return 2;

    struct ruled_config *cfg = fw_calloc(1, sizeof(*cfg));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    if (ruled_rules_config_load(opts.common.config_file, cfg, errs) < 0) {
        fw_cfg_errors_report(errs, true);
        ruled_rules_config_free(cfg);
        free(cfg);
        free(errs);
        return 2;
    }
    free(errs);
    if (opts.common.check_config) {
        printf("configuration OK\n");
        ruled_rules_config_free(cfg);
        free(cfg);
        return 0;
    }

    fw_process_init();
    ruled_t *ruled = ruled_new(&opts, &cfg);
    fw_err_t err = {0};
    if (ruled_open(ruled, &err) < 0) {
        fw_error("ruled.open.fail", "err=%s", err.msg);
        ruled_destroy(&ruled);
        return 1;
    }
    rc = ruled_run(ruled);
    ruled_destroy(&ruled);
    return rc == 0 ? 0 : 1;
}
