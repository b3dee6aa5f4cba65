/*  check_notifyd_secret.c — a receiver's secret: the inline value wins, else its file is read
    at each call (a rotated file is seen at once), and what is missing is named. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../notifyd/notifyd_secret.h"

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_notifyd_secret_inline_file_missing)
{
    char path[] = "/tmp/check_notifyd_secret.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fw_err_t err;
    fw_err_clear(&err);
    char *owned = NULL;

    // inline wins over the file, and is borrowed
    json_t *c = json_pack("{s:s, s:s}", "api_key", "inline", "api_key_file", path);
    s_write(path, "from-file\n");
    const char *v = notifyd_secret(c, "opsgenie", "api_key", &owned, &err);
    ck_assert_str_eq(v, "inline");
    ck_assert_ptr_null(owned);
    json_decref(c);

    // the file, read at each call: a rotated secret is seen at once (trailing newline cut)
    c = json_pack("{s:s, s:s}", "api_key", "", "api_key_file", path);
    v = notifyd_secret(c, "opsgenie", "api_key", &owned, &err);
    ck_assert_str_eq(v, "from-file");
    ck_assert_ptr_eq(v, owned);
    free(owned);
    s_write(path, "rotated");
    v = notifyd_secret(c, "opsgenie", "api_key", &owned, &err);
    ck_assert_str_eq(v, "rotated");
    free(owned);

    // an empty file is as good as nothing
    s_write(path, "");
    ck_assert_ptr_null(notifyd_secret(c, "opsgenie", "api_key", &owned, &err));
    ck_assert_ptr_null(owned);
    ck_assert_str_eq(err.msg, "opsgenie_config without api_key");

    // an unreadable file: its error, with its name
    unlink(path);
    fw_err_clear(&err);
    ck_assert_ptr_null(notifyd_secret(c, "opsgenie", "api_key", &owned, &err));
    ck_assert_ptr_null(owned);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    json_decref(c);

    // neither
    c = json_pack("{s:s}", "channel", "#x");
    fw_err_clear(&err);
    ck_assert_ptr_null(notifyd_secret(c, "telegram", "bot_token", &owned, &err));
    ck_assert_str_eq(err.msg, "telegram_config without bot_token");
    json_decref(c);
}
END_TEST

Suite *
notifyd_secret_suite(void)
{
    Suite *s = suite_create("notifyd_secret");
    TCase *tc = tcase_create("secret");
    tcase_add_test(tc, test_notifyd_secret_inline_file_missing);
    suite_add_tcase(s, tc);
    return s;
}
