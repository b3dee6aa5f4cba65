/*  check_scraper_sd_kube_list.c — the paginated Kubernetes LIST state machine: limit and
    continue tokens as client-go's ListPager, an expired token (410 Gone) falling back to one
    unpaged list, and every other answer that must end the list with a reason.
*/
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "../scraper/scraper_sd_kube_list.h"

Suite *scraper_sd_kube_list_suite(void);

// A PodList page with names[] as its items, resourceVersion rv and continue token cont.
static char *
s_page(const char *rv, const char *cont, const char *const *names)
{
    json_t *items = json_array();
    for (size_t i = 0; names && names[i]; i++)
        json_array_append_new(items, json_pack("{s:{s:s,s:s}}", "metadata", "name", names[i],
                                               "namespace", "default"));
    json_t *md = json_pack("{s:s}", "resourceVersion", rv);
    if (cont)
        json_object_set_new(md, "continue", json_string(cont));
    json_t *page = json_pack("{s:s,s:s,s:o,s:o}", "kind", "PodList", "apiVersion", "v1", "metadata",
                             md, "items", items);
    char *text = json_dumps(page, JSON_COMPACT);
    json_decref(page);
    return text;
}

static scraper_kube_list_step_t
s_feed(struct scraper_sd_kube_list *l, long status, const char *rv, const char *cont,
       const char *const *names, fw_err_t *err)
{
    char *body = s_page(rv, cont, names);
    scraper_kube_list_step_t st = scraper_sd_kube_list_page(l, status, body, strlen(body), err);
    free(body);
    return st;
}

static void
s_query_is(const struct scraper_sd_kube_list *l, const char *want)
{
    char *q = scraper_sd_kube_list_query(l);
    ck_assert_str_eq(q, want);
    free(q);
}

static const char *
s_item_name(const struct scraper_sd_kube_list *l, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(l->items, i), "metadata"), "name"));
}

START_TEST(test_scraper_sd_kube_list_pages)
{
    struct scraper_sd_kube_list l = {0};
    fw_err_t err = {0};
    scraper_sd_kube_list_begin(&l);
    s_query_is(&l, "limit=500");
    const char *p1[] = {"a", "b", NULL}, *p2[] = {"c", "d", NULL}, *p3[] = {"e", NULL};
    ck_assert_int_eq(s_feed(&l, 200, "7", "tok+1/=", p1, &err), SCRAPER_KUBE_LIST_NEXT);
    s_query_is(&l, "limit=500&continue=tok%2B1%2F%3D"); // the token escaped
    ck_assert_int_eq(s_feed(&l, 200, "7", "tok2", p2, &err), SCRAPER_KUBE_LIST_NEXT);
    s_query_is(&l, "limit=500&continue=tok2");
    ck_assert_int_eq(s_feed(&l, 200, "7", NULL, p3, &err), SCRAPER_KUBE_LIST_DONE);
    ck_assert_uint_eq(json_array_size(l.items), 5);
    ck_assert_str_eq(s_item_name(&l, 0), "a");
    ck_assert_str_eq(s_item_name(&l, 4), "e");
    ck_assert_str_eq(l.rv, "7");
    ck_assert_uint_eq(l.pages, 3);
    ck_assert_uint_eq(l.expired, 0);
    // An empty continue token ends the list too, and `items: null` is an empty page.
    scraper_sd_kube_list_begin(&l);
    const char *body =
        "{\"metadata\":{\"resourceVersion\":\"9\",\"continue\":\"\"},\"items\":null}";
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 200, body, strlen(body), &err),
                     SCRAPER_KUBE_LIST_DONE);
    ck_assert_uint_eq(json_array_size(l.items), 0);
    ck_assert_str_eq(l.rv, "9");
    scraper_sd_kube_list_clear(&l);
    scraper_sd_kube_list_clear(&l); // twice is fine
}
END_TEST

