/*  check_util_alertd.h — alertd's config as the Check suites load it: a config text that
    must not load, and the errors it must give.

    Kept apart from check_util.h because it needs the daemon's header (alertd_cfg.h).
*/
#ifndef CHECK_UTIL_ALERTD_H
#define CHECK_UTIL_ALERTD_H

#include <stddef.h>

// Load text as "bad.yml" and fail the test unless the load fails and its error list holds
// each of want[0..n) (a substring of a formatted error, in any order; the errors it has are
// printed when one is missing). With hidden set, fail too when any error shows it (a
// secret's value the config holds).
void check_util_alertd_cfg_errors(const char *text, const char *const *want, size_t n,
                                  const char *hidden);

#endif
