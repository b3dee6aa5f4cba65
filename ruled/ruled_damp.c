/*  ruled_damp.c — flap damping predicates (see ruled_damp.h).

    A clear sample matches an alert by subset: every label of the sample (its name aside)
    must be on the alert with the same value. The alert's labels are its expression's
    labels plus the rule's labels, so a clear expression over the same series matches
    alert for alert, and an aggregated one (`max(temp) < 70`, no labels) clears them all.
*/
#include "ruled_damp.h"

#include <string.h>

bool
ruled_damp_enabled(const struct ruled_rule_cfg *c)
{
    return c->clear_expr != NULL || c->hold_ms > 0;
}

static bool
s_subset(const struct fw_labels *sample, const struct fw_labels *alert)
{
    for (size_t i = 0; i < sample->len; i++) {
        const char *n = sample->items[i].name;
        if (strcmp(n, "__name__") == 0)
            continue;
        const char *v = fw_labels_get(alert, n);
        if (!v || strcmp(v, sample->items[i].value) != 0)
            return false;
    }
    return true;
}

bool
ruled_damp_cleared(const struct fw_vector *clear, const struct fw_labels *alert_labels)
{
    for (size_t i = 0; clear && i < clear->len; i++)
        if (s_subset(&clear->items[i].labels, alert_labels))
            return true;
    return false;
}

bool
ruled_damp_holds(const struct ruled_rule_cfg *c, const struct fw_labels *labels,
                 int64_t fired_at_ms, int64_t ts, const struct fw_vector *clear)
{
    if (c->hold_ms > 0 && ts - fired_at_ms < c->hold_ms)
        return true;
    if (!c->clear_expr)
        return false;
    return !clear || !ruled_damp_cleared(clear, labels);
}
