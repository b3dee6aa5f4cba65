/*  slod_gen.h — `slod generate`: the Prometheus recording and alerting rules equivalent to
    slod's evaluation, for users who evaluate elsewhere.

    The layout is Sloth's: per SLO a group of SLI recording rules
    (slo:sli_error:ratio_rate<W> for 5m ... 3d from the SLI queries, and the period as the
    average of the 5m ratio over it), a group of metadata rules (slo:objective:ratio,
    slo:error_budget:ratio, slo:time_period:days, slo:current_burn_rate:ratio,
    slo:period_burn_rate:ratio, slo:period_error_budget_remaining:ratio, sloth_slo_info)
    and a group with the page and ticket alerts over the SLO's alert windows. The period's
    ratio differs from slod's in one way: Prometheus averages the 5-minute ratios over time,
    slod sums the 5-minute events (the same while traffic is steady).

    `slod generate [--config.file=F] [--output=FILE]` (default stdout). Exit 0, 1 when the
    output cannot be written, 2 on a usage or config error.
*/
#ifndef SLOD_GEN_H
#define SLOD_GEN_H

#include <stdio.h>

#include "slod_cfg.h"

// Write cfg's rules as a Prometheus rule file to out.
void slod_gen_rules(FILE *out, const struct slod_cfg *cfg, const char *source);

// `slod generate` (argv[0] is "generate"). Returns the exit code.
int slod_gen_main(int argc, char **argv, FILE *out, FILE *err);

#endif
