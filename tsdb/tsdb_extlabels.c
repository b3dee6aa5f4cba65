/*  tsdb_extlabels.c — global.external_labels shared with the HTTP threads (see the header).
 */
#include "tsdb_extlabels.h"

void
tsdb_extlabels_init(struct tsdb_extlabels *e)
{
    pthread_mutex_init(&e->lock, NULL);
    e->labels = (struct fw_labels)FW_LABELS_INIT;
}

void
tsdb_extlabels_clear(struct tsdb_extlabels *e)
{
    fw_labels_clear(&e->labels);
    pthread_mutex_destroy(&e->lock);
}

void
tsdb_extlabels_set(struct tsdb_extlabels *e, const struct fw_labels *l)
{
    struct fw_labels copy = FW_LABELS_INIT;
    if (l)
        fw_labels_copy(&copy, l);
    pthread_mutex_lock(&e->lock);
    struct fw_labels old = e->labels;
    e->labels = copy;
    pthread_mutex_unlock(&e->lock);
    fw_labels_clear(&old);
}

void
tsdb_extlabels_get(struct tsdb_extlabels *e, struct fw_labels *out)
{
    pthread_mutex_lock(&e->lock);
    fw_labels_copy(out, &e->labels);
    pthread_mutex_unlock(&e->lock);
}
