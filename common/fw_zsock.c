/*  fw_zsock.c — socket roles, the loop runner and receive-with-reject (see fw_zsock.h). */
#include "fw_zsock.h"

#include <stdio.h>
#include <string.h>

#include "fw_log.h"

static zsock_t *
s_new(int type, const char *endpoint, bool bind, fw_err_t *err)
{
    zsock_t *s = zsock_new(type);
    if (!s) {
        fw_err_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    if (!endpoint || zsock_attach(s, endpoint, bind) < 0) {
        fw_err_set(err, "cannot %s %s: %s", bind ? "bind" : "connect",
                   endpoint ? endpoint : "(none)", zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
    }
    return s;
}

zsock_t *
fw_zsock_push(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PUSH, endpoint, false, err);
    if (s) {
        zsock_set_sndhwm(s, FW_ZSOCK_HWM);
        zsock_set_sndtimeo(s, 0);
        zsock_set_linger(s, FW_ZSOCK_LINGER_MS);
    }
    return s;
}

zsock_t *
fw_zsock_pull(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PULL, endpoint, true, err);
    if (s)
        zsock_set_rcvhwm(s, FW_ZSOCK_HWM);
    return s;
}

zsock_t *
fw_zsock_pub(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PUB, endpoint, true, err);
    if (s) {
        zsock_set_sndhwm(s, FW_ZSOCK_HWM);
        zsock_set_sndtimeo(s, 0);
        zsock_set_linger(s, 0);
    }
    return s;
}

zsock_t *
fw_zsock_router(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_ROUTER, endpoint, true, err);
    if (s)
        zsock_set_sndtimeo(s, 1000); // a vanished client must not stall the loop for long
    return s;
}

int
fw_zloop_run(zloop_t *loop)
{
    int rc;
    do
        rc = zloop_start(loop);
    while (rc == 0 && !zsys_interrupted);
    return rc == 0 ? 0 : -1;
}

void
fw_zsock_declare_metrics(fw_metrics_t *metrics)
{
    fw_metrics_declare(metrics, "fw_msg_rejected_total", FW_METRIC_COUNTER,
                       "Messages rejected by the decoder or of an unexpected type, by type.");
}

void
fw_zsock_reject(fw_metrics_t *metrics, const char *type, const char *why)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "type=\"%s\"", type);
    if (metrics)
        fw_metrics_add(metrics, "fw_msg_rejected_total", labels, 1);
    fw_warn("msg.reject", "type=%s err=%s", type, why);
}

int
fw_zsock_recv(zsock_t *sock, fw_msg_type_t want, fw_metrics_t *metrics, struct fw_msg **out)
{
    *out = NULL;
    zmsg_t *frames = zmsg_recv(sock);
    if (!frames)
        return -1; // interrupted: nothing to reject
    // Label the rejection with the type token when it names a known type, so a bad SAMPLES
    // batch counts as type="SAMPLES"; anything else is "unknown".
    const char *label = "unknown";
    char token[32] = "";
    zframe_t *first = zmsg_first(frames);
    fw_msg_type_t type;
    if (first && zframe_size(first) < sizeof(token)) {
        memcpy(token, zframe_data(first), zframe_size(first));
        token[zframe_size(first)] = '\0';
        if (fw_msg_type_parse(token, &type) == 0)
            label = token;
    }
    fw_err_t err;
    fw_err_clear(&err);
    int rc = fw_msg_decode(frames, out, &err);
    zmsg_destroy(&frames);
    if (rc < 0) {
        fw_zsock_reject(metrics, label, err.msg);
        return -1;
    }
    if ((*out)->type != want) {
        fw_zsock_reject(metrics, label, "unexpected message type");
        fw_msg_destroy(out);
        return -1;
    }
    return 0;
}
