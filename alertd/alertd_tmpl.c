/*  alertd_tmpl.c — see alertd_tmpl.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"
#include "alertd_cfg.h"
#include "alertd_cfg_email.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_tmpl.h"
#include "alertd_tmpl.h"
#include "fw_flags.h"
#include "fw_mem.h"

fw_tmpl_set_t *
alertd_tmpl_set(const json_t *files)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_use_am_defaults(set);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *text = json_string_value(json_object_get(f, "text"));
        fw_err_t err;
        fw_err_clear(&err);
        if (name && text) // parsed once already, at load
            (void)fw_tmpl_parse(set, name, text, &err);
    }
    return set;
}

json_t *
alertd_tmpl_sample(const char *receiver)
{
    // amtool 0.25's defaultData (cli/template_render.go); its times are "now" there, fixed
    // here so that a render is reproducible.
    return json_pack(
        "{s:s, s:s, s:[{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:s, s:s, "
        "s:s, s:s}, {s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:s}], "
        "s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:s}",
        "receiver", receiver ? receiver : "receiver", "status", "alertstatus", "alerts", "status",
        "alertstatus", "labels", "label1", "value1", "label2", "value2", "instance", "foo.bar:1234",
        "commonlabelkey1", "commonlabelvalue1", "commonlabelkey2", "commonlabelvalue2",
        "annotations", "annotation1", "value1", "annotation2", "value2", "commonannotationkey1",
        "commonannotationvalue1", "commonannotationkey2", "commonannotationvalue2", "startsAt",
        "2026-01-01T00:00:00Z", "endsAt", "2026-01-01T00:05:00Z", "generatorURL",
        "https://generatorurl.com", "fingerprint", "fingerprint1", "status", "alertstatus",
        "labels", "foo", "bar", "baz", "qux", "commonlabelkey1", "commonlabelvalue1",
        "commonlabelkey2", "commonlabelvalue2", "annotations", "aaa", "bbb", "ccc", "ddd",
        "commonannotationkey1", "commonannotationvalue1", "commonannotationkey2",
        "commonannotationvalue2", "startsAt", "2025-12-31T23:55:00Z", "endsAt",
        "2026-01-01T00:05:00Z", "generatorURL", "https://generatorurl.com", "fingerprint",
        "fingerprint2", "groupLabels", "grouplabelkey1", "grouplabelvalue1", "grouplabelkey2",
        "grouplabelvalue2", "commonLabels", "commonlabelkey1", "commonlabelvalue1",
        "commonlabelkey2", "commonlabelvalue2", "commonAnnotations", "commonannotationkey1",
        "commonannotationvalue1", "commonannotationkey2", "commonannotationvalue2", "externalURL",
        "https://example.com");
}

// text (NULL: template def by name) over am, Alertmanager's data.
static int
s_exec(const fw_tmpl_set_t *set, const char *name, const char *text, const char *def, bool html,
       json_t *am, char **out, fw_err_t *err)
{
    if (html)
        return fw_tmpl_exec_html(set, text ? name : def, text, am, out, err);
    return text ? fw_tmpl_exec_text(set, name, text, am, out, err)
                : fw_tmpl_exec(set, def, am, out, err);
}

int
alertd_tmpl_render(const fw_tmpl_set_t *set, const char *text, bool html, const json_t *payload,
                   char **out, fw_err_t *err)
{
    json_t *am = fw_tmpl_am_data(payload);
    int rc = s_exec(set, "", text, NULL, html, am, out, err);
    json_decref(am);
    return rc;
}

// The value of key in a config: "details.X" and "headers.X" look in that map.
static const char *
s_value(const json_t *config, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot)
        return json_string_value(json_object_get(config, key));
    char map[16];
    snprintf(map, sizeof map, "%.*s", (int)(dot - key), key);
    return json_string_value(json_object_get(json_object_get(config, map), dot + 1));
}

// Render one key into out (appended) or fail with err naming it.
static int
s_key(const fw_tmpl_set_t *set, json_t *am, const char *array, size_t index, const char *key,
      const char *text, const char *def, bool html, json_t *out, fw_err_t *err)
{
    char *s = NULL;
    char name[128];
    size_t n = strlen(array) - strlen("_configs");
    snprintf(name, sizeof name, "%.*s_configs[%zu].%s", (int)n, array, index, key);
    fw_err_t e;
    fw_err_clear(&e);
    if (s_exec(set, name, text, def, html, am, &s, &e) < 0) {
        fw_err_set(err, "%s: %s", name, e.msg);
        return -1;
    }
    json_array_append_new(out, json_pack("{s:s%, s:I, s:s, s:s}", "integration", array, n, "index",
                                         (json_int_t)index, "key", key, "text", s));
    free(s);
    return 0;
}

// The keys of the config's map (details, headers) that the table does not list.
static int
s_extra(const fw_tmpl_set_t *set, json_t *am, const char *array, size_t index, const json_t *config,
        const char *map, json_t *out, fw_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(config, map), k, v)
    {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", map, k);
        bool listed = false;
        for (const struct fw_tmpl_am_key *t = fw_tmpl_am_keys; t->array && !listed; t++)
            listed = strcmp(t->array, array) == 0 && strcmp(t->key, key) == 0;
        if (!listed && json_is_string(v) &&
            s_key(set, am, array, index, key, json_string_value(v), NULL, false, out, err) < 0)
            return -1;
    }
    return 0;
}

// The lists of templated items (Alertmanager 0.25: notify/slack and notify/pagerduty run every
// one of these keys through tmplText), rendered as "fields[0].title", "actions[0].confirm.text".
struct s_list {
    const char *array, *list;
    const char *keys[7];
};
static const struct s_list s_lists[] = {
    {"slack_configs", "fields", {"title", "value"}},
    {"slack_configs", "actions", {"type", "text", "url", "style", "name", "value", "confirm"}},
    {"pagerduty_configs", "images", {"src", "alt", "href"}},
    {"pagerduty_configs", "links", {"href", "text"}},
    {"opsgenie_configs", "responders", {"id", "name", "username", "type"}},
    {"rocketchat_configs", "fields", {"title", "value"}},
    {"rocketchat_configs", "actions", {"text", "url", "msg"}},
    {"mattermost_configs", "fields", {"title", "value"}},
    {NULL, NULL, {NULL}},
};
static const char *const s_confirm_keys[] = {"text", "title", "ok_text", "dismiss_text", NULL};

static int
s_list_keys(const fw_tmpl_set_t *set, json_t *am, const char *array, size_t index,
            const char *prefix, const json_t *item, const char *const *keys, json_t *out,
            fw_err_t *err)
{
    for (size_t k = 0; keys[k]; k++) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", prefix, keys[k]);
        const json_t *v = json_object_get(item, keys[k]);
        if (json_is_object(v) && strcmp(keys[k], "confirm") == 0) {
            if (s_list_keys(set, am, array, index, key, v, s_confirm_keys, out, err) < 0)
                return -1;
        } else if (json_is_string(v) && s_key(set, am, array, index, key, json_string_value(v),
                                              NULL, false, out, err) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
s_lists_render(const fw_tmpl_set_t *set, json_t *am, const char *array, size_t index,
               const json_t *config, json_t *out, fw_err_t *err)
{
    for (const struct s_list *l = s_lists; l->array; l++) {
        if (strcmp(l->array, array) != 0)
            continue;
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(config, l->list), i, item)
        {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s[%zu]", l->list, i);
            if (s_list_keys(set, am, array, index, prefix, item, l->keys, out, err) < 0)
                return -1;
        }
    }
    return 0;
}

json_t *
alertd_tmpl_render_receiver(const fw_tmpl_set_t *set, const json_t *notify, const json_t *payload,
                            fw_err_t *err)
{
    json_t *am = fw_tmpl_am_data(payload);
    json_t *out = json_array();
    for (const struct fw_tmpl_am_key *t = fw_tmpl_am_keys; t->array; t++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(notify, t->array), i, c)
        {
            const char *text = s_value(c, t->key);
            if ((text || t->def) &&
                s_key(set, am, t->array, i, t->key, text, t->def, t->html, out, err) < 0)
                goto fail;
        }
        if (t[1].array && strcmp(t[1].array, t->array) == 0)
            continue;
        // after the last key of an integration, its lists, then the other keys of its details
        // and headers
        json_array_foreach(json_object_get(notify, t->array), i, c)
        {
            if (s_lists_render(set, am, t->array, i, c, out, err) < 0 ||
                s_extra(set, am, t->array, i, c, "details", out, err) < 0 ||
                s_extra(set, am, t->array, i, c, "headers", out, err) < 0)
                goto fail;
        }
    }
    json_decref(am);
    return out;
fail:
    json_decref(am);
    json_decref(out);
    return NULL;
}

// ---- alertd template render ----

struct s_opts {
    const char *config_file, *receiver, *text, *type, *data;
    struct fw_flag_list globs;
};

static const struct fw_flag s_flags[] = {
    {"config.file", FW_FLAG_STR, offsetof(struct s_opts, config_file), NULL,
     "alertmanager.yml: its templates: files, and its receivers for --receiver"},
    {"receiver", FW_FLAG_STR, offsetof(struct s_opts, receiver), NULL,
     "render every text of this receiver (default without --template.text: the route's)"},
    {"template.text", FW_FLAG_STR, offsetof(struct s_opts, text), NULL,
     "the template text to render"},
    {"template.type", FW_FLAG_STR, offsetof(struct s_opts, type), "text",
     "text, or html (html/template's escaping, as email html)"},
    {"template.data", FW_FLAG_STR, offsetof(struct s_opts, data), NULL,
     "JSON file with the data (Alertmanager's template.Data / webhook payload layout); "
     "default: amtool's sample alerts"},
    {"template.glob", FW_FLAG_LIST, offsetof(struct s_opts, globs), NULL,
     "more template files (a glob, repeatable), parsed after the config's"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

// The template files: the config's, then the globs'. NULL after printing errors.
static json_t *
s_files(const struct alertd_cfg *cfg, const struct fw_flag_list *globs)
{
    json_t *files = json_array();
    if (cfg)
        json_array_extend(files, cfg->template_files);
    if (globs->n == 0)
        return files;
    struct fw_cfg_errors errs = {0};
    json_t *more = alertd_cfg_tmpl_load((char *const *)globs->items, globs->n, NULL, &errs);
    if (errs.len) {
        fw_cfg_errors_report(&errs, true);
        json_decref(more);
        json_decref(files);
        return NULL;
    }
    json_array_extend(files, more);
    json_decref(more);
    return files;
}

// The receiver's NOTIFY configs, or NULL (printed) when there is no such receiver.
static json_t *
s_notify(const struct alertd_cfg *cfg, const char *name)
{
    const struct alertd_cfg_receiver *r = cfg ? alertd_cfg_receiver(cfg, name) : NULL;
    if (!r) {
        fprintf(stderr, "alertd template render: no receiver \"%s\"%s\n", name,
                cfg ? "" : " (no --config.file)");
        return NULL;
    }
    json_t *n = json_object();
    alertd_cfg_receivers_notify(r, n);
    alertd_cfg_email_notify(r, n);
    return n;
}

static int
s_print_texts(const json_t *texts)
{
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t)
    {
        printf("%s_configs[%lld].%s: %s\n", json_string_value(json_object_get(t, "integration")),
               json_integer_value(json_object_get(t, "index")),
               json_string_value(json_object_get(t, "key")),
               json_string_value(json_object_get(t, "text")));
    }
    return 0;
}

int
alertd_tmpl_main(int argc, char **argv)
{
    struct s_opts o = {0};
    int rc = fw_flags_parse(argc, argv, "alertd template render",
                            "render notification templates with sample alerts", s_flags, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    bool html = strcmp(o.type, "html") == 0;
    if (!html && strcmp(o.type, "text") != 0) {
        fprintf(stderr, "alertd template render: --template.type is text or html, not \"%s\"\n",
                o.type);
        return 2;
    }
    struct alertd_cfg *cfg = NULL;
    if (o.config_file) {
        struct fw_cfg_errors errs = {0};
        if (!(cfg = alertd_config_load(o.config_file, &errs))) {
            fw_cfg_errors_report(&errs, true);
            return 2;
        }
    }
    const char *receiver = o.receiver;
    if (!receiver && !o.text)
        receiver = cfg ? cfg->route.receiver : NULL;
    json_t *files = s_files(cfg, &o.globs), *payload = NULL, *notify = NULL;
    rc = 2;
    if (!files)
        goto out;
    if (!receiver && !o.text) {
        fprintf(stderr, "alertd template render: give --template.text, or --config.file "
                        "(and --receiver)\n");
        goto out;
    }
    if (o.data) {
        json_error_t je;
        payload = json_load_file(o.data, 0, &je);
        if (!json_is_object(payload)) {
            fprintf(stderr, "alertd template render: %s:%d: %s\n", o.data, je.line,
                    payload ? "not a JSON object" : je.text);
            goto out;
        }
    } else {
        payload = alertd_tmpl_sample(o.text ? o.receiver : receiver);
    }
    if (!o.text && !(notify = s_notify(cfg, receiver)))
        goto out;
    fw_tmpl_set_t *set = alertd_tmpl_set(files);
    fw_err_t err;
    fw_err_clear(&err);
    rc = 1;
    if (o.text) {
        char *s = NULL;
        if (alertd_tmpl_render(set, o.text, html, payload, &s, &err) == 0) {
            fputs(s, stdout); // as amtool prints it: no newline added
            free(s);
            rc = 0;
        }
    } else {
        json_t *texts = alertd_tmpl_render_receiver(set, notify, payload, &err);
        if (texts)
            rc = s_print_texts(texts);
        json_decref(texts);
    }
    if (rc != 0)
        fprintf(stderr, "alertd template render: %s\n", err.msg);
    fw_tmpl_set_destroy(&set);
out:
    json_decref(notify);
    json_decref(payload);
    json_decref(files);
    alertd_cfg_destroy(&cfg);
    return rc;
}
