/*  fw_flags.c — Prometheus-style flags, the SIGHUP flag and the process-wide settings.

    Table-driven like fw_cfg, but flags are few and flat, so this is a linear scan. Values
    are borrowed from argv (which outlives main's work), so parsing allocates nothing.
*/
#include "fw_flags.h"

#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "fw_webcfg.h"

static volatile sig_atomic_t s_hup;

static void
s_on_hup(int sig)
{
    (void)sig;
    s_hup = 1;
}

void
fw_process_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); // a peer closing an HTTP connection must not kill us
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        fw_warn("process.locale",
                "msg=\"C.UTF-8 is not available: URLs with non-ASCII hosts fail\"");
}

bool
fw_signal_take_hup(void)
{
    if (!s_hup)
        return false;
    s_hup = 0;
    return true;
}

static void
s_usage(FILE *out, const char *daemon, const char *about, const struct fw_flag *table)
{
    fprintf(out, "usage: %s [flags]\n\n%s\n\nflags:\n", daemon, about);
    for (const struct fw_flag *f = table; f->name; f++)
        fprintf(out, "  --%-32s %s%s%s%s%s\n", f->name, f->help, f->def ? " (default: " : "",
                f->def ? f->def : "", f->def ? ")" : "",
                f->type == FW_FLAG_LIST ? " (repeatable)" : "");
    fprintf(out, "  --%-32s %s\n  --%-32s %s\n", "help", "show this help and exit", "version",
            "show the version and exit");
}

static int
s_set(const struct fw_flag *f, const char *value, void *opts, const char *daemon)
{
    char *target = (char *)opts + f->off;
    switch (f->type) {
    case FW_FLAG_STR: *(const char **)target = value; return 0;
    case FW_FLAG_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(bool *)target = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(bool *)target = false;
        else
            break;
        return 0;
    case FW_FLAG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end || errno == ERANGE) // out of range is refused, not clamped
            break;
        *(int64_t *)target = v;
        return 0;
    }
    case FW_FLAG_DURATION:
        if (fw_duration_parse(value, (int64_t *)target) < 0)
            break;
        return 0;
    case FW_FLAG_SIZE: {
        // Below 1KiB not even ZeroMQ's handshake fits: refuse it here, not as silent
        // reconnects later.
        int64_t bytes;
        if (fw_size_parse(value, &bytes) < 0 || bytes < 1024)
            break;
        *(int64_t *)target = bytes;
        return 0;
    }
    case FW_FLAG_LIST: {
        struct fw_flag_list *l = (struct fw_flag_list *)target;
        if (l->n == FW_FLAG_LIST_MAX) {
            fprintf(stderr, "%s: flag --%s given more than %d times\n", daemon, f->name,
                    FW_FLAG_LIST_MAX);
            return -1;
        }
        l->items[l->n++] = value;
        return 0;
    }
    }
    fprintf(stderr, "%s: invalid value \"%s\" for flag --%s\n", daemon, value, f->name);
    return -1;
}

int
fw_flags_parse(int argc, char **argv, const char *daemon, const char *about,
               const struct fw_flag *table, void *opts)
{
    for (const struct fw_flag *f = table; f->name; f++)
        if (f->def && s_set(f, f->def, opts, daemon) < 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage(stdout, daemon, about, table);
            return 1;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("%s, version %s (floorwatch)\n", daemon, FW_VERSION);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", daemon, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct fw_flag *f = table;
        while (f->name && !(strlen(f->name) == len && strncmp(f->name, name, len) == 0))
            f++;
        if (!f->name) {
            fprintf(stderr, "%s: unknown flag --%.*s (see --help)\n", daemon, (int)len, name);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (f->type == FW_FLAG_BOOL)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "%s: flag --%s needs a value\n", daemon, f->name);
            return -1;
        }
        if (s_set(f, value, opts, daemon) < 0)
            return -1;
    }
    return 0;
}

int
fw_flags_init_log(const char *daemon, const struct fw_common_opts *common)
{
    fw_log_level_t level;
    fw_log_format_t format;
    if (fw_log_level_parse(common->log_level, &level) < 0) {
        fprintf(stderr, "%s: --log.level must be debug, info, warn or error\n", daemon);
        return -1;
    }
    if (fw_log_format_parse(common->log_format, &format) < 0) {
        fprintf(stderr, "%s: --log.format must be logfmt or json\n", daemon);
        return -1;
    }
    fw_log_init(daemon, level, format);
    return 0;
}

int
fw_flags_check_web_config(const struct fw_common_opts *common)
{
    if (!common->web_config_file || !*common->web_config_file)
        return 0;
    struct fw_webcfg cfg = {0};
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    int rc = fw_webcfg_load(common->web_config_file, &cfg, errs);
    if (rc != 0)
        fw_cfg_errors_report(errs, true);
    fw_webcfg_free(&cfg);
    free(errs);
    return rc;
}

char *
fw_flags_json(const struct fw_flag *table, const void *opts)
{
    json_t *o = json_object(); // set_new steals each value
    for (const struct fw_flag *f = table; f->name; f++) {
        const char *target = (const char *)opts + f->off;
        char buf[64];
        const char *v = buf;
        switch (f->type) {
        case FW_FLAG_STR:
            v = *(const char *const *)target ? *(const char *const *)target : "";
            break;
        case FW_FLAG_BOOL: v = *(const bool *)target ? "true" : "false"; break;
        case FW_FLAG_INT:
            snprintf(buf, sizeof(buf), "%lld", (long long)*(const int64_t *)target);
            break;
        case FW_FLAG_SIZE:
            snprintf(buf, sizeof(buf), "%lldB", (long long)*(const int64_t *)target);
            break;
        case FW_FLAG_DURATION:
            fw_duration_format(*(const int64_t *)target, buf, sizeof(buf));
            break;
        case FW_FLAG_LIST: {
            const struct fw_flag_list *l = (const struct fw_flag_list *)target;
            char *joined = fw_strdup("");
            for (size_t k = 0; k < l->n; k++) {
                char *next = fw_asprintf("%s%s%s", joined, k ? "," : "", l->items[k]);
                free(joined);
                joined = next;
            }
            json_object_set_new(o, f->name, json_string(joined));
            free(joined);
            continue;
        }
        }
        json_object_set_new(o, f->name, json_string(v));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text ? text : fw_strdup("{}");
}
