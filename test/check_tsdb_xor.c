/*  check_tsdb_xor.c — Prometheus's XOR chunk encoding: chunks a real Prometheus 2.42 sent
    in STREAMED_XOR_CHUNKS answers are decoded and encoded again, byte for byte.

    The golden chunks were taken from a Debian prometheus 2.42.0 serving blocks made by
    `promtool tsdb create-blocks-from openmetrics` (the bench kit's gen-openmetrics.py
    --series 60 --hours 2 --step 15 --seed 1, and a small file of odd timestamps and values:
    one sample; two; steps of 1 ms to 2.4 h, -0.0, 1e300, 1e-300, NaN), read back through
    its /api/v1/read with accepted_response_types [STREAMED_XOR_CHUNKS].
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsdb/tsdb_xor.h"

struct s_gold {
    const char *name;
    int64_t mint, maxt;
    const char *hex;
};

static const struct s_gold s_golds[] = {
    {"ms5_units_produced_total", 1767225600000LL, 1767226995000LL,
     "005e80a0d5edee6640c6e800000000009875e6352de57b286040f20d103e8eb41ba1a50429ea417a0650e483"
     "646ca1b5042d847fba0b373166e43e74c514711b945390ddba89ee825b985b813ed42f47a4034d241645241d"
     "42b40d6f2bdd40aa1cd03482047ba07d05887740b277102880e42b20990368ec417a1e504cdc57ee81b41aa0"
     "690e8817721f7a228426ae04fed0a91d90bd38d0810311950b9075bcafd505480943320bd03a8f541c21ed02"
     "c9d340da0cc0"},
    {"ms5_production_oee", 1767225600000LL, 1767226995000LL,
     "005e80a0d5edee663fe7ced916872b029875e565da81becbd1b9db3bb5ed0bf4f71bb1907f1c869170c3ea02"
     "975ec60d64bc187f5929b669f05f0f819f00a828a10f0aac59903291cb1b8ebf21da07e99494c442b4a0eea4"
     "c51881343206cc02a500a945e9d82f7af5a1846426b1141a9a77916b4cabecf3df1e8c7717e52de45f6fada0"
     "7b301ab5b8ca41ba5acd1b1f6a8055e013e78e9907c68ff94c46aa00c8805595de3419056603d257e80cadb3"
     "0cb5961008cbdcdecc6420a531e5218a0f404530ecaad6508235417d1592ed0349245da4b86a0184ec5adf69"
     "d4032e0356c92f6811e1bbfd434c5068936b0c70c8200cda5fbe76c1410614f9cba636874c9b483e82c10eea"
     "ad55d5dda21dc07e59252d643e1f5bbf1904e81e144a4a5e55501cec38315b16a03c4d5aa8b88b40131bb28a"
     "926684b2f4ce963a21004839707997da0db6bab6eeaad406b782783c34883571e84f5033d01d10e845f07420"
     "e0e153b9727041dcb13cd3edf68344a9c82282410782582c1b88020fad9fcc9a81141c92da3ac89a481a4393"
     "6ceb0a504530147f5a30a03c4d5aa8b8894123d33b60c2b8809076200f24f501f5b3e19a6dc23c5612f41f1e"
     "b40f18385ba5dc680bb258cb3f30d07ab59c35bce8202e20331b919b4159b4307c8d4a80ebc1fa3bfd151c82"
     "782cfcb8023b72a51ab53ef4799e30bf7acc68f3a30ef32a69d00f22015e591923ace155fbc70840e322d299"
     "72708e7190aac4e8c90071676bc157fa019301b8eb8dd47624c6cf341668f4f56a366271901c39bc8bcdf5a3"
     "e781bd5ad1834733b917ef622a809377446b48210114cebde9e2b207819300a8ec84030fc854a5cfa8fc81b7"
     "0098dd91b49714dd961a20e25fbe6028b24013649eb791e683a0907660132501ec6f5630573a0402af9256d1"
     "d0"},
    {"http_request_duration_seconds_sum", 1767225600000LL, 1767226995000LL,
     "005e80a0d5edee664087951b71758e229875e33d8fb0483736ccff36ccbdcdeada04727dd793eb083253c7ce"
     "d6e9b8df403d399a0d9dbf1f05ebb4319d8a5927215289763765c48916944693a14a53bfc436150160ff80d4"
     "7248fdc64114320b42baa2a6650f626dfba5ec33c491f3605fd6ada0848dc1d2a768c6dcfde3cc0516578a1f"
     "d40f980dc928da540b2a4e8c20547d6cf856d8852d92d2cec45207ee1c29748d48216988d7021427d14e32f2"
     "7e0c8285260776592a1ebe277f346dc8fb5742cfca1721d84e976c2f1a8365daf715e1635e9ff60eb1ede916"
     "e37ea0bc7c910d74f328c25e7b1dc2eff58957020fdc6fbfe97cf5c49edf870b462a38bbbb8df0f4d443a36d"
     "53f78e98943eb70bb0b1d8b63c8b71bb2c6fb8fa7d76ecbd4dc5b76506b40c799514232321592a5b8ebed918"
     "29101992c7486a0a15e9dc314f7e8d82286c0a0f150ecbf2e510f94a431c121a82a74f3784cf0472b4c071ef"
     "6fa0fe0451f869110c438cfcb10d6db9fde65218e090d40b2dfead209610496c38f3796943d0402ec9633504"
     "040f659f96b474cc072e4fb41022657ef592234068d811aed63504b23174072bd437c17c051ada905604d3b8"
     "2b104f807a7b251b3d033bb931420e741cbb425980a390c732e37c6cfe40bd4fa1dfc09d061025bec3c98472"
     "16bb9437dc904b4d2bf295b24354cab586586504165f3e7608a6ccbf0ef8d44968171ba1b85e14876170bf9e"
     "0d15d59c2a6e148fe149b6e576a69cca93822df86ecd5ad182deb95daa2c7b7805cb85fbd769c4f01dd265ed"
     "f933fe16ebbf04fb7c6eff71bed2da0418938a62903f0c8290e186b00b72d9475b7e3a9922c871ef942acaee"
     "49fbe745af0f7b72a504c8b3fd9c4d0f6dcbdb806a5ae52d408455023cf7cb8dfd2b5171778bdc2ef6730068"
     "ec8d3013acfeb56a"},
    {"one", 1767225600000LL, 1767225600000LL, "000180a0d5edee66404540000000000000"},
    {"two", 1767225600000LL, 1767225601500LL, "000280a0d5edee663ff0000000000000dc0bc277ffa0"},
    {"odd", 1767225600000LL, 1767229205000LL,
     "000780a0d5edee660000000000000000e807c06dffd83ec1cfe43c8800759f0dac30fffe4a288d2be21b17c0"
     "000000000d9c602807002572cf1e6b3fffffffffff92a7d3829c19d6f3454c9c358038000000"},
    {"odd", 1767234600000LL, 1767234600500LL, "000280f19ff6ee66401c000000000000f40300"},
    {"odd", 1767245600000LL, 1767245600250LL,
     "000280d4de80ef66400921f9f01b866efa01d99e4f7832d8b8ff"},
    {"odd", 1767255600000LL, 1767255600000LL, "000180aea38aef667ff800000000000100"},
};

// hex into a new buffer (*n bytes).
static unsigned char *
s_unhex(const char *hex, size_t *n)
{
    *n = strlen(hex) / 2;
    unsigned char *p = malloc(*n + 1);
    for (size_t k = 0; k < *n; k++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * k, "%2x", &v), 1);
        p[k] = (unsigned char)v;
    }
    return p;
}

// Every golden chunk decodes from its mint to its maxt and encodes back to the same bytes.
START_TEST(test_tsdb_xor_prometheus_chunks)
{
    struct tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    for (size_t g = 0; g < sizeof(s_golds) / sizeof(s_golds[0]); g++) {
        size_t n;
        unsigned char *p = s_unhex(s_golds[g].hex, &n);
        struct tsdb_xor_iter it;
        ck_assert(tsdb_xor_iter_init(&it, p, n));
        tsdb_xor_enc_reset(&e);
        int64_t first = INT64_MIN, last = 0;
        while (tsdb_xor_iter_next(&it)) {
            if (first == INT64_MIN)
                first = it.t;
            ck_assert(it.t >= last || first == it.t);
            last = it.t;
            tsdb_xor_enc_append(&e, it.t, it.v);
        }
        ck_assert_msg(!it.err, "%s: damaged", s_golds[g].name);
        ck_assert_int_eq(it.read, it.total);
        ck_assert_int_eq(first, s_golds[g].mint);
        ck_assert_int_eq(last, s_golds[g].maxt);
        ck_assert_msg(e.len == n && memcmp(e.p, p, n) == 0,
                      "%s (%zu samples): re-encoded %zu bytes, "
                      "prometheus sent %zu",
                      s_golds[g].name, (size_t)it.total, e.len, n);
        free(p);
    }
    tsdb_xor_enc_free(&e);
}
END_TEST

// The odd chunk's values come back exactly (bits): -0.0, 1e300, NaN.
START_TEST(test_tsdb_xor_values)
{
    size_t n;
    unsigned char *p = s_unhex(s_golds[5].hex, &n);
    struct tsdb_xor_iter it;
    ck_assert(tsdb_xor_iter_init(&it, p, n));
    const double want[] = {0, -1.5, 1e300, 1e-300, 123456789.125, -0.0, 7};
    const int64_t dt[] = {0, 1000, 2000, 17000, 3600000, 3600001, 3605000};
    for (size_t k = 0; k < 7; k++) {
        ck_assert(tsdb_xor_iter_next(&it));
        ck_assert_int_eq(it.t, 1767225600000LL + dt[k]);
        ck_assert(memcmp(&it.v, &want[k], sizeof(double)) == 0);
    }
    ck_assert(!tsdb_xor_iter_next(&it));
    free(p);
    p = s_unhex(s_golds[8].hex, &n); // one sample: NaN, and the empty last byte
    ck_assert(tsdb_xor_iter_init(&it, p, n));
    ck_assert(tsdb_xor_iter_next(&it));
    ck_assert(isnan(it.v));
    ck_assert(!tsdb_xor_iter_next(&it) && !it.err);
    free(p);
}
END_TEST

// Damaged chunks end the iteration with err, never read past the bytes.
START_TEST(test_tsdb_xor_damaged)
{
    size_t n;
    unsigned char *p = s_unhex(s_golds[1].hex, &n);
    struct tsdb_xor_iter it;
    for (size_t cut = 0; cut < n; cut++) {
        bool ok = tsdb_xor_iter_init(&it, p, cut);
        size_t got = 0;
        while (tsdb_xor_iter_next(&it))
            got++;
        ck_assert_msg(!ok || it.err || got == it.total, "cut at %zu", cut);
        ck_assert(cut >= 2 || !ok);
        ck_assert(got <= 94);
    }
    // a count larger than the samples held
    p[0] = 0xff;
    ck_assert(tsdb_xor_iter_init(&it, p, n));
    size_t got = 0;
    while (tsdb_xor_iter_next(&it))
        got++;
    ck_assert(it.err);
    ck_assert(got < 0xff00);
    // random bytes: ends, with or without err
    srand(7);
    for (int r = 0; r < 2000; r++) {
        for (size_t k = 2; k < n; k++)
            p[k] = (unsigned char)rand();
        ck_assert(tsdb_xor_iter_init(&it, p, n));
        got = 0;
        while (tsdb_xor_iter_next(&it))
            got++;
        ck_assert(got <= it.total);
    }
    free(p);
}
END_TEST

// What the encoder writes, its iterator reads back: irregular steps (every delta-of-delta
// width), negative timestamps, equal and changing values.
START_TEST(test_tsdb_xor_roundtrip)
{
    struct tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    int64_t t = -5000000;
    int64_t ts[300];
    double vs[300];
    const int64_t steps[] = {1, 15000, 15000, 8191, 8193, 65537, 524289, 1LL << 40, 3, 3};
    for (int k = 0; k < 300; k++) {
        t += steps[k % 10];
        ts[k] = t;
        vs[k] = k % 7 == 0 ? vs[k > 0 ? k - 1 : 0] : k * 1.37 - 100;
        if (k == 0)
            vs[k] = 1;
        tsdb_xor_enc_append(&e, ts[k], vs[k]);
    }
    struct tsdb_xor_iter it;
    ck_assert(tsdb_xor_iter_init(&it, e.p, e.len));
    ck_assert_int_eq(it.total, 300);
    for (int k = 0; k < 300; k++) {
        ck_assert(tsdb_xor_iter_next(&it));
        ck_assert_int_eq(it.t, ts[k]);
        ck_assert(memcmp(&it.v, &vs[k], sizeof(double)) == 0);
    }
    ck_assert(!tsdb_xor_iter_next(&it) && !it.err);
    tsdb_xor_enc_free(&e);
}
END_TEST

Suite *
tsdb_xor_suite(void)
{
    Suite *s = suite_create("tsdb_xor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_xor_prometheus_chunks);
    tcase_add_test(tc, test_tsdb_xor_values);
    tcase_add_test(tc, test_tsdb_xor_damaged);
    tcase_add_test(tc, test_tsdb_xor_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
