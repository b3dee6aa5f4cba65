/*  scraper_sd_file.c — the file_sd_configs provider: parsing, and the actor that watches.

    Design: the actor runs its own zloop: a reader on its pipe, a poller on one inotify
    descriptor watching the directory of every pattern, a repeating refresh_interval timer,
    and a 100 ms one-shot timer that an inotify event arms, so a burst of writes to a file
    is read once. A refresh globs every pattern, reads each file, and parses it only when
    its content hash changed; it keeps per file the last groups that parsed (the "last
    good") and sends the union of them all as one full update when anything changed.
*/
#include "scraper_sd_file.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "fw_hash.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_names.h"

#define S_SETTLE_MS 100

// ---------------------------------------------------------------------------------------
//  Parsing

static bool
s_is_json(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && strcasecmp(dot, ".json") == 0;
}

static int
s_label_ok(const char *path, const char *name, const char *value, int line, int col, fw_err_t *err)
{
    if (!fw_names_label_valid(name, FW_NAMES_UTF8)) { // any UTF-8 name, as Prometheus 3
        fw_err_set_at(err, path, line, col, "\"%s\" is not a valid label name", name);
        return -1;
    }
    if (!fw_utf8_valid(value, strlen(value))) {
        fw_err_set_at(err, path, line, col, "invalid UTF-8 in the value of label \"%s\"", name);
        return -1;
    }
    return 0;
}

static struct scraper_sd_group *
s_new_group(struct scraper_sd_update *u, const char *path)
{
    char *source = fw_asprintf("%s:%zu", path, u->n_groups);
    struct scraper_sd_group *g = scraper_sd_update_add(u, source);
    free(source);
    return g;
}

static int
s_json_group(const char *path, json_t *o, size_t i, struct scraper_sd_update *u, fw_err_t *err)
{
    if (json_is_null(o)) {
        fw_err_set_at(err, path, 0, 0, "group %zu: nil target group item found", i);
        return -1;
    }
    if (!json_is_object(o)) {
        fw_err_set_at(err, path, 0, 0, "group %zu: expected an object", i);
        return -1;
    }
    struct scraper_sd_group *g = s_new_group(u, path);
    json_t *targets = json_object_get(o, "targets");
    json_t *labels = json_object_get(o, "labels");
    if (targets && !json_is_null(targets)) {
        if (!json_is_array(targets)) {
            fw_err_set_at(err, path, 0, 0, "group %zu: \"targets\" is not a list", i);
            return -1;
        }
        size_t k;
        json_t *t;
        json_array_foreach(targets, k, t)
        {
            if (!json_is_string(t)) {
                fw_err_set_at(err, path, 0, 0, "group %zu: target %zu is not a string", i, k);
                return -1;
            }
            fw_labels_set(scraper_sd_group_add_target(g), "__address__", json_string_value(t));
        }
    }
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels)) {
            fw_err_set_at(err, path, 0, 0, "group %zu: \"labels\" is not an object", i);
            return -1;
        }
        const char *name;
        json_t *v;
        json_object_foreach(labels, name, v)
        {
            if (!json_is_string(v)) {
                fw_err_set_at(err, path, 0, 0, "group %zu: label \"%s\" is not a string", i, name);
                return -1;
            }
            if (s_label_ok(path, name, json_string_value(v), 0, 0, err) != 0)
                return -1;
            fw_labels_set(&g->labels, name, json_string_value(v));
        }
    }
    return 0;
}

static int
s_parse_json(const char *path, const char *text, size_t len, struct scraper_sd_update *u,
             fw_err_t *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!root) {
        fw_err_set_at(err, path, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0, "%s",
                      je.text);
        return -1;
    }
    int rc = 0;
    if (json_is_array(root)) {
        size_t i;
        json_t *o;
        json_array_foreach(root, i, o)
        {
            if ((rc = s_json_group(path, o, i, u, err)) != 0)
                break;
        }
    } else if (!json_is_null(root)) {
        fw_err_set_at(err, path, 1, 1, "expected a list of target groups");
        rc = -1;
    }
    json_decref(root);
    return rc;
}

