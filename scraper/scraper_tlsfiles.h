/*  scraper_tlsfiles.h — the content of tls_config's ca_file, cert_file and key_file as they
    are on disk at each scrape.

    Prometheus (prometheus/common config's tlsRoundTripper) reads a job's CA, certificate
    and key files at every request and compares a SHA-256 of each with the last: when one
    changed, new connections use the new content and the idle ones are closed, without a
    reload. This cache gives the fetch actor the same at the cost of one stat() per file per
    scrape: a file is read again only when its device, inode, size, mtime or ctime changed
    (or its last read was too close to its ctime to tell, git's "racy" rule), and the
    content read is compared with the last one, so a touched file that reads the same keeps
    its generation, as an equal hash does in Prometheus.

    Why stat is enough: every write to a file moves its ctime (and mtime), and a file
    replaced by rename, as a Kubernetes Secret volume swaps its `..data` link, is another
    inode. ctime cannot be set back by a user (utimensat sets mtime and moves ctime forward),
    so equal stat fields mean no write happened since the read, except within one tick of
    the file system's clock after the read: such a read is marked racy and the next check
    reads again.

    Threading: owned by one thread (the fetch actor's). Not a generic cache: files are
    bounded to SCRAPER_TLSFILES_MAX bytes, and entries unused for SCRAPER_TLSFILES_IDLE_MS
    are dropped.
*/
#ifndef SCRAPER_TLSFILES_H
#define SCRAPER_TLSFILES_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

typedef struct scraper_tlsfiles scraper_tlsfiles_t;

// Largest file read (a CA bundle, a certificate chain, a key).
#define SCRAPER_TLSFILES_MAX (1024 * 1024)
// Entries not checked for this long are dropped (a path a reload no longer names).
#define SCRAPER_TLSFILES_IDLE_MS (10 * 60 * 1000)

// An empty cache. Cannot fail.
scraper_tlsfiles_t *scraper_tlsfiles_new(void);
// Free self and every content it holds; NULL-safe, sets *self_p to NULL.
void scraper_tlsfiles_destroy(scraper_tlsfiles_t **self_p);

// Bring path's entry up to date with the disk (now_ms: wall clock, for the racy rule and
// the idle expiry) and set *gen to its generation: a number, never 0, that changes exactly
// when the content read changes. 0; or -1 with err ("unable to read file PATH: REASON", as
// Prometheus's FileSecret says it) when the file cannot be stat'ed, opened or read, is empty
// or larger than SCRAPER_TLSFILES_MAX: the last good content and its generation are kept
// (*gen is then that generation, or 0 when the file was never read).
int scraper_tlsfiles_check(scraper_tlsfiles_t *self, const char *path, int64_t now_ms,
                           uint64_t *gen, fw_err_t *err);

// The content of path as the last check read it (NUL-terminated; *len its length without
// the NUL), or NULL when it was never read. Borrowed: valid until the next check of any path
// or destroy.
const char *scraper_tlsfiles_data(const scraper_tlsfiles_t *self, const char *path, size_t *len);

// Files read from disk since new (for tests: a check that only stat'ed does not count).
uint64_t scraper_tlsfiles_reads(const scraper_tlsfiles_t *self);

#endif
