/*  notifyd_body.c — see notifyd_body.h. */
#include <stdlib.h>

#include "notifyd_body.h"

void
notifyd_body_set(json_t *obj, const char *key, char *text, bool always)
{
    if (always || *text)
        json_object_set_new(obj, key, json_string(text)); // steals the new string
    free(text);
}
