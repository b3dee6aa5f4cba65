/*  notifyd_req.h — one delivery an integration builder produces for the deliverer
    (notifyd_deliver): an HTTP POST (url, JSON body, headers beyond Content-Type
    application/json, unless headers name another, and User-Agent, which the deliverer
    always sends) or GET or an SMTP transaction
    (url smtp[s]://host:port/hello, body the whole message, and the envelope in `smtp`).

    An integration whose 2xx answer can still report failures (Azure SMS lists a result per
    recipient) sets `answer`: the deliverer, on notifyd's loop, hands it each 2xx answer's body
    (up to NOTIFYD_REQ_MAX_ANSWER bytes) and it says whether everything was delivered, or
    rewrites the request to hold only what must be sent again, or gives up. `key` is what it
    needs to rebuild the request (a secret: never logged).
*/
#ifndef NOTIFYD_REQ_H
#define NOTIFYD_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFYD_REQ_MAX_HEADERS 8
#define NOTIFYD_REQ_MAX_ANSWER (64 * 1024)

struct notifyd_req;

// What an answer function made of a 2xx answer.
struct notifyd_answer {
    enum {
        NOTIFYD_ANSWER_DELIVERED, // everything in this request went through
        NOTIFYD_ANSWER_RESEND,    // req now holds only what must be retried
        NOTIFYD_ANSWER_FAILED,    // nothing is left worth retrying, and part of it failed
        NOTIFYD_ANSWER_NEXT,      // req now holds the next step of the same attempt (WeChat:
                                  // the message after its access token): sent at once, not
                                  // counted as an attempt nor a retry
    } verdict;
    size_t delivered, failed; // parts (recipients) delivered and failed in this answer
    char reason[32];          // class for the metrics' reason label, e.g. "recipient"
    char detail[256];         // what the answer said, for logs and NOTIFY_RESULT
};

// Read a 2xx answer's body (NUL-terminated, possibly truncated) to req; fill *out. May
// replace req's body and headers (RESEND). Runs on notifyd's loop.
typedef void (*notifyd_req_answer_fn)(struct notifyd_req *req, const char *body,
                                      struct notifyd_answer *out);

// Bring a time-bound credential of req up to date for an attempt made at now_ms (wall clock):
// SNS's Signature Version 4 holds 15 minutes, and a retry can come later. Uses req->key.
// -1 when it cannot (the attempt is then made as it is, and the service answers).
typedef int (*notifyd_req_resign_fn)(struct notifyd_req *req, int64_t now_ms);

// The SMTP envelope and session settings of an email delivery.
struct notifyd_req_smtp {
    char *from;                           // owned: MAIL FROM address
    char **rcpts;                         // owned, NULL-terminated: RCPT TO addresses
    char *username, *password, *authzid;  // owned, NULL for none; password is a secret
    bool starttls;                        // STARTTLS required (else not used)
    char *ca_file, *cert_file, *key_file; // owned, NULL for none
    bool insecure_skip_verify;
    char *smarthost; // owned: host:port, for logs
};

// A receiver's rate limit (alertmanager.yml's fw_rate_limit): at most `requests` requests
// per `interval_ms` (a token bucket holding up to `requests`), at most `queue`
// notifications waiting for it.
struct notifyd_req_rate {
    int64_t requests, interval_ms, queue;
};

struct notifyd_req {
    enum { NOTIFYD_REQ_HTTP, NOTIFYD_REQ_SMTP } kind;
    char *url;                              // owned
    char *body;                             // owned
    char *headers[NOTIFYD_REQ_MAX_HEADERS]; // owned: "Name: value", NULL-padded (HTTP)
    size_t headers_len;
    bool follow_redirects;        // HTTP: follow 3xx answers (up to 10)
    bool get;                     // HTTP: a GET (body kept, not sent), else a POST
    bool retry_4xx;               // HTTP: every non-2xx answer is retried, 4xx too (WeChat)
    int64_t timeout_ms;           // each attempt; 0: notifyd's timeout
    struct notifyd_req_rate rate; // the receiver's rate limit; requests 0: none
    struct notifyd_req_smtp smtp; // SMTP only
    notifyd_req_answer_fn answer; // NULL: any 2xx answer is a delivery
    notifyd_req_resign_fn resign; // NULL: the request is sent as built at every attempt
    char *key;                    // owned secret for answer or resign, or NULL
    char *failed;                 // owned: set when a part failed for good (the outcome is
                                  // then failed even if the rest goes through), or NULL
    struct json_t *http;          // owned reference: NOTIFY's http_config (notifyd_http), or NULL
    const char *method;           // HTTP: a static string such as "PUT"; NULL: POST
    // HTTP: owned, or NULL: the request sent once this one is answered 2xx, on the same
    // job (its url, body and method only: headers, http, timeout and rate are this one's).
    // The delivery succeeds when the last one does; a failure is retried from the first
    // request, as Alertmanager's Opsgenie notifier sends all of its requests again.
    struct notifyd_req *then;
};

// Append "name: value" (copied), or replace the value of the header already named name
// (case-insensitive); -1 when the request already has NOTIFYD_REQ_MAX_HEADERS.
int notifyd_req_header(struct notifyd_req *r, const char *name, const char *value);
// Move src's contents into dst (dst's old contents freed); src is left empty.
void notifyd_req_move(struct notifyd_req *dst, struct notifyd_req *src);
void notifyd_req_clear(struct notifyd_req *r);

#endif
