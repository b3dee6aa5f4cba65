/*  fuzz_fw_tmpl.c — the Go template engine (common/fw_tmpl*): parse arbitrary text with
    Alertmanager's and Prometheus's functions, then execute the templates it defines on a
    small fixed data object, and the top one once more in HTML mode.

    Bounded: a template can loop (range over 1e9, templates calling each other), so the set
    runs with at most 64 KiB of output and 10,000 range iterations per execution; nesting
    and template calls stop at FW_TMPL_MAX_DEPTH (1000). Each input thus costs at most
    about 10^4 iterations x the template's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "fw_tmpl.h"

static const char *const s_names[] = {"t", "x", "a", "slack.default.title", NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_use_prometheus(set, "http://x/p", NULL, NULL);
    fw_tmpl_set_limits(set, 64 * 1024, 10000);
    json_t *d = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}},{s:s,s:{}}],s:{s:s},s:f,s:i,s:[i,i],s:n}",
                          "Status", "firing", "Alerts", "Status", "firing", "Labels", "alertname",
                          "A", "b", "c", "Status", "resolved", "Labels", "CommonLabels", "x", "y",
                          "Value", 1.5, "I", 3, "SI", 1, 2, "N");
    fw_err_t err;
    if (fw_tmpl_parse(set, "t", text, &err) == 0) {
        for (int i = 0; s_names[i]; i++) {
            char *out = NULL;
            if (fw_tmpl_has(set, s_names[i]) && fw_tmpl_exec(set, s_names[i], d, &out, &err) == 0)
                free(out);
        }
        // and html/template's escaping (email HTML)
        fw_tmpl_set_html(set, true);
        char *out = NULL;
        if (fw_tmpl_exec(set, "t", d, &out, &err) == 0)
            free(out);
    }
    json_decref(d);
    fw_tmpl_set_destroy(&set);
    free(text);
    return 0;
}
