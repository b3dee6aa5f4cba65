/*  alertd_route.c — build and walk the routing tree.

    Built once per config load; matching is read-only, so the tree is shared by the zloop
    thread and HTTP handlers under the daemon lock.
*/
#include <stdlib.h>
#include <string.h>

#include "alertd_route.h"
#include "fw_mem.h"
#include "fw_time.h"

static int
s_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int64_t
s_dur(const char *text, int64_t inherited)
{
    int64_t ms;
    if (text && fw_duration_parse(text, &ms) == 0)
        return ms;
    return inherited;
}

static void
s_build(struct alertd_route *r, const struct alertd_cfg_route *c, struct alertd_route *parent,
        size_t index)
{
    r->parent = parent;
    r->id = !parent       ? fw_strdup("")
            : *parent->id ? fw_asprintf("%s/%zu", parent->id, index)
                          : fw_asprintf("%zu", index);
    r->receiver = fw_strdup(c->receiver ? c->receiver : parent ? parent->receiver : "");
    if (c->group_by_len > 0 || !parent) {
        r->group_by = fw_calloc(c->group_by_len + 1, sizeof(char *));
        for (size_t i = 0; i < c->group_by_len; i++) {
            if (strcmp(c->group_by[i], "...") == 0)
                r->group_by_all = true;
            else
                r->group_by[r->group_by_len++] = fw_strdup(c->group_by[i]);
        }
    } else {
        r->group_by = fw_calloc(parent->group_by_len + 1, sizeof(char *));
        for (size_t i = 0; i < parent->group_by_len; i++)
            r->group_by[r->group_by_len++] = fw_strdup(parent->group_by[i]);
        r->group_by_all = parent->group_by_all;
    }
    qsort(r->group_by, r->group_by_len, sizeof(char *), s_strcmp);
    r->group_wait_ms = s_dur(c->group_wait, parent ? parent->group_wait_ms : 30000);
    r->group_interval_ms = s_dur(c->group_interval, parent ? parent->group_interval_ms : 300000);
    r->repeat_interval_ms =
        s_dur(c->repeat_interval, parent ? parent->repeat_interval_ms : 4 * 3600000);
    r->cont = c->cont;
    r->mute_time_intervals = fw_calloc(c->mute_time_intervals_len + 1, sizeof(char *));
    for (size_t i = 0; i < c->mute_time_intervals_len; i++)
        r->mute_time_intervals[r->mute_time_intervals_len++] = fw_strdup(c->mute_time_intervals[i]);
    r->active_time_intervals = fw_calloc(c->active_time_intervals_len + 1, sizeof(char *));
    for (size_t i = 0; i < c->active_time_intervals_len; i++)
        r->active_time_intervals[r->active_time_intervals_len++] =
            fw_strdup(c->active_time_intervals[i]);
    for (size_t i = 0; i < c->match.len; i++)
        (void)alertd_matchers_add(&r->matchers, FW_MATCH_EQ, c->match.items[i].name,
                                  c->match.items[i].value, NULL);
    for (size_t i = 0; i < c->match_re.len; i++)
        (void)alertd_matchers_add(&r->matchers, FW_MATCH_RE, c->match_re.items[i].name,
                                  c->match_re.items[i].value, NULL);
    for (size_t i = 0; i < c->matchers_len; i++)
        (void)alertd_matchers_parse(&r->matchers, c->matchers[i], NULL);
    alertd_matchers_sort(&r->matchers);
    char *ms = alertd_matchers_format(&r->matchers);
    if (parent) {
        r->key = fw_asprintf("%s/%s", parent->key, ms);
        free(ms);
    } else {
        r->key = ms;
    }
    r->routes_len = c->routes_len;
    r->routes = fw_calloc(c->routes_len ? c->routes_len : 1, sizeof *r->routes);
    for (size_t i = 0; i < c->routes_len; i++)
        s_build(&r->routes[i], &c->routes[i], r, i);
}

struct alertd_route *
alertd_route_build(const struct alertd_cfg_route *cfg)
{
    struct alertd_route *root = fw_calloc(1, sizeof *root);
    s_build(root, cfg, NULL, 0);
    return root;
}

static void
s_free(struct alertd_route *r)
{
    for (size_t i = 0; i < r->routes_len; i++)
        s_free(&r->routes[i]);
    free(r->routes);
    for (size_t i = 0; i < r->group_by_len; i++)
        free(r->group_by[i]);
    free(r->group_by);
    for (size_t i = 0; i < r->mute_time_intervals_len; i++)
        free(r->mute_time_intervals[i]);
    free(r->mute_time_intervals);
    for (size_t i = 0; i < r->active_time_intervals_len; i++)
        free(r->active_time_intervals[i]);
    free(r->active_time_intervals);
    free(r->receiver);
    free(r->key);
    free(r->id);
    alertd_matchers_clear(&r->matchers);
}

void
alertd_route_destroy(struct alertd_route **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free(*self_p);
    free(*self_p);
    *self_p = NULL;
}

static size_t
s_match(const struct alertd_route *r, const struct fw_labels *l, const struct alertd_route **out,
        size_t n, size_t max)
{
    if (!alertd_matchers_match(&r->matchers, l))
        return n;
    size_t start = n;
    for (size_t i = 0; i < r->routes_len; i++) {
        size_t before = n;
        n = s_match(&r->routes[i], l, out, n, max);
        if (n > before && !r->routes[i].cont)
            break;
    }
    if (n == start && n < max)
        out[n++] = r;
    return n;
}

size_t
alertd_route_match(const struct alertd_route *root, const struct fw_labels *l,
                   const struct alertd_route **out, size_t max)
{
    return s_match(root, l, out, 0, max);
}
