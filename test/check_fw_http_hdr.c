/*  check_fw_http_hdr.c — response header lines as libcurl hands them over (with CRLF, not
    NUL-terminated): status lines of HTTP/1.0, 1.1 and 2, lines that are not one, a header's
    value trimmed, a name matched case-insensitively and only with its colon, a value cut to
    the buffer, and no read past the given length.
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_http_hdr.h"

// line as a buffer of exactly its length (no NUL after it), so a read past it is caught
// by ASan.
static int
s_status(const char *line)
{
    size_t n = strlen(line);
    char *p = malloc(n ? n : 1);
    memcpy(p, line, n);
    int rc = fw_http_hdr_status(p, n);
    free(p);
    return rc;
}

static bool
s_value(const char *line, const char *name, char *out, size_t cap)
{
    size_t n = strlen(line);
    char *p = malloc(n ? n : 1);
    memcpy(p, line, n);
    bool rc = fw_http_hdr_value(p, n, name, out, cap);
    free(p);
    return rc;
}

START_TEST(test_fw_http_hdr_status)
{
    ck_assert_int_eq(s_status("HTTP/1.1 200 OK\r\n"), 200);
    ck_assert_int_eq(s_status("HTTP/1.0 503 Service Unavailable\r\n"), 503);
    ck_assert_int_eq(s_status("HTTP/2 404\r\n"), 404);
    ck_assert_int_eq(s_status("http/1.1 100 Continue\r\n"), 100);
    ck_assert_int_eq(s_status("HTTP/1.1 204"), 204); // the buffer ends with the code
    ck_assert_int_eq(s_status("HTTP/1.1 20"), -1);
    ck_assert_int_eq(s_status("HTTP/1.1 2000 x\r\n"), -1);
    ck_assert_int_eq(s_status("HTTP/1.1 099 x\r\n"), -1);
    ck_assert_int_eq(s_status("HTTP/1.1 abc\r\n"), -1);
    ck_assert_int_eq(s_status("HTTP/1.1\r\n"), -1);
    ck_assert_int_eq(s_status("HTTP/"), -1);
    ck_assert_int_eq(s_status("Content-Type: HTTP/1.1 200\r\n"), -1);
    ck_assert_int_eq(s_status("\r\n"), -1);
    ck_assert_int_eq(s_status(""), -1);
}
END_TEST

START_TEST(test_fw_http_hdr_value)
{
    char v[32] = "untouched";
    ck_assert(!s_value("HTTP/1.1 200 OK\r\n", "Content-Type", v, sizeof(v)));
    ck_assert(!s_value("Content-Typo: x\r\n", "Content-Type", v, sizeof(v)));
    ck_assert(!s_value("Content-Type-X: x\r\n", "Content-Type", v, sizeof(v)));
    ck_assert(!s_value("Content-Type", "Content-Type", v, sizeof(v))); // no colon
    ck_assert_str_eq(v, "untouched");
    ck_assert(s_value("content-type: \t application/x-protobuf; a=b \t\r\n", "Content-Type", v,
                      sizeof(v)));
    ck_assert_str_eq(v, "application/x-protobuf; a=b");
    ck_assert(s_value("x-ms-error-code:BlobNotFound\r\n", "x-ms-error-code", v, sizeof(v)));
    ck_assert_str_eq(v, "BlobNotFound");
    ck_assert(s_value("Allow: GET, POST", "Allow", v, sizeof(v))); // no CRLF at the end
    ck_assert_str_eq(v, "GET, POST");
    ck_assert(s_value("Allow:\r\n", "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "");
    ck_assert(s_value("Allow:   \r\n", "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "");
    char small[6];
    ck_assert(s_value("Content-Type: application/json\r\n", "content-type", small, sizeof(small)));
    ck_assert_str_eq(small, "appli"); // cut to fit, terminated
}
END_TEST

Suite *
fw_http_hdr_suite(void)
{
    Suite *s = suite_create("fw_http_hdr");
    TCase *tc = tcase_create("lines");
    tcase_add_test(tc, test_fw_http_hdr_status);
    tcase_add_test(tc, test_fw_http_hdr_value);
    suite_add_tcase(s, tc);
    return s;
}
