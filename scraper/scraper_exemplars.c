/*  scraper_exemplars.c — EXEMPLARS of a scrape to tsdb (see scraper_exemplars.h).
 */
#include "scraper_exemplars.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_zsock.h"

struct scraper_exemplars {
    fw_metrics_t *metrics; // borrowed
    zsock_t *sock;         // owned DEALER
    json_t *list;          // owned: this scrape's exemplars
    struct fw_labels tmp;  // scratch: an exemplar's labels, sorted
};

scraper_exemplars_t *
scraper_exemplars_new(fw_metrics_t *metrics)
{
    scraper_exemplars_t *self = fw_calloc(1, sizeof(*self));
    self->metrics = metrics;
    self->list = json_array();
    self->tmp = (struct fw_labels)FW_LABELS_INIT;
    if (metrics)
        fw_metrics_declare(metrics, "fw_scraper_exemplars_total", FW_METRIC_COUNTER,
                           "OpenMetrics exemplars, by result: sent (to tsdb, in EXEMPLARS), "
                           "send_dropped (tsdb away or its queue full) or parse_dropped "
                           "(refused as Prometheus refuses them: labels over 128 characters "
                           "or a repeated label name).");
    return self;
}

void
scraper_exemplars_destroy(scraper_exemplars_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_exemplars_t *self = *self_p;
    zsock_destroy(&self->sock);
    json_decref(self->list);
    fw_labels_clear(&self->tmp);
    free(self);
    *self_p = NULL;
}

int
scraper_exemplars_open(scraper_exemplars_t *self, const char *endpoint, fw_err_t *err)
{
    self->sock = fw_zsock_dealer(endpoint, err);
    if (!self->sock)
        return -1;
    zsock_set_sndtimeo(self->sock, 0); // never block the loop: drop instead
    return 0;
}

zsock_t *
scraper_exemplars_sock(scraper_exemplars_t *self)
{
    return self->sock;
}

void
scraper_exemplars_reset(scraper_exemplars_t *self)
{
    json_array_clear(self->list);
}

void
scraper_exemplars_add(scraper_exemplars_t *self, const struct fw_labels *series,
                      const struct fw_expfmt_exemplar *e, int64_t sample_t_ms)
{
    fw_labels_clear(&self->tmp);
    for (size_t i = 0; i < e->n_labels; i++)
        if (e->label_values[i][0]) // an empty value is no label, as in Prometheus
            fw_labels_set(&self->tmp, e->label_names[i], e->label_values[i]);
    char v[40];
    snprintf(v, sizeof(v), "%.17g", e->v);
    json_t *o = json_object();
    json_object_set_new(o, "series", fw_labels_json(series));
    json_object_set_new(o, "labels", fw_labels_json(&self->tmp));
    json_object_set_new(o, "value", json_string(v));
    json_object_set_new(o, "timestamp", json_integer(e->has_t ? e->t_ms : sample_t_ms));
    json_array_append_new(self->list, o);
}

json_t *
scraper_exemplars_take(scraper_exemplars_t *self)
{
    if (json_array_size(self->list) == 0)
        return NULL;
    json_t *list = self->list;
    self->list = json_array();
    return list;
}

void
scraper_exemplars_give(scraper_exemplars_t *self, json_t **list_p)
{
    if (!*list_p)
        return;
    json_array_extend(self->list, *list_p);
    json_decref(*list_p);
    *list_p = NULL;
}

int
scraper_exemplars_send(scraper_exemplars_t *self, const char *sender, zsock_t *pub)
{
    size_t n = json_array_size(self->list);
    if (n == 0)
        return 0;
    json_t *body = json_object();
    json_object_set_new(body, "sender", json_string(sender));
    json_object_set_new(body, "exemplars", self->list); // moved into the message
    self->list = json_array();
    struct fw_msg *m = fw_msg_new_json(FW_MSG_EXEMPLARS, body);
    fw_err_t err;
    zmsg_t *frames = fw_msg_encode(m, &err);
    fw_msg_destroy(&m);
    int rc = -1;
    if (frames) {
        if (pub) {
            zmsg_t *copy = zmsg_dup(frames);
            if (zmsg_send(&copy, pub) != 0)
                zmsg_destroy(&copy);
        }
        if (self->sock && zmsg_send(&frames, self->sock) == 0)
            rc = (int)n;
        zmsg_destroy(&frames);
    } else {
        fw_warn("msg.encode.fail", "type=EXEMPLARS err=%s", err.msg);
    }
    if (self->metrics)
        fw_metrics_add(self->metrics, "fw_scraper_exemplars_total",
                       rc < 0 ? "result=\"send_dropped\"" : "result=\"sent\"", (double)n);
    return rc;
}
