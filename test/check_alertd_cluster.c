/*  check_alertd_cluster.c — high availability: merging a peer's notification log entries
    and silences (newest wins, as Alertmanager), the dispatcher's cluster wait with two
    replicas sharing their log, and two alertd_cluster_t on loopback sockets (gossip, pull,
    positions, settling).
*/
#include <check.h>
#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cluster.h"
#include "../alertd/alertd_dispatch.h"
#include "../alertd/alertd_nflog.h"
#include "../alertd/alertd_route.h"
#include "../alertd/alertd_silence.h"
#include "../alertd/alertd_store.h"
#include "fw_time.h"

#define T0 1800000000000LL
#define H (3600 * 1000LL)
#define GK "{}:{alertname=\"Hot\"}"

static uint64_t *
s_fps(uint64_t a)
{
    uint64_t *v = malloc(2 * sizeof *v);
    v[0] = a;
    return v;
}

// A mesh entry for (hook, GK) at `at`, firing fp, failed or not.
static json_t *
s_entry(int64_t at, const char *fp, bool failed)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:[s], s:[]}", "receiver", "hook", "groupKey", GK,
                          "at", (json_int_t)at, "expiresAt", (json_int_t)(at + 120 * H), "firing",
                          fp, "resolved");
    if (failed)
        json_object_set_new(j, "failed", json_true());
    return j;
}

static int
s_merge(alertd_nflog_t *log, json_t *j, int64_t now)
{
    fw_err_t err;
    fw_err_clear(&err);
    int rc = alertd_nflog_merge(log, j, now, &err);
    json_decref(j);
    return rc;
}

START_TEST(test_alertd_cluster_nflog_merge_newest_wins)
{
    alertd_nflog_t *log = alertd_nflog_new(NULL, 120 * H);
    alertd_nflog_track_changes(log, true);
    alertd_nflog_log(log, "hook", GK, s_fps(0xa), 1, NULL, 0, NULL, T0);
    // What this replica logged is gossiped once.
    json_t *ch = alertd_nflog_take_changes(log, T0);
    ck_assert_uint_eq(json_array_size(ch), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ch, 0), "groupKey")), GK);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ch, 0), "expiresAt")),
                     T0 + 120 * H);
    json_decref(ch);
    ch = alertd_nflog_take_changes(log, T0);
    ck_assert_uint_eq(json_array_size(ch), 0);
    json_decref(ch);

    // Older and equal entries from a peer are ignored; a newer one is taken.
    ck_assert_int_eq(s_merge(log, s_entry(T0 - 1, "000000000000000b", false), T0), 0);
    ck_assert_int_eq(s_merge(log, s_entry(T0, "000000000000000b", false), T0), 0);
    ck_assert_uint_eq(alertd_nflog_get(log, "hook", GK, T0)->firing[0], 0xa);
    ck_assert_int_eq(s_merge(log, s_entry(T0 + 1, "000000000000000b", false), T0), 1);
    const struct alertd_nflog_entry *e = alertd_nflog_get(log, "hook", GK, T0 + 1);
    ck_assert_uint_eq(e->firing[0], 0xb);
    ck_assert_int_eq(e->at, T0 + 1);
    // The same entry again changes nothing (gossip and pulls overlap).
    ck_assert_int_eq(s_merge(log, s_entry(T0 + 1, "000000000000000b", false), T0), 0);
    // On a tie a failed mark wins: the failure is learnt after the notification.
    ck_assert_int_eq(s_merge(log, s_entry(T0 + 1, "000000000000000b", true), T0), 1);
    ck_assert(alertd_nflog_get(log, "hook", GK, T0 + 1)->failed);
    ck_assert_int_eq(s_merge(log, s_entry(T0 + 1, "000000000000000b", false), T0), 0);
    // Merged entries are not gossiped on (every replica talks to every other).
    ch = alertd_nflog_take_changes(log, T0);
    ck_assert_uint_eq(json_array_size(ch), 0);
    json_decref(ch);
    // Expired at now: ignored.
    ck_assert_int_eq(s_merge(log, s_entry(T0 + 5, "000000000000000c", false), T0 + 121 * H), 0);
    alertd_nflog_destroy(&log);
}
END_TEST

