/*  alertd_cluster.c — the replicas' ROUTER, one DEALER per peer, the members and their
    positions, settling, and the gossip and probe timers (see alertd_cluster.h).

    The members table is the only state another thread reads (the API's status, the
    dispatcher's wait under alertd's lock), so it alone sits behind self->lock; nothing
    calls out while holding it.
*/
#include <czmq.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "alertd_cluster.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"

// A member not heard from for this many probe intervals is down (memberlist suspects a
// silent member after about 4 in a small cluster).
#define S_DEAD_PROBES 5
// Most members remembered (anyone who can reach the port can announce a name).
#define S_MEMBERS_MAX 64

struct s_peer {
    char *endpoint;    // owned
    zsock_t *dealer;   // owned
    bool answered;     // a CLUSTER_STATE came back since start
    bool ever_sent;    // a send was taken (ZMQ_IMMEDIATE: a connection existed)
    bool is_self;      // it answered with this replica's name: never used again
    int64_t next_sync; // when the next CLUSTER_SYNC is due
};

struct s_member {
    int64_t last_heard;
    bool up; // as last reported (event=cluster.peer.up/down)
};

struct alertd_cluster {
    const struct alertd_cluster_opts *opts; // borrowed
    fw_metrics_t *metrics;                  // borrowed, may be NULL
    char *name;                             // owned
    char *listen;                           // owned: the ROUTER's endpoint
    zsock_t *router;                        // owned
    struct s_peer *peers;                   // owned
    size_t n_peers;
    struct alertd_cluster_hooks hooks;
    int64_t started;
    pthread_mutex_t lock; // guards members, and settled for other threads' reads
    zhashx_t *members;    // owned: name -> struct s_member *
    bool settled;
};

char *
alertd_cluster_endpoint(const char *addr)
{
    if (!addr || !*addr)
        return NULL;
    if (strstr(addr, "://"))
        return fw_strdup(addr);
    if (addr[0] == ':')
        return fw_asprintf("tcp://*%s", addr);
    return fw_asprintf("tcp://%s", addr);
}

// The name from an endpoint: "host:port" without the scheme; a wildcard host becomes the
// host name.
static char *
s_name_from(const char *endpoint)
{
    const char *hp = strstr(endpoint, "://");
    hp = hp ? hp + 3 : endpoint;
    const char *colon = strrchr(hp, ':');
    size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
    if (hl == 0 || (hl == 1 && hp[0] == '*') || (hl == 7 && strncmp(hp, "0.0.0.0", 7) == 0) ||
        (hl == 4 && strncmp(hp, "[::]", 4) == 0)) {
        char host[256] = "localhost";
        (void)gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        return fw_asprintf("%s%s", host, colon ? colon : "");
    }
    return fw_strdup(hp);
}

static void
s_member_free(void **item)
{
    free(*item);
    *item = NULL;
}

alertd_cluster_t *
alertd_cluster_new(const struct alertd_cluster_opts *opts, fw_metrics_t *metrics)
{
    alertd_cluster_t *self = fw_calloc(1, sizeof *self);
    self->opts = opts;
    self->metrics = metrics;
    pthread_mutex_init(&self->lock, NULL);
    self->members = zhashx_new();
    zhashx_set_destructor(self->members, s_member_free);
    self->started = fw_time_now_ms();
    if (metrics) {
        fw_metrics_declare(metrics, "alertmanager_cluster_enabled", FW_METRIC_GAUGE,
                           "Indicates whether the clustering is enabled or not.");
        fw_metrics_declare(metrics, "alertmanager_cluster_members", FW_METRIC_GAUGE,
                           "Number indicating current number of members in cluster.");
        fw_metrics_declare(metrics, "alertmanager_peer_position", FW_METRIC_GAUGE,
                           "Position the Alertmanager instance believes it's in. The position "
                           "determines a peer's behavior in the cluster.");
        fw_metrics_declare(metrics, "alertmanager_cluster_messages_received_total",
                           FW_METRIC_COUNTER, "Total number of cluster messages received.");
        fw_metrics_declare(metrics, "alertmanager_cluster_messages_sent_total", FW_METRIC_COUNTER,
                           "Total number of cluster messages sent.");
        fw_metrics_declare(metrics, "alertmanager_cluster_messages_dropped_total",
                           FW_METRIC_COUNTER,
                           "Cluster messages not sent because the peer was not connected or "
                           "its queue was full.");
        fw_metrics_set(metrics, "alertmanager_cluster_enabled", "", 1);
    }
    return self;
}

