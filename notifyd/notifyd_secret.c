/*  notifyd_secret.c — notifyd_secret.h. */
#include "notifyd_secret.h"

#include <stdio.h>
#include <stdlib.h>

#include "fw_promcfg_http.h"

const char *
notifyd_secret(const json_t *config, const char *integration, const char *key, char **owned,
               fw_err_t *err)
{
    *owned = NULL;
    const char *v = json_string_value(json_object_get(config, key));
    if (v && *v)
        return v;
    char file_key[64];
    snprintf(file_key, sizeof file_key, "%s_file", key);
    const char *file = json_string_value(json_object_get(config, file_key));
    if (file && *file) {
        if (fw_promcfg_http_read_secret(file, owned, err) != 0)
            return NULL;
        if (**owned)
            return *owned;
        free(*owned);
        *owned = NULL;
    }
    fw_err_set(err, "%s_config without %s", integration, key);
    return NULL;
}
