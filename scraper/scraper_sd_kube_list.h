/*  scraper_sd_kube_list.h — one paginated Kubernetes LIST, as client-go's ListPager.

    A list is asked for in chunks (API Concepts, "Retrieving large results sets in
    chunks"): the first request carries limit=500, each answer holds up to that many items
    and, while more remain, metadata.continue, a token the next request passes back with the
    same limit. The items of every page are gathered here and handed over only when the last
    page (no continue token) came, with that page's resourceVersion, the version a watch
    then starts from. A continue token the server no longer honours (410 Gone, reason
    Expired, once etcd compacted past the list's version) makes the list start over as one
    full request without limit, which cannot expire (client-go's FullListIfExpired). Every
    other failure (another HTTP status, 410 on a first or unpaged request, a body that is
    not a Kubernetes list, a token repeated, more than SCRAPER_SD_KUBE_MAX_PAGES pages) ends
    the list; the caller starts a new one after its backoff. No I/O here: the caller makes
    the requests, so the state machine is tested on its own.
*/
#ifndef SCRAPER_SD_KUBE_LIST_H
#define SCRAPER_SD_KUBE_LIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"

#define SCRAPER_SD_KUBE_PAGE 500          // client-go's ListPager page size
#define SCRAPER_SD_KUBE_MAX_PAGES 100000u // 50 million objects at 500 a page

typedef enum {
    SCRAPER_KUBE_LIST_NEXT, // ask for the next page (scraper_sd_kube_list_query)
    SCRAPER_KUBE_LIST_DONE, // complete: items and rv hold the whole list
    SCRAPER_KUBE_LIST_FAIL, // failed (err says why); begin again after a backoff
} scraper_kube_list_step_t;

struct scraper_sd_kube_list {
    json_t *items;  // owned: the objects of the pages so far, in order (an array)
    char *cont;     // owned: the continue token of the next page; NULL: the first page
    char *rv;       // owned: the resourceVersion of the last page; NULL before one came
    bool unpaged;   // a continue token expired: the next request is one full list
    size_t pages;   // pages received in this attempt
    size_t expired; // continue tokens that expired since begin (for logs and tests)
};

// Start a list afresh (l zeroed by the caller or cleared before): first page, no items.
void scraper_sd_kube_list_begin(struct scraper_sd_kube_list *l);
// Free what l holds; l can then begin again.
void scraper_sd_kube_list_clear(struct scraper_sd_kube_list *l);
// The query parameters of the next request, for after "?" or "&": "limit=500",
// "limit=500&continue=<escaped token>", or "" for an unpaged list. A new string (free it).
char *scraper_sd_kube_list_query(const struct scraper_sd_kube_list *l);
// Feed the answer to the request scraper_sd_kube_list_query described: its HTTP status and
// body (len bytes, need not be NUL-terminated). NEXT: request again; DONE: l->items and
// l->rv are the list (take them, or clear l); FAIL: err holds the reason.
scraper_kube_list_step_t scraper_sd_kube_list_page(struct scraper_sd_kube_list *l, long status,
                                                   const char *body, size_t len, fw_err_t *err);

#endif
