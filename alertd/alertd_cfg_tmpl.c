/*  alertd_cfg_tmpl.c — see alertd_cfg_tmpl.h. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg_tmpl.h"
#include "fw_mem.h"
#include "fw_tmpl.h"

#define S_MAX_FILE (4u << 20) // one template file at most 4 MiB
#define S_MAX_FILES 1000

// The whole file, or NULL (unreadable or larger than S_MAX_FILE).
static char *
s_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0, n;
    char *buf = fw_malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len > S_MAX_FILE) {
            free(buf);
            fclose(f);
            return NULL;
        }
        if (cap - len < 2)
            buf = fw_realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

json_t *
alertd_cfg_tmpl_load(char *const *globs, size_t n, const char *config_file,
                     struct fw_cfg_errors *errs)
{
    json_t *out = json_array();
    if (!n)
        return out;
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    const char *slash = config_file ? strrchr(config_file, '/') : NULL;
    struct fw_cfg_pos nopos = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!globs[i] || !*globs[i])
            continue;
        char *pattern =
            globs[i][0] == '/' || !slash
                ? fw_strdup(globs[i])
                : fw_asprintf("%.*s/%s", (int)(slash - config_file), config_file, globs[i]);
        glob_t g;
        memset(&g, 0, sizeof g);
        int rc = glob(pattern, 0, NULL, &g);
        if (rc != 0 && rc != GLOB_NOMATCH)
            fw_cfg_errors_add(errs, config_file, nopos, "templates: cannot expand \"%s\"",
                              globs[i]);
        for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++) {
            const char *path = g.gl_pathv[k];
            if (json_array_size(out) >= S_MAX_FILES) {
                fw_cfg_errors_add(errs, config_file, nopos, "templates: more than %u files",
                                  S_MAX_FILES);
                break;
            }
            char *text = s_read(path);
            if (!text) {
                fw_cfg_errors_add(errs, config_file, nopos,
                                  "templates: cannot read \"%s\" (or over %u bytes)", path,
                                  S_MAX_FILE);
                continue;
            }
            fw_err_t err;
            fw_err_clear(&err);
            if (fw_tmpl_parse(set, path, text, &err) < 0) {
                struct fw_cfg_pos p = {err.line, err.col}; // both 1-based
                fw_cfg_errors_add(errs, path, p, "%s", err.msg);
            } else {
                json_array_append_new(out, json_pack("{s:s, s:s}", "name", path, "text", text));
            }
            free(text);
        }
        globfree(&g);
        free(pattern);
    }
    fw_tmpl_set_destroy(&set);
    return out;
}

void
alertd_cfg_tmpl_check_text(const char *text, const char *config_file, struct fw_cfg_pos pos,
                           const struct fw_cfg_vpos *at, const char *what,
                           struct fw_cfg_errors *errs)
{
    if (!text || !strstr(text, "{{"))
        return;
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_err_t err;
    fw_err_clear(&err);
    // err.col is 1-based (fw_tmpl_parse: the byte of the problem in its line, plus 1)
    if (fw_tmpl_check(set, what, text, &err) < 0)
        fw_cfg_errors_add(errs, config_file, fw_cfg_vpos_at(at, err.line, err.col - 1, pos),
                          "%s: %s", what, err.msg);
    fw_tmpl_set_destroy(&set);
}
