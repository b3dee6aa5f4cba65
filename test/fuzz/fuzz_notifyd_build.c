/*  fuzz_notifyd_build.c — a NOTIFY whose JSON body is the arbitrary input, as notifyd turns
    it into requests: decoded by fw_msg_decode (the wire schema checks only the top level:
    every config inside is whatever the sender wrote), its `templates` taken in
    (notifyd_tmpl_use), each webhook's body prepared (notifyd_prepare_body), and each other
    integration's configs built (notifyd_build_each: Slack, PagerDuty, Teams, Azure SMS,
    Discord, Webex, Opsgenie, WeChat, VictorOps, Pushover, Rocket.Chat, SNS, Mattermost,
    Telegram, email). A config that cannot be built must say why; one that can must have
    somewhere to go.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd.h"
#include "notifyd_build.h"
#include "notifyd_tmpl.h"
#include "notifyd_wechat.h"
#include "fuzz_util.h"

static void
s_on_built(void *arg, const char *array, const char *integration, size_t pos, const json_t *config,
           struct notifyd_req *req, const char *why)
{
    (void)array, (void)integration, (void)pos, (void)config;
    size_t *built = arg;
    if (!req) {
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "%s refused: %s\n", integration, why ? why : "(null)");
        if (!why || !*why)
            abort(); // a config refused must say why
        return;
    }
    if (req->kind == NOTIFYD_REQ_HTTP && (!req->url || !*req->url))
        abort(); // a request built must have somewhere to go
    (*built)++;
    notifyd_req_clear(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fw_msg *m = fuzz_util_msg_with_body("NOTIFY", data, size);
    if (!m)
        return 0;
    notifyd_tmpl_use(json_object_get(m->body, "templates"));
    const json_t *payload = json_object_get(m->body, "payload");
    size_t i;
    json_t *wc;
    json_array_foreach(json_object_get(m->body, "webhook_configs"), i, wc)
    {
        free(notifyd_prepare_body(payload, wc));
    }
    size_t built = 0;
    notifyd_build_each(m->body, "fuzz.example", 1796032800000, s_on_built, &built);
    if (getenv("FUZZ_VERBOSE")) // how many seeds build: a corpus that builds nothing tests less
        fprintf(stderr, "built %zu\n", built);
    notifyd_tmpl_use(NULL);
    notifyd_wechat_forget(); // no token from one input leaks into the next
    fw_msg_destroy(&m);
    return 0;
}
