/*  alertd_fptab.h — a table of shared alerts keyed by fingerprint: the store's and each
    aggregation group's.

    Open addressing (linear probing, at most half full, deletion by backward shift) over
    the 64-bit fingerprint, so a lookup hashes and compares no string. The table holds one
    reference (struct alertd_alert refs) on each alert and releases it with alertd_alert_free
    when the alert is replaced, dropped or the table destroyed. Not thread-safe.
*/
#ifndef ALERTD_FPTAB_H
#define ALERTD_FPTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alertd_alert;
typedef struct alertd_fptab alertd_fptab_t;

alertd_fptab_t *alertd_fptab_new(void);
void alertd_fptab_destroy(alertd_fptab_t **self_p);
// The alert with fingerprint fp, or NULL.
struct alertd_alert *alertd_fptab_get(const alertd_fptab_t *self, uint64_t fp);
// Hold a (taken: one reference) under a->fp; the alert held there before, if another, is
// released.
void alertd_fptab_set(alertd_fptab_t *self, struct alertd_alert *a);
size_t alertd_fptab_size(const alertd_fptab_t *self);
// Iterate: first/next return borrowed alerts, NULL at the end. No set or drop meanwhile.
struct alertd_alert *alertd_fptab_first(alertd_fptab_t *self);
struct alertd_alert *alertd_fptab_next(alertd_fptab_t *self);
// Release every alert for which drop(a, arg) is true; returns how many.
size_t alertd_fptab_drop_if(alertd_fptab_t *self,
                            bool (*drop)(const struct alertd_alert *a, void *arg), void *arg);

#endif
