/*  notifyd_tmpl.h — receivers' config texts executed on the template engine (common/fw_tmpl).

    A NOTIFY carries each integration's texts as alertmanager.yml wrote them (absent: the
    default text, rendered by notifyd_text.c) and the `templates:` files' texts (`templates`:
    [{name, text}]). notifyd_tmpl_use() selects the template set for one NOTIFY: Alertmanager's
    functions plus those files, built once per distinct set of texts (a small cache keyed by
    their hash). notifyd_tmpl_text() executes one config text against Alertmanager's data for
    the notification (fw_tmpl_am_data); an execution error is logged with the template's name
    and the default text is sent instead, as issue 8 asks. Not thread-safe: notifyd's main
    actor calls both.
*/
#ifndef NOTIFYD_TMPL_H
#define NOTIFYD_TMPL_H

#include <jansson.h>

// Select the set for the `templates` array of a NOTIFY (NULL or empty: no files).
void notifyd_tmpl_use(const json_t *templates);

// The config text `text` of key `name` rendered for data (a payload as notifyd_text_data
// returns it): a new string. A text without "{{" is returned as is. On a template error the
// default text def (a notifyd_text_default name; NULL: "") is returned and the error logged.
char *notifyd_tmpl_text(const char *name, const char *text, const json_t *data, const char *def);

// Free the cached sets (at exit).
void notifyd_tmpl_shutdown(void);

#endif
