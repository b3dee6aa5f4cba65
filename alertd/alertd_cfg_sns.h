/*  alertd_cfg_sns.h — alertmanager.yml's sns_configs (Amazon SNS Publish): the field table
    after Alertmanager 0.25's config/notifiers.go SNSConfig and prometheus/common's
    SigV4Config, the checks of their UnmarshalYAML, and the JSON for NOTIFY (docs/wire.md)
    that notifyd_sns turns into a signed Publish request.

    Credentials: sigv4.access_key and secret_key (both or neither, as SigV4Config.Validate
    says). Without them Alertmanager asks the AWS SDK's default chain (environment, shared
    files, instance role); floorwatch does not, nor does it read profiles (sigv4.profile) or
    assume roles (sigv4.role_arn, STS): all three are refused at load "not supported", as is
    a missing sigv4.region (Alertmanager would read AWS_REGION or ~/.aws/config).
    Exactly one of topic_arn, phone_number and target_arn (none: Alertmanager's error,
    reported by alertd_cfgcheck; two or three: refused, SNS refuses such a Publish).
    api_url defaults to https://sns.REGION.amazonaws.com/ (the SDK's endpoint; .com.cn for
    cn- regions). http_config's own credentials are refused (SigV4 signs each request),
    global's are left out.
*/
#ifndef ALERTD_CFG_SNS_H
#define ALERTD_CFG_SNS_H

#include <jansson.h>
#include <stdbool.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"
#include "fw_labels.h"

struct alertd_cfg_receiver;

struct alertd_cfg_sns_sigv4 {
    struct fw_cfg_pos pos;
    char *region, *access_key, *secret_key; // owned; secret_key is a secret
};

struct alertd_cfg_sns {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default true
    char *api_url;                // owned
    struct alertd_cfg_sns_sigv4 sigv4;
    char *topic_arn, *phone_number, *target_arn; // owned (templates)
    char *subject, *message;                     // owned (templates; NULL: the defaults)
    struct fw_labels attributes;                 // owned (names and values templates)
    struct alertd_cfg_http http;                 // http_config (alertd_cfg_http.h)
    char *url;                                   // owned, derived: api_url or the default
    json_t *http_json;                           // owned, derived: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members sns, sns_len).
extern const struct fw_cfg_field alertd_cfg_sns_fields[];

// Check r's sns_configs; errors into errs with file:line:col. global_http is
// global.http_config's NOTIFY object (may be NULL).
void alertd_cfg_sns_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                          struct fw_cfg_errors *errs);
// Free what alertd_cfg_sns_check derived.
void alertd_cfg_sns_clear(struct alertd_cfg_receiver *r);
// Add r's sns_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_sns_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
