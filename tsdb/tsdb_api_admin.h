/*  tsdb_api_admin.h — Prometheus's TSDB admin API, as far as floorwatch has it:
    POST/PUT /api/v1/admin/tsdb/snapshot (delete_series and clean_tombstones are refused).

    Off unless --web.enable-admin-api: then every admin route answers as Prometheus does,
    503 {"status":"error","errorType":"unavailable","error":"admin APIs disabled"}.
    On, a snapshot is LMDB's compacting copy of what is committed (tsdb_store_copy) into
    <storage.tsdb.path>/snapshots/<name>, name "20171210T211224Z-2be650b6d019eb54" (UTC time,
    16 random hex digits), answered {"status":"success","data":{"name":NAME}}. The copy runs
    on the request's own HTTP thread (libmicrohttpd's thread per connection), never on the
    ingest loop; ingest and queries go on meanwhile (the copy is one read transaction).
    skip_head: floorwatch's open chunks are committed to LMDB with the rest (checkpoint plus
    log), so a snapshot always holds every committed sample; samples tsdb has received but
    not yet committed (at most --storage.tsdb.commit-interval old) are never in it.
    skip_head=false (the default) is that; skip_head=true, which asks to leave out the head
    Prometheus keeps in memory, is refused 400 bad_data as not supported. A value that is no
    Go boolean is refused with Prometheus's invalid parameter text.
    delete_series and clean_tombstones answer 503 as above while off; on, 501 internal "not
    supported" (floorwatch deletes only by retention).
*/
#ifndef TSDB_API_ADMIN_H
#define TSDB_API_ADMIN_H

#include <stdbool.h>

#include "fw_http.h"
#include "tsdb_store.h"

typedef struct tsdb_api_admin tsdb_api_admin_t;

// Admin routes over store (borrowed) whose directory is dir (copied); enabled as
// --web.enable-admin-api says.
tsdb_api_admin_t *tsdb_api_admin_new(tsdb_store_t *store, const char *dir, bool enabled);
void tsdb_api_admin_destroy(tsdb_api_admin_t **self_p);
// Add the routes (before fw_http_start); self must outlive http.
void tsdb_api_admin_routes(tsdb_api_admin_t *self, fw_http_t *http);

#endif
