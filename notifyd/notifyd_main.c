/*  notifyd_main.c — notifyd's main(): flags, config, then notifyd_new/run/destroy.

    Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
*/
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>

#include "fw_flags.h"
#include "fw_ports.h"
#include "notifyd.h"

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct notifyd_opts, common, FW_HTTP_NOTIFYD),
    {"zmq.notify-address", FW_FLAG_STR, offsetof(struct notifyd_opts, zmq_notify),
     FW_ZMQ_NOTIFYD_NOTIFY, "bind PULL here for NOTIFY from alertd"},
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct notifyd_opts, zmq_pub), FW_ZMQ_NOTIFYD_PUB,
     "bind PUB here (delivered notifications)"},
    {"storage.path", FW_FLAG_STR, offsetof(struct notifyd_opts, storage_path), "",
     "keep delivery outcomes here (LMDB), so a restarted notifyd answers alertd with them; "
     "empty: in memory only"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    struct notifyd_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "notifyd", "webhook delivery for alertd's notifications",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("notifyd", &opts.common) < 0 ||
        fw_flags_check_web_config(&opts.common) < 0)
        return 2;
    struct fw_cfg_errors errs = {0};
    struct notifyd_cfg *cfg = notifyd_cfg_load(opts.common.config_file, &errs);
    if (!cfg) {
        fw_cfg_errors_report(&errs, true);
        return 2;
    }
    if (opts.common.check_config) {
        notifyd_cfg_destroy(&cfg);
        printf("configuration OK\n");
        return 0;
    }
    fw_process_init();
    // No fastbins: libcurl mallocs a transfer's 16 KiB receive buffer at its start and frees
    // it at its end, and a request that large with freed fast chunks about makes glibc
    // consolidate them all first (malloc_consolidate, ~10 us a notification in perf on the
    // path NOTIFY -> request on the wire). Small blocks still come from the per-thread
    // tcache, so nothing else gets slower (instructions per notification, docs/benchmarks.md).
    mallopt(M_MXFAST, 0);
    notifyd_t *d = notifyd_new(&opts, &cfg);
    if (!d) {
        notifyd_cfg_destroy(&cfg);
        return 1;
    }
    rc = notifyd_run(d);
    notifyd_destroy(&d);
    return rc == 0 ? 0 : 1;
}
