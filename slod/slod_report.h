/*  slod_report.h — SLO status as JSON (/api/v1/slos, `slod report --output=json`) and as a
    table, and the `slod report` command.

    `slod report [--config.file=F] [--zmq.query-address=EP] [--time=T] [--output=table|json]
    [--storage.path=DIR] [--query.timeout=D]` evaluates every SLO once at T (default now)
    against tsdb, exactly as the daemon does, and prints the result; its rings start from
    the daemon's journal in DIR when there is one (read, never written) and are filled from
    tsdb for the rest. Exit 0, 1 when a query failed, 2 on a usage or config error.
*/
#ifndef SLOD_REPORT_H
#define SLOD_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "slod_cfg.h"
#include "slod_eval.h"

// {"slos": [...]}: per SLO its id, name, service, objective, window, the error ratio, SLI
// and burn rate per window, budget remaining and consumed, the period's coverage, and the
// page and ticket alerts' state. New reference.
json_t *slod_report_json(const struct slod_cfg *cfg, const slod_eval_t *eval);

// The same as an aligned text table.
void slod_report_table(FILE *out, const struct slod_cfg *cfg, const slod_eval_t *eval);

// `slod report` (argv[0] is "report"). Returns the exit code.
int slod_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif
