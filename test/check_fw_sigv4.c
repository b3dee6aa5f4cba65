/*  check_fw_sigv4.c — AWS Signature Version 4 against AWS's signature test suite
    (aws-sig-v4-test-suite: credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
    region us-east-1, service "service", 2015-08-30T12:36:00Z): the published Authorization
    values of get-vanilla, post-vanilla, post-vanilla-query, get-vanilla-query-order-key-case,
    get-header-key-duplicate and post-x-www-form-urlencoded (and that case's published
    canonical request).
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_sigv4.h"

static const struct fw_sigv4_key s_key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                          "us-east-1", "service"};
#define S_PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

static void
s_sign(const char *method, const char *url, const char *const *h, size_t n, const char *body,
       const char *want)
{
    char *got = fw_sigv4_authorization(&s_key, method, url, h, n, body, body ? strlen(body) : 0,
                                       "20150830T123600Z", NULL);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_fw_sigv4_suite)
{
    const char *const base[] = {"Host: example.amazonaws.com", "X-Amz-Date: 20150830T123600Z"};
    s_sign("GET", "https://example.amazonaws.com/", base, 2, NULL,
           S_PREFIX "SignedHeaders=host;x-amz-date, "
                    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    s_sign("POST", "https://example.amazonaws.com/", base, 2, "",
           S_PREFIX "SignedHeaders=host;x-amz-date, "
                    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    s_sign("POST", "https://example.amazonaws.com/?Param1=value1", base, 2, NULL,
           S_PREFIX "SignedHeaders=host;x-amz-date, "
                    "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
    s_sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", base, 2, NULL,
           S_PREFIX "SignedHeaders=host;x-amz-date, "
                    "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    // Three My-Header1 lines: values joined by ',' in their order.
    const char *const dup[] = {"Host: example.amazonaws.com", "My-Header1: value2",
                               "My-Header1: value2", "My-Header1: value1",
                               "X-Amz-Date: 20150830T123600Z"};
    s_sign("GET", "https://example.amazonaws.com/", dup, 5, NULL,
           S_PREFIX "SignedHeaders=host;my-header1;x-amz-date, "
                    "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
    const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
                                "Host: example.amazonaws.com", "X-Amz-Date: 20150830T123600Z"};
    s_sign("POST", "https://example.amazonaws.com/", form, 3, "Param1=value1",
           S_PREFIX "SignedHeaders=content-type;host;x-amz-date, "
                    "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
    char *c = fw_sigv4_canonical("POST", "https://example.amazonaws.com/", form, 3, "Param1=value1",
                                 13, NULL);
    ck_assert_str_eq(c, "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
                        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "content-type;host;x-amz-date\n"
                        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    free(c);
}
END_TEST

START_TEST(test_fw_sigv4_edges)
{
    char d[17];
    fw_sigv4_amz_date(1440938160, d); // 2015-08-30T12:36:00Z
    ck_assert_str_eq(d, "20150830T123600Z");
    // Blanks trimmed and collapsed; a path and query encoded as SigV4 wants.
    const char *const h[] = {"Host:   example.amazonaws.com  ", "X-A:  a   b  c "};
    char *c = fw_sigv4_canonical("GET", "http://example.amazonaws.com/a b/%C3%A9?b=2&a=x+y&a=%2F",
                                 h, 2, NULL, 0, NULL);
    ck_assert_str_eq(c, "GET\n/a%20b/%C3%A9\na=%2F&a=x%20y&b=2\nhost:example.amazonaws.com\n"
                        "x-a:a b c\n\nhost;x-a\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(c);
    fw_err_t err;
    fw_err_clear(&err);
    const char *const bad[] = {"no colon"};
    ck_assert_ptr_null(fw_sigv4_canonical("GET", "http://x/", bad, 1, NULL, 0, &err));
    ck_assert_ptr_null(fw_sigv4_canonical("GET", "not a url", h, 2, NULL, 0, &err));
    ck_assert_ptr_null(
        fw_sigv4_authorization(&s_key, "GET", "http://x/", h, 2, NULL, 0, "2015", &err));
}
END_TEST

Suite *
fw_sigv4_suite(void)
{
    Suite *s = suite_create("fw_sigv4");
    TCase *tc = tcase_create("sigv4");
    tcase_add_test(tc, test_fw_sigv4_suite);
    tcase_add_test(tc, test_fw_sigv4_edges);
    suite_add_tcase(s, tc);
    return s;
}
