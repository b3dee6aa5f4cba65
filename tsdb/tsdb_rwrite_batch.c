/*  tsdb_rwrite_batch.c — the remote-write receiver's channels and batches (see
    tsdb_rwrite_int.h; tsdb_rwrite.c's opening comment says which file does what).

    A request takes a channel (a DEALER connected to tsdb's samples ROUTER over inproc, with
    its own sender id and sequence numbers), encodes its valid series as SAMPLES series,
    sends a batch every TSDB_RWRITE_BATCH_BYTES with at most S_INFLIGHT of them waiting for
    their acknowledgement, then waits for the rest and gives the channel back.
*/
#include "tsdb_rwrite_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_msg_samples.h"
#include "fw_time.h"
#include "fw_zsock.h"

#define S_INFLIGHT 4  // batches of one request unacknowledged at a time
#define S_POLL_MS 200 // how often a waiting request looks at the stop flag

// ---------------------------------------------------------------------------------------
// Channels

struct tsdb_rwrite_chan *
tsdb_rwrite_int_chan_take(tsdb_rwrite_t *self, fw_err_t *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += TSDB_RWRITE_ACK_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&self->lock);
    struct tsdb_rwrite_chan *c = NULL;
    while (!c && !self->stopping) {
        for (size_t i = 0; i < self->n_chans && !c; i++)
            if (!self->chans[i].busy)
                c = &self->chans[i];
        if (!c && self->n_chans < TSDB_RWRITE_CHANNELS) {
            c = &self->chans[self->n_chans];
            c->sock = zsock_new(ZMQ_DEALER);
            zsock_set_linger(c->sock, 0);
            zsock_set_sndtimeo(c->sock, TSDB_RWRITE_ACK_TIMEOUT_MS);
            if (!c->sock || zsock_connect(c->sock, "%s", self->endpoint) != 0) {
                zsock_destroy(&c->sock);
                fw_err_set(err, "cannot connect to tsdb's samples socket");
                pthread_mutex_unlock(&self->lock);
                return NULL;
            }
            snprintf(c->id, sizeof(c->id), "remote_write/%ld.%lld/%zu", (long)getpid(),
                     (long long)fw_time_now_ms(), self->n_chans);
            c->seq = 0;
            self->n_chans++;
        }
        if (!c && pthread_cond_timedwait(&self->free, &self->lock, &until) != 0)
            break;
    }
    if (c)
        c->busy = true;
    else
        fw_err_set(err, self->stopping ? "tsdb is shutting down" : "every channel is busy");
    pthread_mutex_unlock(&self->lock);
    return c;
}

void
tsdb_rwrite_int_chan_give(tsdb_rwrite_t *self, struct tsdb_rwrite_chan *c)
{
    pthread_mutex_lock(&self->lock);
    c->busy = false;
    pthread_cond_signal(&self->free);
    pthread_mutex_unlock(&self->lock);
}

static bool
s_stopping(tsdb_rwrite_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool s = self->stopping;
    pthread_mutex_unlock(&self->lock);
    return s || zsys_interrupted;
}

// The count under key in a SAMPLES_ACK body, 0 when absent.
static size_t
s_ack_count(const json_t *body, const char *key)
{
    json_t *n = json_object_get(body, key);
    return json_is_integer(n) && json_integer_value(n) > 0 ? (size_t)json_integer_value(n) : 0;
}

