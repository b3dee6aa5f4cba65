/*  scraper_exemplars.h — the exemplars of one scrape, sent to tsdb as EXEMPLARS v1
    (docs/wire.md) on a DEALER of their own.

    scraper_exemplars_add() keeps each exemplar of the scrape with its series' final labels
    (after target labels and metric_relabel_configs) and its time: its own timestamp, else the
    sample's, as Prometheus's scrape loop gives it. scraper_exemplars_send() sends them as one
    message, never blocking: when the queue to tsdb is full or tsdb is away the batch is
    dropped and counted (exemplars are not acknowledged; tsdb keeps them only in memory).
    scraper_exemplars_reset() forgets what a failed scrape collected.
*/
#ifndef SCRAPER_EXEMPLARS_H
#define SCRAPER_EXEMPLARS_H

#include <czmq.h>
#include <jansson.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_expfmt.h"
#include "fw_labels.h"
#include "fw_metrics.h"

typedef struct scraper_exemplars scraper_exemplars_t;

// Cannot fail; metrics borrowed (may be NULL), must outlive it.
scraper_exemplars_t *scraper_exemplars_new(fw_metrics_t *metrics);
void scraper_exemplars_destroy(scraper_exemplars_t **self_p);
// Connect a DEALER to tsdb's samples endpoint. 0, or -1 with err.
int scraper_exemplars_open(scraper_exemplars_t *self, const char *endpoint, fw_err_t *err);

void scraper_exemplars_reset(scraper_exemplars_t *self);
// The DEALER to tsdb (NULL before open), borrowed: METADATA goes on it too (scraper_meta.h).
zsock_t *scraper_exemplars_sock(scraper_exemplars_t *self);
void scraper_exemplars_add(scraper_exemplars_t *self, const struct fw_labels *series,
                           const struct fw_expfmt_exemplar *e, int64_t sample_t_ms);
// Move what was added since the last reset out, as a JSON array (the caller owns it; NULL
// when nothing was added), so a worker thread's collection can be sent by the loop's.
json_t *scraper_exemplars_take(scraper_exemplars_t *self);
// Add the exemplars of *list_p (taken; set to NULL; NULL is nothing) to what is to be sent.
void scraper_exemplars_give(scraper_exemplars_t *self, json_t **list_p);
// Send what was added since the last reset or send (nothing when none), from sender, and
// publish it on pub (may be NULL). Returns the exemplars sent, 0 for none, -1 when dropped.
int scraper_exemplars_send(scraper_exemplars_t *self, const char *sender, zsock_t *pub);

#endif
