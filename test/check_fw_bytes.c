/*  check_fw_bytes.c — the byte helpers: big-endian words sort as their values under memcmp
    (LMDB keys), little-endian n-byte words and uvarints round-trip at every width, and a
    uvarint that is cut short or holds more than 64 bits is refused with its own code.
*/
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "fw_bytes.h"

START_TEST(test_fw_bytes_u64be_round_trip_and_order)
{
    const uint64_t v[] = {0, 1, 0xff, 0x100, 0x8000000000000000ULL, UINT64_MAX - 1, UINT64_MAX};
    size_t n = sizeof(v) / sizeof(v[0]);
    unsigned char a[8], b[8];
    for (size_t i = 0; i < n; i++) {
        fw_bytes_put_u64be(a, v[i]);
        ck_assert_uint_eq(fw_bytes_get_u64be(a), v[i]);
        if (i + 1 < n) {
            fw_bytes_put_u64be(b, v[i + 1]);
            ck_assert_int_lt(memcmp(a, b, 8), 0);
        }
    }
    fw_bytes_put_u64be(a, 0x0102030405060708ULL);
    ck_assert_int_eq(a[0], 1);
    ck_assert_int_eq(a[7], 8);
}
END_TEST

START_TEST(test_fw_bytes_le_every_width)
{
    unsigned char p[9];
    for (size_t n = 0; n <= 8; n++) {
        memset(p, 0xee, sizeof(p));
        uint64_t v = 0x8877665544332211ULL;
        uint64_t want = n == 8 ? v : v & ((1ULL << (8 * n)) - 1);
        fw_bytes_put_le(p, v, n);
        ck_assert_uint_eq(fw_bytes_get_le(p, n), want);
        ck_assert_int_eq(p[n], 0xee); // nothing written past n bytes
        if (n)
            ck_assert_int_eq(p[0], 0x11);
    }
}
END_TEST

START_TEST(test_fw_bytes_uvarint_round_trip_and_refusals)
{
    const uint64_t v[] = {0,         1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX / 2,
                          UINT64_MAX};
    const size_t len[] = {1, 1, 1, 2, 2, 2, 3, 5, 9, 10};
    unsigned char p[FW_BYTES_UVARINT_MAX + 1];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t w = fw_bytes_put_uvarint(p, v[i]);
        ck_assert_uint_eq(w, len[i]);
        size_t off = 0;
        uint64_t out = 0;
        ck_assert_int_eq(fw_bytes_get_uvarint(p, w, &off, &out), 0);
        ck_assert_uint_eq(out, v[i]);
        ck_assert_uint_eq(off, w);
        off = 0; // every cut is truncation, never a wrong value
        for (size_t cut = 0; cut < w; cut++, off = 0)
            ck_assert_int_eq(fw_bytes_get_uvarint(p, cut, &off, &out), FW_ETRUNC);
    }
    // 65 bits, and an 11th byte: more than a uint64_t holds
    unsigned char big[11];
    memset(big, 0xff, 9);
    big[9] = 0x02;
    size_t off = 0;
    uint64_t out;
    ck_assert_int_eq(fw_bytes_get_uvarint(big, 10, &off, &out), FW_EPARSE);
    big[9] = 0x81;
    big[10] = 0x00;
    off = 0;
    ck_assert_int_eq(fw_bytes_get_uvarint(big, 11, &off, &out), FW_EPARSE);
    // reading resumes at *off
    unsigned char two[4];
    size_t w = fw_bytes_put_uvarint(two, 5);
    w += fw_bytes_put_uvarint(two + w, 200);
    off = 0;
    ck_assert_int_eq(fw_bytes_get_uvarint(two, w, &off, &out), 0);
    ck_assert_uint_eq(out, 5);
    ck_assert_int_eq(fw_bytes_get_uvarint(two, w, &off, &out), 0);
    ck_assert_uint_eq(out, 200);
    ck_assert_uint_eq(off, w);
}
END_TEST

Suite *
fw_bytes_suite(void)
{
    Suite *s = suite_create("fw_bytes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_bytes_u64be_round_trip_and_order);
    tcase_add_test(tc, test_fw_bytes_le_every_width);
    tcase_add_test(tc, test_fw_bytes_uvarint_round_trip_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
