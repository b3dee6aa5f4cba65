/*  tsdb_config.h — storage.tsdb.fw_retention's per-series retention policies, checked at
    every config load and handed to the store (tsdb_config.c; tsdb_config_load is in tsdb.h).
*/
#ifndef TSDB_CONFIG_H
#define TSDB_CONFIG_H

#include "fw_cfg.h"
#include "fw_promcfg.h"
#include "tsdb_store.h"

// storage.tsdb.fw_retention: each match a plain series selector. With store (may be NULL:
// only checked), the policies become the store's. 0, or -1 with the problems in errs (at
// their positions in file).
int tsdb_config_policies(const struct fw_promcfg *cfg, const char *file, struct fw_cfg_errors *errs,
                         tsdb_store_t *store);

#endif
