/*  alertd_tmpl.h — alertmanager.yml's notification texts rendered with sample alerts:
    `alertd template render` (amtool template render's counterpart) and the floorwatch
    extension POST /api/v2/template/render (alertd_api_tmpl.c).

    Rendering uses what notifyd uses (common/fw_tmpl): Alertmanager's functions, floorwatch's
    default templates (fw_tmpl_set_use_am_defaults), then the `templates:` files, over
    Alertmanager's template data (fw_tmpl_am_data) of a webhook-shaped payload: amtool 0.25's
    sample (alertd_tmpl_sample) or one the caller gives. A receiver's texts are the keys of
    fw_tmpl_am_keys its integration configs set or default, plus its email headers and
    PagerDuty details; each is rendered as notifyd renders it (email html in HTML mode).
    Nothing here blocks on the network; rendering is bounded by the set's limits.
*/
#ifndef ALERTD_TMPL_H
#define ALERTD_TMPL_H

#include <jansson.h>
#include <stdbool.h>

#include "fw_err.h"
#include "fw_tmpl.h"

// A set with Alertmanager's functions, the defaults and files ([{name, text}] as
// alertd_cfg_tmpl_load returns; NULL: none), in that order. Free with fw_tmpl_set_destroy.
fw_tmpl_set_t *alertd_tmpl_set(const json_t *files);

// amtool 0.25's sample data as a payload (receiver "receiver" unless receiver is given; two
// alerts of status "alertstatus", group and common labels and annotations, externalURL
// https://example.com): a new reference.
json_t *alertd_tmpl_sample(const char *receiver);

// Render text with payload (html: Alertmanager's ExecuteHTMLString, else ExecuteTextString).
// 0 with a new string in *out, or -1 with err (Go's message).
int alertd_tmpl_render(const fw_tmpl_set_t *set, const char *text, bool html, const json_t *payload,
                       char **out, fw_err_t *err);

// Render every text of a receiver's integration configs (notify: an object holding
// slack_configs, pagerduty_configs, ..., email_configs as NOTIFY carries them): a new array
// of {integration ("slack"), index, key ("title", "headers.Subject", "details.firing",
// "fields[0].value", "actions[0].confirm.text", "links[0].href", "images[0].src"), text}, in
// the order of fw_tmpl_am_keys, each integration's list items (Slack fields and actions,
// PagerDuty images and links) after its keys. NULL with err at the first text that fails
// (err names the config and key).
json_t *alertd_tmpl_render_receiver(const fw_tmpl_set_t *set, const json_t *notify,
                                    const json_t *payload, fw_err_t *err);

// `alertd template render ARGS...` (argv[0] is "render"): exit code (0 ok, 1 template
// error, 2 usage or config error).
int alertd_tmpl_main(int argc, char **argv);

#endif
