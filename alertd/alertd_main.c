/*  alertd_main.c — alertd's main(): flags, config, then alertd_new/run/destroy.

    Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
*/
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alertd.h"
#include "alertd_silence.h"
#include "alertd_tmpl.h"
#include "fw_flags.h"
#include "fw_ports.h"

#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct alertd_opts, common, FW_HTTP_ALERTD),
    {"zmq.alerts-address", FW_FLAG_STR, offsetof(struct alertd_opts, zmq_alerts),
     FW_ZMQ_ALERTD_ALERTS, "bind PULL here for ALERTS from ruled/slod"},
    {"zmq.notifyd-address", FW_FLAG_STR, offsetof(struct alertd_opts, zmq_notifyd),
     FW_ZMQ_NOTIFYD_NOTIFY, "connect PUSH here for NOTIFY to notifyd"},
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct alertd_opts, zmq_pub), FW_ZMQ_ALERTD_PUB,
     "bind PUB here (alerts received, notifications sent)"},
    {"zmq.notifyd-pub-address", FW_FLAG_STR, offsetof(struct alertd_opts, zmq_notifyd_pub),
     FW_ZMQ_NOTIFYD_PUB,
     "connect SUB here for notifyd's NOTIFY_RESULT (delivered or failed, into the notification "
     "log)"},
    {"storage.path", FW_FLAG_STR, offsetof(struct alertd_opts, storage_path), "data/alertd",
     "state directory (LMDB): alerts, silences and the notification log; \"\" keeps them in "
     "memory only"},
    {"data.retention", FW_FLAG_DURATION, offsetof(struct alertd_opts, data_retention), "120h",
     "how long a notification log entry is kept"},
    {"silences.max-silences", FW_FLAG_INT, offsetof(struct alertd_opts, silences_max),
     S_STR(ALERTD_SILENCES_MAX_DEFAULT),
     "maximum number of silences, including expired silences (until they are dropped, 15m "
     "after they end); 0 or negative: no limit (Alertmanager's default)"},
    {"silences.max-silence-size-bytes", FW_FLAG_INT, offsetof(struct alertd_opts, silence_size_max),
     S_STR(ALERTD_SILENCE_SIZE_MAX_DEFAULT),
     "maximum silence size in bytes (its JSON); 0 or negative: no limit (Alertmanager's "
     "default)"},
    {"web.external-url", FW_FLAG_STR, offsetof(struct alertd_opts, external_url),
     "http://127.0.0.1:9093", "URL alertd is reachable at (externalURL in notifications)"},
    {"cluster.listen-address", FW_FLAG_STR, offsetof(struct alertd_opts, cluster.listen), "",
     "host:port (or tcp:// endpoint) the cluster ROUTER binds; \"\" (the default) disables high "
     "availability"},
    {"cluster.advertise-address", FW_FLAG_STR, offsetof(struct alertd_opts, cluster.advertise), "",
     "this replica's name and address in the cluster (default: the listen address, a wildcard "
     "host replaced by the host name)"},
    {"cluster.peer", FW_FLAG_LIST, offsetof(struct alertd_opts, cluster_peers), NULL,
     "a peer replica's host:port (comma lists too); this replica's own address is skipped"},
    {"cluster.peer-timeout", FW_FLAG_DURATION,
     offsetof(struct alertd_opts, cluster.peer_timeout_ms), "15s",
     "time to wait between peers to send notifications (x this replica's position)"},
    {"cluster.gossip-interval", FW_FLAG_DURATION,
     offsetof(struct alertd_opts, cluster.gossip_interval_ms), "200ms",
     "interval between gossip messages carrying changed silences and log entries"},
    {"cluster.pushpull-interval", FW_FLAG_DURATION,
     offsetof(struct alertd_opts, cluster.pushpull_interval_ms), "1m",
     "interval between full state syncs with each peer"},
    {"cluster.probe-interval", FW_FLAG_DURATION,
     offsetof(struct alertd_opts, cluster.probe_interval_ms), "1s",
     "interval between heartbeats; a peer silent for 5 of them is down"},
    {"cluster.settle-timeout", FW_FLAG_DURATION,
     offsetof(struct alertd_opts, cluster.settle_timeout_ms), "1m",
     "longest wait for the peers' state before notifications are sent"},
    {"cluster.tls-config", FW_FLAG_STR, offsetof(struct alertd_opts, cluster_tls_config), "",
     "Alertmanager's TLS for the cluster link: not supported (alertd refuses to start with it; "
     "the link is ZeroMQ, not memberlist's TCP)"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "template") == 0 && strcmp(argv[2], "render") == 0)
        return alertd_tmpl_main(argc - 2, argv + 2); // `alertd template render ...`
    struct alertd_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "alertd",
                            "Alertmanager-compatible alert grouping and "
                            "routing",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("alertd", &opts.common) < 0 ||
        fw_flags_check_web_config(&opts.common) < 0)
        return 2;
    if (opts.cluster_tls_config && *opts.cluster_tls_config) {
        // Alertmanager's (experimental) TLS wraps memberlist's TCP streams; the replicas'
        // link here is ZeroMQ ROUTER/DEALER, which has no TLS: refused, never ignored.
        fprintf(stderr,
                "alertd: --cluster.tls-config=%s: not supported: the cluster link is ZeroMQ "
                "(no TLS, no authentication); keep the cluster port on a private network\n",
                opts.cluster_tls_config);
        return 2;
    }
    opts.cluster.peers = &opts.cluster_peers;
    opts.cluster.max_msg_size = opts.common.zmq_max_msg_size;
    if (opts.cluster.gossip_interval_ms <= 0 || opts.cluster.pushpull_interval_ms <= 0 ||
        opts.cluster.probe_interval_ms <= 0 || opts.cluster.peer_timeout_ms < 0) {
        fprintf(stderr, "alertd: --cluster.gossip-interval, --cluster.pushpull-interval and "
                        "--cluster.probe-interval must be above 0s\n");
        return 2;
    }
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_config_load(opts.common.config_file, &errs);
    if (!cfg) {
        fw_cfg_errors_report(&errs, true);
        return 2;
    }
    if (opts.common.check_config) {
        alertd_cfg_destroy(&cfg);
        printf("configuration OK\n");
        return 0;
    }
    fw_process_init();
    alertd_t *d = alertd_new(&opts, &cfg);
    if (!d) {
        alertd_cfg_destroy(&cfg);
        return 1;
    }
    rc = alertd_run(d);
    alertd_destroy(&d);
    return rc == 0 ? 0 : 1;
}