START_TEST(test_alertd_cluster_nflog_merge_invalid)
{
    alertd_nflog_t *log = alertd_nflog_new(NULL, 120 * H);
    const char *bad[] = {
        "{}",
        "{\"receiver\":\"hook\",\"groupKey\":\"g\",\"at\":1,\"firing\":[],\"resolved\":[]}",
        "{\"receiver\":\"hook\",\"groupKey\":\"g\",\"at\":1,\"expiresAt\":9e15,\"firing\":[],"
        "\"resolved\":[]}",
        "{\"receiver\":\"hook\",\"groupKey\":\"g\",\"at\":\"1\",\"expiresAt\":2,\"firing\":[],"
        "\"resolved\":[]}",
        "{\"receiver\":\"hook\",\"groupKey\":\"g\",\"at\":1,\"expiresAt\":2,\"firing\":[\"xyz\"],"
        "\"resolved\":[]}",
        "{\"receiver\":\"hook\",\"groupKey\":\"g\",\"at\":1,\"expiresAt\":2,\"firing\":[],"
        "\"resolved\":[],\"failed\":1}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fw_err_t err;
        fw_err_clear(&err);
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        ck_assert_msg(alertd_nflog_merge(log, j, 0, &err) == -1, "accepted %s", bad[i]);
        ck_assert_str_eq(err.msg, "invalid notification log entry");
        json_decref(j);
    }
    ck_assert_uint_eq(alertd_nflog_size(log), 0);
    alertd_nflog_destroy(&log);
}
END_TEST

START_TEST(test_alertd_cluster_nflog_full_state_round_trip)
{
    alertd_nflog_t *a = alertd_nflog_new(NULL, 120 * H);
    alertd_nflog_t *b = alertd_nflog_new(NULL, 120 * H);
    alertd_nflog_log(a, "hook", GK, s_fps(0xa), 1, s_fps(0xc), 1, NULL, T0);
    alertd_nflog_log(a, "db", GK, s_fps(0xd), 1, NULL, 0, NULL, T0 + 1);
    json_t *all = alertd_nflog_entries_json(a, T0 + 2);
    ck_assert_uint_eq(json_array_size(all), 2);
    size_t i;
    json_t *j;
    json_array_foreach(all, i, j) ck_assert_int_eq(alertd_nflog_merge(b, j, T0 + 2, NULL), 1);
    json_decref(all);
    const struct alertd_nflog_entry *e = alertd_nflog_get(b, "hook", GK, T0 + 2);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->firing_len, 1);
    ck_assert_uint_eq(e->resolved_len, 1);
    ck_assert_uint_eq(e->resolved[0], 0xc);
    ck_assert_int_eq(e->expires_at, T0 + 120 * H);
    ck_assert_ptr_nonnull(alertd_nflog_get(b, "db", GK, T0 + 2));
    alertd_nflog_destroy(&a);
    alertd_nflog_destroy(&b);
}
END_TEST

// A postable silence on alertname=name, from now to now + 1h.
static char *
s_silence_put(alertd_silences_t *s, const char *name, int64_t now)
{
    char a[40], b[40];
    json_t *j = json_pack("{s:[{s:s, s:s, s:b}], s:s, s:s, s:s, s:s}", "matchers", "name",
                          "alertname", "value", name, "isRegex", 0, "startsAt",
                          fw_time_rfc3339(now, a, sizeof a), "endsAt",
                          fw_time_rfc3339(now + H, b, sizeof b), "createdBy", "t", "comment", "c");
    fw_err_t err;
    fw_err_clear(&err);
    char *id = alertd_silences_put(s, j, now, &err);
    ck_assert_msg(id != NULL, "%s", err.msg);
    json_decref(j);
    return id;
}

