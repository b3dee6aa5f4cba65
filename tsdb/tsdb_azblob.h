/*  tsdb_azblob.h — the few Azure Blob Storage requests `tsdb backup` and `tsdb restore` make,
    with libcurl, as Azure's REST reference documents them (x-ms-version 2021-08-06):

      Put Block       PUT  <blob>?comp=block&blockid=<base64 id>   body: the block  -> 201
      Put Block List  PUT  <blob>?comp=blocklist  body: <BlockList><Latest>id</Latest>...
                                                                   </BlockList>      -> 201
      Get Blob        GET  <blob>                                                    -> 200

    Authorisation is a SAS (the URL's query string, or the one line of --azure.sas-file, sent
    as it is) or Shared Key: an account
    key (base64, read from a file) signs each request per Azure's "Authorize with Shared Key"
    string-to-sign (verb, the standard headers with Content-Length empty when 0, the x-ms-*
    headers, then /account/path and the query parameters sorted, one per line). The account
    is the first label of ACCOUNT.blob.core.windows.net, or --azure.account-name (a local
    emulator's path-style URL).
    Every request carries x-ms-date and x-ms-version. A failed connection, a timeout, 408, 429
    and 5xx are retried with backoff (0.5 s doubling, at most 8 s); other answers fail at once
    with Azure's error code and message. Block ids are base64 of "fwblock-NNNNNNN" (same
    length each, as Azure requires). Until Put Block List commits them, uploaded blocks are
    not part of any blob (Azure drops uncommitted blocks after a week), so a failed backup
    never replaces the blob's last good copy. The SAS never appears in messages: <secret>.
*/
#ifndef TSDB_AZBLOB_H
#define TSDB_AZBLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

struct tsdb_azblob_opts {
    const char *url;      // http(s)://host[:port]/path/of/blob[?SAS]
    const char *key_file; // NULL: the URL's SAS or sas_file authorises
    const char *sas_file; // NULL: the SAS, if any, is the URL's query string
    const char *account;  // NULL: from the host name
    int64_t timeout_ms;   // per request (0: 5 minutes)
    int64_t retries;      // after the first attempt
};

typedef struct tsdb_azblob tsdb_azblob_t;

// True when s names a blob (http:// or https://) rather than a directory.
bool tsdb_azblob_is_url(const char *s);
// A client for opts->url; NULL with err for a bad URL, an unreadable or bad key or SAS file,
// two authorisations, or none at all.
tsdb_azblob_t *tsdb_azblob_open(const struct tsdb_azblob_opts *opts, fw_err_t *err);
void tsdb_azblob_destroy(tsdb_azblob_t **self_p);
// The URL as it may be shown (the SAS as <secret>); borrowed.
const char *tsdb_azblob_shown(const tsdb_azblob_t *self);
// Upload the next block. 0 or -1 with err.
int tsdb_azblob_put_block(tsdb_azblob_t *self, const void *data, size_t len, fw_err_t *err);
// Commit the blocks put so far, in order, as the blob. 0 or -1 with err.
int tsdb_azblob_commit(tsdb_azblob_t *self, fw_err_t *err);
// Download the blob into fd; *bytes says how many. 0 or -1 with err.
int tsdb_azblob_get(tsdb_azblob_t *self, int fd, uint64_t *bytes, fw_err_t *err);

#endif
