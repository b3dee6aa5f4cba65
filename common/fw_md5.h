/*  fw_md5.h — MD5 (RFC 1321), for the one place Prometheus fixes it: relabeling's hashmod.

    hashmod must give the same shard as Prometheus for the same value, and Prometheus takes
    md5 of the value; so this is not a choice of hash (fw_hash.h is the project's hash) but
    compatibility. Not for security.
*/
#ifndef FW_MD5_H
#define FW_MD5_H

#include <stddef.h>
#include <stdint.h>

// The 16-byte MD5 digest of data[0..len) into out.
void fw_md5(const void *data, size_t len, uint8_t out[16]);

#endif
