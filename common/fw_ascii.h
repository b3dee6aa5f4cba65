/*  fw_ascii.h — ASCII character helpers that do not depend on the locale (ctype's do), for
    the protocol texts floorwatch reads: URLs, hosts, header names.
*/
#ifndef FW_ASCII_H
#define FW_ASCII_H

// The value of hexadecimal digit c (0-9, a-f, A-F), or -1.
static inline int
fw_ascii_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// c in lower case when it is an ASCII capital, else c.
static inline char
fw_ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#endif