static int
s_yaml_fail(fw_err_t *err, const char *path, const yaml_node_t *n, const char *what)
{
    fw_err_set_at(err, path, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, "%s",
                  what);
    return -1;
}

static bool
s_yaml_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int
s_yaml_group(const char *path, yaml_document_t *doc, yaml_node_t *m, struct scraper_sd_update *u,
             fw_err_t *err)
{
    if (s_yaml_null(m))
        return s_yaml_fail(err, path, m, "nil target group item found");
    if (m->type != YAML_MAPPING_NODE)
        return s_yaml_fail(err, path, m, "expected a target group (targets, labels)");
    struct scraper_sd_group *g = s_new_group(u, path);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return s_yaml_fail(err, path, k ? k : m, "expected a scalar key");
        const char *key = (const char *)k->data.scalar.value;
        if (s_yaml_null(v))
            continue;
        if (strcmp(key, "targets") == 0) {
            if (v->type != YAML_SEQUENCE_NODE)
                return s_yaml_fail(err, path, v, "\"targets\" must be a list");
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *t = yaml_document_get_node(doc, *it);
                if (!t || t->type != YAML_SCALAR_NODE)
                    return s_yaml_fail(err, path, t ? t : v, "a target must be a string");
                fw_labels_set(scraper_sd_group_add_target(g), "__address__",
                              (const char *)t->data.scalar.value);
            }
        } else if (strcmp(key, "labels") == 0) {
            if (v->type != YAML_MAPPING_NODE)
                return s_yaml_fail(err, path, v, "\"labels\" must be a mapping");
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *ln = yaml_document_get_node(doc, q->key);
                yaml_node_t *lv = yaml_document_get_node(doc, q->value);
                if (!ln || !lv || ln->type != YAML_SCALAR_NODE || lv->type != YAML_SCALAR_NODE)
                    return s_yaml_fail(err, path, ln ? ln : v, "a label must be name: value");
                const char *name = (const char *)ln->data.scalar.value;
                const char *value = s_yaml_null(lv) ? "" : (const char *)lv->data.scalar.value;
                if (s_label_ok(path, name, value, (int)ln->start_mark.line + 1,
                               (int)ln->start_mark.column + 1, err) != 0)
                    return -1;
                fw_labels_set(&g->labels, name, value);
            }
        } else {
            char msg[160];
            snprintf(msg, sizeof(msg), "field %.64s not found in type targetgroup.plain", key);
            return s_yaml_fail(err, path, k, msg);
        }
    }
    return 0;
}

