/*  fuzz_alertd_silences.c — alertd's silences on arbitrary bytes: a JSON object is the body
    of POST /api/v2/silences (alertd_silences_put), anything else is the silences.json state
    file read at start (alertd_silences_restore). Either way the table then mutes (or not)
    a few label sets, is dumped, and the dump is restored into a new table, which must
    take every entry back. "now" is fixed so runs repeat.
*/
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_silence.h"
#include "fuzz_util.h"

#define S_NOW 1700000000000LL

static void
s_mute(alertd_silences_t *s, const char *name, const char *value)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "alertname", "A");
    fw_labels_set(&l, name, value);
    json_decref(alertd_silences_muting(s, &l, S_NOW));
    fw_labels_clear(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    alertd_silences_t *s = alertd_silences_new();
    fw_err_t err;
    fw_err_clear(&err);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, 0, &jerr);
    if (json_is_object(j)) {
        free(alertd_silences_put(s, j, S_NOW, &err));
    } else {
        char *text = fuzz_util_text(data, size);
        (void)alertd_silences_restore(s, text, NULL, &err);
        free(text);
    }
    json_decref(j);
    s_mute(s, "a", "");
    s_mute(s, "a", "x");
    s_mute(s, "v", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    (void)alertd_silences_active(s, S_NOW);
    json_decref(alertd_silences_list_json(s, S_NOW));

    // what was kept survives the state file
    char *dump = alertd_silences_dump(s, S_NOW);
    alertd_silences_t *again = alertd_silences_new();
    size_t skipped = 0;
    if (alertd_silences_restore(again, dump, &skipped, &err) < 0 || skipped != 0)
        abort();
    alertd_silences_destroy(&again);
    free(dump);
    alertd_silences_gc(s, S_NOW + 1);
    alertd_silences_destroy(&s);
    return 0;
}
