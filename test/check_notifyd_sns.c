/*  check_notifyd_sns.c — the SNS Publish builder (notify/sns/sns.go through aws-sdk-go's
    Query protocol): the form (sorted keys, QueryEscape, attributes numbered in name order),
    the SigV4 headers (the expected signature computed independently with python3's hmac and
    hashlib at 2015-08-30T12:36:00Z, as AWS's published algorithm says), the truncation to
    1600 bytes for SMS with the "truncated" attribute, at a whole UTF-8 character, the FIFO
    ids (SHA-256 of the group key), and subject "" sending no Subject.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../notifyd/notifyd_sns.h"

#define S_T 1440938160 // 2015-08-30T12:36:00Z

static json_t *
s_payload(void)
{
    return json_loads(
        "{\"receiver\":\"s\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"plant\":\"P\"},"
        "\"commonAnnotations\":{},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"plant\":\"P\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{},"
        "\"generatorURL\":\"http://g/1\"}]}",
        0, NULL);
}

static json_t *
s_config(void)
{
    return json_pack(
        "{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "send_resolved", 1, "api_url",
        "https://sns.us-east-2.amazonaws.com/", "region", "us-east-2", "access_key", "AKIDEXAMPLE",
        "secret_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "topic_arn",
        "arn:aws:sns:us-east-2:123456789012:My-Topic", "message", "hello world", "subject", "Subj",
        "attributes", "severity", "Sev2", "b", "{{ .CommonLabels.plant }}");
}

static const char *
s_header(const struct notifyd_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->headers_len; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return NULL;
}

START_TEST(test_notifyd_sns_publish_signed)
{
    json_t *p = s_payload(), *cfg = s_config();
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://sns.us-east-2.amazonaws.com/");
    ck_assert_str_eq(
        r.body,
        "Action=Publish&Message=hello+world&MessageAttributes.entry.1.Name=b"
        "&MessageAttributes.entry.1.Value.DataType=String"
        "&MessageAttributes.entry.1.Value.StringValue=P"
        "&MessageAttributes.entry.2.Name=severity"
        "&MessageAttributes.entry.2.Value.DataType=String"
        "&MessageAttributes.entry.2.Value.StringValue=Sev2&Subject=Subj"
        "&TopicArn=arn%3Aaws%3Asns%3Aus-east-2%3A123456789012%3AMy-Topic&Version=2010-03-31");
    ck_assert_str_eq(s_header(&r, "Content-Type"),
                     "application/x-www-form-urlencoded; charset=utf-8");
    ck_assert_str_eq(s_header(&r, "Host"), "sns.us-east-2.amazonaws.com");
    ck_assert_str_eq(s_header(&r, "X-Amz-Date"), "20150830T123600Z");
    ck_assert_str_eq(s_header(&r, "Authorization"),
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-2/sns/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date, "
                     "Signature=a4e95531e24f0dcd746a91e7213a206710aa9717e8c4529264d0aeca68de37d6");
    ck_assert(!r.get);
    // A retry an hour later is signed again at its own time (a signature holds 15 minutes),
    // as a request built then would be.
    ck_assert(r.resign != NULL);
    ck_assert_int_eq(r.resign(&r, ((int64_t)S_T + 3600) * 1000 + 999), 0);
    struct notifyd_req later;
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T + 3600, &later, NULL), 0);
    ck_assert_str_eq(s_header(&r, "X-Amz-Date"), "20150830T133600Z");
    ck_assert_str_eq(s_header(&r, "Authorization"), s_header(&later, "Authorization"));
    ck_assert_str_ne(s_header(&r, "Authorization"),
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-2/sns/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date, "
                     "Signature=a4e95531e24f0dcd746a91e7213a206710aa9717e8c4529264d0aeca68de37d6");
    ck_assert_uint_eq(r.headers_len, later.headers_len); // replaced, not added
    notifyd_req_clear(&later);
    notifyd_req_clear(&r);
    // No path: the SDK posts to "/"; a port is part of Host.
    json_object_set_new(cfg, "api_url", json_string("http://127.0.0.1:4566"));
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T, &r, NULL), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:4566/");
    ck_assert_str_eq(s_header(&r, "Host"), "127.0.0.1:4566");
    notifyd_req_clear(&r);
    json_object_del(cfg, "secret_key");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T, &r, &err), -1);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_sns_sms_fifo_subject)
{
    json_t *p = s_payload(), *cfg = s_config();
    json_object_del(cfg, "topic_arn");
    json_object_del(cfg, "attributes");
    json_object_set_new(cfg, "phone_number", json_string("+15555550100"));
    json_object_set_new(cfg, "subject", json_string(""));
    // 1599 ASCII bytes then "é" (2 bytes): 1601 bytes, cut before the é to 1599.
    char msg[1602];
    memset(msg, 'x', 1599);
    memcpy(msg + 1599, "\xc3\xa9", 3);
    json_object_set_new(cfg, "message", json_string(msg));
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T, &r, NULL), 0);
    ck_assert_ptr_null(strstr(r.body, "Subject="));
    ck_assert_ptr_nonnull(strstr(r.body, "&MessageAttributes.entry.1.Name=truncated&"
                                         "MessageAttributes.entry.1.Value.DataType=String&"
                                         "MessageAttributes.entry.1.Value.StringValue=true&"
                                         "PhoneNumber=%2B15555550100&"));
    const char *m = strstr(r.body, "Message=") + 8;
    ck_assert_uint_eq(strcspn(m, "&"), 1599);
    notifyd_req_clear(&r);
    ck_assert_uint_eq(notifyd_sns_cut("ab\xc3\xa9", 3), 2);
    ck_assert_uint_eq(notifyd_sns_cut("ab\xc3\xa9", 4), 4);
    ck_assert_uint_eq(notifyd_sns_cut("abc", 2), 2);
    // FIFO topic: group and deduplication ids are the group key's SHA-256.
    json_object_del(cfg, "phone_number");
    json_object_set_new(cfg, "message", json_string("m"));
    json_object_set_new(cfg, "topic_arn", json_string("arn:aws:sns:us-east-2:1:t.fifo"));
    ck_assert_int_eq(notifyd_sns_build_at(cfg, p, S_T, &r, NULL), 0);
    ck_assert_ptr_nonnull(strstr(
        r.body, "MessageDeduplicationId="
                "922a26c87417116d619060e23ba95b941ec293cb7f4d6a552cd5356605e531b7&MessageGroupId="
                "922a26c87417116d619060e23ba95b941ec293cb7f4d6a552cd5356605e531b7&"));
    ck_assert_ptr_null(strstr(r.body, "truncated"));
    ck_assert_ptr_nonnull(strstr(r.body, "&MessageAttributes=&")); // no attributes: empty map
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

Suite *
notifyd_sns_suite(void)
{
    Suite *s = suite_create("notifyd_sns");
    TCase *tc = tcase_create("sns");
    tcase_add_test(tc, test_notifyd_sns_publish_signed);
    tcase_add_test(tc, test_notifyd_sns_sms_fifo_subject);
    suite_add_tcase(s, tc);
    return s;
}