// Add endpoint as a peer unless it is this replica or already listed. 0, or -1 with err.
static int
s_peer_add(alertd_cluster_t *self, const char *addr, fw_err_t *err)
{
    char *ep = alertd_cluster_endpoint(addr);
    if (!ep)
        return 0;
    char *name = s_name_from(ep);
    bool skip = strcmp(name, self->name) == 0;
    free(name);
    for (size_t i = 0; i < self->n_peers && !skip; i++)
        skip = strcmp(self->peers[i].endpoint, ep) == 0;
    if (skip) {
        free(ep);
        return 0;
    }
    // Never blocks, queues nothing while the peer is away, takes answers up to the limit.
    zsock_t *d = fw_zsock_dealer_sized(ep, self->opts->max_msg_size, err);
    if (!d) {
        free(ep);
        return -1;
    }
    self->peers = fw_realloc(self->peers, (self->n_peers + 1) * sizeof *self->peers);
    self->peers[self->n_peers++] = (struct s_peer){.endpoint = ep, .dealer = d};
    return 0;
}

int
alertd_cluster_open(alertd_cluster_t *self, fw_err_t *err)
{
    const struct alertd_cluster_opts *o = self->opts;
    self->listen = alertd_cluster_endpoint(o->listen);
    if (!self->listen) {
        fw_err_set(err, "--cluster.listen-address is empty");
        return -1;
    }
    char *adv = alertd_cluster_endpoint(o->advertise);
    self->name = s_name_from(adv ? adv : self->listen);
    free(adv);
    if (!(self->router = fw_zsock_router(self->listen, o->max_msg_size, err))) {
        fw_err_set(err, "--cluster.listen-address: cannot bind \"%s\"", self->listen);
        return -1;
    }
    zsock_set_sndtimeo(self->router, 0);
    for (size_t i = 0; o->peers && i < o->peers->n; i++) {
        char *list = fw_strdup(o->peers->items[i]), *save = NULL;
        int rc = 0;
        for (char *a = strtok_r(list, ",", &save); a && rc == 0; a = strtok_r(NULL, ",", &save))
            rc = s_peer_add(self, a, err);
        free(list);
        if (rc < 0)
            return -1;
    }
    fw_info("cluster.start", "name=%s listen=%s peers=%zu peer_timeout_ms=%lld", self->name,
            self->listen, self->n_peers, (long long)o->peer_timeout_ms);
    return 0;
}

void
alertd_cluster_destroy(alertd_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_cluster_t *self = *self_p;
    for (size_t i = 0; i < self->n_peers; i++) {
        zsock_destroy(&self->peers[i].dealer);
        free(self->peers[i].endpoint);
    }
    free(self->peers);
    zsock_destroy(&self->router);
    zhashx_destroy(&self->members);
    pthread_mutex_destroy(&self->lock);
    free(self->listen);
    free(self->name);
    free(self);
    *self_p = NULL;
}

const char *
alertd_cluster_name(const alertd_cluster_t *self)
{
    return self->name;
}

// --- members ---

static int64_t
s_dead_after(const alertd_cluster_t *self)
{
    return S_DEAD_PROBES * self->opts->probe_interval_ms;
}

static bool
s_live(const alertd_cluster_t *self, const struct s_member *m, int64_t now)
{
    return now - m->last_heard < s_dead_after(self);
}

