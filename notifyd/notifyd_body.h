/*  notifyd_body.h — what the integration builders (Slack, PagerDuty) share while they put a
    request body together: a JSON key set only when its text is not empty (Go's omitempty).
*/
#ifndef NOTIFYD_BODY_H
#define NOTIFYD_BODY_H

#include <jansson.h>
#include <stdbool.h>

// Set obj's key to text when text is not empty, or always when `always`; frees text.
void notifyd_body_set(json_t *obj, const char *key, char *text, bool always);

#endif
