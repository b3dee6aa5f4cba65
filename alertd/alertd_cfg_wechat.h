/*  alertd_cfg_wechat.h — alertmanager.yml's wechat_configs (WeChat Work's application
    messages): the field table after Alertmanager's config/notifiers.go WechatConfig, the
    load-time checks of its UnmarshalYAML and of config.go (api_url, api_secret and corp_id
    inherited from global.wechat_api_url / wechat_api_secret(_file) / wechat_api_corp_id;
    message_type text or markdown) and its JSON for NOTIFY (docs/wire.md), which
    notifyd_wechat turns into requests.

    api_secret_file (Alertmanager 0.28's key; 0.25 has only api_secret) is read by notifyd
    when it fetches an access token, as Alertmanager reads it: a file missing at load is no
    error, and a rotated secret is used from the next token on. api_url always ends in "/"
    (Alertmanager 0.27 and later add it; 0.25 would glue "gettoken" to the last segment).
    Texts follow alertd_cfg_receivers.h (default expression = absent; other templates
    parsed and rendered by notifyd).
*/
#ifndef ALERTD_CFG_WECHAT_H
#define ALERTD_CFG_WECHAT_H

#include <jansson.h>
#include <stdbool.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_wechat {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;       // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                 // default false
    char *api_secret, *api_secret_file; // owned
    char *corp_id, *api_url;            // owned
    char *message, *message_type;       // owned
    char *to_user, *to_party, *to_tag;  // owned
    char *agent_id;                     // owned
    struct alertd_cfg_http http;        // http_config (alertd_cfg_http.h)
    char *url;                          // owned, derived: api_url or global's, ending "/"
    char *secret, *secret_file;         // owned, derived: inline, else the file's name
    char *corp;                         // owned, derived: corp_id or global's
    json_t *http_json;                  // owned, derived: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members wechat, wechat_len).
extern const struct fw_cfg_field alertd_cfg_wechat_fields[];

// Check r's wechat_configs against g (global's WeChat keys and http_config); errors into
// errs with file:line:col. The missing-secret error is alertd_cfgcheck's.
void alertd_cfg_wechat_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                             const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_wechat_check derived.
void alertd_cfg_wechat_clear(struct alertd_cfg_receiver *r);
// Add r's wechat_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_wechat_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
