/*  notifyd_discord.c — see notifyd_discord.h. Keys in the order of Alertmanager's structs
    (webhook, webhookEmbed), none omitempty.
*/
#include <string.h>

#include "fw_mem.h"
#include "notifyd_discord.h"
#include "notifyd_tmpl.h"

int
notifyd_discord_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                      fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "webhook_url"));
    if (!url || !*url) {
        fw_err_set(err, "discord_config without webhook_url");
        return -1;
    }
    // The status of the alerts this integration is given (send_resolved already applied):
    // red when any fires, else green, as types.Alerts.Status().
    const char *st = json_string_value(json_object_get(data, "status"));
    int color = st && strcmp(st, "firing") == 0 ? NOTIFYD_DISCORD_RED : NOTIFYD_DISCORD_GREEN;
    char *title = notifyd_tmpl_key(config, "discord_configs", "title", data);
    char *message = notifyd_tmpl_key(config, "discord_configs", "message", data);
    json_t *m = json_pack("{s:s, s:[{s:s, s:s, s:i}]}", "content", "", "embeds", "title", title,
                          "description", message, "color", color);
    free(title);
    free(message);
    char *body = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    free(body);
    return 0;
}
