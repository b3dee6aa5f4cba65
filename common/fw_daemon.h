/*  fw_daemon.h — steps every daemon class takes the same way: the reload check of the 1 Hz
    housekeeping timer, reporting a configuration that failed to load, sending one message
    to a PUSH peer and the PUB tap, and the links of the evaluating daemons (ruled, slod).

    Each daemon keeps what is its own (how it loads and swaps its config, which metrics it
    counts); these functions hold the parts that must behave alike everywhere: a SIGHUP and
    a /-/reload both lead to exactly one reload per housekeeping tick, a /-/reload request
    is answered with that reload's result, and a failed reload answers with the first
    configuration error in the compiler style.
*/
#ifndef FW_DAEMON_H
#define FW_DAEMON_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_http.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_query.h"
#include "fw_sender.h"

// A daemon's reload: load and swap in the new configuration, 0; or keep the old one and
// put the reason into errbuf (errsize bytes, NUL-terminated), -1.
typedef int fw_daemon_reload_fn(void *arg, char *errbuf, size_t errsize);

// The reload step of s_on_housekeeping. When a SIGHUP arrived (fw_signal_take_hup) or a
// /-/reload request waits on http (may be NULL: signal only), calls reload(arg, ...) once
// and, when a /-/reload request was seen, answers it with the result (200, or 500 with the
// error). Returns 0 when nothing asked for a reload, else what reload returned (0 or -1).
int fw_daemon_reload_step(fw_http_t *http, fw_daemon_reload_fn *reload, void *arg);

// Report a configuration that failed to load (errs borrowed): every error is logged
// (fw_cfg_errors_report, event=config.error), one event=config.reload.fail line sums them
// up, and errbuf gets the first one as "file:line:col: error: msg" (with " (and more, see
// the log)" when there are several, "configuration error" when errs holds none).
void fw_daemon_reload_failed(const struct fw_cfg_errors *errs, char *errbuf, size_t errsize);

// Encode *msg_p (taken; set to NULL) once and send it to push and to pub; either may be
// NULL. PUB never blocks. A PUSH with a zero send timeout (fw_zsock_push) whose queue is
// full drops the message: counted as 1 in metrics' drop_metric{labels} (labels as
// fw_metrics_add takes them, e.g. `socket="tsdb"`) and logged as event=send.drop. Returns
// 0 when push took it (or push is NULL), -1 when it was dropped or could not be encoded
// (logged as event=msg.encode.fail).
int fw_daemon_send(struct fw_msg **msg_p, zsock_t *push, zsock_t *pub, fw_metrics_t *metrics,
                   const char *drop_metric, const char *labels);
// As fw_daemon_send, to each of the n PUSH sockets of push (every one gets the message: not
// round-robin). Returns 0 when every one took it, -1 when any dropped it or it could not be
// encoded.
int fw_daemon_send_each(struct fw_msg **msg_p, zsock_t *const *push, size_t n, zsock_t *pub,
                        fw_metrics_t *metrics, const char *drop_metric, const char *labels);

// The evaluating daemons (ruled, slod) query tsdb over DEALER/ROUTER, send the series they
// compute to tsdb (fw_sender: acknowledged) and their alerts to alertd (PUSH; to every
// replica of a comma-separated --zmq.alertd-address, as Prometheus sends every alert to
// every Alertmanager), and PUBlish everything they send for taps. Their flags
// --zmq.tsdb-address, --zmq.query-address, --zmq.alertd-address, --zmq.pub-address,
// --query.timeout and FW_SENDER_FLAGS fill this (strings borrowed from argv or defaults).
struct fw_daemon_eval_opts {
    const char *tsdb_address;   // connect DEALER (SAMPLES, fw_sender)
    const char *query_address;  // connect DEALER (QUERY)
    const char *alertd_address; // connect PUSH (ALERTS), one per comma-separated replica
    const char *pub_address;    // bind PUB
    int64_t query_timeout_ms;
    struct fw_sender_opts sender; // buffer and timeout; the daemon sets name, the endpoint
                                  // is tsdb_address
};

// Most alertd replicas --zmq.alertd-address may list.
#define FW_DAEMON_ALERTD_MAX 16

struct fw_daemon_links {
    fw_sender_t *sender;                        // owned: SAMPLES to tsdb, acknowledged (fw_sender)
    zsock_t *push_alertd[FW_DAEMON_ALERTD_MAX]; // owned: ALERTS to each alertd (fw_zsock_push)
    size_t n_alertd;
    zsock_t *pub;             // owned: everything sent, for taps (fw_zsock_pub)
    fw_query_client_t *query; // owned: QUERY to tsdb
    int query_timeout_ms;
};

// Open the links for opts (borrowed) into links, which the caller zeroed. The query link
// accepts answers of up to max_msg_size bytes per part (--zmq.max-msg-size) and counts the
// ones it drops in metrics (borrowed, may be NULL); the sender counts into metrics too.
// The sender is not attached to a loop: the daemon does that (fw_sender_attach) and
// detaches it before destroying its loop. 0, or -1 with err naming the endpoint;
// whatever was opened stays in links for fw_daemon_links_close().
int fw_daemon_links_open(struct fw_daemon_links *links, const struct fw_daemon_eval_opts *opts,
                         int64_t max_msg_size, fw_metrics_t *metrics, fw_err_t *err);

// Send *msg_p (taken) to every alertd replica and the PUB (fw_daemon_send_each).
int fw_daemon_links_send_alerts(struct fw_daemon_links *links, struct fw_msg **msg_p,
                                fw_metrics_t *metrics, const char *drop_metric);

// Close every link that is open and zero links. Safe to call twice.
void fw_daemon_links_close(struct fw_daemon_links *links);

// The evaluators' query callback (ruled_query_fn, slod_query_fn) with arg the links:
// evaluate expr at t_ms on tsdb within the links' query timeout. As fw_query_vector().
int fw_daemon_links_query(void *links, const char *expr, int64_t t_ms, struct fw_vector *out,
                          fw_err_t *err);

#endif
