/*  check_util_scraper.h — the scraper daemon as the Check suites run it end to end on
    loopback: a libmicrohttpd server in the test serving the targets, the scraper in an actor
    pointed at a ROUTER that stands in for tsdb, the ROUTER's acknowledgements, HTTP to the
    scraper's web port, and the suites' libcurl fixture.

    Kept apart from check_util.h because it needs the daemon's header (scraper.h). Failures
    the test cannot go on from fail it through ck_assert.
*/
#ifndef CHECK_UTIL_SCRAPER_H
#define CHECK_UTIL_SCRAPER_H

#include <czmq.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <sys/types.h>

#include "fw_promcfg.h"
#include "../scraper/scraper.h"

struct fw_batch;

// A scraper for an actor: its options and config (set before check_util_scraper_start),
// and what the actor reports once it opened.
struct check_util_scraper {
    struct scraper_opts opts;
    struct fw_promcfg cfg; // owned: fw_promcfg_free it after the actor is gone
    int rc;                // scraper_open's
    int http_port;         // the scraper's web port
    char push[64];         // the ROUTER's endpoint, opts.zmq_tsdb_address points here
    pid_t tid;             // the scraper's loop thread
};

// Start a libmicrohttpd server on 127.0.0.1 and a free port with handler h (cls passed to
// it), its own polling thread; *port is its port. Fails the test when it cannot start.
// MHD_stop_daemon it.
struct MHD_Daemon *check_util_scraper_httpd(MHD_AccessHandlerCallback h, void *cls, int *port);

// Answer conn with status and body (copied; a handler may answer from its stack) as
// Prometheus's text format 0.0.4.
enum MHD_Result check_util_scraper_reply(struct MHD_Connection *conn, unsigned status,
                                         const char *body);

// A target the suites scrape: a libmicrohttpd server on 127.0.0.1 and a free port answering
// every request with 200 and body, counting the TCP connections it accepts.
struct check_util_scraper_target {
    const char *body; // borrowed: each answer's; NULL: auth{v="<the request's Authorization
                      // header, or none>"} 1
    int delay_ms;     // each answer this late (the server's one thread answers in turn)
    bool keep_alive;  // answer on the handler's second call: MHD closes a connection after an
                      // answer given on the first (before it has read the whole request)
    int conns;        // atomic: TCP connections accepted (the server's thread adds to it)
    int closes;       // atomic: TCP connections closed (either side)
    int port;
    struct MHD_Daemon *d; // owned: check_util_scraper_target_stop
};

// Start t's server (body, delay_ms and keep_alive set before; t borrowed, it must outlive the
// server); fails the test when it cannot start.
void check_util_scraper_target_start(struct check_util_scraper_target *t);

// Stop t's server; a stopped or never started one is fine.
void check_util_scraper_target_stop(struct check_util_scraper_target *t);

// A ROUTER on a free port standing in for tsdb (caller destroys it), and ctx (zeroed)
// pointing a scraper at it with its HTTP and PUB on free ports; with config_file, ctx->cfg
// loaded from that file (through scraper_config_load, and opts.common.config_file set so
// that /-/reload reads it again).
zsock_t *check_util_scraper_init(struct check_util_scraper *ctx, const char *config_file);

// Load ctx->cfg from the YAML text (as file test.yml); fails the test with the first error.
void check_util_scraper_config(struct check_util_scraper *ctx, const char *text);

// The scraper of ctx (borrowed; it must outlive the actor) in an actor; fails the test
// unless it opened. zactor_destroy stops it.
zactor_t *check_util_scraper_start(struct check_util_scraper *ctx);

// Acknowledge batch b on router to the peer *identity (taken), as tsdb does once it is
// stored: acked is b's seq.
void check_util_scraper_ack(zsock_t *router, zframe_t **identity, const struct fw_batch *b);

// method path (e.g. "GET", "/metrics") on the scraper's web port; the body (caller frees)
// and *status. Fails the test when no answer came within 10 s.
char *check_util_scraper_http(int port, const char *method, const char *path, long *status);

// A counter of thread tid's system calls (the raw_syscalls:sys_enter tracepoint; tid 0: the
// calling thread), or -1 when the kernel does not let this process count them (no tracefs,
// perf_event_paranoid). check_util_syscalls_read: its count, or -1 when unreadable.
int check_util_syscalls_open(pid_t tid);
// The same for one system call, name as in the kernel's syscalls:sys_enter_<name> tracepoint
// ("getpid", "poll"); name NULL: all of them, as check_util_syscalls_open.
int check_util_syscall_open(pid_t tid, const char *name);
double check_util_syscalls_read(int fd);

// The Check fixture of the suites that scrape: libcurl's global state.
void check_util_scraper_setup(void);
void check_util_scraper_teardown(void);

#endif
