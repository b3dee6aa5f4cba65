/*  scraper_shard.c — parse the shard flags and hash target label sets (scraper_shard.h). */
#include "scraper_shard.h"

#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_mem.h"

// A decimal without sign, spaces or overflow, whole string: 0 and *v, or -1.
static int
s_parse_u64(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return 0;
}

int
scraper_shard_setup(const char *spec, const char *pod_name, int64_t count,
                    struct scraper_shard *out, fw_err_t *err)
{
    out->index = 0;
    out->count = 1;
    bool has_spec = spec && *spec;
    if (has_spec && count > 0) {
        fw_err_set(err, "--shard and --shard.count are exclusive: give I/N, or a pod name "
                        "and a count");
        return -1;
    }
    if (count < 0) {
        fw_err_set(err, "--shard.count: %lld is not a number of replicas", (long long)count);
        return -1;
    }
    uint64_t i = 0, n = 0;
    if (has_spec) {
        const char *slash = strchr(spec, '/');
        if (!slash || s_parse_u64(spec, (size_t)(slash - spec), &i) != 0 ||
            s_parse_u64(slash + 1, strlen(slash + 1), &n) != 0) {
            fw_err_set(err, "--shard=%s: want I/N, e.g. 0/3", spec);
            return -1;
        }
    } else if (count > 0) {
        const char *pod = pod_name && *pod_name ? pod_name : getenv("HOSTNAME");
        const char *dash = pod ? strrchr(pod, '-') : NULL;
        if (!dash || s_parse_u64(dash + 1, strlen(dash + 1), &i) != 0) {
            fw_err_set(err,
                       "--shard.count=%lld: the pod name \"%s\" (--shard.pod-name, else "
                       "HOSTNAME) does not end in -<ordinal> as a StatefulSet pod's does",
                       (long long)count, pod ? pod : "");
            return -1;
        }
        n = (uint64_t)count;
    } else {
        return 0;
    }
    if (n == 0 || i >= n) {
        fw_err_set(err, "shard %llu of %llu: the index must be below the count (0 to %llu)",
                   (unsigned long long)i, (unsigned long long)n,
                   (unsigned long long)(n ? n - 1 : 0));
        return -1;
    }
    out->index = i;
    out->count = n;
    return 0;
}

uint64_t
scraper_shard_hash(const struct fw_labels *labels)
{
    size_t len = 0;
    for (size_t i = 0; i < labels->len; i++)
        len += strlen(labels->items[i].name) + strlen(labels->items[i].value) + 2;
    unsigned char stack[1024] = {0};
    unsigned char *buf = len <= sizeof(stack) ? stack : fw_malloc(len);
    size_t w = 0;
    for (size_t i = 0; i < labels->len; i++) {
        const char *parts[2] = {labels->items[i].name, labels->items[i].value};
        for (int j = 0; j < 2; j++) {
            size_t n = strlen(parts[j]);
            memcpy(buf + w, parts[j], n);
            w += n;
            buf[w++] = 0xff;
        }
    }
    uint64_t h = fw_hash64(buf, w);
    if (buf != stack)
        free(buf);
    return h;
}

bool
scraper_shard_owns(const struct scraper_shard *self, const struct fw_labels *labels)
{
    if (self->count <= 1)
        return true;
    return scraper_shard_hash(labels) % self->count == self->index;
}