// name (another replica's) was heard from at now. False when the members table is full.
static bool
s_heard(alertd_cluster_t *self, const char *name, int64_t now)
{
    pthread_mutex_lock(&self->lock);
    struct s_member *m = zhashx_lookup(self->members, name);
    if (!m && zhashx_size(self->members) < S_MEMBERS_MAX) {
        m = fw_calloc(1, sizeof *m);
        zhashx_insert(self->members, name, m);
    }
    bool up = false;
    if (m) {
        up = !m->up;
        m->last_heard = now;
        m->up = true;
    }
    pthread_mutex_unlock(&self->lock);
    if (up)
        fw_info("cluster.peer.up", "peer=%s", name);
    return m != NULL;
}

int
alertd_cluster_position(alertd_cluster_t *self, int64_t now)
{
    int pos = 0;
    pthread_mutex_lock(&self->lock);
    for (struct s_member *m = zhashx_first(self->members); m; m = zhashx_next(self->members))
        if (s_live(self, m, now) && strcmp(zhashx_cursor(self->members), self->name) < 0)
            pos++;
    pthread_mutex_unlock(&self->lock);
    return pos;
}

int64_t
alertd_cluster_wait(alertd_cluster_t *self, int64_t now)
{
    return alertd_cluster_position(self, now) * self->opts->peer_timeout_ms;
}

bool
alertd_cluster_settled(alertd_cluster_t *self, int64_t now)
{
    if (self->settled) // written by this thread only
        return true;
    int64_t age = now - self->started;
    size_t waiting = 0;
    for (size_t i = 0; i < self->n_peers; i++) {
        const struct s_peer *p = &self->peers[i];
        // A peer that never took a connection is down, once it had the time to show up.
        if (!p->answered && (p->ever_sent || age < s_dead_after(self)))
            waiting++;
    }
    if (waiting > 0 && age < self->opts->settle_timeout_ms)
        return false;
    pthread_mutex_lock(&self->lock);
    self->settled = true;
    pthread_mutex_unlock(&self->lock);
    fw_info("cluster.settled", "name=%s waited_ms=%lld unanswered=%zu", self->name, (long long)age,
            waiting);
    return true;
}

json_t *
alertd_cluster_status_json(alertd_cluster_t *self, int64_t now)
{
    json_t *peers = json_array();
    json_array_append_new(peers, json_pack("{s:s, s:s}", "name", self->name, "address",
                                           self->name)); // steals
    pthread_mutex_lock(&self->lock);
    bool settled = self->settled;
    for (struct s_member *m = zhashx_first(self->members); m; m = zhashx_next(self->members))
        if (s_live(self, m, now)) {
            const char *n = zhashx_cursor(self->members);
            json_array_append_new(peers, json_pack("{s:s, s:s}", "name", n, "address", n));
        }
    pthread_mutex_unlock(&self->lock);
    return json_pack("{s:s, s:s, s:o}", "name", self->name, "status",
                     settled ? "ready" : "settling", "peers", peers); // "o" steals
}

// --- messages ---

static zmsg_t *
s_encode(alertd_cluster_t *self, fw_msg_type_t type, json_t *silences, json_t *nflog)
{
    // json_pack "o" steals both arrays; fw_msg_new_json steals the body.
    struct fw_msg *m = fw_msg_new_json(type, json_pack("{s:s, s:o, s:o}", "name", self->name,
                                                       "silences", silences, "nflog", nflog));
    fw_err_t err;
    fw_err_clear(&err);
    zmsg_t *z = fw_msg_encode(m, &err);
    fw_msg_destroy(&m);
    if (!z)
        fw_warn("cluster.encode.fail", "type=%s err=%s", fw_msg_type_str(type), err.msg);
    return z;
}

static void
s_count(alertd_cluster_t *self, const char *metric, fw_msg_type_t type)
{
    char labels[64];
    snprintf(labels, sizeof labels, "msg_type=\"%s\"",
             type == FW_MSG_CLUSTER_GOSSIP ? "update" : "full_state");
    if (self->metrics)
        fw_metrics_add(self->metrics, metric, labels, 1);
}

