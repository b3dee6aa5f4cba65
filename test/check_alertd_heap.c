/*  check_alertd_heap.c — alertd_heap_prefault: the top chunk's first pages are present
    (mincore) and the blocks then carved from them are written without a page fault
    (getrusage's minor faults). Without the prefault both fail: the top's pages past the
    first few were never touched.
*/
#include <check.h>
#include <malloc.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../alertd/alertd_heap.h"

#if defined(__SANITIZE_ADDRESS__)
#define S_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_OWN_MALLOC 1
#endif
#endif

static long
s_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

// 48 KiB of 2 KiB blocks written: carved from the top chunk, one page in two is new.
static long
s_carve_faults(void **blocks, size_t n)
{
    long before = s_minflt();
    for (size_t i = 0; i < n; i++) {
        blocks[i] = malloc(2048);
        memset(blocks[i], 0x5a, 2048);
    }
    return s_minflt() - before;
}

START_TEST(test_alertd_heap_prefault_faults_in_the_top)
{
    // The top chunk is grown to 96 KiB first when smaller, then populated.
    ssize_t n = alertd_heap_prefault(96 * 1024);
#ifdef S_OWN_MALLOC
    if (n == 0)
        return; // the sanitizer's allocator does not use brk
#endif
    ck_assert_int_gt(n, 64 * 1024);
    long page = sysconf(_SC_PAGESIZE);
    ck_assert_int_eq(n % page, 0);
    // Every page of the top's first n bytes is present (mincore), before a block is carved.
    char *top = (char *)(((uintptr_t)sbrk(0) - mallinfo2().keepcost) & ~(uintptr_t)(page - 1));
    unsigned char present[64];
    ck_assert_int_le(n / page, 64);
    ck_assert_int_eq(mincore(top, (size_t)n, present), 0);
    for (long i = 0; i < n / page; i++)
        ck_assert_msg(present[i] & 1, "page %ld of %ld not present", i, n / page);
    void *blocks[24];
    long faults = s_carve_faults(blocks, 24);
    ck_assert_msg(faults <= 1, "%ld page faults carving 48 KiB after the prefault", faults);
    for (size_t i = 0; i < 24; i++)
        free(blocks[i]);
    // Called again it finds the same pages present; nothing changes in held blocks.
    void *held = malloc(64);
    memset(held, 0x77, 64);
    ck_assert_int_gt(alertd_heap_prefault(96 * 1024), 0);
    for (size_t i = 0; i < 64; i++)
        ck_assert_int_eq(((unsigned char *)held)[i], 0x77);
    free(held);
}
END_TEST

// Any size, even below a page, is a harmless request.
START_TEST(test_alertd_heap_prefault_small)
{
    ck_assert_int_ge(alertd_heap_prefault(1), 0);
    ck_assert_int_ge(alertd_heap_prefault(0), 0);
}
END_TEST

Suite *
alertd_heap_suite(void)
{
    Suite *s = suite_create("alertd_heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, test_alertd_heap_prefault_faults_in_the_top);
    tcase_add_test(tc, test_alertd_heap_prefault_small);
    suite_add_tcase(s, tc);
    return s;
}