START_TEST(test_alertd_cluster_silences_merge)
{
    alertd_silences_t *a = alertd_silences_new(), *b = alertd_silences_new();
    alertd_silences_track_changes(a, true);
    alertd_silences_track_changes(b, true);
    char *id = s_silence_put(a, "Hot", T0);
    json_t *ch = alertd_silences_take_changes(a, T0);
    ck_assert_uint_eq(json_array_size(ch), 1);
    // Made on a, merged on b: b mutes with it, under the same id.
    uint64_t v = alertd_silences_version(b);
    ck_assert_int_eq(alertd_silences_merge(b, json_array_get(ch, 0), T0, H, NULL), 1);
    ck_assert_uint_gt(alertd_silences_version(b), v); // so alertd persists it
    ck_assert_int_eq(alertd_silences_merge(b, json_array_get(ch, 0), T0, H, NULL), 0);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "alertname", "Hot");
    json_t *ids = alertd_silences_muting(b, &l, T0 + 1);
    ck_assert_uint_eq(json_array_size(ids), 1);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), id);
    json_decref(ids);
    json_t *none = alertd_silences_take_changes(b, T0);
    ck_assert_uint_eq(json_array_size(none), 0); // merged, not gossiped on
    json_decref(none);
    // b expires it later: newer updatedAt wins on a, and a stops muting.
    ck_assert_int_eq(alertd_silences_expire(b, id, T0 + 1000), 0);
    json_t *ch2 = alertd_silences_take_changes(b, T0 + 1000);
    ck_assert_uint_eq(json_array_size(ch2), 1);
    ck_assert_int_eq(alertd_silences_merge(a, json_array_get(ch2, 0), T0 + 1000, H, NULL), 1);
    ids = alertd_silences_muting(a, &l, T0 + 1001);
    ck_assert_uint_eq(json_array_size(ids), 0);
    json_decref(ids);
    // The older version arriving late changes nothing.
    ck_assert_int_eq(alertd_silences_merge(a, json_array_get(ch, 0), T0 + 1000, H, NULL), 0);
    ids = alertd_silences_muting(a, &l, T0 + 1001);
    ck_assert_uint_eq(json_array_size(ids), 0);
    json_decref(ids);
    // Expired for longer than the retention: ignored.
    alertd_silences_t *c = alertd_silences_new();
    ck_assert_int_eq(alertd_silences_merge(c, json_array_get(ch2, 0), T0 + 2 * H, H, NULL), 0);
    json_t *list = alertd_silences_list_json(c, T0);
    ck_assert_uint_eq(json_array_size(list), 0);
    json_decref(list);
    // A silence that would mute everything is refused, as from the API.
    json_t *bad = json_deep_copy(json_array_get(ch, 0));
    json_object_set_new(bad, "matchers",
                        json_pack("[{s:s, s:s, s:b}]", "name", "a", "value", ".*", "isRegex", 1));
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(alertd_silences_merge(c, bad, T0, H, &err), -1);
    ck_assert_str_eq(err.msg, "at least one matcher must not match the empty string");
    json_decref(bad);
    fw_labels_clear(&l);
    json_decref(ch);
    json_decref(ch2);
    free(id);
    alertd_silences_destroy(&a);
    alertd_silences_destroy(&b);
    alertd_silences_destroy(&c);
}
END_TEST

// --- two dispatchers sharing their logs, as two replicas do ---

static const char *s_yaml = "route:\n"
                            "  receiver: hook\n"
                            "  group_by: [alertname]\n"
                            "  group_wait: 10s\n"
                            "  group_interval: 1m\n"
                            "  repeat_interval: 1h\n"
                            "receivers:\n"
                            "  - name: hook\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:1/hook\n";

struct s_replica {
    alertd_dispatch_t *d;
    alertd_nflog_t *log;
    int64_t wait;
};

static int64_t
s_wait(void *arg, int64_t now)
{
    (void)now;
    return ((struct s_replica *)arg)->wait;
}

static void
s_insert(struct s_replica *r, const char *name, int64_t now)
{
    char sb[40];
    json_t *j = json_pack("{s:{s:s}, s:s}", "labels", "alertname", name, "startsAt",
                          alertd_time_str(now, sb, sizeof sb));
    struct alertd_alert a;
    fw_err_t err;
    ck_assert_int_eq(alertd_alert_parse(j, now, 300000, &a, &err), 0);
    alertd_dispatch_insert(r->d, &a, now);
    alertd_alert_clear(&a);
    json_decref(j);
}

static size_t
s_tick(struct s_replica *r, int64_t now)
{
    json_t *out = json_array();
    size_t n = alertd_dispatch_tick(r->d, now, out);
    json_decref(out);
    return n;
}

