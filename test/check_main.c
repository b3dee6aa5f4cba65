/*  check_main.c — runs every Check suite in one binary.

    The suite table is generated (build/gen/check_suites.h) from the `<module>_suite(void)`
    definitions in test/check_*.c. Environment: CK_RUN_SUITE and CK_RUN_CASE pick one suite
    or case (Check's own variables); CK_FORK=no helps under gdb; CK_VERBOSE=1 shows
    the daemons' info logs.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check_suites.h"
#include "fw_log.h"

typedef Suite *(*suite_fn)(void);

// Print the skips recorded in path (one line each) and remove it.
static void
s_report_skips(const char *path, int run)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    char line[600];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (n++ == 0)
            printf("skipped checks (Check counts them as passed above):\n");
        printf("  %s", line);
    }
    fclose(f);
    unlink(path);
    printf("check_fw: %d of %d checks skipped, %d run\n", n, run, run - n);
}

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
    // Checks that could not run here record themselves (check_util_skip) in this file; Check
    // counts them as passed, so the summary below says how many of its checks were skipped.
    char skip_log[] = "/tmp/check_fw-skipped.XXXXXX";
    int skip_fd = mkstemp(skip_log);
    if (skip_fd >= 0) {
        close(skip_fd);
        setenv("CK_SKIP_LOG", skip_log, 1);
    }
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    int run = srunner_ntests_run(runner);
    srunner_free(runner);
    s_report_skips(skip_fd >= 0 ? skip_log : NULL, run);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
