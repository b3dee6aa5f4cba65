/*  fw_gofloat.h — a float64 as Go's strconv.FormatFloat(v, fmt, -1, 64) writes it.

    Prometheus's texts carry Go's float spellings: its remote-write error lines use fmt's %g
    (tsdb_rwpartial.h), promtool's rule unit test reports strconv's 'E' (ruled_test_report.h).
    Precision -1 means the fewest significant digits that read back as exactly v and, among
    those, the nearest to v; 'g' then writes them in %e form when the decimal exponent is
    below -4 or 6 and over (Go's fixed rule for the shortest precision), else in %f form;
    'f' always in %f form, zeros filling the places past the digits (PromQL's number
    literals and count_values labels).
    The exponent has a sign and at least two digits. NaN is "NaN", the infinities "+Inf"
    and "-Inf" in every form; a negative zero keeps its sign ("-0", "-0e+00").
*/
#ifndef FW_GOFLOAT_H
#define FW_GOFLOAT_H

#include <stddef.h>

// Room for any 'g', 'e' or 'E' result, with its NUL ("-2.2250738585072014e-308" is the
// longest shape).
#define FW_GOFLOAT_MAX 32
// Room for any 'f' result, with its NUL: the smallest subnormals take "-0.", 323 zeros and
// their digits; the largest finite value 309 digits.
#define FW_GOFLOAT_F_MAX 344

// v into buf (size bytes, FW_GOFLOAT_MAX always suffice, FW_GOFLOAT_F_MAX for 'f'; a smaller
// buf is cut short and NUL-terminated) as FormatFloat(v, fmt, -1, 64): fmt 'g' ("1", "0.5",
// "100000", "1e+06", "1.234567e+06", "1e-05"), 'e' ("1e+00", "2.5e-01"), 'E' ("1E+00",
// "2.5E-01") or 'f' ("1000000", "0.00001", "100000000000000000000000" for 1e23); any other
// fmt is taken as 'g'. Returns buf.
const char *fw_gofloat_format(double v, char fmt, char *buf, size_t size);

#endif
