/*  slod_main.c — main() of slod, the SLO evaluator: flags, configuration, then the daemon
    class (slod.c). Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
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
#include "slod.h"
#include "slod_gen.h"
#include "slod_report.h"

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct slod_opts, common, FW_HTTP_SLOD),
    {"zmq.tsdb-address", FW_FLAG_STR, offsetof(struct slod_opts, eval.tsdb_address),
     FW_ZMQ_TSDB_SAMPLES, "tsdb's samples endpoint (DEALER connects; acknowledged)"},
    FW_SENDER_FLAGS(struct slod_opts, eval.sender),
    {"zmq.query-address", FW_FLAG_STR, offsetof(struct slod_opts, eval.query_address),
     FW_ZMQ_TSDB_QUERY, "tsdb's query endpoint (DEALER connects)"},
    {"zmq.alertd-address", FW_FLAG_STR, offsetof(struct slod_opts, eval.alertd_address),
     FW_ZMQ_ALERTD_ALERTS, "alertd's alerts endpoint (PUSH connects)"},
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct slod_opts, eval.pub_address), FW_ZMQ_SLOD_PUB,
     "where to publish SLO series and alerts (PUB binds)"},
    {"query.timeout", FW_FLAG_DURATION, offsetof(struct slod_opts, eval.query_timeout_ms), "10s",
     "how long one SLI query may take"},
    {"storage.path", FW_FLAG_STR, offsetof(struct slod_opts, storage_path), "data/slod",
     "directory of the 5-minute rings' journal; empty: keep none"},
    {"slo.backfill-buckets", FW_FLAG_INT, offsetof(struct slod_opts, backfill_buckets), "1000",
     "5-minute buckets of history filled per evaluation until every ring is full"},
    FW_FLAG_EXTERNAL_URL(struct slod_opts, external_url),
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "report") == 0)
        return slod_report_main(argc - 1, argv + 1, stdout, stderr);
    if (argc > 1 && strcmp(argv[1], "generate") == 0)
        return slod_gen_main(argc - 1, argv + 1, stdout, stderr);
    struct slod_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "slod",
                            "computes SLIs, error budgets and burn rates, "
                            "and pages on fast burn",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("slod", &opts.common) < 0 || fw_flags_check_web_config(&opts.common) < 0)
        return 2;

    struct slod_cfg *cfg = fw_calloc(1, sizeof(*cfg));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    rc = slod_load_config(opts.common.config_file, cfg, errs);
    if (rc < 0)
        fw_cfg_errors_report(errs, true);
    free(errs);
    if (rc < 0 || opts.common.check_config) {
        if (rc == 0)
            printf("configuration OK\n");
        slod_cfg_free(cfg);
        free(cfg);
        return rc < 0 ? 2 : 0;
    }

    fw_process_init();
    slod_t *slod = slod_new(&opts, &cfg);
    fw_err_t err = {0};
    if (slod_open(slod, &err) < 0) {
        fw_error("slod.open.fail", "err=%s", err.msg);
        slod_destroy(&slod);
        return 1;
    }
    rc = slod_run(slod);
    slod_destroy(&slod);
    return rc == 0 ? 0 : 1;
}
