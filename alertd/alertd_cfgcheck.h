/*  alertd_cfgcheck.h — Alertmanager's checks on the parts of alertmanager.yml that alertd's
    field tables refuse without reading (the other integrations), and on null regexes.

    fw_cfg treats a YAML null as absent, and the tables refuse the integrations alertd does
    not deliver (FW_CFG_UNSUPPORTED) without reading them, so these checks walk the YAML
    document itself, so that a file is also told what Alertmanager finds wrong in it: every
    integration that needs a credential (Slack, OpsGenie, VictorOps, WeChat, Telegram,
    Rocket.Chat, Mattermost, SNS) must have it, inline or from `global`; `match_re` and inhibit
    `source_match_re`/`target_match_re` entries must not be null; and the global credentials
    of integrations alertd does not deliver are refused at their key ("global.KEY: not
    supported by floorwatch"). Errors carry the position of the offending mapping or key.
*/
#ifndef ALERTD_CFGCHECK_H
#define ALERTD_CFGCHECK_H

#include "alertd_cfg.h"
#include "fw_cfg.h"

// Check text (the whole file, borrowed), named file in messages, against the already
// loaded global section g. Adds to errs; returns the number of errors added.
size_t alertd_cfgcheck_run(const char *file, const char *text, const struct alertd_cfg_global *g,
                           struct fw_cfg_errors *errs);

#endif
