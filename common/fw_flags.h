/*  fw_flags.h — command-line flags in Prometheus's style, and the daemons' signal flags.

    Flags are `--name=value` or `--name value`; booleans are `--name` or `--name=false`.
    Every daemon accepts the common set (FW_FLAGS_COMMON): --config.file, --check-config,
    --log.level, --log.format, --web.listen-address, --web.config.file, --zmq.max-msg-size,
    --help, --version.
    String results are borrowed from argv or from the table's default literal; nothing is
    allocated.
*/
#ifndef FW_FLAGS_H
#define FW_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FW_FLAG_STR,
    FW_FLAG_BOOL,
    FW_FLAG_INT,
    FW_FLAG_DURATION,
    FW_FLAG_SIZE, // bytes in Prometheus units ("64MiB", "1GB", plain bytes), at least 1KiB
    FW_FLAG_LIST, // repeatable string: each occurrence appends to a struct fw_flag_list
} fw_flag_type_t;

// The target of a FW_FLAG_LIST flag: the values in the order given (borrowed from argv).
#define FW_FLAG_LIST_MAX 32
struct fw_flag_list {
    const char *items[FW_FLAG_LIST_MAX];
    size_t n;
};

struct fw_flag {
    const char *name; // without the leading "--"; NULL ends a table
    fw_flag_type_t type;
    size_t off;      // offsetof the target: const char *, bool, int64_t, int64_t ms, int64_t,
                     // struct fw_flag_list
    const char *def; // default as flag text; NULL leaves the target zero
    const char *help;
};

struct fw_common_opts {
    const char *config_file; // NULL: use the embedded default config
    bool check_config;       // validate the config, print "configuration OK", exit
    const char *log_level;
    const char *log_format;
    const char *web_listen_address; // host:port for /metrics, /-/healthy, ...
    const char *web_config_file;    // Prometheus's web configuration file (fw_webcfg.h), or NULL
    int64_t zmq_max_msg_size;       // bytes: largest inbound ZeroMQ message part accepted
};

// The default of --zmq.max-msg-size. Sized above the largest message a healthy stack sends
// (a scrape's SAMPLES batch, a QUERY_RESULT, an ALERTS list); README "Ports and flags".
#define FW_FLAGS_ZMQ_MAX_MSG_SIZE "64MiB"

// Entries for struct fw_common_opts stored as member `m` of the options struct `T`.
// clang-format off
#define FW_FLAGS_COMMON(T, m, listen_default)                                                \
    {"config.file", FW_FLAG_STR, offsetof(T, m.config_file), NULL,                           \
     "configuration file (default: the embedded example config)"},                           \
    {"check-config", FW_FLAG_BOOL, offsetof(T, m.check_config), "false",                     \
     "check the configuration, print 'configuration OK' and exit"},                          \
    {"log.level", FW_FLAG_STR, offsetof(T, m.log_level), "info", "debug, info, warn, error"},\
    {"log.format", FW_FLAG_STR, offsetof(T, m.log_format), "logfmt", "logfmt or json"},      \
    {"web.listen-address", FW_FLAG_STR, offsetof(T, m.web_listen_address), listen_default,   \
     "address for the HTTP endpoints"},                                                      \
    {"web.config.file", FW_FLAG_STR, offsetof(T, m.web_config_file), NULL,                   \
     "[EXPERIMENTAL] path to the web configuration file (TLS, basic authentication and "     \
     "response headers, in Prometheus's format)"},                                           \
    {"zmq.max-msg-size", FW_FLAG_SIZE, offsetof(T, m.zmq_max_msg_size),                      \
     FW_FLAGS_ZMQ_MAX_MSG_SIZE, "largest ZeroMQ message part (frame) a socket accepts; a "    \
     "peer sending a larger one is disconnected"}
// clang-format on

// --web.external-url of the daemons that send alerts from rules (ruled, slod): a const char *
// member `m` of `T`. Alerts' generatorURL and templates' $externalURL.
#define FW_FLAG_EXTERNAL_URL(T, m)                                                                 \
    {                                                                                              \
        "web.external-url", FW_FLAG_STR, offsetof(T, m), "http://127.0.0.1:9090",                  \
            "URL of the query UI, for alerts' generatorURL and templates' $externalURL"            \
    }

// Parse argv into opts. Returns 0 to go on, 1 when --help or --version was printed (exit 0),
// -1 on a usage error, already printed to stderr (exit 2). `about` is one line for --help.
int fw_flags_parse(int argc, char **argv, const char *daemon, const char *about,
                   const struct fw_flag *table, void *opts);

// The flags' values in opts (after fw_flags_parse) as a JSON object of strings, keyed by
// flag name, sorted, as Prometheus's /api/v1/status/flags shows them: strings as given,
// booleans "true"/"false", durations as Prometheus durations ("15d"), sizes in bytes
// ("67108864B"), repeated flags joined by ",". Caller frees.
char *fw_flags_json(const struct fw_flag *table, const void *opts);
// Apply --log.level and --log.format and start logging as `daemon`. Returns 0 or -1 (printed).
int fw_flags_init_log(const char *daemon, const struct fw_common_opts *common);

// Load --web.config.file, when given, and print each of its errors on stderr as
// "file:line:col: error: msg" (also logged). 0 when it loads or none is given, else -1: the
// daemon exits 2, at start and under --check-config alike, as Prometheus does.
int fw_flags_check_web_config(const struct fw_common_opts *common);

// What every daemon sets for its whole process, once in main() before its loop:
// - SIGHUP sets a flag that the housekeeping timer takes (SIGINT/SIGTERM are czmq's:
//   zsys_interrupted); SIGPIPE is ignored (a peer closing a connection must not kill us);
// - LC_CTYPE is C.UTF-8, so that libcurl (7.88 converts a URL's host with libidn2's
//   idn2_lookup_ul, from the locale's charset) takes a UTF-8 host such as bücher.example, as
//   Go's net/http does, instead of failing the transfer in the C locale's ASCII. Only the
//   character type changes: numbers, times and messages stay as in the C locale.
void fw_process_init(void);
// True once per SIGHUP received since the last call.
bool fw_signal_take_hup(void);

#define FW_VERSION "0.1.0"

#endif
