/*  notifyd_opsgenie.h — Opsgenie Alert API v2 requests, as Alertmanager 0.25's opsgenie
    notifier builds them (notify/opsgenie/opsgenie.go, createRequests):

    - while any alert fires: POST {api_url}v2/alerts with the create body {alias, message,
      description, details, source, responders, tags, note, priority, entity, actions}:
      alias the SHA-256 (hex) of the group key (so create and close name the same alert),
      message cut to 130 runes, details the common labels overridden by the config's
      details, responders templated (all-empty ones dropped, type "teams" split by commas
      into one "team" each), tags and actions split by commas (blanks around the whole
      trimmed, empty items dropped); description, responders, tags, note, priority,
      entity, actions left out when empty. With update_alerts, then PUT
      {api_url}v2/alerts/{alias}/message?identifierType=alias {"message"} and PUT
      .../description?identifierType=alias {"description"} (omitted when empty): the
      request's `then` chain (notifyd_req.h).
    - once all are resolved: POST {api_url}v2/alerts/{alias}/close?identifierType=alias
      with {"source"}.

    Every request carries Authorization: GenieKey <key>. `config` is one element of NOTIFY's
    opsgenie_configs (alertd_cfg_opsgenie): api_url resolved (ending in "/"), api_key, or
    api_key_file read here at each notification as Alertmanager reads it (trimmed, as
    Alertmanager does since 0.28; 0.25 sends a trailing newline and fails the request).
    Bodies end in "\n" as Go's json.Encoder writes them.
*/
#ifndef NOTIFYD_OPSGENIE_H
#define NOTIFYD_OPSGENIE_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the request (and its `then` chain) for data (a payload as notifyd_tmpl_data returns
// it). 0, or -1 with err (no key, key file unreadable, no api_url, no groupKey).
int notifyd_opsgenie_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                           fw_err_t *err);

#endif
