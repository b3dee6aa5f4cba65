/*  notifyd_webex.c — see notifyd_webex.h. Keys in the order of Alertmanager's webhook
    struct (markdown, roomId).
*/
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_tmpl.h"
#include "notifyd_webex.h"

char *
notifyd_webex_truncate_bytes(const char *s, size_t max, bool *truncated)
{
    size_t len = strlen(s);
    *truncated = len > max;
    if (len <= max)
        return fw_strdup(s);
    if (max <= 3) // no room for a character and the marker: dots, or the marker alone
        return fw_strdup(max == 3 ? "…" : max == 2 ? ".." : max == 1 ? "." : "");
    // Whole UTF-8 characters only: back off continuation bytes (10xxxxxx).
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    char *out = fw_malloc(cut + 4);
    memcpy(out, s, cut);
    memcpy(out + cut, "…", 4); // 3 bytes and the NUL
    return out;
}

int
notifyd_webex_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                    fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "api_url"));
    const char *room = json_string_value(json_object_get(config, "room_id"));
    if (!url || !*url || !room || !*room) {
        fw_err_set(err, "webex_config without %s", !url || !*url ? "api_url" : "room_id");
        return -1;
    }
    char *msg = notifyd_tmpl_key(config, "webex_configs", "message", data);
    bool cut = false;
    char *markdown = notifyd_webex_truncate_bytes(msg, NOTIFYD_WEBEX_MAX_BYTES, &cut);
    if (cut)
        fw_debug("notify.truncated", "integration=webex bytes=%zu max=%d", strlen(msg),
                 NOTIFYD_WEBEX_MAX_BYTES);
    free(msg);
    json_t *m = json_pack("{s:s, s:s}", "markdown", markdown, "roomId", room);
    free(markdown);
    char *body = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    free(body);
    return 0;
}
