/*  scraper_sd_kube_list.c — one paginated Kubernetes LIST (see the header).

    Design: a small state machine over (cont, unpaged): first page -> pages with a continue
    token -> done; an expired token switches to one unpaged request. Items are moved page
    by page into one jansson array, so memory is that of the list itself.
*/
#include "scraper_sd_kube_list.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

void
scraper_sd_kube_list_begin(struct scraper_sd_kube_list *l)
{
    scraper_sd_kube_list_clear(l);
    l->items = json_array();
}

void
scraper_sd_kube_list_clear(struct scraper_sd_kube_list *l)
{
    json_decref(l->items);
    free(l->cont);
    free(l->rv);
    memset(l, 0, sizeof(*l));
}

char *
scraper_sd_kube_list_query(const struct scraper_sd_kube_list *l)
{
    if (l->unpaged)
        return fw_strdup("");
    if (!l->cont)
        return fw_asprintf("limit=%d", SCRAPER_SD_KUBE_PAGE);
    char *esc = curl_easy_escape(NULL, l->cont, 0);
    char *q = fw_asprintf("limit=%d&continue=%s", SCRAPER_SD_KUBE_PAGE, esc ? esc : "");
    curl_free(esc);
    return q;
}

// The message of a Status body, else its first bytes, for an error message.
static void
s_status_msg(const char *body, size_t len, char *out, size_t size)
{
    json_t *st = json_loadb(body ? body : "", len, 0, NULL);
    const char *msg = json_string_value(json_object_get(st, "message"));
    if (msg)
        snprintf(out, size, "%s", msg);
    else
        snprintf(out, size, "%.*s", (int)(len < 150 ? len : 150), body ? body : "");
    json_decref(st);
}

scraper_kube_list_step_t
scraper_sd_kube_list_page(struct scraper_sd_kube_list *l, long status, const char *body, size_t len,
                          fw_err_t *err)
{
    char msg[200];
    if (status == 410 && l->cont && !l->unpaged) {
        // The token expired while we paged: one full list at the current version instead.
        json_array_clear(l->items);
        free(l->cont);
        l->cont = NULL;
        l->unpaged = true;
        l->pages = 0;
        l->expired++;
        return SCRAPER_KUBE_LIST_NEXT;
    }
    if (status != 200) {
        s_status_msg(body, len, msg, sizeof(msg));
        fw_err_set(err, "HTTP %ld: %s", status, msg);
        return SCRAPER_KUBE_LIST_FAIL;
    }
    json_error_t je;
    json_t *page = json_loadb(body ? body : "", len, 0, &je);
    json_t *items = json_object_get(page, "items");
    json_t *md = json_object_get(page, "metadata");
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    const char *cont = json_string_value(json_object_get(md, "continue"));
    if (!page || !(json_is_array(items) || json_is_null(items)) || !rv) {
        fw_err_set(err, "list response is not a Kubernetes list: %s",
                   !page ? je.text
                   : !rv ? "no metadata.resourceVersion"
                         : "no items");
        json_decref(page);
        return SCRAPER_KUBE_LIST_FAIL;
    }
    if (cont && *cont && l->cont && strcmp(cont, l->cont) == 0) {
        fw_err_set(err, "list continue token repeated");
        json_decref(page);
        return SCRAPER_KUBE_LIST_FAIL;
    }
    if (++l->pages > SCRAPER_SD_KUBE_MAX_PAGES) {
        fw_err_set(err, "list longer than %u pages", SCRAPER_SD_KUBE_MAX_PAGES);
        json_decref(page);
        return SCRAPER_KUBE_LIST_FAIL;
    }
    if (json_is_array(items))
        json_array_extend(l->items, items);
    free(l->rv);
    l->rv = fw_strdup(rv);
    free(l->cont);
    l->cont = cont && *cont ? fw_strdup(cont) : NULL;
    json_decref(page);
    return l->cont ? SCRAPER_KUBE_LIST_NEXT : SCRAPER_KUBE_LIST_DONE;
}