// What from logged since the last call, merged into to's log.
static void
s_gossip(struct s_replica *from, struct s_replica *to, int64_t now)
{
    json_t *ch = alertd_nflog_take_changes(from->log, now);
    size_t i;
    json_t *j;
    json_array_foreach(ch, i, j) ck_assert_int_eq(alertd_nflog_merge(to->log, j, now, NULL), 1);
    json_decref(ch);
}

START_TEST(test_alertd_cluster_dispatch_wait_pair_notifies_once)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ha.yml", s_yaml, &errs);
    ck_assert_ptr_nonnull(cfg);
    struct alertd_route *tree = alertd_route_build(&cfg->route);
    struct s_replica r[2] = {{.wait = 0}, {.wait = 15000}}; // positions 0 and 1
    for (int i = 0; i < 2; i++) {
        r[i].d = alertd_dispatch_new(cfg, tree, "http://am");
        r[i].log = alertd_nflog_new(NULL, 120 * H);
        alertd_nflog_track_changes(r[i].log, true);
        alertd_dispatch_set_nflog(r[i].d, r[i].log);
        alertd_dispatch_set_wait(r[i].d, s_wait, &r[i]);
        s_insert(&r[i], "Hot", T0);
    }
    // Position 0 notifies when the group falls due; position 1 waits its 15 s.
    ck_assert_int_eq(s_tick(&r[0], T0 + 10000), 1);
    ck_assert_int_eq(s_tick(&r[1], T0 + 10000), 0);
    ck_assert_int_eq(alertd_dispatch_next(r[1].d), T0 + 25000);
    ck_assert_int_eq(s_tick(&r[1], T0 + 24999), 0);
    s_gossip(&r[0], &r[1], T0 + 10050);
    // After its wait it finds the first replica's log entry: nothing to send.
    ck_assert_int_eq(s_tick(&r[1], T0 + 25000), 0);
    // Its next flush is group_interval after the group fell due, not after the wait.
    ck_assert_int_eq(alertd_dispatch_next(r[1].d), T0 + 70000);

    // A new group while the first replica is gone: the second notifies alone, after its wait.
    s_insert(&r[1], "Cold", T0 + 100000);
    ck_assert_int_eq(s_tick(&r[1], T0 + 110000), 0);
    ck_assert_int_eq(s_tick(&r[1], T0 + 125000), 1);
    // Back, the first replica pulls it before it flushes: it does not notify Cold again.
    s_gossip(&r[1], &r[0], T0 + 126000);
    s_insert(&r[0], "Cold", T0 + 126000);
    ck_assert_int_eq(s_tick(&r[0], T0 + 136000), 0);
    // Nor does either for Hot until repeat_interval.
    ck_assert_int_eq(s_tick(&r[0], T0 + 200000), 0);
    for (int i = 0; i < 2; i++) {
        alertd_dispatch_destroy(&r[i].d);
        alertd_nflog_destroy(&r[i].log);
    }
    alertd_route_destroy(&tree);
    alertd_cfg_destroy(&cfg);
}
END_TEST

// --- two clusters on loopback, one loop ---

struct s_node {
    alertd_cluster_t *c;
    struct alertd_cluster_opts o;
    struct fw_flag_list peers;
    char listen[64], advertise[64], peer[64];
    json_t *silences, *nflog; // this node's state (owned)
    json_t *got;              // every element merged from the peer (owned)
};

static void
s_full(void *arg, json_t **sil, json_t **nfl)
{
    struct s_node *n = arg;
    *sil = json_deep_copy(n->silences);
    *nfl = json_deep_copy(n->nflog);
}

static void
s_changes(void *arg, json_t **sil, json_t **nfl)
{
    (void)arg;
    *sil = json_array();
    *nfl = json_array();
}

static void
s_merged(void *arg, const char *peer, const json_t *sil, const json_t *nfl)
{
    struct s_node *n = arg;
    (void)peer;
    json_array_extend(n->got, (json_t *)sil);
    json_array_extend(n->got, (json_t *)nfl);
}

// A loopback port nobody listens on (a plain socket closes synchronously; ZeroMQ's do not).
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int
s_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

