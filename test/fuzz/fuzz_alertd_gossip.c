/*  fuzz_alertd_gossip.c — a peer's CLUSTER_GOSSIP whose JSON body is the arbitrary input:
    decoded by fw_msg_decode, then each of its notification log entries merged
    (alertd_nflog_merge) and each silence merged (alertd_silences_merge) into fresh tables,
    as alertd's s_cluster_merge does; then the tables listed, queried, sent whole to an
    empty replica (where all must merge again) and collected. Anyone who can reach the cluster port
   can send this.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_nflog.h"
#include "alertd_silence.h"
#include "fuzz_util.h"

#define S_NOW 1796032800000LL
#define S_RETENTION_MS (120LL * 3600 * 1000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fw_msg *m = fuzz_util_msg_with_body("CLUSTER_GOSSIP", data, size);
    if (!m)
        return 0;
    alertd_nflog_t *nflog = alertd_nflog_new(NULL, S_RETENTION_MS);
    alertd_silences_t *silences = alertd_silences_new();
    alertd_nflog_track_changes(nflog, true);
    alertd_silences_track_changes(silences, true);
    size_t i;
    const json_t *j;
    fw_err_t err;
    json_array_foreach(json_object_get(m->body, "nflog"), i, j)
    {
        fw_err_clear(&err);
        if (alertd_nflog_merge(nflog, j, S_NOW, &err) < 0 && !err.msg[0])
            abort(); // a refusal says why
    }
    json_array_foreach(json_object_get(m->body, "silences"), i, j)
    {
        fw_err_clear(&err);
        if (alertd_silences_merge(silences, j, S_NOW, S_RETENTION_MS, &err) < 0 && !err.msg[0])
            abort();
    }
    // A peer's full state (CLUSTER_STATE, as s_cluster_full_state makes it) must merge
    // whole into a replica that holds nothing.
    json_t *nf = alertd_nflog_entries_json(nflog, S_NOW);
    json_t *sil = alertd_silences_list_json(silences, S_NOW);
    alertd_nflog_t *nflog2 = alertd_nflog_new(NULL, S_RETENTION_MS);
    alertd_silences_t *silences2 = alertd_silences_new();
    json_array_foreach(nf, i, j)
    {
        if (alertd_nflog_merge(nflog2, j, S_NOW, &err) < 0)
            abort();
    }
    json_array_foreach(sil, i, j)
    {
        if (alertd_silences_merge(silences2, j, S_NOW, S_RETENTION_MS, &err) < 0)
            abort();
    }
    if (getenv("FUZZ_VERBOSE")) // how much the seeds merge: a corpus that merges nothing tests less
        fprintf(stderr, "merged %zu log entries, %zu silences\n", json_array_size(nf),
                json_array_size(sil));
    json_decref(nf);
    json_decref(sil);
    json_decref(alertd_nflog_take_changes(nflog, S_NOW));
    json_decref(alertd_silences_take_changes(silences, S_NOW));
    struct alertd_nflog_filter all;
    memset(&all, 0, sizeof all);
    json_decref(alertd_nflog_query(nflog, &all));
    json_decref(alertd_nflog_entries_json(nflog, S_NOW));
    json_decref(alertd_silences_list_json(silences, S_NOW));
    (void)alertd_nflog_gc(nflog, S_NOW + S_RETENTION_MS + 1);
    alertd_silences_gc(silences, S_NOW + S_RETENTION_MS + 1);
    alertd_nflog_destroy(&nflog2);
    alertd_silences_destroy(&silences2);
    alertd_nflog_destroy(&nflog);
    alertd_silences_destroy(&silences);
    fw_msg_destroy(&m);
    return 0;
}
