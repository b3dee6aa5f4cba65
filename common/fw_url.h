/*  fw_url.h — URL text as Go's net/url writes it, for requests that must match what
    Prometheus and Alertmanager send (query strings, form bodies).
*/
#ifndef FW_URL_H
#define FW_URL_H

#include <stddef.h>

// Append Go's url.QueryEscape of s to *buf, of which *len bytes are used and *cap allocated
// (both updated; *buf may be NULL with both 0, and is never NULL after): ASCII letters,
// digits and -_.~ stay, a space becomes '+', every other byte %XX in capitals. *buf stays
// NUL-terminated.
void fw_url_query_escape(char **buf, size_t *len, size_t *cap, const char *s);

// url.QueryEscape of s as a new string (the caller frees it).
char *fw_url_query_escaped(const char *s);

#endif
