/*  tsdb_extlabels.h — global.external_labels as the HTTP threads read them: a copy behind a
    mutex, replaced whole by the loop thread at a reload (/federate, /api/v1/read).
*/
#ifndef TSDB_EXTLABELS_H
#define TSDB_EXTLABELS_H

#include <pthread.h>

#include "fw_labels.h"

struct tsdb_extlabels {
    pthread_mutex_t lock;
    struct fw_labels labels; // owned
};

void tsdb_extlabels_init(struct tsdb_extlabels *e);
void tsdb_extlabels_clear(struct tsdb_extlabels *e);
// Use a copy of l (NULL: none) from now on. Thread-safe.
void tsdb_extlabels_set(struct tsdb_extlabels *e, const struct fw_labels *l);
// A copy of the current labels into *out (replaced). Thread-safe.
void tsdb_extlabels_get(struct tsdb_extlabels *e, struct fw_labels *out);

#endif
