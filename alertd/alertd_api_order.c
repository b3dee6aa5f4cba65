/*  alertd_api_order.c — Alertmanager 0.25's orders for API v2 answers (alertd_api_order.h).

    Alertmanager sorts in its handlers (sort.Slice on fingerprints, SortSilences) and in
    dispatch.Groups (AlertGroups and types.AlertSlice), after it has collected what a request
    asks for; alertd collects from its own tables in their own order and sorts here the
    same way. A JSON array is sorted by copying its items out, qsort, and back.
*/
#include <stdlib.h>
#include <string.h>

#include "alertd_api_order.h"
#include "fw_mem.h"
#include "fw_time.h"

typedef int (*s_cmp_fn)(const void *, const void *);

static void
s_sort(json_t *arr, s_cmp_fn cmp)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return;
    json_t **items = fw_malloc(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof *items, cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, items[i]); // steals the reference taken above
    free(items);
}

static const char *
s_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static int
s_cmp_fp(const void *a, const void *b)
{
    // Fingerprints are 16 lowercase hex digits: Go compares their strings, so do we.
    return strcmp(s_str(*(json_t *const *)a, "fingerprint"),
                  s_str(*(json_t *const *)b, "fingerprint"));
}

void
alertd_api_order_alerts(json_t *alerts)
{
    s_sort(alerts, s_cmp_fp);
}

/* --- silences ------------------------------------------------------------------------- */

static int
s_state_rank(const json_t *sil)
{
    const char *st = s_str(json_object_get(sil, "status"), "state");
    if (strcmp(st, "active") == 0)
        return 1;
    if (strcmp(st, "pending") == 0)
        return 2;
    return 3;
}

static int64_t
s_time(const json_t *sil, const char *key)
{
    int64_t ms = 0;
    if (fw_time_parse_rfc3339(s_str(sil, key), &ms) < 0)
        return 0;
    return ms;
}

// A silence with its sort key, worked out once (its times parsed once, not at every compare).
struct s_keyed {
    int rank;    // active, pending, expired: 1, 2, 3
    int64_t key; // endsAt; startsAt; minus endsAt (the latest expired first)
    json_t *item;
};

static int
s_cmp_keyed(const void *pa, const void *pb)
{
    const struct s_keyed *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    return (a->key > b->key) - (a->key < b->key);
}

void
alertd_api_order_silences(json_t *silences)
{
    size_t n = json_array_size(silences);
    if (n < 2)
        return;
    struct s_keyed *k = fw_malloc(n * sizeof *k);
    for (size_t i = 0; i < n; i++) {
        json_t *sil = json_incref(json_array_get(silences, i));
        int rank = s_state_rank(sil);
        int64_t key = rank == 1   ? s_time(sil, "endsAt")
                      : rank == 2 ? s_time(sil, "startsAt")
                                  : -s_time(sil, "endsAt");
        k[i] = (struct s_keyed){rank, key, sil};
    }
    qsort(k, n, sizeof *k, s_cmp_keyed);
    json_array_clear(silences);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(silences, k[i].item); // steals the reference taken above
    free(k);
}

/* --- groups --------------------------------------------------------------------------- */

static int
s_cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Prometheus model's LabelSet.Before: the smaller set first; else over the sorted names
// of both, the first name one set lacks (that set first) or the first differing value.
static bool
s_labels_before(const json_t *a, const json_t *b)
{
    size_t na = json_object_size(a), nb = json_object_size(b);
    if (na != nb)
        return na < nb;
    const char **names = fw_malloc((na + nb + 1) * sizeof *names);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) names[n++] = k;
    json_object_foreach((json_t *)b, k, v) names[n++] = k;
    qsort(names, n, sizeof *names, s_cmp_cstr);
    bool before = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *va = json_object_get(a, names[i]), *vb = json_object_get(b, names[i]);
        if (!va) {
            before = true;
            break;
        }
        if (!vb)
            break;
        int c = strcmp(json_string_value(va), json_string_value(vb));
        if (c != 0) {
            before = c < 0;
            break;
        }
    }
    free(names);
    return before;
}

static int
s_cmp_labels(const json_t *a, const json_t *b)
{
    return s_labels_before(a, b) ? -1 : s_labels_before(b, a) ? 1 : 0;
}

// types.AlertSlice's order: by label job, then instance (an alert without one after those
// with it), then by label set.
static int
s_cmp_alert(const void *pa, const void *pb)
{
    const json_t *la = json_object_get(*(json_t *const *)pa, "labels");
    const json_t *lb = json_object_get(*(json_t *const *)pb, "labels");
    static const char *const keys[] = {"job", "instance"};
    for (size_t i = 0; i < 2; i++) {
        const char *va = json_string_value(json_object_get(la, keys[i]));
        const char *vb = json_string_value(json_object_get(lb, keys[i]));
        if (!va && !vb)
            continue;
        if (!va)
            return 1;
        if (!vb)
            return -1;
        int c = strcmp(va, vb);
        if (c != 0)
            return c;
    }
    return s_cmp_labels(la, lb);
}

static const char *
s_group_receiver(const json_t *g)
{
    return s_str(json_object_get(g, "receiver"), "name");
}

static int
s_cmp_group(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = s_cmp_labels(json_object_get(a, "labels"), json_object_get(b, "labels"));
    return c != 0 ? c : strcmp(s_group_receiver(a), s_group_receiver(b));
}

static int
s_cmp_receiver(const void *a, const void *b)
{
    return strcmp(s_str(*(json_t *const *)a, "name"), s_str(*(json_t *const *)b, "name"));
}

void
alertd_api_order_groups(json_t *groups, const struct alertd_matchers *receiver)
{
    json_t *kept = json_array();
    size_t i, k;
    json_t *g, *a;
    json_array_foreach(groups, i, g)
    {
        if (receiver->len > 0 && !fw_matcher_matches(&receiver->items[0], s_group_receiver(g)))
            continue;
        if (json_array_size(json_object_get(g, "alerts")) == 0)
            continue;
        json_array_append(kept, g);
    }
    // An alert's receivers are those of the groups kept that hold it (dispatch.Groups).
    json_t *by_fp = json_object();
    json_array_foreach(kept, i, g)
    {
        json_array_foreach(json_object_get(g, "alerts"), k, a)
        {
            const char *fp = s_str(a, "fingerprint");
            json_t *names = json_object_get(by_fp, fp);
            if (!names) {
                names = json_array();
                json_object_set_new(by_fp, fp, names); // steals names; by_fp holds it
            }
            json_array_append_new(names, json_pack("{s:s}", "name", s_group_receiver(g)));
        }
    }
    const char *fp;
    json_t *names;
    json_object_foreach(by_fp, fp, names) s_sort(names, s_cmp_receiver);
    json_array_foreach(kept, i, g)
    {
        json_t *alerts = json_object_get(g, "alerts");
        json_array_foreach(alerts, k, a)
        {
            json_t *copy = json_deep_copy(json_object_get(by_fp, s_str(a, "fingerprint")));
            json_object_set_new(a, "receivers", copy); // steals copy
        }
        s_sort(alerts, s_cmp_alert);
    }
    json_decref(by_fp);
    s_sort(kept, s_cmp_group);
    json_array_clear(groups);
    json_array_extend(groups, kept);
    json_decref(kept);
}
