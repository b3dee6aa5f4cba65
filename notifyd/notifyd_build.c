/*  notifyd_build.c — notifyd_build.h. */
#include "notifyd_build.h"

#include <stdbool.h>

#include "fw_err.h"
#include "notifyd_azuresms.h"
#include "notifyd_discord.h"
#include "notifyd_email.h"
#include "notifyd_mattermost.h"
#include "notifyd_msteams.h"
#include "notifyd_opsgenie.h"
#include "notifyd_pagerduty.h"
#include "notifyd_pushover.h"
#include "notifyd_rocketchat.h"
#include "notifyd_slack.h"
#include "notifyd_sns.h"
#include "notifyd_telegram.h"
#include "notifyd_tmpl.h"
#include "notifyd_victorops.h"
#include "notifyd_webex.h"
#include "notifyd_wechat.h"

// NOTIFY's array, the metrics label, the builder (NULL: notifyd_email_build, which needs
// the host name and the time), send_resolved when the config omits it.
static const struct {
    const char *array, *integration;
    int (*build)(const json_t *config, const json_t *data, struct notifyd_req *out, fw_err_t *err);
    bool send_resolved;
} s_integrations[] = {
    {"slack_configs", "slack", notifyd_slack_build, true},
    {"pagerduty_configs", "pagerduty", notifyd_pagerduty_build, true},
    {"msteams_configs", "msteams", notifyd_msteams_build, true},
    {"msteamsv2_configs", "msteamsv2", notifyd_msteamsv2_build, true},
    {"azuresms_configs", "azuresms", notifyd_azuresms_build, true},
    {"discord_configs", "discord", notifyd_discord_build, true},
    {"webex_configs", "webex", notifyd_webex_build, true},
    {"opsgenie_configs", "opsgenie", notifyd_opsgenie_build, true},
    {"wechat_configs", "wechat", notifyd_wechat_build, false},
    {"victorops_configs", "victorops", notifyd_victorops_build, true},
    {"pushover_configs", "pushover", notifyd_pushover_build, true},
    {"rocketchat_configs", "rocketchat", notifyd_rocketchat_build, false},
    {"sns_configs", "sns", notifyd_sns_build, true},
    {"mattermost_configs", "mattermost", notifyd_mattermost_build, true},
    {"telegram_configs", "telegram", notifyd_telegram_build, true},
    {"email_configs", "email", NULL, false},
};

void
notifyd_build_each(const json_t *body, const char *hostname, int64_t now_ms, notifyd_build_fn fn,
                   void *arg)
{
    const json_t *payload = json_object_get(body, "payload");
    for (size_t k = 0; k < sizeof s_integrations / sizeof s_integrations[0]; k++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(body, s_integrations[k].array), i, c)
        {
            const json_t *sr = json_object_get(c, "send_resolved");
            json_t *data =
                notifyd_tmpl_data(payload, sr ? json_is_true(sr) : s_integrations[k].send_resolved);
            if (!data)
                continue; // only resolved alerts, and send_resolved false
            struct notifyd_req req;
            fw_err_t err;
            fw_err_clear(&err);
            int rc = s_integrations[k].build
                         ? s_integrations[k].build(c, data, &req, &err)
                         : notifyd_email_build(c, data, now_ms, hostname, &req, &err);
            json_decref(data);
            fn(arg, s_integrations[k].array, s_integrations[k].integration, i, c,
               rc < 0 ? NULL : &req, err.msg);
        }
    }
}
