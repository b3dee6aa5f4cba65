/*  alertd_cfg_tmpl.h — templates in alertmanager.yml: the `templates:` files and the checks of
    receivers' template texts, both on the project's engine (common/fw_tmpl.h).

    Alertmanager reads every file that a `templates:` glob matches (relative to the config
    file's directory) when it loads the config; so does alertd, at load and at every reload.
    Each file is parsed at load (an error names the template file, its line and column), and
    the texts go to notifyd in every NOTIFY (`templates`: [{name, text}]), which builds the
    template set from them (docs/wire.md).
*/
#ifndef ALERTD_CFG_TMPL_H
#define ALERTD_CFG_TMPL_H

#include <jansson.h>

#include "fw_cfg.h"

// Expand the globs (relative to the directory of config_file), read and parse every file.
// Returns a new array of {name, text} (empty when there are no globs), errors into errs.
json_t *alertd_cfg_tmpl_load(char *const *globs, size_t n, const char *config_file,
                             struct fw_cfg_errors *errs);

// Check one config text (a receiver's title, text, ...) by parsing it as a template: a parse
// error is reported with `what` and Go's message at the error inside the value in
// config_file when `at` (where the value sits, may be NULL) says the file holds the text byte
// for byte on one line, else at the value's position, else (at NULL) at pos.
void alertd_cfg_tmpl_check_text(const char *text, const char *config_file, struct fw_cfg_pos pos,
                                const struct fw_cfg_vpos *at, const char *what,
                                struct fw_cfg_errors *errs);

#endif