// Read acknowledgements on c until *acked >= want, adding the refusals they report to r.
// 0, or -1 with err (timeout, stop, or tsdb asking for a resend: a batch went missing).
static int
s_wait_acks(tsdb_rwrite_t *self, struct tsdb_rwrite_req *r, struct tsdb_rwrite_chan *c,
            uint64_t want, uint64_t *acked, int64_t deadline, fw_err_t *err)
{
    while (*acked < want) {
        if (s_stopping(self))
            return fw_err_set(err, "tsdb is shutting down"), -1;
        int64_t left = deadline - fw_time_mono_ms();
        if (left <= 0)
            return fw_err_set(err, "no acknowledgement from tsdb's storage within %d ms",
                              TSDB_RWRITE_ACK_TIMEOUT_MS),
                   -1;
        zmq_pollitem_t item = {zsock_resolve(c->sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, left < S_POLL_MS ? left : S_POLL_MS) <= 0)
            continue;
        struct fw_msg *m = NULL;
        if (fw_zsock_recv(c->sock, FW_MSG_SAMPLES_ACK, self->metrics, &m) != 0)
            continue;
        json_t *a = json_object_get(m->body, "acked");
        bool resend = json_is_true(json_object_get(m->body, "resend"));
        r->out_of_order += s_ack_count(m->body, "out_of_order");
        r->duplicate += s_ack_count(m->body, "duplicate");
        r->too_old += s_ack_count(m->body, "too_old");
        if (json_is_integer(a) && (uint64_t)json_integer_value(a) > *acked)
            *acked = (uint64_t)json_integer_value(a);
        fw_msg_destroy(&m);
        if (resend && *acked < want)
            return fw_err_set(err, "tsdb lost a batch of the request"), -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Batches

// Append v's n low bytes little-endian.
static void
s_put_le(struct tsdb_rwrite_req *r, uint64_t v, size_t n)
{
    unsigned char b[8];
    fw_bytes_put_le(b, v, n);
    fw_json_out_put(&r->enc, (const char *)b, n);
}

// Whether sample ord (of the valid series' samples, in request order) was refused.
static bool
s_refused(const struct tsdb_rwrite_req *r, size_t ord)
{
    return r->refused && (r->refused[ord / 8] >> (ord % 8) & 1);
}

// Encode the gathered labels and the nsamples of s's samples not refused (s's first is
// sample ord) as one SAMPLES v3 series (ref 0: none); a 2.0 series' created_timestamp
// becomes the start time of each of its samples (v4).
static void
s_encode_series(struct tsdb_rwrite_req *r, const struct tsdb_rwproto_series *s, size_t ord,
                size_t nsamples)
{
    int64_t st = r->version == TSDB_RWPROTO_V2 ? tsdb_rwproto_series_created(s) : 0;
    s_put_le(r, 0, 4);
    s_put_le(r, r->n_labels, 2);
    for (size_t i = 0; i < r->n_labels; i++) {
        s_put_le(r, r->labels[i].name_len, 2);
        fw_json_out_put(&r->enc, r->labels[i].name, r->labels[i].name_len);
        s_put_le(r, r->labels[i].value_len, 4);
        fw_json_out_put(&r->enc, r->labels[i].value, r->labels[i].value_len);
    }
    s_put_le(r, nsamples | (st ? FW_SAMPLES_ST_FLAG : 0), 4);
    struct fw_sample smp;
    size_t off = 0;
    for (size_t k = ord; tsdb_rwproto_next_sample(s, &off, &smp); k++) {
        if (s_refused(r, k))
            continue;
        uint64_t bits;
        memcpy(&bits, &smp.v, sizeof(bits));
        s_put_le(r, (uint64_t)smp.t_ms, 8);
        s_put_le(r, bits, 8);
    }
    for (size_t k = 0; st && k < nsamples; k++)
        s_put_le(r, (uint64_t)st, 8);
    r->enc_st |= st != 0;
    r->enc_series++;
}

// Send the encoded series as batch c->seq + 1 of the request whose first batch is first.
static int
s_send(struct tsdb_rwrite_req *r, struct tsdb_rwrite_chan *c, uint64_t first, fw_err_t *err)
{
    unsigned char *dst;
    zmsg_t *z = fw_msg_samples_frames(r->enc_st ? FW_SAMPLES_V4 : FW_SAMPLES_V3, c->id, c->seq + 1,
                                      first, r->enc_series, r->enc.len, &dst, err);
    if (!z)
        return -1;
    memcpy(dst, r->enc.p, r->enc.len);
    if (zmsg_send(&z, c->sock) != 0) {
        zmsg_destroy(&z);
        return fw_err_set(err, "tsdb's samples socket takes no more batches"), -1;
    }
    c->seq++;
    r->enc.len = 0;
    r->enc_series = 0;
    r->enc_st = false;
    return 0;
}

// Pass 2: every valid series into batches on c, then wait for all acknowledgements.
int
tsdb_rwrite_int_store(tsdb_rwrite_t *self, struct tsdb_rwrite_req *r, const bool *valid,
                      struct tsdb_rwrite_chan *c, fw_err_t *err)
{
    int64_t deadline = fw_time_mono_ms() + TSDB_RWRITE_ACK_TIMEOUT_MS;
    uint64_t first = c->seq + 1, acked = c->seq;
    struct tsdb_rwproto_series s;
    size_t off = 0, ord = 0;
    bool any = false;
    for (size_t i = 0; tsdb_rwproto_next_series(r->pb, r->pb_len, r->version, &off, &s); i++) {
        bool ahead = false;
        size_t n = valid[i] ? tsdb_rwrite_int_count_samples(&s, INT64_MAX, &ahead) : 0, kept = n;
        for (size_t k = ord; r->refused && k < ord + n; k++)
            kept -= s_refused(r, k);
        ord += n;
        if (kept == 0)
            continue;
        (void)tsdb_rwrite_int_gather(r, &s);
        s_encode_series(r, &s, ord - n, kept);
        if (r->enc.len < TSDB_RWRITE_BATCH_BYTES)
            continue;
        if (s_send(r, c, first, err) != 0 ||
            s_wait_acks(self, r, c, c->seq > S_INFLIGHT ? c->seq - S_INFLIGHT : 0, &acked, deadline,
                        err) != 0)
            return -1;
        any = true;
    }
    if (r->enc_series > 0) {
        if (s_send(r, c, first, err) != 0)
            return -1;
        any = true;
    }
    return any ? s_wait_acks(self, r, c, c->seq, &acked, deadline, err) : 0;
}