static int
s_stop_when_done(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    struct s_node *n = arg;
    int64_t now = fw_time_now_ms();
    bool done = json_array_size(n[0].got) > 0 && json_array_size(n[1].got) > 0 &&
                alertd_cluster_settled(n[0].c, now) && alertd_cluster_settled(n[1].c, now) &&
                alertd_cluster_position(n[1].c, now) == 1;
    return done ? -1 : 0;
}

START_TEST(test_alertd_cluster_sockets_sync_positions)
{
    struct s_node n[2];
    memset(n, 0, sizeof n);
    int port[2] = {s_free_port(), s_free_port()};
    zloop_t *loop = zloop_new();
    for (int i = 0; i < 2; i++) {
        snprintf(n[i].listen, sizeof n[i].listen, "127.0.0.1:%d", port[i]);
        snprintf(n[i].advertise, sizeof n[i].advertise, "replica-%d:%d", i, port[i]);
        // Both get the whole list, as a StatefulSet's pods do: each skips itself.
        snprintf(n[i].peer, sizeof n[i].peer, "127.0.0.1:%d,127.0.0.1:%d", port[0], port[1]);
        n[i].peers.items[0] = n[i].peer;
        n[i].peers.n = 1;
        n[i].o = (struct alertd_cluster_opts){.listen = n[i].listen,
                                              .advertise = i == 0 ? NULL : n[i].advertise,
                                              .peers = &n[i].peers,
                                              .peer_timeout_ms = 15000,
                                              .gossip_interval_ms = 50,
                                              .pushpull_interval_ms = 60000,
                                              .probe_interval_ms = 100,
                                              .settle_timeout_ms = 60000,
                                              .max_msg_size = 1 << 20};
        n[i].silences = json_pack("[{s:s}]", "id", i == 0 ? "from-0" : "from-1");
        n[i].nflog = json_array();
        n[i].got = json_array();
        n[i].c = alertd_cluster_new(&n[i].o, NULL);
        fw_err_t err;
        fw_err_clear(&err);
        ck_assert_msg(alertd_cluster_open(n[i].c, &err) == 0, "%s", err.msg);
        struct alertd_cluster_hooks h = {s_full, s_changes, s_merged, &n[i]};
        alertd_cluster_attach(n[i].c, loop, &h);
    }
    // Names: the listen address, or --cluster.advertise-address; they order the positions.
    char want0[64];
    snprintf(want0, sizeof want0, "127.0.0.1:%d", port[0]);
    ck_assert_str_eq(alertd_cluster_name(n[0].c), want0);
    ck_assert_str_eq(alertd_cluster_name(n[1].c), n[1].advertise);
    ck_assert(!alertd_cluster_settled(n[0].c, fw_time_now_ms()));
    zloop_timer(loop, 20, 0, s_stop_when_done, n);
    zloop_timer(loop, 10000, 1, s_stop, NULL); // bound
    int64_t t0 = zclock_mono();
    (void)zloop_start(loop);
    ck_assert_msg(zclock_mono() - t0 < 10000, "the pair did not sync within 10 s");
    int64_t now = fw_time_now_ms();
    // Each pulled the other's full state; "127.0..." sorts before "replica-1...".
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(n[0].got, 0), "id")),
                     "from-1");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(n[1].got, 0), "id")),
                     "from-0");
    ck_assert_int_eq(alertd_cluster_position(n[0].c, now), 0);
    ck_assert_int_eq(alertd_cluster_position(n[1].c, now), 1);
    ck_assert_int_eq(alertd_cluster_wait(n[1].c, now), 15000);
    json_t *st = alertd_cluster_status_json(n[1].c, now);
    ck_assert_str_eq(json_string_value(json_object_get(st, "status")), "ready");
    ck_assert_uint_eq(json_array_size(json_object_get(st, "peers")), 2);
    json_decref(st);
    // A member silent for 5 probe intervals is down: position 0 again.
    ck_assert_int_eq(alertd_cluster_position(n[1].c, now + 600), 0);
    zloop_destroy(&loop);
    for (int i = 0; i < 2; i++) {
        alertd_cluster_destroy(&n[i].c);
        json_decref(n[i].silences);
        json_decref(n[i].nflog);
        json_decref(n[i].got);
    }
}
END_TEST

