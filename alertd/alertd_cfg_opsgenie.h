/*  alertd_cfg_opsgenie.h — alertmanager.yml's opsgenie_configs: the field table after
    Alertmanager 0.25's config/notifiers.go OpsGenieConfig, the load-time checks of its
    UnmarshalYAML and of config.go's global resolution (api_url, else global.opsgenie_api_url,
    default https://api.opsgenie.com/, a "/" appended to its path; api_key / api_key_file,
    else the global pair), and the JSON NOTIFY carries (docs/wire.md), built by
    notifyd_opsgenie.

    api_key_file is not read here: as Alertmanager, notifyd reads it at each notification, so
    a file that is not there yet at load is fine and a rotated key is used at once. Texts
    follow alertd_cfg_receivers.h (absent or the default expression: notifyd renders
    default.tmpl's; any other template is parsed at load). api_key as a template and
    credentials in the integration's own http_config (the key is the Authorization header) are
    refused "not supported".
*/
#ifndef ALERTD_CFG_OPSGENIE_H
#define ALERTD_CFG_OPSGENIE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"
#include "fw_labels.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

#define ALERTD_CFG_OPSGENIE_URL "https://api.opsgenie.com/"

struct alertd_cfg_og_responder {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;      // where each text value sits (FW_CFG_VALUE_POS)
    char *id, *name, *username, *type; // owned texts; type sent as written
};

struct alertd_cfg_opsgenie {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;                  // where each text value sits
    bool send_resolved;                            // default true
    char *api_key, *api_key_file, *api_url;        // owned
    char *message, *description, *source, *entity; // owned texts
    struct fw_labels details;                      // owned: name -> text
    struct alertd_cfg_og_responder *responders;    // owned
    size_t responders_len;
    char *actions, *tags, *note, *priority; // owned texts (actions, tags: comma-separated)
    bool update_alerts;
    char *key;      // owned, derived at load: api_key, else global.opsgenie_api_key
    char *key_file; // owned, derived at load: else api_key_file or the global one
    char *url;      // owned, derived at load: the effective API URL, path ending in "/"
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    json_t *http_json;           // owned, derived at load: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members opsgenie, opsgenie_len).
extern const struct fw_cfg_field alertd_cfg_opsgenie_fields[];

// Check r's opsgenie configs with g's opsgenie_* keys and http_config; errors into errs with
// file:line:col.
void alertd_cfg_opsgenie_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                               const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_opsgenie_check derived.
void alertd_cfg_opsgenie_clear(struct alertd_cfg_receiver *r);
// Add r's opsgenie_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_opsgenie_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
