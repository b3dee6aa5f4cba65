/*  scraper_meta.h — a target's metric metadata (HELP, TYPE, UNIT) to tsdb as METADATA v1
    (docs/wire.md), so that tsdb's /api/v1/metadata answers as Prometheus's does.

    A worker's collector takes the metadata lines of one scrape from the parser
    (fw_expfmt_set_meta: comment lines only, nothing per sample) into a reused table (the
    texts in one buffer kept from scrape to scrape: a steady scrape allocates nothing), then
    scraper_meta_finish() compares its hash with what the target last sent: only a change,
    or SCRAPER_META_RESEND_MS since the last send (so a restarted tsdb, which keeps metadata
    in memory, has it again within that time, and tsdb can forget a target that went away),
    makes a message; one the loop could not send (tsdb not connected yet) is made again by
    the next scrape, as scraper.c then clears the target's last send time. Types are
    Prometheus's metadata types: "untyped" becomes "unknown", a family with HELP or UNIT but
    no TYPE is "unknown". HELP texts are unescaped as the exposition format says.
*/
#ifndef SCRAPER_META_H
#define SCRAPER_META_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_expfmt.h"

#define SCRAPER_META_RESEND_MS (5 * 60 * 1000)
#define SCRAPER_META_MAX_FAMILIES 20000 // of one target; more are not sent

typedef struct scraper_meta scraper_meta_t;

// A collector (one per worker thread). Cannot fail.
scraper_meta_t *scraper_meta_new(void);
void scraper_meta_destroy(scraper_meta_t **self_p);

// Start collecting a scrape's metadata from parser, a body of format fmt: call before
// fw_expfmt_parse_flags (it sets the parser's metadata callback).
void scraper_meta_begin(scraper_meta_t *self, fw_expfmt_t *parser, fw_expfmt_fmt_t fmt);
// Stop collecting (clears the parser's callback). When the scrape succeeded and its
// metadata differs from the target's last (hash *last_hash) or was sent before
// now_ms - SCRAPER_META_RESEND_MS (*last_sent_ms), returns the METADATA body's "metadata"
// array (caller owns it) and updates both; else NULL.
json_t *scraper_meta_finish(scraper_meta_t *self, fw_expfmt_t *parser, bool ok, uint64_t *last_hash,
                            int64_t *last_sent_ms, int64_t now_ms);

// Send METADATA {sender, target, metadata (taken)} on sock (a DEALER to tsdb; never
// blocks: dropped when its queue is full) and publish it on pub (may be NULL). 0 or -1.
int scraper_meta_send(zsock_t *sock, zsock_t *pub, const char *sender, const char *target,
                      json_t **metadata_p);

#endif
