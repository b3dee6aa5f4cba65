/*  tsdb_metrics.h — the tsdb daemon's own metrics (fw_tsdb_*), as tsdb.c updates them. */
#ifndef TSDB_METRICS_H
#define TSDB_METRICS_H

#include "fw_metrics.h"

// Declare every fw_tsdb_* metric tsdb.c updates on m, with its help text, at 0.
void tsdb_metrics_declare(fw_metrics_t *m);

#endif
