/*  notifyd_sns.h — Amazon SNS Publish, as Alertmanager 0.25's notify/sns/sns.go has the AWS
    SDK send it: POST {api_url} with Content-Type application/x-www-form-urlencoded;
    charset=utf-8 and the Query API form (keys sorted, as url.Values.Encode writes them):
    Action=Publish (to api_url with "/" appended unless it ends in one, as the SDK does),
    Message, MessageAttributes.entry.N.{Name, Value.DataType=String,
    Value.StringValue} (attributes sorted by name, names and values rendered; none: an empty
    MessageAttributes= as the SDK writes an empty map), Subject (the
    default sns.default.subject unless the config set it to ""), one of TopicArn, PhoneNumber,
    TargetArn, Version=2010-03-31; for a topic ARN ending ".fifo" MessageGroupId and
    MessageDeduplicationId are the SHA-256 (hex) of the group key. The message is cut to 256
    KiB (1600 bytes with phone_number) and then carries the attribute truncated=true;
    Alertmanager cuts at the byte, which may split a character that SNS then refuses:
    floorwatch cuts at the last whole UTF-8 character within the limit.

    Signed with AWS Signature Version 4 (common/fw_sigv4, service "sns", the config's region
    and static keys) over Content-Type, Host and X-Amz-Date, when the request is built (a
    signature is good for 15 minutes; retries with notifyd's default backoff stay inside).
    A 2xx answer (PublishResponse) is delivered; a 5xx is retried and any other answer
    (ErrorResponse: a bad signature, an unknown topic) fails, as Alertmanager's Retrier decides.
*/
#ifndef NOTIFYD_SNS_H
#define NOTIFYD_SNS_H

#include <jansson.h>
#include <stddef.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_SNS_MAX_MESSAGE (256 * 1024) // bytes, Alertmanager's limit
#define NOTIFYD_SNS_MAX_SMS 1600             // bytes, with phone_number

// Build the signed request for data (a payload as notifyd_tmpl_data returns it) from
// config (one element of NOTIFY's sns_configs) at t (seconds since the epoch). 0, or -1
// with err.
int notifyd_sns_build_at(const json_t *config, const json_t *data, int64_t t,
                         struct notifyd_req *out, fw_err_t *err);
// notifyd_sns_build_at at the current time (s_integrations' builder).
int notifyd_sns_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                      fw_err_t *err);

// The length of s's first max bytes cut back to a whole UTF-8 character.
size_t notifyd_sns_cut(const char *s, size_t max);

#endif
