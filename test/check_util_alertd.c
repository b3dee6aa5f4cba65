/*  check_util_alertd.c — alertd's config as the Check suites load it (check_util_alertd.h).
 */
#include "check_util_alertd.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fw_cfg.h"
#include "fw_err.h"
#include "../alertd/alertd_cfg.h"

void
check_util_alertd_cfg_errors(const char *text, const char *const *want, size_t n,
                             const char *hidden)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("bad.yml", text, &errs);
    ck_assert_ptr_null(cfg);
    char buf[600];
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < errs.len && !found; j++)
            found = strstr(fw_err_format(&errs.items[j], buf, sizeof buf), want[i]) != NULL;
        if (!found)
            for (size_t j = 0; j < errs.len; j++)
                fprintf(stderr, "  have: %s\n", fw_err_format(&errs.items[j], buf, sizeof buf));
        ck_assert_msg(found, "missing error: %s", want[i]);
    }
    for (size_t j = 0; hidden && j < errs.len; j++)
        ck_assert_msg(strstr(fw_err_format(&errs.items[j], buf, sizeof buf), hidden) == NULL,
                      "a secret is shown: %s", buf);
}
