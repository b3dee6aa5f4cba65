/*  tsdb_rwpartial.c — the lines of a partly refused remote write 2.0 request (see
    tsdb_rwpartial.h).

    Lines go into one growing buffer until it holds TSDB_RWPARTIAL_MAX_TEXT bytes; later ones
    are only counted.
*/
#include "tsdb_rwpartial.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

void
tsdb_rwpartial_add(struct tsdb_rwpartial *p, const char *fmt, ...)
{
    p->lines++;
    if (p->text.len >= TSDB_RWPARTIAL_MAX_TEXT) {
        p->omitted++;
        return;
    }
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (p->text.len > 0)
        fw_json_out_put(&p->text, "\n", 1);
    fw_json_out_put(&p->text, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void
tsdb_rwpartial_add_refs(struct tsdb_rwpartial *p, const struct tsdb_rwproto_series *s,
                        size_t n_symbols)
{
    size_t n = tsdb_rwproto_series_refs(s, NULL, 0);
    uint64_t *refs = fw_calloc(n + 1, sizeof(*refs));
    tsdb_rwproto_series_refs(s, refs, n);
    struct fw_json_out list = {0}; // Go's %v of a []uint32: "[1 2 3 40]"
    fw_json_out_puts(&list, "[");
    for (size_t i = 0; i < n && list.len < 1024; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%s%llu", i ? " " : "", (unsigned long long)refs[i]);
        fw_json_out_puts(&list, num);
    }
    fw_json_out_puts(&list, "]");
    size_t i = 0;
    while (i + 1 < n && refs[i] < n_symbols && refs[i + 1] < n_symbols)
        i += 2;
    if (n % 2 || i + 1 >= n) // an odd count is refused before any ref is looked at
        tsdb_rwpartial_add(p, "parsing labels for series %s: invalid labelRefs length %zu", list.p,
                           n);
    else
        tsdb_rwpartial_add(p,
                           "parsing labels for series %s: labelRefs %llu (name) = %llu (value) "
                           "outside of symbols table (size %zu)",
                           list.p, (unsigned long long)refs[i], (unsigned long long)refs[i + 1],
                           n_symbols);
    free(list.p);
    free(refs);
}

char *
tsdb_rwpartial_text(const struct tsdb_rwpartial *p)
{
    if (p->lines == 0)
        return NULL;
    if (p->omitted)
        return fw_asprintf("%s\n(%zu more errors left out)\n", p->text.p, p->omitted);
    return fw_asprintf("%s\n", p->text.p);
}

void
tsdb_rwpartial_clear(struct tsdb_rwpartial *p)
{
    free(p->text.p);
    *p = (struct tsdb_rwpartial){0};
}
