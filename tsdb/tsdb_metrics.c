/*  tsdb_metrics.c — the tsdb daemon's own metrics, declared with their help texts and
    started at 0 (see tsdb_metrics.h).
*/
#include "tsdb_metrics.h"

#include <stdio.h>

#include "fw_zsock.h"

void
tsdb_metrics_declare(fw_metrics_t *m)
{
    fw_zsock_declare_metrics(m);
    fw_metrics_declare(m, "fw_tsdb_rollup_buckets_written_total", FW_METRIC_COUNTER,
                       "Rollup buckets (5m and 1h) written from aged chunks.");
    fw_metrics_declare(m, "fw_tsdb_rollup_pages_expired_total", FW_METRIC_COUNTER,
                       "Rollup pages deleted by the rollup retention flags.");
    fw_metrics_declare(m, "fw_tsdb_rollup_failures_total", FW_METRIC_COUNTER,
                       "Rollup write transactions that failed (retried).");
    fw_metrics_declare(m, "fw_tsdb_rollup_series_behind", FW_METRIC_GAUGE,
                       "Series the last full rollup sweep left with more than a day to do.");
    fw_metrics_declare(m, "fw_tsdb_samples_appended_total", FW_METRIC_COUNTER,
                       "Samples committed to storage.");
    fw_metrics_declare(m, "fw_tsdb_commits_total", FW_METRIC_COUNTER,
                       "Write transactions committed (each holds one or more batches).");
    fw_metrics_declare(m, "fw_tsdb_ingest_wakeups_total", FW_METRIC_COUNTER,
                       "Times the ingest loop read SAMPLES (one or more batches each; "
                       "--storage.tsdb.ingest-pace gathers them).");
    fw_metrics_declare(m, "fw_tsdb_syncs_total", FW_METRIC_COUNTER,
                       "SAMPLES_SYNC messages: a sender asked for its batches to be committed "
                       "at once.");
    fw_metrics_declare(m, "fw_tsdb_batches_published_total", FW_METRIC_COUNTER,
                       "Stored batches re-published on the PUB socket (only while a "
                       "subscriber wants SAMPLES: otherwise none is held for it).");
    fw_metrics_declare(m, "fw_tsdb_write_failures_total", FW_METRIC_COUNTER,
                       "Commits that failed; nothing of them was acknowledged, and the next "
                       "commit retries them.");
    fw_metrics_declare(m, "fw_tsdb_storage_writable", FW_METRIC_GAUGE,
                       "1 while commits succeed, 0 after one failed (map or disk full) until "
                       "one succeeds.");
    fw_metrics_declare(m, "fw_tsdb_batches_total", FW_METRIC_COUNTER,
                       "SAMPLES batches received, by result: accepted, duplicate (stored "
                       "before, acknowledged again), gap (resend asked), refused (storage not "
                       "writable), unknown_refs (a ref tsdb does not know: resend with labels "
                       "asked).");
    fw_metrics_declare(m, "fw_tsdb_acks_sent_total", FW_METRIC_COUNTER,
                       "SAMPLES_ACK answers sent.");
    fw_metrics_declare(m, "fw_tsdb_ingest_senders", FW_METRIC_GAUGE,
                       "Senders whose sequence numbers tsdb keeps.");
    fw_metrics_declare(m, "fw_tsdb_samples_late_total", FW_METRIC_COUNTER,
                       "Samples accepted through the out-of-order window.");
    fw_metrics_declare(m, "fw_tsdb_samples_duplicate_total", FW_METRIC_COUNTER,
                       "Samples equal to their series' newest (same timestamp and value): "
                       "no-ops.");
    fw_metrics_declare(m, "fw_tsdb_samples_rejected_total", FW_METRIC_COUNTER,
                       "Samples rejected, by reason: out_of_order, too_old, "
                       "duplicate_timestamp (another value), bad_series.");
    fw_metrics_declare(m, "fw_tsdb_series_rejected_total", FW_METRIC_COUNTER,
                       "Series refused as a whole (a label set the index cannot hold).");
    fw_metrics_declare(m, "fw_tsdb_series", FW_METRIC_GAUGE, "Series in storage.");
    fw_metrics_declare(m, "fw_tsdb_retention_deleted_total", FW_METRIC_COUNTER,
                       "Chunks deleted because all their samples were older than the retention "
                       "time.");
    fw_metrics_declare(m, "fw_tsdb_chunks_damaged_total", FW_METRIC_COUNTER,
                       "Chunks and series records found damaged (reported and skipped).");
    fw_metrics_declare(m, "fw_tsdb_checkpoints_total", FW_METRIC_COUNTER,
                       "Commits that wrote every changed open chunk and emptied the log.");
    fw_metrics_declare(m, "fw_tsdb_wal_records_total", FW_METRIC_COUNTER,
                       "Commits that wrote log records of the samples appended instead.");
    fw_metrics_declare(m, "fw_tsdb_storage_used_bytes", FW_METRIC_GAUGE,
                       "Bytes of the data in use (LMDB pages of every database; with "
                       "--storage.tsdb.retention.size).");
    fw_metrics_declare(m, "fw_tsdb_size_retentions_total", FW_METRIC_COUNTER,
                       "Times retention by size moved its cutoff forward (the data took more "
                       "than --storage.tsdb.retention.size).");
    fw_metrics_declare(m, "fw_tsdb_series_removed_total", FW_METRIC_COUNTER,
                       "Series removed from the index by retention once no sample was left.");
    fw_metrics_declare(m, "fw_tsdb_head_series", FW_METRIC_GAUGE,
                       "Series held in memory with an open chunk.");
    fw_metrics_declare(m, "fw_tsdb_head_series_dropped_total", FW_METRIC_COUNTER,
                       "Idle series dropped from memory (read back from disk if they return).");
    fw_metrics_add(m, "fw_tsdb_samples_appended_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_commits_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_batches_published_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_syncs_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_ingest_wakeups_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_write_failures_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_chunks_damaged_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_checkpoints_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_wal_records_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_series_removed_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_size_retentions_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_head_series_dropped_total", "", 0);
    fw_metrics_set(m, "fw_tsdb_storage_writable", "", 1);
    static const char *const results[] = {"accepted", "duplicate", "gap", "refused",
                                          "unknown_refs"};
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        char l[32];
        snprintf(l, sizeof(l), "result=\"%s\"", results[i]);
        fw_metrics_add(m, "fw_tsdb_batches_total", l, 0);
    }
    fw_metrics_add(m, "fw_msg_rejected_total", "type=\"SAMPLES\"", 0);
}