static int
s_parse_yaml(const char *path, const char *text, size_t len, struct scraper_sd_update *u,
             fw_err_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fw_err_set_at(err, path, 0, 0, "cannot initialise libyaml");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const yaml_mark_t *mk = &parser.problem_mark;
        fw_err_set_at(err, path, (int)mk->line + 1, (int)mk->column + 1, "%s",
                      parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !s_yaml_null(root)) {
        if (root->type != YAML_SEQUENCE_NODE) {
            rc = s_yaml_fail(err, path, root, "expected a list of target groups");
        } else {
            for (yaml_node_item_t *it = root->data.sequence.items.start;
                 rc == 0 && it < root->data.sequence.items.top; it++)
                rc = s_yaml_group(path, &doc, yaml_document_get_node(&doc, *it), u, err);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

struct scraper_sd_update *
scraper_sd_file_parse(const char *path, const char *text, size_t len, fw_err_t *err)
{
    struct scraper_sd_update *u = scraper_sd_update_new(false);
    // YAML aliases could expand a small file enormously; libyaml keeps them as references
    // and this walk visits each node once per reference, bounded by the file's own size.
    int rc = s_is_json(path) ? s_parse_json(path, text, len, u, err)
                             : s_parse_yaml(path, text, len, u, err);
    if (rc != 0) {
        scraper_sd_update_destroy(&u);
        return NULL;
    }
    for (size_t i = 0; i < u->n_groups; i++)
        fw_labels_set(&u->groups[i].labels, "__meta_filepath", path);
    return u;
}

// ---------------------------------------------------------------------------------------
//  The actor

struct s_file {
    char *path;                     // owned
    uint64_t hash;                  // of the content last read
    bool seen;                      // matched in this refresh
    bool broken;                    // the content last read did not parse
    bool held;                      // holds its prometheus_sd_file_mtime_seconds series
    struct scraper_sd_update *good; // owned: last groups that parsed, NULL: none yet
};

typedef struct {
    zsock_t *pipe;         // borrowed
    zloop_t *loop;         // owned
    fw_metrics_t *metrics; // borrowed, may be NULL
    char *job;             // owned
    char **patterns;       // owned
    size_t n_patterns;
    int64_t refresh_ms;
    int inotify_fd;
    int settle_timer; // -1: none
    struct s_file *files;
    size_t n_files, cap_files;
    bool sent_once, stopped;
} s_actor_t;

static struct s_file *
s_file_get(s_actor_t *self, const char *path)
{
    for (size_t i = 0; i < self->n_files; i++)
        if (strcmp(self->files[i].path, path) == 0)
            return &self->files[i];
    fw_mem_grow((void **)&self->files, &self->cap_files, self->n_files + 1, sizeof(*self->files));
    struct s_file *f = &self->files[self->n_files++];
    memset(f, 0, sizeof(*f));
    f->path = fw_strdup(path);
    return f;
}

// Read a whole file, at most SCRAPER_SD_FILE_MAX_BYTES, and its mtime (Unix seconds, as
// Go's ModTime().Unix()). NULL with err.
static char *
s_read(const char *path, size_t *len_out, double *mtime, fw_err_t *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fw_err_set_at(err, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    *mtime = fstat(fileno(fp), &st) == 0 ? (double)st.st_mtim.tv_sec : 0;
    size_t cap = 4096, len = 0;
    char *buf = fw_malloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap)
            break;
        if (cap >= SCRAPER_SD_FILE_MAX_BYTES) {
            fw_err_set_at(err, path, 0, 0, "file larger than %u bytes", SCRAPER_SD_FILE_MAX_BYTES);
            fclose(fp);
            free(buf);
            return NULL;
        }
        cap *= 2;
        buf = fw_realloc(buf, cap + 1);
    }
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        fw_err_set_at(err, path, 0, 0, "cannot read: %s", strerror(errno));
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

// prometheus_sd_file_mtime_seconds{filename}: as Prometheus's TimestampCollector, the mtime
// of each file at its last good read, a series per file while a provider has it (held: two
// jobs may read one file, and a reload starts the new providers before it stops the old).
static void
s_mtime_set(s_actor_t *self, struct s_file *f, double mtime)
{
    char labels[PATH_MAX + 32];
    fw_metrics_label(labels, sizeof(labels), "filename", f->path);
    if (!f->held)
        fw_metrics_hold(self->metrics, "prometheus_sd_file_mtime_seconds", labels);
    f->held = true;
    fw_metrics_set(self->metrics, "prometheus_sd_file_mtime_seconds", labels, mtime);
}

static void
s_mtime_release(s_actor_t *self, struct s_file *f)
{
    if (!f->held)
        return;
    char labels[PATH_MAX + 32];
    fw_metrics_label(labels, sizeof(labels), "filename", f->path);
    fw_metrics_release(self->metrics, "prometheus_sd_file_mtime_seconds", labels);
    f->held = false;
}

// Read one matched file; true when its groups changed.
static bool
s_read_file(s_actor_t *self, struct s_file *f)
{
    fw_err_t err = {0};
    size_t len = 0;
    double mtime = 0;
    char *text = s_read(f->path, &len, &mtime, &err);
    uint64_t h = text ? fw_hash64(text, len) : 0;
    if (text && f->good && h == f->hash) {
        free(text);
        // Unchanged and still broken: Prometheus reads (and fails) it on every refresh, so
        // each counts, logged only once (below).
        if (f->broken)
            fw_metrics_add(self->metrics, "prometheus_sd_file_read_errors_total", "", 1);
        else
            s_mtime_set(self, f, mtime); // read again and good: Prometheus sets it again
        return false;
    }
    struct scraper_sd_update *u = text ? scraper_sd_file_parse(f->path, text, len, &err) : NULL;
    free(text);
    if (!u) {
        fw_metrics_add(self->metrics, "prometheus_sd_file_read_errors_total", "", 1);
        // Keep the last good groups; say why once per version of the file.
        if (!text || h != f->hash || !f->hash) {
            char buf[512];
            fw_warn("sd.file.fail", "job=%s file=%s err=%s kept_groups=%zu", self->job, f->path,
                    fw_err_format(&err, buf, sizeof(buf)), f->good ? f->good->n_groups : 0);
        }
        f->hash = h ? h : 1;
        f->broken = true;
        return false;
    }
    f->broken = false;
    s_mtime_set(self, f, mtime);
    fw_debug("sd.file.read", "job=%s file=%s groups=%zu", self->job, f->path, u->n_groups);
    scraper_sd_update_destroy(&f->good);
    f->good = u;
    f->hash = h;
    return true;
}

static void
s_group_copy(struct scraper_sd_update *dst, const struct scraper_sd_group *g)
{
    struct scraper_sd_group *c = scraper_sd_update_add(dst, g->source);
    fw_labels_copy(&c->labels, &g->labels);
    for (size_t i = 0; i < g->n_targets; i++)
        fw_labels_copy(scraper_sd_group_add_target(c), &g->targets[i]);
}

static void
s_watch_dirs(s_actor_t *self)
{
    if (self->inotify_fd < 0)
        return;
    for (size_t i = 0; i < self->n_patterns; i++) {
        const char *p = self->patterns[i];
        const char *slash = strrchr(p, '/');
        char dir[PATH_MAX];
        if (!slash)
            snprintf(dir, sizeof(dir), ".");
        else
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash == p ? 1 : slash - p), p);
        uint32_t mask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM |
                        IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
        if (inotify_add_watch(self->inotify_fd, dir, mask) < 0)
            fw_debug("sd.file.watch.fail", "job=%s dir=%s err=%s", self->job, dir, strerror(errno));
    }
}

static void
s_refresh(s_actor_t *self)
{
    int64_t t0 = zclock_usecs();
    bool changed = false;
    for (size_t i = 0; i < self->n_files; i++)
        self->files[i].seen = false;
    for (size_t i = 0; i < self->n_patterns; i++) {
        glob_t g;
        int rc = glob(self->patterns[i], 0, NULL, &g);
        if (rc != 0 && rc != GLOB_NOMATCH) {
            fw_warn("sd.file.glob.fail", "job=%s glob=%s", self->job, self->patterns[i]);
            continue;
        }
        for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++) {
            struct s_file *f = s_file_get(self, g.gl_pathv[k]);
            if (f->seen)
                continue; // matched by an earlier pattern too
            f->seen = true;
            changed |= s_read_file(self, f);
        }
        if (rc == 0)
            globfree(&g);
    }
    for (size_t i = 0; i < self->n_files;) {
        struct s_file *f = &self->files[i];
        if (f->seen) {
            i++;
            continue;
        }
        fw_info("sd.file.gone", "job=%s file=%s", self->job, f->path);
        s_mtime_release(self, f);
        changed |= f->good != NULL;
        scraper_sd_update_destroy(&f->good);
        free(f->path);
        self->files[i] = self->files[--self->n_files];
    }
    s_watch_dirs(self);
    fw_metrics_observe(self->metrics, "prometheus_sd_file_scan_duration_seconds", "",
                       (double)(zclock_usecs() - t0) / 1e6);
    if ((!changed && self->sent_once) || self->stopped)
        return;
    struct scraper_sd_update *u = scraper_sd_update_new(true);
    for (size_t i = 0; i < self->n_files; i++)
        for (size_t k = 0; self->files[i].good && k < self->files[i].good->n_groups; k++)
            s_group_copy(u, &self->files[i].good->groups[k]);
    if (scraper_sd_update_send(self->pipe, &u) == 0)
        self->sent_once = true;
}

