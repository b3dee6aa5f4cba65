/*  tsdb_api_admin.c — POST/PUT /api/v1/admin/tsdb/snapshot (see tsdb_api_admin.h).
 */
#include "tsdb_api_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql_ast.h"
#include "tsdb_api_int.h"

struct tsdb_api_admin {
    tsdb_store_t *store; // borrowed
    char *dir;           // owned: --storage.tsdb.path
    bool enabled;        // --web.enable-admin-api
};

tsdb_api_admin_t *
tsdb_api_admin_new(tsdb_store_t *store, const char *dir, bool enabled)
{
    tsdb_api_admin_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->dir = fw_strdup(dir);
    self->enabled = enabled;
    return self;
}

void
tsdb_api_admin_destroy(tsdb_api_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->dir);
    free(*self_p);
    *self_p = NULL;
}

// Go's strconv.ParseBool. 1 true, 0 false, -1 not a boolean.
static int
s_parse_bool(const char *s)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t k = 0; k < 6; k++) {
        if (strcmp(s, t[k]) == 0)
            return 1;
        if (strcmp(s, f[k]) == 0)
            return 0;
    }
    return -1;
}

// Prometheus's name: UTC time "20060102T150405Z" and rand.Int63() as 16 hex digits.
static void
s_snapshot_name(char *out, size_t size)
{
    uint64_t r = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    }
    if (fd >= 0)
        close(fd);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, size, "%s-%016llx", ts, (unsigned long long)(r & INT64_MAX));
}

static int
s_on_snapshot(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_admin_t *self = arg;
    if (!self->enabled) {
        tsdb_api_respond(resp, 503, tsdb_api_error_json("unavailable", "admin APIs disabled"));
        return 0;
    }
    size_t len = 0;
    const char *skip = fw_http_arg_n(req, "skip_head", &len);
    if (skip && len > 0) {
        int b = len == strlen(skip) ? s_parse_bool(skip) : -1;
        if (b < 0) {
            char *q = fw_promql_quote(skip, len);
            tsdb_api_bad(resp,
                         "invalid parameter \"skip_head\": unable to parse boolean: "
                         "strconv.ParseBool: parsing %s: invalid syntax",
                         q);
            free(q);
            return 0;
        }
        if (b == 1)
            return tsdb_api_bad(resp, "invalid parameter \"skip_head\": skip_head=true is not "
                                      "supported: floorwatch's head is committed with the rest "
                                      "of the data, and a snapshot always holds it");
    }
    char name[64];
    s_snapshot_name(name, sizeof(name));
    char *snapdir = fw_asprintf("%s/snapshots", self->dir);
    char *dir = fw_asprintf("%s/%s", snapdir, name);
    fw_err_t err = {0};
    int rc = 0;
    if ((mkdir(snapdir, 0777) != 0 && errno != EEXIST) || mkdir(dir, 0777) != 0) {
        fw_err_set(&err, "create snapshot directory: mkdir %s: %s", dir, strerror(errno));
        rc = -1;
    } else if (tsdb_store_copy(self->store, dir, &err) != 0) {
        char msg[sizeof(err.msg)];
        snprintf(msg, sizeof(msg), "%s", err.msg);
        fw_err_set(&err, "create snapshot: %s", msg);
        rmdir(dir);
        rc = -1;
    }
    if (rc != 0) {
        tsdb_api_internal(resp, &err);
    } else {
        fw_info("tsdb.snapshot", "dir=%s", dir);
        char *data = fw_asprintf("{\"name\":\"%s\"}", name);
        tsdb_api_respond(resp, 200, tsdb_api_success(data, NULL, 0));
        free(data);
    }
    free(dir);
    free(snapdir);
    return 0;
}

// Prometheus's answer while the admin API is off: true after answering it.
static bool
s_disabled(const tsdb_api_admin_t *self, struct fw_http_response *resp)
{
    if (self->enabled)
        return false;
    tsdb_api_respond(resp, 503, tsdb_api_error_json("unavailable", "admin APIs disabled"));
    return true;
}

// POST/PUT delete_series?match[]=...[&start=...][&end=...]: the matching series' samples in
// the range hidden at once by tombstones (tsdb_store_tombs.c); 204 as Prometheus.
static int
s_on_delete_series(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_admin_t *self = arg;
    if (s_disabled(self, resp))
        return 0;
    if (!fw_http_arg(req, "match[]"))
        return tsdb_api_bad(resp, "no match[] parameter provided");
    struct tsdb_api_sel sel;
    if (tsdb_api_sel_parse(req, resp, "invalid parameter \"match[]\": ", &sel, NULL) != 0)
        return 0;
    fw_err_t err = {0};
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    int rc = r ? 0 : -1;
    size_t deleted = 0;
    for (size_t k = 0; rc == 0 && k < sel.n_sets; k++) {
        uint64_t *ids = NULL;
        size_t n = 0;
        rc = tsdb_store_select_ids(r, sel.sets[k]->matchers, sel.sets[k]->n_matchers, &ids, &n,
                                   &err);
        if (rc == 0 && n > 0)
            rc = tsdb_store_delete_series(self->store, ids, n, sel.mint, sel.maxt, &err);
        deleted += rc == 0 ? n : 0;
        free(ids);
    }
    tsdb_store_reader_destroy(&r);
    tsdb_api_sel_clear(&sel);
    if (rc != 0)
        return tsdb_api_internal(resp, &err);
    fw_info("tsdb.delete_series", "series=%zu mint=%lld maxt=%lld", deleted, (long long)sel.mint,
            (long long)sel.maxt);
    tsdb_api_respond(resp, 204, NULL);
    return 0;
}

// POST/PUT clean_tombstones: the deleted samples removed from disk; 204.
static int
s_on_clean_tombstones(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    tsdb_api_admin_t *self = arg;
    if (s_disabled(self, resp))
        return 0;
    fw_err_t err = {0};
    size_t cleaned;
    if (tsdb_store_clean_tombstones(self->store, &cleaned, &err) != 0)
        return tsdb_api_internal(resp, &err);
    fw_info("tsdb.clean_tombstones", "series=%zu", cleaned);
    tsdb_api_respond(resp, 204, NULL);
    return 0;
}

void
tsdb_api_admin_routes(tsdb_api_admin_t *self, fw_http_t *http)
{
    fw_http_route(http, "POST,PUT", "/api/v1/admin/tsdb/snapshot", s_on_snapshot, self);
    fw_http_route(http, "POST,PUT", "/api/v1/admin/tsdb/delete_series", s_on_delete_series, self);
    fw_http_route(http, "POST,PUT", "/api/v1/admin/tsdb/clean_tombstones", s_on_clean_tombstones,
                  self);
}
