/*  check_fw_json_dump.c — fw_json_dump against jansson's own json_dumps (JSON_COMPACT), byte
    for byte: fixed cases (escapes, multi-byte UTF-8, keys with NUL, integer limits, reals),
    2,000 random trees from a fixed seed, and the values jansson refuses. */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_json_dump.h"

// Both dumpers on v: the same text, or both refuse it.
static void
s_same(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = fw_json_dumps(v, &len);
    if (!want) {
        ck_assert_msg(!got, "jansson refuses, fw_json_dump gave %s", got);
        return;
    }
    ck_assert_msg(got, "fw_json_dump refused %s", want);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(len, strlen(want));
    free(want);
    free(got);
}

START_TEST(test_fw_json_dump_fixed_cases)
{
    json_t *o = json_object();
    json_object_set_new(o, "plain", json_string("text"));
    json_object_set_new(o, "esc\"\\/\b\f\n\r\t\x01\x1f\x7f",
                        json_string("\"\\/\b\f\n\r\t\x01\x1f\x7f"));
    json_object_set_new(o, "utf8 é 漢 😀", json_string("é 漢 😀 \xe2\x80\xa8"));
    json_object_setn_new(o, "nul\0key", 7, json_stringn("nul\0value", 9));
    json_object_set_new(o, "max", json_integer(INT64_MAX));
    json_object_set_new(o, "min", json_integer(INT64_MIN));
    json_object_set_new(o, "zero", json_integer(0));
    static const double reals[] = {0.0, -0.0, 1.0, 0.1, -2.5, 1e20, 1e-5, 1.5e300, 123456789.125};
    json_t *r = json_array();
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        json_array_append_new(r, json_real(reals[i]));
    json_object_set_new(o, "reals", r);
    json_object_set_new(o, "t", json_true());
    json_object_set_new(o, "f", json_false());
    json_object_set_new(o, "n", json_null());
    json_object_set_new(o, "empty object", json_object());
    json_object_set_new(o, "empty array", json_array());
    json_object_set_new(o, "", json_string(""));
    s_same(o);
    // insertion order, not the hash's: a key set again keeps its place
    json_object_set_new(o, "plain", json_string("again"));
    s_same(o);
    json_decref(o);
    // past fw_json_dumps's 8 KiB stack: the first dump stops where it fills, the second writes all
    json_t *big = json_array();
    for (int i = 0; i < 400; i++)
        json_array_append_new(big, json_pack("{s:s, s:i}", "name", "a \"quoted\" name", "i", i));
    s_same(big);
    json_decref(big);
    json_t *scalar = json_string("alone"); // JSON_ENCODE_ANY
    s_same(scalar);
    json_decref(scalar);
}
END_TEST

// Values jansson's dumper refuses: a string that is not UTF-8, an array inside itself.
START_TEST(test_fw_json_dump_refuses_as_jansson)
{
    json_t *bad = json_object();
    json_object_set_new(bad, "k", json_stringn_nocheck("\xff\xfe", 2));
    s_same(bad);
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "kept");
    ck_assert_int_eq(fw_json_dump(&b, bad), -1);
    ck_assert_str_eq(b.p, "kept"); // a refusal leaves the buffer as it was
    free(b.p);
    json_decref(bad);
    json_t *loop = json_array(), *inner = json_array(); // jansson refuses an array in itself
    json_array_append(inner, loop);
    json_array_append(loop, inner);
    ck_assert_ptr_null(json_dumps(loop, JSON_COMPACT));
    ck_assert_ptr_null(fw_json_dumps(loop, NULL));
    json_array_clear(inner);
    json_decref(inner);
    json_decref(loop);
}
END_TEST

static unsigned s_rng = 12345;
static unsigned
s_next(void)
{
    s_rng = s_rng * 1103515245u + 12345u;
    return s_rng >> 8;
}

// A random string of ASCII, controls, escapes and 2-4 byte UTF-8.
static size_t
s_rand_text(char *out, size_t cap)
{
    static const char *const parts[] = {"a",    "Z",    "0",    " ", "\"", "\\", "/",  "\n", "\t",
                                        "\x01", "\x1f", "\x7f", "é", "漢", "😀",  "{}", ":,"};
    size_t n = 0, k = s_next() % 12;
    for (size_t i = 0; i < k; i++) {
        const char *p = parts[s_next() % (sizeof parts / sizeof parts[0])];
        size_t pl = strlen(p);
        if (n + pl >= cap)
            break;
        memcpy(out + n, p, pl);
        n += pl;
    }
    out[n] = '\0';
    return n;
}

static json_t *
s_rand_value(int depth)
{
    char text[128];
    unsigned kind = s_next() % (depth > 4 ? 6 : 8);
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(s_next() % 2);
    case 2:
        return json_integer((json_int_t)s_next() * (s_next() % 2 ? -1 : 1) * (json_int_t)s_next());
    case 3: return json_real((double)(int)s_next() / (double)(s_next() % 1000 + 1));
    case 4:
    case 5: {
        size_t n = s_rand_text(text, sizeof text);
        return json_stringn(text, n);
    }
    case 6: {
        json_t *a = json_array();
        for (unsigned i = s_next() % 5; i > 0; i--)
            json_array_append_new(a, s_rand_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = s_next() % 6; i > 0; i--) {
            size_t n = s_rand_text(text, sizeof text);
            json_object_setn_new(o, text, n, s_rand_value(depth + 1));
        }
        return o;
    }
    }
}

START_TEST(test_fw_json_dump_random_trees)
{
    for (int i = 0; i < 2000; i++) {
        json_t *v = s_rand_value(0);
        s_same(v);
        json_decref(v);
    }
}
END_TEST

Suite *
fw_json_dump_suite(void)
{
    Suite *s = suite_create("fw_json_dump");
    TCase *tc = tcase_create("dump");
    tcase_add_test(tc, test_fw_json_dump_fixed_cases);
    tcase_add_test(tc, test_fw_json_dump_refuses_as_jansson);
    tcase_add_test(tc, test_fw_json_dump_random_trees);
    suite_add_tcase(s, tc);
    return s;
}