static int
s_on_refresh(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_refresh(arg);
    return 0;
}

static int
s_on_settled(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_actor_t *self = arg;
    self->settle_timer = -1;
    s_refresh(self);
    return 0;
}

static int
s_on_inotify(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)item;
    s_actor_t *self = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int i = 0; i < 64; i++) { // drain, bounded
        ssize_t n = read(self->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
    }
    if (self->settle_timer == -1)
        self->settle_timer = zloop_timer(loop, S_SETTLE_MS, 1, s_on_settled, self);
    return 0;
}

static int
s_on_pipe(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    s_actor_t *self = arg;
    char *cmd = zstr_recv(reader);
    if (!cmd || strcmp(cmd, "$TERM") == 0) {
        zstr_free(&cmd);
        return -1;
    }
    if (strcmp(cmd, "STOP") == 0) {
        self->stopped = true;
        zstr_send(reader, "STOPPED");
    }
    zstr_free(&cmd);
    return 0;
}

struct s_args {
    char *job;
    fw_metrics_t *metrics;
    char **patterns;
    size_t n_patterns;
    int64_t refresh_ms;
};

static void
s_actor(zsock_t *pipe, void *arg)
{
    struct s_args *a = arg;
    s_actor_t self = {.pipe = pipe,
                      .job = a->job,
                      .metrics = a->metrics,
                      .patterns = a->patterns,
                      .n_patterns = a->n_patterns,
                      .refresh_ms = a->refresh_ms,
                      .settle_timer = -1};
    free(a);
    self.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (self.inotify_fd < 0) // Prometheus counts a watcher it cannot make (and stops there)
        fw_metrics_add(self.metrics, "prometheus_sd_file_watcher_errors_total", "", 1);
    if (self.inotify_fd < 0)
        fw_warn("sd.file.inotify.fail", "job=%s err=%s (re-read every refresh_interval only)",
                self.job, strerror(errno));
    self.loop = zloop_new();
    zloop_set_nonstop(self.loop, true); // only $TERM ends us: STOP must always be answered
    zloop_reader(self.loop, pipe, s_on_pipe, &self);
    if (self.inotify_fd >= 0) {
        zmq_pollitem_t item = {NULL, self.inotify_fd, ZMQ_POLLIN, 0};
        zloop_poller(self.loop, &item, s_on_inotify, &self);
    }
    zloop_timer(self.loop, (size_t)self.refresh_ms, 0, s_on_refresh, &self);
    zsock_signal(pipe, 0);
    s_refresh(&self);
    // czmq 4.2.1's zloop_start returns 0 when a signal interrupts its poll, nonstop or not;
    // only $TERM (a -1 from s_on_pipe) or a terminated context ends us.
    while (zloop_start(self.loop) == 0 && zmq_errno() == EINTR)
        ;
    zloop_destroy(&self.loop);
    if (self.inotify_fd >= 0)
        close(self.inotify_fd);
    for (size_t i = 0; i < self.n_files; i++) {
        s_mtime_release(&self, &self.files[i]); // as Prometheus's removeDiscoverer
        free(self.files[i].path);
        scraper_sd_update_destroy(&self.files[i].good);
    }
    free(self.files);
    for (size_t i = 0; i < self.n_patterns; i++)
        free(self.patterns[i]);
    free(self.patterns);
    free(self.job);
}

zactor_t *
scraper_sd_file_new(const struct fw_file_sd_config *c, const char *job, fw_metrics_t *metrics)
{
    struct s_args *a = fw_calloc(1, sizeof(*a));
    a->job = fw_strdup(job);
    a->metrics = metrics;
    a->n_patterns = c->n_files;
    a->patterns = fw_calloc(c->n_files + 1, sizeof(char *));
    for (size_t i = 0; i < c->n_files; i++)
        a->patterns[i] = fw_strdup(c->files[i]);
    a->refresh_ms = c->refresh_interval_ms > 0 ? c->refresh_interval_ms : 300000;
    return fw_thread_actor_new(s_actor, a);
}