// Send a copy of frames (borrowed) to peer p.
static void
s_send_peer(alertd_cluster_t *self, struct s_peer *p, zmsg_t *frames, fw_msg_type_t type)
{
    if (p->is_self)
        return;
    zmsg_t *copy = zmsg_dup(frames);
    if (zmsg_send(&copy, p->dealer) == 0) {
        p->ever_sent = true;
        s_count(self, "alertmanager_cluster_messages_sent_total", type);
        return;
    }
    zmsg_destroy(&copy);
    s_count(self, "alertmanager_cluster_messages_dropped_total", type);
}

static void
s_send_all(alertd_cluster_t *self, fw_msg_type_t type, json_t *silences, json_t *nflog)
{
    zmsg_t *z = s_encode(self, type, silences, nflog);
    for (size_t i = 0; z && i < self->n_peers; i++)
        s_send_peer(self, &self->peers[i], z, type);
    zmsg_destroy(&z);
}

// Decode frames (borrowed) as one of the cluster's messages: merge what it carries and note
// its sender, unless it is this replica itself (*from_self: a peer address that reaches
// this replica, e.g. its own under another name). The message (caller destroys), or NULL
// when rejected (logged and counted).
static struct fw_msg *
s_take(alertd_cluster_t *self, zmsg_t *frames, int64_t now, bool *from_self)
{
    struct fw_msg *m = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    if (fw_msg_decode(frames, &m, &err) < 0) {
        fw_zsock_reject(self->metrics, "unknown", err.msg);
        return NULL;
    }
    if (m->type != FW_MSG_CLUSTER_GOSSIP && m->type != FW_MSG_CLUSTER_SYNC &&
        m->type != FW_MSG_CLUSTER_STATE) {
        fw_zsock_reject(self->metrics, fw_msg_type_str(m->type), "not a cluster message");
        fw_msg_destroy(&m);
        return NULL;
    }
    const char *name = json_string_value(json_object_get(m->body, "name"));
    *from_self = strcmp(name, self->name) == 0;
    if (*from_self)
        return m;
    if (!s_heard(self, name, now)) {
        fw_msg_destroy(&m);
        return NULL;
    }
    s_count(self, "alertmanager_cluster_messages_received_total", m->type);
    const json_t *sil = json_object_get(m->body, "silences");
    const json_t *nfl = json_object_get(m->body, "nflog");
    if (json_array_size(sil) + json_array_size(nfl) > 0)
        self->hooks.merge(self->hooks.arg, name, sil, nfl);
    return m;
}

static int
s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    alertd_cluster_t *self = arg;
    zmsg_t *frames = zmsg_recv(sock);
    if (!frames)
        return 0;
    zframe_t *identity = zmsg_pop(frames);
    bool from_self = false;
    struct fw_msg *m = identity ? s_take(self, frames, fw_time_now_ms(), &from_self) : NULL;
    if (m && m->type == FW_MSG_CLUSTER_SYNC) {
        json_t *sil = NULL, *nfl = NULL;
        self->hooks.full_state(self->hooks.arg, &sil, &nfl);
        zmsg_t *answer = s_encode(self, FW_MSG_CLUSTER_STATE, sil, nfl);
        if (answer) {
            zmsg_prepend(answer, &identity);
            if (zmsg_send(&answer, sock) == 0)
                s_count(self, "alertmanager_cluster_messages_sent_total", FW_MSG_CLUSTER_STATE);
            zmsg_destroy(&answer);
        }
    } else if (m && m->type == FW_MSG_CLUSTER_STATE) {
        fw_zsock_reject(self->metrics, "CLUSTER_STATE", "unasked (on the ROUTER)");
    }
    fw_msg_destroy(&m);
    zframe_destroy(&identity);
    zmsg_destroy(&frames);
    return 0;
}

