/*  fw_tlsfiles.h — the content of tls_config's ca_file, cert_file and key_file as they are
    on disk at each request, for every HTTP client built from prometheus.yml's HTTP client
    settings: the scrapes (scraper_fetch_actor.c), kubernetes_sd's API server connection
    (scraper_sd_kube_api.c, the in-cluster service account CA too) and remote_write
    (tsdb_rwsend_http.c).

    Prometheus (prometheus/common config's tlsRoundTripper) reads a client's CA, certificate
    and key files at every request and compares a SHA-256 of each with the last: when one
    changed, new connections use the new content and the idle ones are closed, without a
    reload. This cache gives a client the same at the cost of one stat() per file per
    request: a file is read again only when its device, inode, size, mtime or ctime changed
    (or its last read was too close to its ctime to tell, git's "racy" rule), and the
    content read is compared with the last one, so a touched file that reads the same keeps
    its generation, as an equal hash does in Prometheus.

    Why stat is enough: every write to a file moves its ctime (and mtime), and a file
    replaced by rename, as a Kubernetes Secret volume swaps its `..data` link, is another
    inode. ctime cannot be set back by a user (utimensat sets mtime and moves ctime forward),
    so equal stat fields mean no write happened since the read, except within one tick of
    the file system's clock after the read: such a read is marked racy and the next check
    reads again.

    Threading: none inside; one thread at a time (the caller's lock, or one owner thread).
    Not a generic cache: files are bounded to FW_TLSFILES_MAX bytes, and entries unused for
    FW_TLSFILES_IDLE_MS are dropped.
*/
#ifndef FW_TLSFILES_H
#define FW_TLSFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_promcfg_http.h"

typedef struct fw_tlsfiles fw_tlsfiles_t;

// Largest file read (a CA bundle, a certificate chain, a key).
#define FW_TLSFILES_MAX (1024 * 1024)
// Entries not checked for this long are dropped (a path a reload no longer names).
#define FW_TLSFILES_IDLE_MS (10 * 60 * 1000)

// An empty cache. Cannot fail.
fw_tlsfiles_t *fw_tlsfiles_new(void);
// Free self and every content it holds; NULL-safe, sets *self_p to NULL.
void fw_tlsfiles_destroy(fw_tlsfiles_t **self_p);

// Bring path's entry up to date with the disk (now_ms: wall clock, for the racy rule and
// the idle expiry) and set *gen to its generation: a number, never 0, that changes exactly
// when the content read changes. 0; or -1 with err ("unable to read file PATH: REASON", as
// Prometheus's FileSecret says it) when the file cannot be stat'ed, opened or read, is empty
// or larger than FW_TLSFILES_MAX: the last good content and its generation are kept
// (*gen is then that generation, or 0 when the file was never read).
int fw_tlsfiles_check(fw_tlsfiles_t *self, const char *path, int64_t now_ms, uint64_t *gen,
                      fw_err_t *err);

// The content of path as the last check read it (NUL-terminated; *len its length without
// the NUL), or NULL when it was never read. Borrowed: valid until the next check of any path
// or destroy.
const char *fw_tlsfiles_data(const fw_tlsfiles_t *self, const char *path, size_t *len);

// Files read from disk since new (for tests: a check that only stat'ed does not count).
uint64_t fw_tlsfiles_reads(const fw_tlsfiles_t *self);

// The three files of a tls_config, in this order in every gen[] below.
enum { FW_TLSFILES_CA, FW_TLSFILES_CERT, FW_TLSFILES_KEY, FW_TLSFILES_N };

// Check t's ca_file, cert_file and key_file (each one set; fw_tlsfiles_check) and set
// gen[0..FW_TLSFILES_N) to their generations (0 for a file not set), as Prometheus's
// tlsRoundTripper reads them at each request. 0, or -1 with err in Prometheus's words:
// "unable to read CA cert: unable to read file PATH: REASON" ("client cert", "client key"):
// the request fails, and the last good content stays for the next one.
int fw_tlsfiles_check_tls(fw_tlsfiles_t *self, const struct fw_tls_config *t, int64_t now_ms,
                          uint64_t gen[FW_TLSFILES_N], fw_err_t *err);

// t with its files' content as the last fw_tlsfiles_check_tls read it, for fw_http_tls:
// ca_file_pem, cert and key hold the content, cert_file and key_file are NULL, so curl gets
// blobs (copied by curl) and never reads the files itself. Shallow: the strings are t's and
// self's, valid until self's next check.
struct fw_tls_config fw_tlsfiles_tls(const fw_tlsfiles_t *self, const struct fw_tls_config *t);

// Whether a connection made at generations old must not serve a request at generations gen:
// a file that was read then (old[i] != 0) reads other content now. Prometheus then builds a
// new round tripper (new connections) and closes the old one's idle connections.
bool fw_tlsfiles_changed(const uint64_t old[FW_TLSFILES_N], const uint64_t gen[FW_TLSFILES_N]);

#endif
