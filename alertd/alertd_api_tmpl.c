/*  alertd_api_tmpl.c — POST /api/v2/template/render (a floorwatch extension; Alertmanager
    has no such endpoint, amtool renders locally).

    Body: {"text": TEXT} renders one template text, or {"receiver": NAME} every text of that
    receiver's integrations (alertd_tmpl_render_receiver); optional "html": true (text only:
    html/template's escaping) and "data": a webhook-shaped payload (default: amtool's sample,
    its receiver NAME when given). The templates are the running config's `templates:` files
    after floorwatch's defaults, as notifyd renders them. Answers {"text": RESULT} or
    {"receiver": NAME, "texts": [{integration, index, key, text}]}; 400 with {"error": MSG}
    for a bad body or a template error, 404 for an unknown receiver.

    The lock is held only to copy what the render needs (the files' JSON, the receiver's
    configs); rendering runs without it, bounded to S_MAX_OUTPUT bytes and S_MAX_ITERATIONS
    range iterations, so a costly template never stalls alertd.
*/
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

#include "alertd_api.h"
#include "alertd_api_tmpl.h"
#include "alertd_cfg_email.h"
#include "alertd_cfg_receivers.h"
#include "alertd_int.h"
#include "alertd_tmpl.h"

#define S_MAX_OUTPUT (1u << 20)
#define S_MAX_ITERATIONS 100000

static void
s_error(struct fw_http_response *resp, int status, const char *msg)
{
    alertd_api_json_respond(resp, status, json_pack("{s:s}", "error", msg));
}

static int
s_render(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    json_t *body = alertd_api_body_json(req, "template render", resp);
    if (!body)
        return 0;
    const json_t *jt = json_object_get(body, "text"), *jr = json_object_get(body, "receiver");
    const json_t *jh = json_object_get(body, "html"), *jd = json_object_get(body, "data");
    const char *text = json_string_value(jt), *receiver = json_string_value(jr);
    if (!json_is_object(body) || (jt && !text) || (jr && !receiver) ||
        (jh && !json_is_boolean(jh)) || (jd && !json_is_object(jd)) || (!text && !receiver)) {
        s_error(resp, 400,
                "want a JSON object with \"text\" (a string) or \"receiver\" (a string), "
                "optional \"html\" (a boolean) and \"data\" (an object)");
        json_decref(body);
        return 0;
    }
    json_t *notify = NULL;
    pthread_mutex_lock(&self->lock);
    json_t *files = json_incref(self->cfg->template_files); // replaced whole, never changed
    const struct alertd_cfg_receiver *r =
        !text && receiver ? alertd_cfg_receiver(self->cfg, receiver) : NULL;
    if (r) {
        notify = json_object();
        alertd_cfg_receivers_notify(r, notify);
        alertd_cfg_email_notify(r, notify);
    }
    pthread_mutex_unlock(&self->lock);
    if (!text && !notify) {
        s_error(resp, 404, "no such receiver");
        json_decref(files);
        json_decref(body);
        return 0;
    }
    json_t *payload = jd ? json_incref((json_t *)jd) : alertd_tmpl_sample(receiver);
    fw_tmpl_set_t *set = alertd_tmpl_set(files);
    fw_tmpl_set_limits(set, S_MAX_OUTPUT, S_MAX_ITERATIONS);
    fw_err_t err;
    fw_err_clear(&err);
    if (text) {
        char *out = NULL;
        if (alertd_tmpl_render(set, text, json_is_true(jh), payload, &out, &err) == 0)
            alertd_api_json_respond(resp, 200, json_pack("{s:s}", "text", out));
        else
            s_error(resp, 400, err.msg);
        free(out);
    } else {
        json_t *texts = alertd_tmpl_render_receiver(set, notify, payload, &err);
        if (texts)
            alertd_api_json_respond(resp, 200,
                                    json_pack("{s:s, s:o}", "receiver", receiver, "texts", texts));
        else
            s_error(resp, 400, err.msg);
    }
    fw_tmpl_set_destroy(&set);
    json_decref(payload);
    json_decref(notify);
    json_decref(files);
    json_decref(body);
    return 0;
}

void
alertd_api_tmpl_routes(fw_http_t *http, alertd_t *self)
{
    fw_http_route(http, "POST", "/api/v2/template/render", s_render, self);
}