static int
s_on_dealer(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    alertd_cluster_t *self = arg;
    zmsg_t *frames = zmsg_recv(sock);
    if (!frames)
        return 0;
    bool from_self = false;
    struct fw_msg *m = s_take(self, frames, fw_time_now_ms(), &from_self);
    struct s_peer *p = NULL;
    for (size_t i = 0; i < self->n_peers && !p; i++)
        p = self->peers[i].dealer == sock ? &self->peers[i] : NULL;
    if (m && m->type == FW_MSG_CLUSTER_STATE && p && !p->answered) {
        p->answered = true;
        p->is_self = from_self;
        if (from_self)
            fw_info("cluster.peer.self", "endpoint=%s skipped=own_address", p->endpoint);
        else
            fw_info("cluster.sync", "peer=%s endpoint=%s",
                    json_string_value(json_object_get(m->body, "name")), p->endpoint);
    } else if (m && m->type != FW_MSG_CLUSTER_STATE) {
        fw_zsock_reject(self->metrics, fw_msg_type_str(m->type), "not an answer");
    }
    fw_msg_destroy(&m);
    zmsg_destroy(&frames);
    return 0;
}

// --- timers ---

static int
s_on_gossip(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_cluster_t *self = arg;
    json_t *sil = NULL, *nfl = NULL;
    self->hooks.changes(self->hooks.arg, &sil, &nfl);
    if (json_array_size(sil) + json_array_size(nfl) > 0)
        s_send_all(self, FW_MSG_CLUSTER_GOSSIP, sil, nfl);
    else {
        json_decref(sil);
        json_decref(nfl);
    }
    return 0;
}

// Heartbeats, the pulls that are due, members gone silent, the gauges.
static int
s_on_probe(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_cluster_t *self = arg;
    int64_t now = fw_time_now_ms();
    s_send_all(self, FW_MSG_CLUSTER_GOSSIP, json_array(), json_array());
    zmsg_t *full = NULL;
    for (size_t i = 0; i < self->n_peers; i++) {
        struct s_peer *p = &self->peers[i];
        if (p->next_sync > now || p->is_self)
            continue;
        if (!full) {
            json_t *sil = NULL, *nfl = NULL;
            self->hooks.full_state(self->hooks.arg, &sil, &nfl);
            full = s_encode(self, FW_MSG_CLUSTER_SYNC, sil, nfl);
        }
        if (full)
            s_send_peer(self, p, full, FW_MSG_CLUSTER_SYNC);
        p->next_sync =
            now + (p->answered ? self->opts->pushpull_interval_ms : self->opts->probe_interval_ms);
    }
    zmsg_destroy(&full);
    size_t live = 1;
    pthread_mutex_lock(&self->lock);
    for (struct s_member *m = zhashx_first(self->members); m; m = zhashx_next(self->members)) {
        if (s_live(self, m, now))
            live++;
        else if (m->up) {
            m->up = false;
            fw_warn("cluster.peer.down", "peer=%s silent_ms=%lld",
                    (const char *)zhashx_cursor(self->members), (long long)(now - m->last_heard));
        }
    }
    pthread_mutex_unlock(&self->lock);
    (void)alertd_cluster_settled(self, now);
    if (self->metrics) {
        fw_metrics_set(self->metrics, "alertmanager_cluster_members", "", (double)live);
        fw_metrics_set(self->metrics, "alertmanager_peer_position", "",
                       alertd_cluster_position(self, now));
    }
    return 0;
}

void
alertd_cluster_attach(alertd_cluster_t *self, zloop_t *loop,
                      const struct alertd_cluster_hooks *hooks)
{
    self->hooks = *hooks;
    zloop_reader(loop, self->router, s_on_router, self);
    for (size_t i = 0; i < self->n_peers; i++)
        zloop_reader(loop, self->peers[i].dealer, s_on_dealer, self);
    zloop_timer(loop, (size_t)self->opts->gossip_interval_ms, 0, s_on_gossip, self);
    zloop_timer(loop, (size_t)self->opts->probe_interval_ms, 0, s_on_probe, self);
    // The first pull goes out at once, not a probe interval later.
    zloop_timer(loop, 1, 1, s_on_probe, self);
}
