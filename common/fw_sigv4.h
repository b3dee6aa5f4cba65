/*  fw_sigv4.h — AWS Signature Version 4 for one HTTP request, from AWS's published
    algorithm ("Create a signed AWS API request", General Reference):

    canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n hex(SHA-256(body)),
    URI each path segment URI-encoded (RFC 3986 unreserved kept, '/' kept), QUERY the
    parameters decoded, URI-encoded and sorted by name then value, HEADERS each header
    "lower-case-name:value" (blanks trimmed and runs of blanks collapsed, values of one name
    joined by ','), sorted, SIGNED their names joined by ';'. string to sign =
    "AWS4-HMAC-SHA256" \n AMZ-DATE \n DATE/REGION/SERVICE/aws4_request \n
    hex(SHA-256(canonical request)); key = HMAC chain of "AWS4"+secret over the date, region,
    service and "aws4_request"; signature = hex(HMAC(key, string to sign)).

    Paths are not normalized (no "." / ".." / "//" folding): floorwatch signs the paths it
    builds. Unit-tested against AWS's signature test suite (test/check_fw_sigv4.c).
*/
#ifndef FW_SIGV4_H
#define FW_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

struct fw_sigv4_key {
    const char *access_key, *secret_key; // borrowed; secret_key is a secret
    const char *region, *service;        // e.g. "us-east-1", "sns"
};

// "YYYYMMDDTHHMMSSZ" for t (seconds since the epoch, UTC) into out[17].
void fw_sigv4_amz_date(int64_t t, char out[17]);

// The Authorization header value for the request: method, url (scheme://host[:port]/path?query),
// headers "Name: value" (every one is signed; they must include Host and X-Amz-Date, whose
// value amz_date also gives the scope's date), body (body_len bytes). A new string, or NULL
// with err when the URL or a header cannot be read.
char *fw_sigv4_authorization(const struct fw_sigv4_key *key, const char *method, const char *url,
                             const char *const *headers, size_t headers_len, const char *body,
                             size_t body_len, const char *amz_date, fw_err_t *err);

// The canonical request and string to sign of fw_sigv4_authorization, for tests (new
// strings, NULL on the same errors).
char *fw_sigv4_canonical(const char *method, const char *url, const char *const *headers,
                         size_t headers_len, const char *body, size_t body_len, fw_err_t *err);

#endif
