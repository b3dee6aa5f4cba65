/*  check_fw_cfg.c — unit tests for the table-driven YAML loader (common/fw_cfg.c).

    A small made-up config with one field of every type is loaded from strings; the tests
    check values, defaults, and the exact text and file:line:col of each error, then that
    fw_cfg_free() leaves nothing behind (run under ASan for leaks).
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "check_util.h"

Suite *fw_cfg_suite(void);

struct t_item {
    char *name;
    int64_t weight;
    struct fw_cfg_pos pos;
};

struct t_sub {
    char *host;
    int64_t port;
    bool tls;
    struct fw_cfg_pos pos;
};

struct t_cfg {
    char *name;
    int64_t count;
    double ratio;
    bool enabled;
    int64_t timeout_ms;
    int64_t max_bytes;
    int mode;
    char **tags;
    size_t n_tags;
    struct fw_labels labels;
    struct fw_labels headers;
    struct t_sub sub;
    struct t_item *items;
    size_t n_items;
    struct fw_cfg_pos pos;
};

static const char *const s_modes[] = {"fast", "safe", NULL};

// Records where it was called, to show check callbacks get each element's position.
static int s_checked;
static struct fw_cfg_pos s_checked_pos[8];

static int
s_check_tag(const char *value, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    if (s_checked < 8)
        s_checked_pos[s_checked] = pos;
    s_checked++;
    if (strcmp(value, "bad") == 0) {
        fw_cfg_errors_add(errs, file, pos, "tag '%s' is not allowed", value);
        return -1;
    }
    return 0;
}

static const struct fw_cfg_field s_item_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct t_item, name), .required = true},
    {.key = "weight", .type = FW_CFG_INT, .off = offsetof(struct t_item, weight), .def = "1"},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct t_item, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_sub_fields[] = {
    {.key = "host", .type = FW_CFG_STR, .off = offsetof(struct t_sub, host), .def = "localhost"},
    {.key = "port",
     .type = FW_CFG_INT,
     .off = offsetof(struct t_sub, port),
     .def = "9090",
     .min = 1,
     .max = 65535},
    {.key = "tls", .type = FW_CFG_BOOL, .off = offsetof(struct t_sub, tls), .def = "no"},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct t_sub, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct t_cfg, name)},
    {.key = "count",
     .type = FW_CFG_INT,
     .off = offsetof(struct t_cfg, count),
     .def = "5",
     .min = 1,
     .max = 100},
    {.key = "ratio",
     .type = FW_CFG_FLOAT,
     .off = offsetof(struct t_cfg, ratio),
     .def = "0.5",
     .min = 0,
     .max = 1},
    {.key = "enabled", .type = FW_CFG_BOOL, .off = offsetof(struct t_cfg, enabled), .def = "true"},
    {.key = "timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct t_cfg, timeout_ms),
     .def = "15s",
     .min = 1000,
     .max = 3600000},
    {.key = "max_bytes",
     .type = FW_CFG_SIZE,
     .off = offsetof(struct t_cfg, max_bytes),
     .def = "64MiB"},
    {.key = "mode",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct t_cfg, mode),
     .def = "safe",
     .enum_names = s_modes},
    {.key = "tags",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct t_cfg, tags),
     .count_off = offsetof(struct t_cfg, n_tags),
     .check = s_check_tag},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct t_cfg, labels)},
    {.key = "headers", .type = FW_CFG_STR_MAP, .off = offsetof(struct t_cfg, headers)},
    {.key = "sub",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct t_cfg, sub),
     .child = s_sub_fields},
    {.key = "items",
     .type = FW_CFG_LIST,
     .off = offsetof(struct t_cfg, items),
     .count_off = offsetof(struct t_cfg, n_items),
     .elem_size = sizeof(struct t_item),
     .child = s_item_fields},
    {.key = "legacy", .type = FW_CFG_IGNORE},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct t_cfg, pos)},
    {.key = NULL},
};

// A table that nests itself, as alertd's routes do.
struct t_node {
    char *name;
    struct t_node *kids;
    size_t n_kids;
};
extern const struct fw_cfg_field t_node_fields[];
const struct fw_cfg_field t_node_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct t_node, name)},
    {.key = "kids",
     .type = FW_CFG_LIST,
     .off = offsetof(struct t_node, kids),
     .count_off = offsetof(struct t_node, n_kids),
     .elem_size = sizeof(struct t_node),
     .child = t_node_fields},
    {.key = NULL},
};
struct t_tree {
    struct t_node tree;
};
static const struct fw_cfg_field s_tree_fields[] = {
    {.key = "tree", .type = FW_CFG_STRUCT, .off = 0, .child = t_node_fields},
    {.key = "legacy", .type = FW_CFG_IGNORE},
    {.key = NULL},
};

// "key: " + prefix n times + mid + suffix n times + "\n"; caller frees.
static char *
s_nested_yaml(const char *key, const char *prefix, int n, const char *mid, const char *suffix)
{
    char before[128];
    snprintf(before, sizeof(before), "%s: ", key);
    return check_util_nest(before, prefix, n, mid, suffix, "\n");
}

// Load text into a fresh tree; -1 must come with "exceeded max depth" at line:col.
static void
s_tree_too_deep(char *text, int col)
{
    struct t_tree t = {0};
    struct fw_cfg_errors errs;
    ck_assert_int_eq(fw_cfg_load("t.yml", text, s_tree_fields, &t, &errs), -1);
    ck_assert_msg(errs.len >= 1 && strstr(errs.items[0].msg, "exceeded max depth of 1000"),
                  "first error: %s", errs.len ? errs.items[0].msg : "none");
    ck_assert_int_eq(errs.items[0].line, 1);
    ck_assert_int_eq(errs.items[0].col, col);
    fw_cfg_free(s_tree_fields, &t);
    free(text);
}

// Issue 5: nothing in a config file may drive a recursive walk arbitrarily deep. A document
// nested past FW_CFG_MAX_DEPTH fails before libyaml builds it (its scanner slows
// quadratically: 100,000 levels took half a minute), even under a key nobody walks, and a
// table that nests itself stops there too, even where an alias names its own ancestor.
START_TEST(test_fw_cfg_nesting_is_bounded)
{
    ck_assert_int_eq(FW_CFG_MAX_DEPTH, 1000);
    // the top mapping is level 1: the 1000th "[" is level 1001
    s_tree_too_deep(s_nested_yaml("legacy", "[", 100000, "", "]"), 9 + 999);
    s_tree_too_deep(s_nested_yaml("legacy", "{a: ", 100000, "1", "}"), 9 + 999 * 4);
    s_tree_too_deep(s_nested_yaml("tree", "{kids: [", 100000, "{}", "]}"), 14 + 8 * 499);
    s_tree_too_deep(strdup("tree: &t {name: a, kids: [*t]}\n"), 7); // at the anchor
    s_tree_too_deep(strdup("tree: &t {name: a, kids: [*t, *t, *t]}\n"), 7);

    // 499 nested kids (999 levels with their sequences and the top mapping) load and free
    char *text = s_nested_yaml("tree", "{name: x, kids: [", 499, "{name: leaf}", "]}");
    struct t_tree t = {0};
    struct fw_cfg_errors errs;
    ck_assert_msg(fw_cfg_load("t.yml", text, s_tree_fields, &t, &errs) == 0, "%s",
                  errs.len ? errs.items[0].msg : "?");
    const struct t_node *n = &t.tree;
    int depth = 0;
    while (n->n_kids == 1) {
        n = &n->kids[0];
        depth++;
    }
    ck_assert_int_eq(depth, 499);
    ck_assert_str_eq(n->name, "leaf");
    fw_cfg_free(s_tree_fields, &t);
    free(text);
    text = s_nested_yaml("legacy", "[", 999, "", "]");
    ck_assert_int_eq(fw_cfg_load("t.yml", text, s_tree_fields, &t, &errs), 0);
    fw_cfg_free(s_tree_fields, &t);
    ck_assert(!fw_cfg_too_deep(text, strlen(text), NULL));
    free(text);
}
END_TEST

// Load text as "t.yml" into a fresh cfg; returns fw_cfg_load's result.
static int
s_load(const char *text, struct t_cfg *cfg, struct fw_cfg_errors *errs)
{
    memset(cfg, 0, sizeof(*cfg));
    return fw_cfg_load("t.yml", text, s_fields, cfg, errs);
}

START_TEST(test_fw_cfg_load_all_types)
{
    static const char text[] = "name: demo\n"
                               "count: 42\n"
                               "ratio: 0.25\n"
                               "enabled: off\n"
                               "timeout: 1m30s\n"
                               "max_bytes: 2KiB\n"
                               "mode: fast\n"
                               "tags: [a, 'b c', \"d\"]\n"
                               "labels:\n"
                               "  env: prod\n"
                               "  team: \"core\"\n"
                               "headers:\n"
                               "  X-Token: abc\n"
                               "sub:\n"
                               "  host: db.example\n"
                               "  port: 5432\n"
                               "  tls: true\n"
                               "items:\n"
                               "  - name: first\n"
                               "    weight: 7\n"
                               "  - name: second\n"
                               "legacy: {anything: [goes, here]}\n";
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    s_checked = 0;
    ck_assert_int_eq(s_load(text, &cfg, &errs), 0);
    ck_assert_uint_eq(errs.len, 0);
    ck_assert_str_eq(cfg.name, "demo");
    ck_assert_int_eq(cfg.count, 42);
    ck_assert_double_eq(cfg.ratio, 0.25);
    ck_assert(!cfg.enabled);
    ck_assert_int_eq(cfg.timeout_ms, 90000);
    ck_assert_int_eq(cfg.max_bytes, 2048);
    ck_assert_int_eq(cfg.mode, 0);
    ck_assert_uint_eq(cfg.n_tags, 3);
    ck_assert_str_eq(cfg.tags[0], "a");
    ck_assert_str_eq(cfg.tags[1], "b c");
    ck_assert_str_eq(cfg.tags[2], "d");
    ck_assert_int_eq(s_checked, 3);
    ck_assert_int_eq(s_checked_pos[1].line, 8);
    ck_assert_int_eq(s_checked_pos[1].col, 11);
    ck_assert_uint_eq(cfg.labels.len, 2);
    ck_assert_str_eq(fw_labels_get(&cfg.labels, "env"), "prod");
    ck_assert_str_eq(fw_labels_get(&cfg.labels, "team"), "core");
    ck_assert_str_eq(fw_labels_get(&cfg.headers, "X-Token"), "abc");
    ck_assert_str_eq(cfg.sub.host, "db.example");
    ck_assert_int_eq(cfg.sub.port, 5432);
    ck_assert(cfg.sub.tls);
    ck_assert_int_eq(cfg.sub.pos.line, 15);
    ck_assert_int_eq(cfg.sub.pos.col, 3);
    ck_assert_uint_eq(cfg.n_items, 2);
    ck_assert_str_eq(cfg.items[0].name, "first");
    ck_assert_int_eq(cfg.items[0].weight, 7);
    ck_assert_int_eq(cfg.items[0].pos.line, 19);
    ck_assert_int_eq(cfg.items[0].pos.col, 5);
    ck_assert_str_eq(cfg.items[1].name, "second");
    ck_assert_int_eq(cfg.items[1].weight, 1); // default inside a list element
    ck_assert_int_eq(cfg.pos.line, 1);
    ck_assert_int_eq(cfg.pos.col, 1);

    fw_cfg_free(s_fields, &cfg);
    ck_assert_ptr_null(cfg.name);
    ck_assert_ptr_null(cfg.tags);
    ck_assert_uint_eq(cfg.n_tags, 0);
    ck_assert_uint_eq(cfg.labels.len, 0);
    ck_assert_ptr_null(cfg.sub.host);
    ck_assert_ptr_null(cfg.items);
    ck_assert_uint_eq(cfg.n_items, 0);
}
END_TEST

START_TEST(test_fw_cfg_defaults)
{
    // Empty text, a null document, and a document where every key is null: all defaults,
    // including the nested struct whose mapping is absent.
    static const char *const texts[] = {"", "# only a comment\n", "~\n",
                                        "name:\ncount: ~\nsub: null\ntags:\n"};
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        struct t_cfg cfg;
        struct fw_cfg_errors errs;
        ck_assert_int_eq(s_load(texts[t], &cfg, &errs), 0);
        ck_assert_ptr_null(cfg.name);
        ck_assert_int_eq(cfg.count, 5);
        ck_assert_double_eq(cfg.ratio, 0.5);
        ck_assert(cfg.enabled);
        ck_assert_int_eq(cfg.timeout_ms, 15000);
        ck_assert_int_eq(cfg.max_bytes, 64 << 20);
        ck_assert_int_eq(cfg.mode, 1);
        ck_assert_uint_eq(cfg.n_tags, 0);
        ck_assert_str_eq(cfg.sub.host, "localhost");
        ck_assert_int_eq(cfg.sub.port, 9090);
        ck_assert(!cfg.sub.tls);
        ck_assert_uint_eq(cfg.n_items, 0);
        fw_cfg_free(s_fields, &cfg);
    }
}
END_TEST

START_TEST(test_fw_cfg_unknown_key_position)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("name: x\nsub:\n  hots: a\nscrape_intervall: 5s\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 2);
    ck_assert_str_eq(errs.items[0].msg, "unknown key 'hots' in sub");
    ck_assert_int_eq(errs.items[0].line, 3);
    ck_assert_int_eq(errs.items[0].col, 3);
    ck_assert_str_eq(errs.items[1].msg, "unknown key 'scrape_intervall'");
    ck_assert_int_eq(errs.items[1].line, 4);
    ck_assert_int_eq(errs.items[1].col, 1);
    char buf[512];
    ck_assert_str_eq(fw_err_format(&errs.items[1], buf, sizeof(buf)),
                     "t.yml:4:1: error: unknown key 'scrape_intervall'");
    // The rest of the file was still applied.
    ck_assert_str_eq(cfg.name, "x");
    ck_assert_str_eq(cfg.sub.host, "localhost");
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_collects_all_errors)
{
    static const char text[] = "count: many\n"        // 1
                               "ratio: 2\n"           // 2
                               "enabled: maybe\n"     // 3
                               "timeout: abc\n"       // 4
                               "max_bytes: lots\n"    // 5
                               "mode: turbo\n"        // 6
                               "tags: [ok, bad]\n"    // 7
                               "items:\n"             // 8
                               "  - name: a\n"        // 9
                               "    colour: red\n"    // 10
                               "  - weight: 3\n"      // 11
                               "labels: {1abc: x}\n"; // 12
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load(text, &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 10);
    check_util_cfg_error_assert(&errs, "t.yml", "'many' is not an integer for key 'count'", 1, 8);
    check_util_cfg_error_assert(&errs, "t.yml", "value 2 out of range [0, 1] for key 'ratio'", 2,
                                8);
    check_util_cfg_error_assert(&errs, "t.yml", "'maybe' is not a boolean for key 'enabled'", 3,
                                10);
    check_util_cfg_error_assert(&errs, "t.yml", "'abc' is not a duration for key 'timeout'", 4, 10);
    check_util_cfg_error_assert(&errs, "t.yml", "'lots' is not a size for key 'max_bytes'", 5, 12);
    check_util_cfg_error_assert(&errs, "t.yml", "'turbo' is not one of fast, safe for key 'mode'",
                                6, 7);
    check_util_cfg_error_assert(&errs, "t.yml", "tag 'bad' is not allowed", 7, 12);
    check_util_cfg_error_assert(&errs, "t.yml", "unknown key 'colour' in items[0]", 10, 5);
    check_util_cfg_error_assert(&errs, "t.yml", "key 'name' is required in items[1]", 11, 5);
    check_util_cfg_error_assert(&errs, "t.yml", "invalid label name '1abc'", 12, 10);
    // Values that failed keep their default-free zero or their default.
    ck_assert_uint_eq(cfg.n_items, 2);
    ck_assert_str_eq(cfg.items[0].name, "a");
    ck_assert_ptr_null(cfg.items[1].name);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_duplicate_keys)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("name: a\ncount: 2\nname: b\nlabels:\n  x: 1\n  x: 2\n"
                            "sub:\n  port: 1\n  port: 2\n",
                            &cfg, &errs),
                     -1);
    ck_assert_uint_eq(errs.len, 3);
    check_util_cfg_error_assert(&errs, "t.yml", "duplicate key 'name'", 3, 1);
    check_util_cfg_error_assert(&errs, "t.yml", "duplicate key 'x' in labels", 6, 3);
    check_util_cfg_error_assert(&errs, "t.yml", "duplicate key 'port' in sub", 9, 3);
    ck_assert_str_eq(cfg.name, "a"); // the first one wins
    ck_assert_int_eq(cfg.sub.port, 1);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_wrong_types)
{
    static const char text[] = "sub: [1, 2]\n"      // 1
                               "tags: abc\n"        // 2
                               "name: {a: b}\n"     // 3
                               "items: {name: x}\n" // 4
                               "labels: [a]\n"      // 5
                               "count: [1]\n";      // 6
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load(text, &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 6);
    check_util_cfg_error_assert(&errs, "t.yml", "expected a mapping for key 'sub', got a sequence",
                                1, 6);
    check_util_cfg_error_assert(&errs, "t.yml", "expected a sequence for key 'tags', got a scalar",
                                2, 7);
    check_util_cfg_error_assert(&errs, "t.yml", "expected a scalar for key 'name', got a mapping",
                                3, 7);
    check_util_cfg_error_assert(&errs, "t.yml",
                                "expected a sequence for key 'items', got a mapping", 4, 8);
    check_util_cfg_error_assert(&errs, "t.yml",
                                "expected a mapping for key 'labels', got a sequence", 5, 9);
    check_util_cfg_error_assert(&errs, "t.yml", "expected a scalar for key 'count', got a sequence",
                                6, 8);
    ck_assert_str_eq(cfg.sub.host, "localhost"); // defaults despite the wrong type
    fw_cfg_free(s_fields, &cfg);

    ck_assert_int_eq(s_load("- a\n- b\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 1);
    check_util_cfg_error_assert(&errs, "t.yml",
                                "expected a mapping at the top level, got a sequence", 1, 1);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_range)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("count: 0\nsub:\n  port: 70000\ntimeout: 2h\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 3);
    check_util_cfg_error_assert(&errs, "t.yml", "value 0 out of range [1, 100] for key 'count'", 1,
                                8);
    check_util_cfg_error_assert(&errs, "t.yml",
                                "value 70000 out of range [1, 65535] for key 'port'", 3, 9);
    check_util_cfg_error_assert(&errs, "t.yml", "value 2h out of range [1s, 1h] for key 'timeout'",
                                4, 10);
    fw_cfg_free(s_fields, &cfg);

    ck_assert_int_eq(s_load("count: 100\nratio: 1\n", &cfg, &errs), 0);
    ck_assert_int_eq(cfg.count, 100);
    fw_cfg_free(s_fields, &cfg);
    ck_assert_int_eq(s_load("count: 12abc\n", &cfg, &errs), -1); // strict: whole token
    check_util_cfg_error_assert(&errs, "t.yml", "'12abc' is not an integer for key 'count'", 1, 8);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_required)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("items:\n  - weight: 2\n  - name: ~\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 2);
    check_util_cfg_error_assert(&errs, "t.yml", "key 'name' is required in items[0]", 2, 5);
    check_util_cfg_error_assert(&errs, "t.yml", "key 'name' is required in items[1]", 3, 5);
    ck_assert_int_eq(cfg.items[0].weight, 2);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_yaml_syntax_error)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("name: x\ncount: 3\n  bad: y\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 1);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "mapping values are not allowed"));
    ck_assert_int_eq(errs.items[0].line, 3);
    ck_assert_int_eq(errs.items[0].col, 6);
    fw_cfg_free(s_fields, &cfg);

    ck_assert_int_eq(s_load("tags: [a, b\nname: x\n", &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 1);
    ck_assert_int_gt(errs.items[0].line, 0);
    fw_cfg_free(s_fields, &cfg);

    ck_assert_int_eq(s_load("name: \"x\xff\"\n", &cfg, &errs), -1); // not UTF-8
    ck_assert_uint_eq(errs.len, 1);
    ck_assert_int_eq(errs.items[0].line, 1);
    ck_assert_int_eq(errs.items[0].col, 9);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_free_after_failed_load)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("name: x\ntags: [a, b, [c]]\nlabels: {a: b, 2: c}\nitems:\n"
                            "  - name: one\n  - 3\n  - weight: x\nsub: {host: h, port: 0}\n",
                            &cfg, &errs),
                     -1);
    ck_assert_uint_eq(cfg.n_tags, 2);
    ck_assert_uint_eq(cfg.n_items, 2);
    ck_assert_str_eq(fw_labels_get(&cfg.labels, "a"), "b");
    fw_cfg_free(s_fields, &cfg);
    ck_assert_ptr_null(cfg.name);
    ck_assert_ptr_null(cfg.items);
    ck_assert_ptr_null(cfg.sub.host);
    fw_cfg_free(s_fields, &cfg); // twice is fine

    struct t_cfg zero;
    memset(&zero, 0, sizeof(zero));
    fw_cfg_free(s_fields, &zero);
    fw_cfg_free(s_fields, NULL);
}
END_TEST

START_TEST(test_fw_cfg_anchors_and_merge_keys)
{
    static const char text[] = "sub: &base\n"
                               "  host: shared\n"
                               "  port: 10\n"
                               "items:\n"
                               "  - &it {name: one, weight: 4}\n"
                               "  - *it\n"
                               "  - <<: *it\n"
                               "    name: three\n"
                               "tags: &t [x, y]\n"
                               "legacy: *t\n";
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load(text, &cfg, &errs), 0);
    ck_assert_uint_eq(cfg.n_items, 3);
    ck_assert_str_eq(cfg.items[1].name, "one");
    ck_assert_str_eq(cfg.items[2].name, "three"); // explicit key beats the merged one
    ck_assert_int_eq(cfg.items[2].weight, 4);
    ck_assert_str_eq(cfg.sub.host, "shared");
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_labels_and_bools)
{
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load("labels: {a: '1', __b: x, empty: ''}\nheaders: {1x: y, 'a b': c}\n"
                            "enabled: Yes\nsub: {tls: ON}\n",
                            &cfg, &errs),
                     0);
    ck_assert_str_eq(fw_labels_get(&cfg.labels, "a"), "1");
    ck_assert_ptr_null(fw_labels_get(&cfg.labels, "empty"));  // an empty value is no label
    ck_assert_str_eq(fw_labels_get(&cfg.headers, "1x"), "y"); // STR_MAP: any name
    ck_assert_str_eq(fw_labels_get(&cfg.headers, "a b"), "c");
    ck_assert(cfg.enabled);
    ck_assert(cfg.sub.tls);
    fw_cfg_free(s_fields, &cfg);

    ck_assert_int_eq(s_load("labels: {a: [1]}\n", &cfg, &errs), -1);
    check_util_cfg_error_assert(&errs, "t.yml", "expected a scalar for label 'a', got a sequence",
                                1, 13);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_too_many_errors)
{
    char text[4096] = "";
    size_t n = 0;
    for (int i = 0; i < FW_CFG_MAX_ERRORS + 10; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "bad%d: 1\n", i);
    struct t_cfg cfg;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(s_load(text, &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, FW_CFG_MAX_ERRORS);
    ck_assert_uint_eq(errs.dropped, 10);
    ck_assert_int_eq(errs.items[FW_CFG_MAX_ERRORS - 1].line, FW_CFG_MAX_ERRORS);
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

START_TEST(test_fw_cfg_file_and_report)
{
    mkdir("test/tmp", 0755);
    const char *path = "test/tmp/check_fw_cfg.yml";
    const char *out = "test/tmp/check_fw_cfg.stderr";
    check_util_write_file(path, "name: f\ncuont: 3\n");

    struct t_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct fw_cfg_errors errs;
    ck_assert_int_eq(fw_cfg_load(path, NULL, s_fields, &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 1);
    ck_assert_str_eq(errs.items[0].file, path);
    ck_assert_str_eq(cfg.name, "f");
    fw_cfg_free(s_fields, &cfg);

    // Report: the compiler-style line on stderr (plus the log line, also on stderr).
    fflush(stderr);
    int saved = dup(2);
    FILE *fp = fopen(out, "w");
    ck_assert_ptr_nonnull(fp);
    dup2(fileno(fp), 2);
    fw_cfg_errors_report(&errs, true);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(fp);
    char buf[2048] = "";
    fp = fopen(out, "r");
    size_t got = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[got] = '\0';
    fclose(fp);
    unlink(out);
    unlink(path);
    ck_assert_msg(strstr(buf, "test/tmp/check_fw_cfg.yml:2:1: error: unknown key 'cuont'\n"),
                  "stderr was: %s", buf);
    ck_assert_msg(strstr(buf, "config.error"), "stderr was: %s", buf);

    memset(&cfg, 0, sizeof(cfg));
    ck_assert_int_eq(fw_cfg_load("test/tmp/does-not-exist.yml", NULL, s_fields, &cfg, &errs), -1);
    ck_assert_uint_eq(errs.len, 1);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "does-not-exist.yml"));
    fw_cfg_free(s_fields, &cfg);
}
END_TEST

Suite *
fw_cfg_suite(void)
{
    Suite *s = suite_create("fw_cfg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_cfg_load_all_types);
    tcase_add_test(tc, test_fw_cfg_defaults);
    tcase_add_test(tc, test_fw_cfg_unknown_key_position);
    tcase_add_test(tc, test_fw_cfg_collects_all_errors);
    tcase_add_test(tc, test_fw_cfg_duplicate_keys);
    tcase_add_test(tc, test_fw_cfg_wrong_types);
    tcase_add_test(tc, test_fw_cfg_range);
    tcase_add_test(tc, test_fw_cfg_required);
    tcase_add_test(tc, test_fw_cfg_yaml_syntax_error);
    tcase_add_test(tc, test_fw_cfg_free_after_failed_load);
    tcase_add_test(tc, test_fw_cfg_anchors_and_merge_keys);
    tcase_add_test(tc, test_fw_cfg_nesting_is_bounded);
    tcase_add_test(tc, test_fw_cfg_labels_and_bools);
    tcase_add_test(tc, test_fw_cfg_too_many_errors);
    tcase_add_test(tc, test_fw_cfg_file_and_report);
    suite_add_tcase(s, tc);
    return s;
}
