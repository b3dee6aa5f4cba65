/*  check_util_tsdb.c — the tsdb daemon as the Check suites run it; see check_util_tsdb.h.
    Defines no suite.
*/
#include "check_util_tsdb.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_msg.h"
#include "fw_time.h"
#include "../tsdb/tsdb_api.h"

static void *
s_run(void *arg)
{
    tsdb_run(arg);
    return NULL;
}

void
check_util_tsdb_opts(struct tsdb_opts *o, const char *dir)
{
    memset(o, 0, sizeof(*o));
    o->common.web_listen_address = "127.0.0.1:0";
    o->storage_path = dir;
    o->retention_ms = 15LL * 24 * 3600 * 1000;
    o->map_size = "64MiB";
    o->commit_interval_ms = 100;
    o->zmq_samples = "tcp://127.0.0.1:*";
    o->zmq_query = "tcp://127.0.0.1:*";
    o->zmq_pub = "tcp://127.0.0.1:*";
    o->query_max_samples = TSDB_API_DEFAULT_MAX_SAMPLES; // 0 would refuse every sample
}

void
check_util_tsdb_start(struct check_util_tsdb *t, const struct tsdb_opts *o)
{
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct fw_promcfg cfg;
    char *text = NULL;
    ck_assert_int_eq(tsdb_config_load(NULL, &cfg, &text, &errs), 0);
    t->d = tsdb_new(o, &cfg, text);
    free(text);
    ck_assert_ptr_nonnull(t->d);
    zsys_interrupted = 0;
    ck_assert_int_eq(pthread_create(&t->thread, NULL, s_run, t->d), 0);
}

int64_t
check_util_tsdb_stop(struct check_util_tsdb *t)
{
    if (!t->d)
        return 0;
    int64_t t0 = fw_time_mono_ms();
    zsys_interrupted = 1;
    pthread_join(t->thread, NULL);
    zsys_interrupted = 0;
    tsdb_destroy(&t->d);
    return fw_time_mono_ms() - t0;
}

zsock_t *
check_util_tsdb_dealer(const char *endpoint)
{
    zsock_t *d = zsock_new_dealer(NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(zsock_attach(d, endpoint, false), 0);
    return d;
}

fw_sender_t *
check_util_tsdb_sender(tsdb_t *d, const char *name)
{
    struct fw_sender_opts o = {.endpoint = tsdb_samples_endpoint(d), .name = name};
    fw_sender_t *s = fw_sender_new(&o, NULL);
    fw_err_t err;
    ck_assert_msg(fw_sender_open(s, &err) == 0, "%s", err.msg);
    return s;
}

int64_t
check_util_tsdb_wait_acked(fw_sender_t *s, int64_t timeout_ms)
{
    int64_t t0 = fw_time_mono_ms();
    while (fw_sender_unacked(s) > 0 && fw_time_mono_ms() - t0 < timeout_ms)
        fw_sender_poll(s, 10);
    return fw_sender_unacked(s) == 0 ? fw_time_mono_ms() - t0 : -1;
}

void
check_util_tsdb_ask(zsock_t *dealer, json_t *body)
{
    struct fw_msg *m = fw_msg_new_json(FW_MSG_QUERY, body);
    fw_err_t err;
    ck_assert_msg(fw_msg_send(&m, dealer, &err) == 0, "send: %s", err.msg);
}

json_t *
check_util_tsdb_answer(zsock_t *dealer, int timeout_ms)
{
    zsock_set_rcvtimeo(dealer, timeout_ms);
    struct fw_msg *reply = NULL;
    fw_err_t err;
    if (fw_msg_recv(dealer, &reply, &err) != 0)
        return NULL;
    ck_assert_int_eq(reply->type, FW_MSG_QUERY_RESULT);
    json_t *out = json_incref(reply->body);
    fw_msg_destroy(&reply);
    return out;
}

const char *
check_util_tsdb_value(json_t *ans)
{
    json_t *r0 = json_array_get(json_object_get(json_object_get(ans, "data"), "result"), 0);
    return json_string_value(json_array_get(json_object_get(r0, "value"), 1));
}
