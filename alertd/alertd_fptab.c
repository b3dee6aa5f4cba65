/*  alertd_fptab.c — see alertd_fptab.h.
 */
#include <stdlib.h>

#include "alertd_fptab.h"
#include "alertd_store.h"
#include "fw_mem.h"

// A slot keeps the fingerprint beside the alert, so a probe reads no alert.
struct s_slot {
    uint64_t fp;
    struct alertd_alert *a; // NULL: empty
};

struct alertd_fptab {
    struct s_slot *slots; // owned: 1 << bits slots
    unsigned bits;
    size_t len;
    size_t cursor; // alertd_fptab_first/next
};

// fp's home slot (Fibonacci hashing: the fingerprint's high bits after a multiply).
static size_t
s_home(const alertd_fptab_t *self, uint64_t fp)
{
    return (size_t)((fp * 0x9E3779B97F4A7C15ULL) >> (64 - self->bits));
}

// The slot of fp, or the empty slot where it would go.
static size_t
s_find(const alertd_fptab_t *self, uint64_t fp)
{
    size_t mask = ((size_t)1 << self->bits) - 1, i = s_home(self, fp);
    while (self->slots[i].a && self->slots[i].fp != fp)
        i = (i + 1) & mask;
    return i;
}

alertd_fptab_t *
alertd_fptab_new(void)
{
    alertd_fptab_t *self = fw_calloc(1, sizeof *self);
    self->bits = 3;
    self->slots = fw_calloc((size_t)1 << self->bits, sizeof *self->slots);
    return self;
}

void
alertd_fptab_destroy(alertd_fptab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_fptab_t *self = *self_p;
    for (size_t i = 0; i < (size_t)1 << self->bits; i++)
        alertd_alert_free((void **)&self->slots[i].a);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

struct alertd_alert *
alertd_fptab_get(const alertd_fptab_t *self, uint64_t fp)
{
    return self->slots[s_find(self, fp)].a;
}

void
alertd_fptab_set(alertd_fptab_t *self, struct alertd_alert *a)
{
    size_t i = s_find(self, a->fp);
    if (self->slots[i].a) {
        if (self->slots[i].a != a)
            alertd_alert_free((void **)&self->slots[i].a);
        self->slots[i].a = a;
        return;
    }
    self->slots[i] = (struct s_slot){a->fp, a};
    size_t cap = (size_t)1 << self->bits;
    if (++self->len * 2 <= cap)
        return;
    struct s_slot *old = self->slots;
    self->bits++;
    self->slots = fw_calloc(cap * 2, sizeof *self->slots);
    for (size_t k = 0; k < cap; k++)
        if (old[k].a)
            self->slots[s_find(self, old[k].fp)] = old[k];
    free(old);
}

size_t
alertd_fptab_size(const alertd_fptab_t *self)
{
    return self->len;
}

// The first alert from slot i on, NULL when none.
static struct alertd_alert *
s_from(alertd_fptab_t *self, size_t i)
{
    size_t cap = (size_t)1 << self->bits;
    while (i < cap && !self->slots[i].a)
        i++;
    self->cursor = i;
    return i < cap ? self->slots[i].a : NULL;
}

struct alertd_alert *
alertd_fptab_first(alertd_fptab_t *self)
{
    return s_from(self, 0);
}

struct alertd_alert *
alertd_fptab_next(alertd_fptab_t *self)
{
    return s_from(self, self->cursor + 1);
}

// Release the alert in slot i and close the gap (backward shift).
static void
s_del(alertd_fptab_t *self, size_t i)
{
    size_t mask = ((size_t)1 << self->bits) - 1;
    alertd_alert_free((void **)&self->slots[i].a);
    self->len--;
    for (size_t j = (i + 1) & mask; self->slots[j].a; j = (j + 1) & mask) {
        size_t home = s_home(self, self->slots[j].fp);
        // Move j back into the gap at i unless its home lies cyclically in (i, j].
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            self->slots[i] = self->slots[j];
            self->slots[j] = (struct s_slot){0, NULL};
            i = j;
        }
    }
}

size_t
alertd_fptab_drop_if(alertd_fptab_t *self, bool (*drop)(const struct alertd_alert *a, void *arg),
                     void *arg)
{
    size_t n = 0;
    // A backward shift may move an alert into the slot just freed: look at it again.
    for (size_t i = 0; i < (size_t)1 << self->bits;) {
        if (self->slots[i].a && drop(self->slots[i].a, arg)) {
            s_del(self, i);
            n++;
        } else {
            i++;
        }
    }
    return n;
}
