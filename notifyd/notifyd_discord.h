/*  notifyd_discord.h — a Discord webhook request as Alertmanager 0.25 builds it
    (notify/discord/discord.go): POST webhook_url, application/json,
    {"content":"","embeds":[{"title":..,"description":..,"color":..}]} with the rendered title
    and message (discord.default.title / discord.default.message unless configured), color
    0x992D22 when the alerts given fire, 0x2ECC71 when they are resolved. Alertmanager 0.25
    sends "content" empty and cuts neither text (later versions cut the title to 256 and the
    description to 4096 runes): floorwatch sends what 0.25 sends.

    `config` is one element of NOTIFY's discord_configs (alertd_cfg_discord builds it).
*/
#ifndef NOTIFYD_DISCORD_H
#define NOTIFYD_DISCORD_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Alertmanager's embed colours (notify/discord/discord.go).
#define NOTIFYD_DISCORD_RED 0x992D22
#define NOTIFYD_DISCORD_GREEN 0x2ECC71

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no webhook_url).
int notifyd_discord_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                          fw_err_t *err);

#endif
