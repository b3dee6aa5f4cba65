/*  alertd_cfg_telegram.h — alertmanager.yml's telegram_configs (Alertmanager 0.25's
    config/notifiers.go TelegramConfig): the field table, the load-time checks and the JSON
    NOTIFY carries for notifyd_telegram.

    The bot token is bot_token inline, or bot_token_file, or (neither given)
    global.telegram_bot_token or global.telegram_bot_token_file. Alertmanager 0.25 has only
    bot_token (required on every config); the file and the global keys are from later
    Alertmanagers (0.26 and 0.28), implemented here because AM's conformance fixtures expect
    them to load. A token file is read by notifyd at each notification, as those
    Alertmanagers read it, so a file missing at load is not an error. chat_id_file (instead
    of chat_id, read at each notification too) and message_thread_id (a forum topic) are from
    later Alertmanagers (0.28+) as well.
*/
#ifndef ALERTD_CFG_TELEGRAM_H
#define ALERTD_CFG_TELEGRAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "alertd_cfg_http.h"

#define ALERTD_CFG_TELEGRAM_URL "https://api.telegram.org"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_telegram {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;               // where each text value sits
    bool send_resolved;                         // default true
    bool disable_notifications;                 // default false
    char *api_url, *bot_token, *bot_token_file; // owned, as written
    char *chat_id;                              // owned: an int64, as written
    char *chat_id_file;                         // owned: read by notifyd at each notification
    int64_t message_thread_id;                  // 0: none (the chat's main thread)
    char *message;                              // owned; NULL: telegram.default.message
    char *parse_mode;                           // owned; NULL: HTML
    char *token, *token_file, *url;             // owned, derived at load
    struct alertd_cfg_http http;                // http_config (alertd_cfg_http.h)
    json_t *http_json;                          // owned, derived: effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members telegram, telegram_len).
extern const struct fw_cfg_field alertd_cfg_telegram_fields[];

// Check r's telegram_configs against g (global telegram_bot_token(_file), telegram_api_url,
// http_config), derive token, token_file, url and http_json; errors into errs at
// file:line:col. A config with no token anywhere is alertd_cfgcheck's to report.
void alertd_cfg_telegram_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                               const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_telegram_check derived.
void alertd_cfg_telegram_clear(struct alertd_cfg_receiver *r);
// Add r's telegram_configs array (when it has any) to a NOTIFY body (docs/wire.md).
void alertd_cfg_telegram_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
