/*  check_main.c — runs every Check suite in one binary.

    The suite table is generated (build/gen/check_suites.h) from the `<module>_suite(void)`
    definitions in test/check_*.c. Environment: CK_RUN_SUITE and CK_RUN_CASE pick one suite
    or case (Check's own variables); CK_FORK=no helps under gdb; CK_VERBOSE=1 shows
    the daemons' info logs.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_suites.h"
#include "fw_log.h"

typedef Suite *(*suite_fn)(void);

int
main(void)
{
    static const suite_fn suites[] = {FW_SUITES};
    size_t n = sizeof(suites) / sizeof(suites[0]);

    // Daemons under test log a lot; show errors only unless CK_VERBOSE is set.
    fw_log_init("check", getenv("CK_VERBOSE") ? FW_LOG_DEBUG : FW_LOG_ERROR, FW_LOG_LOGFMT);
    SRunner *runner = srunner_create(suites[0]());
    for (size_t i = 1; i < n; i++)
        srunner_add_suite(runner, suites[i]());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