START_TEST(test_scraper_sd_kube_list_expired_continue)
{
    struct scraper_sd_kube_list l = {0};
    fw_err_t err = {0};
    scraper_sd_kube_list_begin(&l);
    const char *p1[] = {"a", "b", NULL}, *all[] = {"a", "b", "c", NULL};
    ck_assert_int_eq(s_feed(&l, 200, "7", "tok1", p1, &err), SCRAPER_KUBE_LIST_NEXT);
    const char *gone = "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
                       "\"message\":\"The provided continue parameter is too old\"}";
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 410, gone, strlen(gone), &err),
                     SCRAPER_KUBE_LIST_NEXT);
    // One full list without limit: the first page's items are dropped, not kept twice.
    s_query_is(&l, "");
    ck_assert(l.unpaged);
    ck_assert_uint_eq(json_array_size(l.items), 0);
    ck_assert_uint_eq(l.expired, 1);
    ck_assert_int_eq(s_feed(&l, 200, "12", NULL, all, &err), SCRAPER_KUBE_LIST_DONE);
    ck_assert_uint_eq(json_array_size(l.items), 3);
    ck_assert_str_eq(l.rv, "12");
    // 410 on the unpaged list itself ends it (no loop).
    scraper_sd_kube_list_begin(&l);
    ck_assert_int_eq(s_feed(&l, 200, "7", "tok1", p1, &err), SCRAPER_KUBE_LIST_NEXT);
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 410, gone, strlen(gone), &err),
                     SCRAPER_KUBE_LIST_NEXT);
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 410, gone, strlen(gone), &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_str_eq(err.msg, "HTTP 410: The provided continue parameter is too old");
    // 410 on a first page is a failure too: nothing to fall back from.
    scraper_sd_kube_list_begin(&l);
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 410, gone, strlen(gone), &err),
                     SCRAPER_KUBE_LIST_FAIL);
    scraper_sd_kube_list_clear(&l);
}
END_TEST

START_TEST(test_scraper_sd_kube_list_errors)
{
    struct scraper_sd_kube_list l = {0};
    fw_err_t err = {0};
    const char *p1[] = {"a", NULL};
    scraper_sd_kube_list_begin(&l);
    const char *forbidden = "{\"kind\":\"Status\",\"code\":403,\"message\":\"pods is forbidden\"}";
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 403, forbidden, strlen(forbidden), &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_str_eq(err.msg, "HTTP 403: pods is forbidden");
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 502, "bad gateway", 11, &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_str_eq(err.msg, "HTTP 502: bad gateway");
    scraper_sd_kube_list_begin(&l);
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 200, "{\"items\":[", 10, &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a Kubernetes list"));
    const char *norv = "{\"metadata\":{},\"items\":[]}";
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 200, norv, strlen(norv), &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "no metadata.resourceVersion"));
    const char *noitems = "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":{}}";
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 200, noitems, strlen(noitems), &err),
                     SCRAPER_KUBE_LIST_FAIL);
    ck_assert_int_eq(scraper_sd_kube_list_page(&l, 200, NULL, 0, &err), SCRAPER_KUBE_LIST_FAIL);
    // A server that hands the same token back would page forever: refused.
    scraper_sd_kube_list_begin(&l);
    ck_assert_int_eq(s_feed(&l, 200, "7", "same", p1, &err), SCRAPER_KUBE_LIST_NEXT);
    ck_assert_int_eq(s_feed(&l, 200, "7", "same", p1, &err), SCRAPER_KUBE_LIST_FAIL);
    ck_assert_str_eq(err.msg, "list continue token repeated");
    // And one with ever new tokens stops at the page bound.
    scraper_sd_kube_list_begin(&l);
    l.pages = SCRAPER_SD_KUBE_MAX_PAGES;
    ck_assert_int_eq(s_feed(&l, 200, "7", "t", p1, &err), SCRAPER_KUBE_LIST_FAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "pages"));
    scraper_sd_kube_list_clear(&l);
}
END_TEST

Suite *
scraper_sd_kube_list_suite(void)
{
    Suite *s = suite_create("scraper_sd_kube_list");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scraper_sd_kube_list_pages);
    tcase_add_test(tc, test_scraper_sd_kube_list_expired_continue);
    tcase_add_test(tc, test_scraper_sd_kube_list_errors);
    suite_add_tcase(s, tc);
    return s;
}
