/*  fw_daemon.c — the reload step, reload-failure reporting, PUSH+PUB send and the
    evaluators' links, shared by the daemon classes (see fw_daemon.h).
*/
#include "fw_daemon.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
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
    return fw_daemon_send_each(msg_p, &push, push ? 1 : 0, pub, metrics, drop_metric, labels);
}

int
fw_daemon_send_each(struct fw_msg **msg_p, zsock_t *const *push, size_t n, zsock_t *pub,
                    fw_metrics_t *metrics, const char *drop_metric, const char *labels)
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
    for (size_t i = 0; i < n; i++) {
        zmsg_t *copy = zmsg_dup(frames);
        if (zmsg_send(&copy, push[i]) < 0) {
            zmsg_destroy(&copy);
            if (metrics && drop_metric)
                fw_metrics_add(metrics, drop_metric, labels, 1);
            fw_warn("send.drop", "what=%s peer=%zu", labels, i);
            rc = -1;
        }
    }
    if (pub && zmsg_send(&frames, pub) < 0)
        zmsg_destroy(&frames);
    zmsg_destroy(&frames);
    return rc;
}

// One PUSH per replica of the comma-separated list (one PUSH with several endpoints would
// deal the alerts round-robin). 0, or -1 with err.
static int
s_alertd_open(struct fw_daemon_links *links, const char *list, fw_err_t *err)
{
    char *copy = fw_strdup(list ? list : ""), *save = NULL;
    int rc = 0;
    for (char *ep = strtok_r(copy, ",", &save); ep && rc == 0; ep = strtok_r(NULL, ",", &save)) {
        if (links->n_alertd == FW_DAEMON_ALERTD_MAX) {
            fw_err_set(err, "--zmq.alertd-address lists more than %d alertd replicas",
                       FW_DAEMON_ALERTD_MAX);
            rc = -1;
        } else if (!(links->push_alertd[links->n_alertd] = fw_zsock_push(ep, err)))
            rc = -1;
        else
            links->n_alertd++;
    }
    if (rc == 0 && links->n_alertd == 0) {
        fw_err_set(err, "--zmq.alertd-address is empty");
        rc = -1;
    }
    free(copy);
    return rc;
}

int
fw_daemon_links_send_alerts(struct fw_daemon_links *links, struct fw_msg **msg_p,
                            fw_metrics_t *metrics, const char *drop_metric)
{
    return fw_daemon_send_each(msg_p, links->push_alertd, links->n_alertd, links->pub, metrics,
                               drop_metric, "socket=\"alertd\"");
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
        s_alertd_open(links, opts->alertd_address, err) < 0 ||
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
    for (size_t i = 0; i < links->n_alertd; i++)
        zsock_destroy(&links->push_alertd[i]);
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
