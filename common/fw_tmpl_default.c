/*  fw_tmpl_default.c — floorwatch's default notification templates in a set (see fw_tmpl.h,
    fw_tmpl_set_use_am_defaults).

    The text is common/fw_tmpl_default.tmpl, turned into the C string fw_embed_fw_tmpl_default
    at build time (tools/embed.sh, common/module.mk), so every binary carries the same one and
    no file needs installing. It is parsed once per set; a parse error is a build defect
    (check_fw_tmpl_default parses it), so it aborts.
*/
#include <stdio.h>
#include <stdlib.h>

#include "fw_tmpl.h"

extern const char fw_embed_fw_tmpl_default[];

void
fw_tmpl_set_use_am_defaults(fw_tmpl_set_t *self)
{
    fw_err_t err;
    fw_err_clear(&err);
    if (fw_tmpl_parse(self, "default.tmpl", fw_embed_fw_tmpl_default, &err) < 0) {
        fprintf(stderr, "fw_tmpl_default.tmpl does not parse: %s\n", err.msg);
        abort();
    }
}
