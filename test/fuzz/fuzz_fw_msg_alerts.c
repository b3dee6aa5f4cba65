/*  fuzz_fw_msg_alerts.c — an ALERTS message whose JSON body is the arbitrary input: decoded
    by fw_msg_decode (strict schema: source, alerts as API v2 postable alerts), and each
    alert of a valid message parsed as alertd does on its PULL socket (alertd_alert_parse).
    A decoded message must encode again.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_store.h"
#include "fw_msg.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fw_msg *m = fuzz_util_msg_with_body("ALERTS", data, size);
    if (m) {
        size_t i;
        json_t *j;
        json_array_foreach(json_object_get(m->body, "alerts"), i, j)
        {
            struct alertd_alert a;
            fw_err_t err;
            fw_err_clear(&err);
            if (alertd_alert_parse(j, 1700000000000LL, 5 * 60 * 1000, &a, &err) == 0)
                alertd_alert_clear(&a);
        }
        fw_msg_destroy(&m);
    }
    return 0;
}