// Stop the loop once the cluster (arg) has settled.
static int
s_stop_when_settled(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    return alertd_cluster_settled(arg, fw_time_now_ms()) ? -1 : 0;
}

START_TEST(test_alertd_cluster_settles_without_peer)
{
    // The peer never accepts a connection: settled after 5 probe intervals (100 ms), not the
    // 60 s timeout. Waited for up to 10 s (an ASan build at load took over 300 ms), which
    // still tells the two apart.
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", s_free_port());
    struct fw_flag_list peers = {.items = {peer}, .n = 1};
    struct alertd_cluster_opts o = {.listen = "tcp://127.0.0.1:*[50000-59999]",
                                    .advertise = "solo:1",
                                    .peers = &peers,
                                    .peer_timeout_ms = 15000,
                                    .gossip_interval_ms = 50,
                                    .pushpull_interval_ms = 60000,
                                    .probe_interval_ms = 20,
                                    .settle_timeout_ms = 60000,
                                    .max_msg_size = 1 << 20};
    alertd_cluster_t *c = alertd_cluster_new(&o, NULL);
    ck_assert_int_eq(alertd_cluster_open(c, NULL), 0);
    struct s_node n = {0};
    n.silences = json_array();
    n.nflog = json_array();
    n.got = json_array();
    struct alertd_cluster_hooks h = {s_full, s_changes, s_merged, &n};
    zloop_t *loop = zloop_new();
    alertd_cluster_attach(c, loop, &h);
    int64_t t0 = fw_time_now_ms();
    ck_assert(!alertd_cluster_settled(c, t0));
    zloop_timer(loop, 20, 0, s_stop_when_settled, c);
    zloop_timer(loop, 10000, 1, s_stop, NULL);
    (void)zloop_start(loop);
    ck_assert_msg(alertd_cluster_settled(c, fw_time_now_ms()), "not settled after %lld ms",
                  (long long)(fw_time_now_ms() - t0));
    ck_assert_int_eq(alertd_cluster_position(c, fw_time_now_ms()), 0);
    zloop_destroy(&loop);
    alertd_cluster_destroy(&c);
    json_decref(n.silences);
    json_decref(n.nflog);
    json_decref(n.got);
}
END_TEST

START_TEST(test_alertd_cluster_endpoint_forms)
{
    char *e = alertd_cluster_endpoint("0.0.0.0:9094");
    ck_assert_str_eq(e, "tcp://0.0.0.0:9094");
    free(e);
    e = alertd_cluster_endpoint(":9094");
    ck_assert_str_eq(e, "tcp://*:9094");
    free(e);
    e = alertd_cluster_endpoint("tcp://alertd-0.alertd-cluster:9094");
    ck_assert_str_eq(e, "tcp://alertd-0.alertd-cluster:9094");
    free(e);
    ck_assert_ptr_null(alertd_cluster_endpoint(""));
    // A listen address that cannot be bound is an error with the flag's name.
    struct alertd_cluster_opts o = {.listen = "nonsense://x", .probe_interval_ms = 1000};
    alertd_cluster_t *c = alertd_cluster_new(&o, NULL);
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(alertd_cluster_open(c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "--cluster.listen-address"));
    alertd_cluster_destroy(&c);
}
END_TEST

Suite *
alertd_cluster_suite(void)
{
    Suite *s = suite_create("alertd_cluster");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_alertd_cluster_nflog_merge_newest_wins);
    tcase_add_test(tc, test_alertd_cluster_nflog_merge_invalid);
    tcase_add_test(tc, test_alertd_cluster_nflog_full_state_round_trip);
    tcase_add_test(tc, test_alertd_cluster_silences_merge);
    tcase_add_test(tc, test_alertd_cluster_dispatch_wait_pair_notifies_once);
    tcase_add_test(tc, test_alertd_cluster_sockets_sync_positions);
    tcase_add_test(tc, test_alertd_cluster_settles_without_peer);
    tcase_add_test(tc, test_alertd_cluster_endpoint_forms);
    suite_add_tcase(s, tc);
    return s;
}
