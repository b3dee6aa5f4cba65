/*  check_alertd_outcome.c — notifyd's outcomes (NOTIFY_RESULT) recorded by alertd: the
    recorded outcome is fsync'd soon, not with the next second's sync (issue 8: "outcomes
    not fsynced").

    alertd is built (alertd_new) but its loop is not run: the test hands NOTIFY_RESULTs to
    alertd_outcome_on_fd itself, so no housekeeping second syncs anything behind its back.
    Real sockets: a PUB standing in for notifyd's, a PULL for notifyd's NOTIFY socket (where
    the NOTIFY_ACK comes), ipc:// endpoints in the test's directory.
*/
#include <check.h>
#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../alertd/alertd.h"
#include "../alertd/alertd_int.h"
#include "../alertd/alertd_nflog.h"
#include "../alertd/alertd_outcome.h"
#include "../alertd/alertd_state.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "check_util.h"

static const char *const s_dir = check_util_tmpdir;

// Whether the NOTIFY_ACK m acknowledges id.
static bool
s_acks(const struct fw_msg *m, const char *id)
{
    size_t i;
    const json_t *j;
    json_array_foreach(json_object_get(m->body, "acked"), i,
                       j) if (strcmp(json_string_value(j), id) == 0) return true;
    return false;
}

// A delivered outcome: recorded, acknowledged, and then fsync'd by the state's syncer (before
// the fix it was committed without one, left to the next second's housekeeping sync).
START_TEST(test_alertd_outcome_delivered_synced)
{
    char ep[4][160], storage[160];
    const char *names[4] = {"alerts", "notify", "pub", "notifyd-pub"};
    for (int i = 0; i < 4; i++)
        snprintf(ep[i], sizeof ep[i], "ipc://%s/%s", s_dir, names[i]);
    snprintf(storage, sizeof storage, "%s/data", s_dir);
    zsock_t *pull = zsock_new_pull(ep[1]); // notifyd's NOTIFY socket
    zsock_t *pub = zsock_new_pub(ep[3]);   // notifyd's PUB
    ck_assert_ptr_nonnull(pull);
    ck_assert_ptr_nonnull(pub);
    zsock_set_rcvtimeo(pull, 0);
    struct alertd_opts opts = {0};
    opts.common.web_listen_address = "127.0.0.1:0";
    opts.zmq_alerts = ep[0];
    opts.zmq_notifyd = ep[1];
    opts.zmq_pub = ep[2];
    opts.zmq_notifyd_pub = ep[3];
    opts.storage_path = storage;
    opts.external_url = "http://alertd.test";
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("outcome.yml",
                        "route:\n  receiver: hook\nreceivers:\n  - name: hook\n"
                        "    webhook_configs:\n      - url: http://127.0.0.1:1/\n",
                        &errs);
    ck_assert_ptr_nonnull(cfg);
    alertd_t *d = alertd_new(&opts, &cfg);
    ck_assert_ptr_nonnull(d);

    // The record of a notification sent as "t-1", committed without a sync.
    json_t *notify = json_pack("{s:s, s:s, s:{s:s, s:s, s:{}, s:[]}}", "id", "t-1", "receiver",
                               "hook", "payload", "groupKey", "{}:{alertname=\"a\"}", "status",
                               "firing", "groupLabels", "alerts");
    pthread_mutex_lock(&d->lock);
    (void)alertd_state_begin(d->state, NULL);
    alertd_nflog_record(d->nflog, notify, "sent", fw_time_now_ms());
    alertd_commit_locked(d, false);
    pthread_mutex_unlock(&d->lock);
    json_decref(notify);
    uint64_t synced = alertd_state_synced(d->state);

    // notifyd publishes the outcome until it is acknowledged (a SUB joins late).
    bool acked = false;
    for (int i = 0; i < 300 && !acked; i++) {
        struct fw_msg *m = fw_msg_new_json(
            FW_MSG_NOTIFY_RESULT,
            json_pack("{s:s, s:s, s:s}", "id", "t-1", "receiver", "hook", "result", "delivered"));
        ck_assert_int_eq(fw_msg_send(&m, pub, NULL), 0);
        zclock_sleep(10);
        (void)alertd_outcome_on_fd(NULL, NULL, d);
        struct fw_msg *ack = NULL;
        fw_err_t err;
        while (!acked && fw_msg_recv(pull, &ack, &err) == 0) {
            acked = ack->type == FW_MSG_NOTIFY_ACK && s_acks(ack, "t-1");
            fw_msg_destroy(&ack);
        }
    }
    ck_assert_msg(acked, "no NOTIFY_ACK for t-1");
    // Its commit asked the syncer for an fsync (ALERTD_STATE_SYNC_DELAY_MS later); nothing
    // else here would (the loop's housekeeping is not running). Bounded wait: 5 s.
    for (int i = 0; i < 500 && alertd_state_synced(d->state) == synced; i++)
        zclock_sleep(10);
    ck_assert_uint_gt(alertd_state_synced(d->state), synced);
    alertd_destroy(&d);
    zsock_destroy(&pub);
    zsock_destroy(&pull);
    for (int i = 0; i < 4; i++)
        unlink(ep[i] + strlen("ipc://"));
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s/%s", storage, files[i]);
        unlink(p);
    }
    rmdir(storage);
}
END_TEST

Suite *
alertd_outcome_suite(void)
{
    Suite *s = suite_create("alertd_outcome");
    TCase *tc = tcase_create("outcome");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_alertd_outcome_delivered_synced);
    suite_add_tcase(s, tc);
    return s;
}
