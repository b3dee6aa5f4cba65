/*  fw_tmpl_default.c — floorwatch's default notification templates in a set (see fw_tmpl.h,
    fw_tmpl_set_use_am_defaults).

    The text is common/fw_tmpl_default.tmpl, turned into the C string fw_embed_fw_tmpl_default
    at build time (tools/embed.sh, common/module.mk), so every binary carries the same one and
    no file needs installing. It is parsed once per set; a parse error is a build defect
    (check_fw_tmpl_default parses it), so it aborts.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_tmpl.h"

extern const char fw_embed_fw_tmpl_default[];

void
fw_tmpl_set_use_am_defaults(fw_tmpl_set_t *self)
{
    fw_err_t err;
    fw_err_clear(&err);
    if (fw_tmpl_parse(self, "default.tmpl", fw_embed_fw_tmpl_default, &err) < 0) {
        fprintf(stderr, "fw_tmpl_default.tmpl does not parse: %s\n", err.msg);
        abort();
    }
}

// Alertmanager's config defaults (config/notifiers.go Default*Config, DefaultPagerdutyDetails)
// and floorwatch's for azuresms. An integration's keys stay together (alertd_tmpl walks them
// in order).
const struct fw_tmpl_am_key fw_tmpl_am_keys[] = {
    {"slack_configs", "title", "slack.default.title", false},
    {"slack_configs", "title_link", "slack.default.titlelink", false},
    {"slack_configs", "pretext", "slack.default.pretext", false},
    {"slack_configs", "text", "slack.default.text", false},
    {"slack_configs", "fallback", "slack.default.fallback", false},
    {"slack_configs", "callback_id", "slack.default.callbackid", false},
    {"slack_configs", "footer", "slack.default.footer", false},
    {"slack_configs", "color", "slack.default.color", false},
    {"slack_configs", "channel", NULL, false},
    {"slack_configs", "username", "slack.default.username", false},
    {"slack_configs", "icon_emoji", "slack.default.iconemoji", false},
    {"slack_configs", "icon_url", "slack.default.iconurl", false},
    {"slack_configs", "image_url", NULL, false},
    {"slack_configs", "thumb_url", NULL, false},
    {"pagerduty_configs", "description", "pagerduty.default.description", false},
    {"pagerduty_configs", "client", "pagerduty.default.client", false},
    {"pagerduty_configs", "client_url", "pagerduty.default.clientURL", false},
    {"pagerduty_configs", "class", NULL, false},
    {"pagerduty_configs", "component", NULL, false},
    {"pagerduty_configs", "group", NULL, false},
    {"pagerduty_configs", "details.firing", "pagerduty.details.firing", false},
    {"pagerduty_configs", "details.num_firing", "pagerduty.details.num_firing", false},
    {"pagerduty_configs", "details.num_resolved", "pagerduty.details.num_resolved", false},
    {"pagerduty_configs", "details.resolved", "pagerduty.details.resolved", false},
    {"msteams_configs", "title", "msteams.default.title", false},
    {"msteams_configs", "summary", "msteams.default.summary", false},
    {"msteams_configs", "text", "msteams.default.text", false},
    {"msteamsv2_configs", "title", "msteamsv2.default.title", false},
    {"msteamsv2_configs", "text", "msteamsv2.default.text", false},
    {"azuresms_configs", "message", "azuresms.default.message", false},
    {"discord_configs", "title", "discord.default.title", false},
    {"discord_configs", "message", "discord.default.message", false},
    {"webex_configs", "message", "webex.default.message", false},
    {"opsgenie_configs", "message", "opsgenie.default.message", false},
    {"opsgenie_configs", "description", "opsgenie.default.description", false},
    {"opsgenie_configs", "source", "opsgenie.default.source", false},
    {"opsgenie_configs", "entity", NULL, false},
    {"opsgenie_configs", "actions", NULL, false},
    {"opsgenie_configs", "tags", NULL, false},
    {"opsgenie_configs", "note", NULL, false},
    {"opsgenie_configs", "priority", NULL, false},
    {"wechat_configs", "message", "wechat.default.message", false},
    {"wechat_configs", "to_user", "wechat.default.to_user", false},
    {"wechat_configs", "to_party", "wechat.default.to_party", false},
    {"wechat_configs", "to_tag", "wechat.default.to_tag", false},
    {"wechat_configs", "agent_id", "wechat.default.agent_id", false},
    {"victorops_configs", "routing_key", NULL, false},
    {"victorops_configs", "message_type", NULL, false},
    {"victorops_configs", "state_message", "victorops.default.state_message", false},
    {"victorops_configs", "entity_display_name", "victorops.default.entity_display_name", false},
    {"victorops_configs", "monitoring_tool", "victorops.default.monitoring_tool", false},
    {"pushover_configs", "title", "pushover.default.title", false},
    {"pushover_configs", "message", "pushover.default.message", false},
    {"pushover_configs", "url", "pushover.default.url", false},
    {"pushover_configs", "url_title", NULL, false},
    {"pushover_configs", "sound", NULL, false},
    {"rocketchat_configs", "channel", NULL, false},
    {"rocketchat_configs", "color", "__fw.rocketchat.color", false},
    {"rocketchat_configs", "title", "rocketchat.default.title", false},
    {"rocketchat_configs", "title_link", "rocketchat.default.titlelink", false},
    {"rocketchat_configs", "text", "rocketchat.default.text", false},
    {"rocketchat_configs", "emoji", "rocketchat.default.emoji", false},
    {"rocketchat_configs", "icon_url", "rocketchat.default.iconurl", false},
    {"rocketchat_configs", "image_url", NULL, false},
    {"rocketchat_configs", "thumb_url", NULL, false},
    {"sns_configs", "subject", "sns.default.subject", false},
    {"sns_configs", "message", "sns.default.message", false},
    {"mattermost_configs", "channel", NULL, false},
    {"mattermost_configs", "username", "mattermost.default.username", false},
    {"mattermost_configs", "icon_url", NULL, false},
    {"mattermost_configs", "icon_emoji", NULL, false},
    {"mattermost_configs", "type", NULL, false},
    {"mattermost_configs", "fallback", "mattermost.default.fallback", false},
    {"mattermost_configs", "color", "mattermost.default.color", false},
    {"mattermost_configs", "pretext", NULL, false},
    {"mattermost_configs", "text", "mattermost.default.text", false},
    {"mattermost_configs", "author_name", NULL, false},
    {"mattermost_configs", "author_link", NULL, false},
    {"mattermost_configs", "author_icon", NULL, false},
    {"mattermost_configs", "title", "mattermost.default.title", false},
    {"mattermost_configs", "title_link", "mattermost.default.titlelink", false},
    {"mattermost_configs", "thumb_url", NULL, false},
    {"mattermost_configs", "footer", NULL, false},
    {"mattermost_configs", "footer_icon", NULL, false},
    {"mattermost_configs", "image_url", NULL, false},
    // HTML mode when parse_mode is HTML (the default), as notifyd_telegram renders it.
    {"telegram_configs", "message", "telegram.default.message", true},
    {"email_configs", "to", NULL, false},
    {"email_configs", "from", NULL, false},
    {"email_configs", "headers.Subject", "email.default.subject", false},
    {"email_configs", "text", NULL, false},
    {"email_configs", "html", "email.default.html", true},
    {NULL, NULL, NULL, false},
};

const char *
fw_tmpl_am_key_default(const char *array, const char *key)
{
    for (const struct fw_tmpl_am_key *k = fw_tmpl_am_keys; array && k->array; k++)
        if (strcmp(k->array, array) == 0 && strcmp(k->key, key) == 0)
            return k->def;
    return NULL;
}
