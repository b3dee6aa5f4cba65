/*  fw_daemon.c — the reload step, reload-failure reporting, PUSH+PUB send and the
    evaluators' links, shared by the daemon classes (see fw_daemon.h).
*/
#include "fw_daemon.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_zsock.h"

int
fw_daemon_reload_step(fw_http_t *http, fw_daemon_reload_fn *reload, void *arg)
{
    // Take both requests: one reload serves a SIGHUP and a waiting /-/reload alike.
    bool hup = fw_signal_take_hup();
    bool web = http && fw_http_reload_requested(http);
    if (!hup && !web)
        return 0;
    char errbuf[768] = "";
    int rc = reload(arg, errbuf, sizeof(errbuf)) == 0 ? 0 : -1;
    if (web)
        fw_http_reload_done(http, rc, errbuf);
    return rc;
}

void
fw_daemon_reload_failed(const struct fw_cfg_errors *errs, char *errbuf, size_t errsize)
{
    fw_cfg_errors_report(errs, false);
    if (errs->len > 0) {
        char first[512];
        snprintf(errbuf, errsize, "%s%s", fw_err_format(&errs->items[0], first, sizeof(first)),
                 errs->len + errs->dropped > 1 ? " (and more, see the log)" : "");
    } else {
        snprintf(errbuf, errsize, "configuration error");
    }
    fw_error("config.reload.fail", "errors=%zu err=%s", errs->len + errs->dropped, errbuf);
}

int
fw_daemon_send(struct fw_msg **msg_p, zsock_t *push, zsock_t *pub, fw_metrics_t *metrics,
               const char *drop_metric, const char *labels)
{
    fw_err_t err;
    fw_err_clear(&err);
    zmsg_t *frames = fw_msg_encode(*msg_p, &err);
    fw_msg_destroy(msg_p);
    if (!frames) {
        fw_warn("msg.encode.fail", "what=%s err=%s", labels, err.msg);
        return -1;
    }
    int rc = 0;
    zmsg_t *copy = pub ? zmsg_dup(frames) : NULL;
    if (push && zmsg_send(&frames, push) < 0) {
        if (metrics && drop_metric)
            fw_metrics_add(metrics, drop_metric, labels, 1);
        fw_warn("send.drop", "what=%s", labels);
        rc = -1;
    }
    zmsg_destroy(&frames);
    if (copy && zmsg_send(&copy, pub) < 0)
        zmsg_destroy(&copy);
    return rc;
}

int
fw_daemon_links_open(struct fw_daemon_links *links, const struct fw_daemon_eval_opts *opts,
                     int64_t max_msg_size, fw_metrics_t *metrics, fw_err_t *err)
{
    links->query_timeout_ms = (int)opts->query_timeout_ms;
    struct fw_sender_opts so = opts->sender;
    so.endpoint = opts->tsdb_address;
    links->sender = fw_sender_new(&so, metrics);
    if (fw_sender_open(links->sender, err) != 0 ||
        !(links->push_alertd = fw_zsock_push(opts->alertd_address, err)) ||
        !(links->pub = fw_zsock_pub(opts->pub_address, err)))
        return -1;
    links->query = fw_query_client_new(opts->query_address, max_msg_size, metrics);
    if (!links->query) {
        fw_err_set(err, "cannot connect DEALER to %s", opts->query_address);
        return -1;
    }
    return 0;
}

void
fw_daemon_links_close(struct fw_daemon_links *links)
{
    fw_query_client_destroy(&links->query);
    zsock_destroy(&links->pub);
    zsock_destroy(&links->push_alertd);
    fw_sender_destroy(&links->sender);
    memset(links, 0, sizeof(*links));
}

int
fw_daemon_links_query(void *links, const char *expr, int64_t t_ms, struct fw_vector *out,
                      fw_err_t *err)
{
    struct fw_daemon_links *l = links;
    return fw_query_vector(l->query, expr, t_ms, l->query_timeout_ms, out, err);
}
