/*  notifyd_secret.h — a receiver's secret from its config: the inline value or its file.

    Alertmanager reads a `*_file` secret (api_url_file, api_key_file, bot_token_file, ...) at
    each notification, so a rotated secret is used at once; the integrations here do the
    same through this one function, and say alike what is missing.
*/
#ifndef NOTIFYD_SECRET_H
#define NOTIFYD_SECRET_H

#include <jansson.h>

#include "fw_err.h"

// config's string `key` when set and not empty, else the content of the file named by
// `key`_file, read now. Returns the value: borrowed from config, or *owned (the caller
// frees it; NULL when borrowed). NULL when neither is set ("<integration>_config without
// <key>") or the file cannot be read (its error), in err.
const char *notifyd_secret(const json_t *config, const char *integration, const char *key,
                           char **owned, fw_err_t *err);

#endif
