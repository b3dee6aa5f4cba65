/*  alertd_cfg_victorops.h — alertmanager.yml's victorops_configs (Alertmanager 0.25's
    config/notifiers.go VictorOpsConfig): the field table, the load-time checks and the
    JSON NOTIFY carries for notifyd_victorops.

    The API key is api_key inline, or api_key_file, or (neither given) global.victorops_api_key
    or global.victorops_api_key_file, as Alertmanager resolves it. A key file is read by
    notifyd at each notification, as Alertmanager reads it: a file missing at load is not an
    error (Alertmanager's own fixtures load such configs), and a rewritten key is used at
    once. The URL is api_url, else global.victorops_api_url, else VictorOps' REST endpoint.
    routing_key is required and may be a template; custom_fields may not use the names the
    payload sets itself (Alertmanager's reserved list).
*/
#ifndef ALERTD_CFG_VICTOROPS_H
#define ALERTD_CFG_VICTOROPS_H

#include <jansson.h>
#include <stdbool.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "alertd_cfg_http.h"

#define ALERTD_CFG_VICTOROPS_URL "https://alert.victorops.com/integrations/generic/20131114/alert/"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_victorops {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;              // where each text value sits
    bool send_resolved;                        // default true
    char *api_key, *api_key_file, *api_url;    // owned, as written
    char *routing_key, *message_type;          // owned; message_type NULL: CRITICAL
    char *state_message, *entity_display_name; // owned; NULL: the default template
    char *monitoring_tool;                     // owned; NULL: the default template
    struct fw_labels custom_fields;            // owned: extra payload keys (templates)
    char *key;                                 // owned, derived: the inline API key
    char *key_file;                            // owned, derived: else the key's file
    char *url;                                 // owned, derived: the API URL
    struct alertd_cfg_http http;               // http_config (alertd_cfg_http.h)
    json_t *http_json;                         // owned, derived: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members victorops, victorops_len).
extern const struct fw_cfg_field alertd_cfg_victorops_fields[];

// Check r's victorops_configs against g (global victorops_api_key(_file), victorops_api_url,
// http_config) and derive key, key_file, url and http_json; errors into errs at file:line:col.
// A config with no key anywhere is alertd_cfgcheck's to report (Alertmanager's words).
void alertd_cfg_victorops_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                                const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_victorops_check derived.
void alertd_cfg_victorops_clear(struct alertd_cfg_receiver *r);
// Add r's victorops_configs array (when it has any) to a NOTIFY body (docs/wire.md).
void alertd_cfg_victorops_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
