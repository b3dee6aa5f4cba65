/*  check_notifyd_noproxy.c — which requests notifyd sends through http_config's proxy, by
    golang.org/x/net/http/httpproxy's rules (Prometheus common's ProxyConfig.Proxy, which
    Alertmanager's http_config uses): no_proxy entries with a port, CIDR ranges, ".x" and
    "*.x" domains, "*", localhost and loopback always direct, hosts and entries past ASCII
    compared in their IDNA ASCII form, HTTP(S)_PROXY and NO_PROXY with
    proxy_from_environment, and an http request refused its proxy in a CGI process.

    Real sockets, no mock: each case is a real transfer by libcurl on a handle set up by
    notifyd_http_apply, to one listener on 127.0.0.1 that plays both the proxy and (through
    CURLOPT_CONNECT_TO, so nothing leaves 127.0.0.1 and no name is resolved) the target
    server. The first request line tells them apart: "CONNECT h:p" or an absolute-form
    "GET http://..." came through the proxy; anything else ("GET /", a TLS ClientHello) came
    direct. So the check holds whatever decides — libcurl's CURLOPT_NOPROXY before, ours now.
*/
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../notifyd/notifyd_http.h"
#include "../notifyd/notifyd_noproxy.h"
#include "../notifyd/notifyd_req.h"

// --- the listener: proxy and server at once ---

static struct {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    bool stop;
    int seen;       // connections answered
    char line[256]; // the last one's first request line
} s_ln;

static void
s_serve_one(int c)
{
    char buf[2048];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(c, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    size_t len = strcspn(buf, "\r\n");
    len = len < sizeof s_ln.line - 1 ? len : sizeof s_ln.line - 1;
    pthread_mutex_lock(&s_ln.lock);
    memcpy(s_ln.line, buf, len);
    s_ln.line[len] = '\0';
    s_ln.seen++;
    pthread_mutex_unlock(&s_ln.lock);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (send(c, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
        return; // the client gave up; the line is recorded all the same
}

static void *
s_listen(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) { // bounded: 100 ms polls, stopped at teardown
        pthread_mutex_lock(&s_ln.lock);
        bool stop = s_ln.stop;
        pthread_mutex_unlock(&s_ln.lock);
        if (stop)
            break;
        struct pollfd p = {.fd = s_ln.fd, .events = POLLIN};
        if (poll(&p, 1, 100) != 1)
            continue;
        int c = accept(s_ln.fd, NULL, NULL);
        if (c < 0)
            continue;
        s_serve_one(c);
        close(c);
    }
    return NULL;
}

static void
s_setup(void)
{
    memset(&s_ln, 0, sizeof s_ln);
    pthread_mutex_init(&s_ln.lock, NULL);
    s_ln.fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s_ln.fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(s_ln.fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s_ln.fd, 16), 0);
    ck_assert_int_eq(getsockname(s_ln.fd, (struct sockaddr *)&a, &len), 0);
    s_ln.port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&s_ln.thread, NULL, s_listen, NULL), 0);
}

static void
s_teardown(void)
{
    pthread_mutex_lock(&s_ln.lock);
    s_ln.stop = true;
    pthread_mutex_unlock(&s_ln.lock);
    pthread_join(s_ln.thread, NULL);
    close(s_ln.fd);
    pthread_mutex_destroy(&s_ln.lock);
}

// One real request to url with http_config http (JSON text): true when it reached the
// listener as a proxy request, false when it came direct.
static bool
s_proxied(const char *http_text, const char *url)
{
    json_t *http = json_loads(http_text, 0, NULL);
    ck_assert_msg(http != NULL, "bad JSON: %s", http_text);
    CURL *e = curl_easy_init();
    ck_assert_ptr_nonnull(e);
    struct curl_slist *headers = NULL;
    struct notifyd_http_lists keep;
    curl_easy_setopt(e, CURLOPT_URL, url);
    notifyd_http_apply(e, http, url, &headers, &keep);
    // Direct connections land on the listener too, whatever the URL's host and port.
    char to[64];
    snprintf(to, sizeof to, "::127.0.0.1:%d", s_ln.port);
    struct curl_slist *connect_to = curl_slist_append(NULL, to);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    pthread_mutex_lock(&s_ln.lock);
    int before = s_ln.seen;
    pthread_mutex_unlock(&s_ln.lock);
    curl_easy_perform(e); // the answer does not matter (TLS to a plain listener fails)
    pthread_mutex_lock(&s_ln.lock);
    int seen = s_ln.seen - before;
    char line[256];
    snprintf(line, sizeof line, "%s", s_ln.line);
    pthread_mutex_unlock(&s_ln.lock);
    curl_slist_free_all(connect_to);
    curl_slist_free_all(headers);
    notifyd_http_lists_free(&keep);
    curl_easy_cleanup(e);
    json_decref(http);
    ck_assert_msg(seen == 1, "%s: the listener saw %d connections", url, seen);
    return strncmp(line, "CONNECT ", 8) == 0 || strstr(line, " http://") != NULL ||
           strstr(line, " https://") != NULL;
}

struct s_case {
    const char *host; // as in a URL's authority, port defaulted by scheme when absent
    bool proxied;
};

// golang.org/x/net http/httpproxy/proxy_test.go: noProxy and UseProxyTests (useProxy on
// host+":80", so here http://host/ whose port defaults to 80).
static const char s_go_no_proxy[] =
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
    "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, "
    "2002:db8:a::45/64";

static const struct s_case s_go_cases[] = {
    // Never proxy localhost:
    {"localhost", false},
    {"127.0.0.1", false},
    {"127.0.0.2", false},
    {"[::1]", false},
    {"[::2]", true},                       // not a loopback address
    {"192.168.1.1", false},                // matches exact IPv4
    {"192.168.1.2", true},                 // ports do not match
    {"192.168.1.3", false},                // matches exact IPv4:port
    {"192.168.1.4", true},                 // no match
    {"10.0.0.2", false},                   // matches IPv4/CIDR
    {"[2001:db8::52:0:1]", false},         // matches exact IPv6
    {"[2001:db8::52:0:2]", true},          // no match
    {"[2001:db8::52:0:3]", false},         // matches exact [IPv6]:port
    {"[2002:db8:a::123]", false},          // matches IPv6/CIDR
    {"[fe80::424b:c8be:1643:a1b6]", true}, // no match
    {"barbaz.net", true},                  // does not match as .barbaz.net
    {"www.barbaz.net", false},             // does match as .barbaz.net
    {"foobar.com", false},                 // does match as foobar.com
    {"www.foobar.com", false},             // match because NO_PROXY includes "foobar.com"
    {"foofoobar.com", true},               // not match as a part of foobar.com
    {"baz.com", true},                     // not match as a part of barbaz.com
    {"localhost.net", true},               // not match as suffix of address
    {"local.localhost", true},             // not match as prefix as address
    {"barbarbaz.net", true},               // not match, wrong domain
    {"wildcard.io", true},                 // does not match as *.wildcard.io
    {"nested.wildcard.io", false},         // match as *.wildcard.io
    {"awildcard.io", true},                // not a match because of '*'
};

// http_config text whose proxy_url is the listener; no_proxy NULL: the key absent.
static char *
s_cfg_at(const char *no_proxy)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d/", s_ln.port);
    json_t *o = no_proxy ? json_pack("{s:s, s:s}", "proxy_url", proxy, "no_proxy", no_proxy)
                         : json_pack("{s:s}", "proxy_url", proxy);
    char *s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

static void
s_check_table(const char *no_proxy, const struct s_case *cases, size_t n, const char *scheme)
{
    char *cfg = s_cfg_at(no_proxy);
    for (size_t i = 0; i < n; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s://%s/hook", scheme, cases[i].host);
        bool got = s_proxied(cfg, url);
        ck_assert_msg(got == cases[i].proxied, "no_proxy=\"%s\" %s: %s, want %s",
                      no_proxy ? no_proxy : "(none)", url, got ? "proxied" : "direct",
                      cases[i].proxied ? "proxied" : "direct");
    }
    free(cfg);
}

START_TEST(test_notifyd_noproxy_go_use_proxy)
{
    s_check_table(s_go_no_proxy, s_go_cases, sizeof s_go_cases / sizeof *s_go_cases, "http");
}
END_TEST

// proxy_test.go TestAllNoProxy: "*" sends every one of UseProxyTests direct.
START_TEST(test_notifyd_noproxy_go_all)
{
    struct s_case all[sizeof s_go_cases / sizeof *s_go_cases];
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        all[i] = (struct s_case){s_go_cases[i].host, false};
    s_check_table("*", all, sizeof all / sizeof *all, "http");
    // "*" among other entries still disables the proxy (httpproxy's init stops there).
    s_check_table("a.example, *", all, sizeof all / sizeof *all, "http");
}
END_TEST

// proxy_test.go proxyForURLTests with NoProxy (example.com, .example.com, ample.com,
// .foo.com) and TestInvalidNoProxy (":1" is ignored, the proxy still used).
START_TEST(test_notifyd_noproxy_go_for_url)
{
    static const struct {
        const char *no_proxy, *url;
        bool proxied;
    } cases[] = {
        {"example.com", "http://example.com/", false},
        {".example.com", "http://example.com/", true},
        {"ample.com", "http://example.com/", true},
        {"example.com", "http://foo.example.com/", false},
        {".foo.com", "http://example.com/", true},
        {":1", "http://example.com/", true},
        // Case-insensitive on both sides (entries and hosts are lowered).
        {"EXAMPLE.com", "http://Foo.Example.COM/", false},
        {"  example.com  ,", "http://example.com/", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *cfg = s_cfg_at(cases[i].no_proxy);
        bool got = s_proxied(cfg, cases[i].url);
        ck_assert_msg(got == cases[i].proxied, "no_proxy=\"%s\" %s: %s", cases[i].no_proxy,
                      cases[i].url, got ? "proxied" : "direct");
        free(cfg);
    }
}
END_TEST

// Entries with a port match only that port; the URL's port defaults to 80 for http and 443
// for https when it names none (httpproxy's canonicalAddr). Issue 8's cases.
START_TEST(test_notifyd_noproxy_ports)
{
    static const struct {
        const char *no_proxy, *url;
        bool proxied;
    } cases[] = {
        {"hooks.example:8443", "http://hooks.example:8443/x", false},
        {"hooks.example:8443", "http://hooks.example:8080/x", true},
        {"hooks.example:8443", "http://hooks.example/x", true},
        {"hooks.example:80", "http://hooks.example/x", false},
        {"hooks.example:443", "https://hooks.example/x", false},
        {"hooks.example:443", "http://hooks.example/x", true},
        {".example.com:8443", "http://a.example.com:8443/x", false},
        {".example.com:8443", "http://a.example.com:9093/x", true},
        {".example.com:8443", "http://example.com:8443/x", true},
        {"*.example.com:8443", "https://b.a.example.com:8443/x", false},
        {"[2001:db8::9]:9093", "http://[2001:db8::9]:9093/x", false},
        {"[2001:db8::9]:9093", "http://[2001:db8::9]:9094/x", true},
        {"192.0.2.7:9093", "http://192.0.2.7:9093/x", false},
        {"192.0.2.7:9093", "http://192.0.2.7/x", true},
        // A CIDR entry matches IP hosts only, a domain entry host names only.
        {"192.0.2.0/24", "http://192.0.2.200:9093/x", false},
        {"192.0.2.0/24", "http://192.0.3.1/x", true},
        {"192.0.2.0/24", "http://hooks.example/x", true},
        // x/net v0.36.0 (CVE-2025-22870) on; the x/net in Alertmanager 0.25 and Prometheus
        // 2.42 matched ".0.2.7" as a suffix of 192.0.2.7 and went direct.
        {"0.2.7", "http://192.0.2.7/x", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *cfg = s_cfg_at(cases[i].no_proxy);
        bool got = s_proxied(cfg, cases[i].url);
        ck_assert_msg(got == cases[i].proxied, "no_proxy=\"%s\" %s: %s, want %s", cases[i].no_proxy,
                      cases[i].url, got ? "proxied" : "direct",
                      cases[i].proxied ? "proxied" : "direct");
        free(cfg);
    }
}
END_TEST

// Prometheus common's ProxyConfig.Proxy: proxy_url without no_proxy is http.ProxyURL, so
// everything goes through the proxy, localhost too; with no_proxy, httpproxy's rules, so
// localhost and loopback go direct.
START_TEST(test_notifyd_noproxy_config_loopback)
{
    char *cfg = s_cfg_at(NULL);
    ck_assert(s_proxied(cfg, "http://localhost:9/x"));
    ck_assert(s_proxied(cfg, "http://127.0.0.1:9/x"));
    ck_assert(s_proxied(cfg, "http://hooks.example/x"));
    free(cfg);
    cfg = s_cfg_at("other.example");
    ck_assert(!s_proxied(cfg, "http://localhost:9/x"));
    ck_assert(!s_proxied(cfg, "http://127.0.0.1:9/x"));
    ck_assert(!s_proxied(cfg, "http://[::1]:9/x"));
    ck_assert(s_proxied(cfg, "http://hooks.example/x"));
    free(cfg);
    // libcurl's own NO_PROXY reading never applies: the decision is ours.
    setenv("NO_PROXY", "hooks.example", 1);
    cfg = s_cfg_at(NULL);
    ck_assert(s_proxied(cfg, "http://hooks.example/x"));
    free(cfg);
    unsetenv("NO_PROXY");
}
END_TEST

// proxy_from_environment: HTTP_PROXY for http URLs, HTTPS_PROXY for https (upper case
// first), NO_PROXY by the same rules; ALL_PROXY is not read.
START_TEST(test_notifyd_noproxy_environment)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "127.0.0.1:%d", s_ln.port); // no scheme: http:// assumed
    static const char *const vars[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                       "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    const char *env = "{\"proxy_from_environment\": true}";
    setenv("ALL_PROXY", proxy, 1);
    ck_assert(!s_proxied(env, "http://hooks.example/x"));
    unsetenv("ALL_PROXY");
    setenv("http_proxy", proxy, 1);
    setenv("no_proxy", "hooks.example:8443, [2001:db8::9]:9093", 1);
    ck_assert(s_proxied(env, "http://hooks.example/x"));
    ck_assert(!s_proxied(env, "http://hooks.example:8443/x"));
    ck_assert(!s_proxied(env, "http://[2001:db8::9]:9093/x"));
    ck_assert(s_proxied(env, "http://[2001:db8::9]:9094/x"));
    ck_assert(!s_proxied(env, "http://localhost/x"));
    ck_assert(!s_proxied(env, "https://hooks.example/x")); // no HTTPS_PROXY: direct
    setenv("HTTPS_PROXY", proxy, 1);
    setenv("NO_PROXY", "hooks.example:443", 1); // upper case first
    ck_assert(!s_proxied(env, "https://hooks.example/x"));
    ck_assert(s_proxied(env, "https://hooks.example:8443/x"));
    ck_assert(s_proxied(env, "http://hooks.example:8443/x"));
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}
END_TEST

// The decision alone, for URLs no transfer here can make: proxy_test.go's zone case
// (CVE-2025-22870: an IPv6 zone that reads like a domain is no domain), IPv4-mapped
// addresses, and hosts inside userinfo or with an upper-case scheme.
START_TEST(test_notifyd_noproxy_use_pure)
{
    ck_assert(notifyd_noproxy_use("example.com", "http://[1000::%25.example.com]:123"));
    ck_assert(!notifyd_noproxy_use("1000::/16", "http://[1000::%25.example.com]:123"));
    ck_assert(!notifyd_noproxy_use("10.0.0.0/8", "http://[::ffff:10.1.2.3]/"));
    ck_assert(!notifyd_noproxy_use("::ffff:0:0/96", "http://10.1.2.3/"));
    ck_assert(!notifyd_noproxy_use("10.1.2.3", "http://[::ffff:10.1.2.3]/"));
    ck_assert(!notifyd_noproxy_use("", "http://[::ffff:127.0.0.1]/"));
    ck_assert(!notifyd_noproxy_use(NULL, "http://localhost/"));
    ck_assert(notifyd_noproxy_use(NULL, "http://hooks.example/"));
    ck_assert(!notifyd_noproxy_use("hooks.example:443", "HTTPS://u:p@Hooks.Example/x?a=b:1"));
    ck_assert(notifyd_noproxy_use("u", "http://u@hooks.example/"));
    ck_assert(!notifyd_noproxy_use("hooks.example:", "http://hooks.example:/x")); // any port
    ck_assert(notifyd_noproxy_use("hooks.example:080", "http://hooks.example:80/x"));
    ck_assert(notifyd_noproxy_use("hooks.example", "not a url"));
}
END_TEST

// IDNA (httpproxy's idnaASCII, idna.Lookup.ToASCII on the request host and on every domain
// entry): proxy_test.go's cases (.示例.com, xn--fsq092h.com, 示例.com), and issue 8's
// bücher.example against its punycode xn--bcher-kva.example, either side either way.
START_TEST(test_notifyd_noproxy_idna)
{
    static const struct {
        const char *no_proxy, *url;
        bool proxied;
    } cases[] = {
        {".示例.com", "http://www.示例.com", false},
        {"xn--fsq092h.com", "http://www.示例.com", false},
        {"示例.com", "http://www.xn--fsq092h.com", false},
        {"xn--bcher-kva.example", "http://bücher.example/x", false},
        {"bücher.example", "http://xn--bcher-kva.example/x", false},
        {".bücher.example", "https://hooks.xn--bcher-kva.example/x", false},
        {"*.xn--bcher-kva.example", "https://hooks.bücher.example/x", false},
        {"bücher.example:8443", "https://xn--bcher-kva.example:8443/x", false},
        {"bücher.example:8443", "https://xn--bcher-kva.example/x", true},
        // Lookup's mapping lowers and folds widths, on the host and on the entry.
        {"xn--bcher-kva.example", "http://BÜCHER.Example/x", false},
        {"BÜCHER.EXAMPLE", "http://xn--bcher-kva.example/x", false},
        {"xn--bcher-kva.example", "http://ｂüｃｈｅｒ.example/x", false},
        // Non-transitional: ß stays (xn--fa-hia), it is not "ss".
        {"xn--fa-hia.de", "http://faß.de/x", false},
        {"fass.de", "http://faß.de/x", true},
        // Different names stay different.
        {"xn--bcher-kva.example", "http://bucher.example/x", true},
        {"bücher.example", "http://bucher.example/x", true},
        // A name IDNA refuses (STD3: '_') is compared as given.
        {"bü_x.example", "http://bü_x.example/x", false},
        {"xn--bx-xka.example", "http://bü_x.example/x", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool got = notifyd_noproxy_use(cases[i].no_proxy, cases[i].url);
        ck_assert_msg(got == cases[i].proxied, "no_proxy=\"%s\" %s: %s, want %s", cases[i].no_proxy,
                      cases[i].url, got ? "proxied" : "direct",
                      cases[i].proxied ? "proxied" : "direct");
    }
    // canonicalAddr converts before useProxy's localhost check: fullwidth localhost is it.
    ck_assert(!notifyd_noproxy_use(NULL, "http://ｌｏｃａｌｈｏｓｔ:9093/x"));
    // The decision alone: no transfer here, as libcurl 7.88 converts a URL's host with
    // idn2_lookup_ul from the locale's charset, and in this process's C locale it refuses a
    // host past ASCII before connecting.
}
END_TEST

// A fake environment for notifyd_noproxy_from_env: "NAME=value" strings, NULL-terminated.
static const char *
s_fake_env(const char *name, void *arg)
{
    size_t n = strlen(name);
    for (const char *const *e = arg; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

// httpproxy.FromEnvironment + ProxyFunc (proxy_test.go's CGI cases, Issue 16405): with
// REQUEST_METHOD set, an http request whose proxy HTTP_PROXY or http_proxy gives fails
// (before no_proxy is looked at); https keeps HTTPS_PROXY; an empty REQUEST_METHOD is no CGI.
START_TEST(test_notifyd_noproxy_cgi)
{
    static const char *const cgi_upper[] = {"REQUEST_METHOD=PUT", "HTTP_PROXY=http://10.1.2.3:8080",
                                            "HTTPS_PROXY=https://secure.proxy.tld",
                                            "NO_PROXY=example.com", NULL};
    static const char *const cgi_lower[] = {"REQUEST_METHOD=GET", "http_proxy=10.1.2.3:8080", NULL};
    static const char *const not_cgi[] = {"REQUEST_METHOD=", "HTTP_PROXY=", "http_proxy=p:1", NULL};
    static const char *const cgi_none[] = {"REQUEST_METHOD=GET", "HTTPS_PROXY=s:1", NULL};
    bool refused;
    const char *p;
    p = notifyd_noproxy_from_env("http://example.org/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(refused);
    ck_assert_ptr_null(p);
    // Refused even where no_proxy would send it direct: Go checks CGI first.
    p = notifyd_noproxy_from_env("http://example.com/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(refused);
    p = notifyd_noproxy_from_env("HTTP://example.org/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(refused);
    p = notifyd_noproxy_from_env("https://secure.tld/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(!refused);
    ck_assert_str_eq(p, "https://secure.proxy.tld");
    p = notifyd_noproxy_from_env("https://example.com/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(!refused);
    ck_assert_ptr_null(p); // NO_PROXY
    // The lower-case name is no way around it: HTTPProxy is either.
    p = notifyd_noproxy_from_env("http://example.org/", s_fake_env, (void *)cgi_lower, &refused);
    ck_assert(refused);
    ck_assert_ptr_null(p);
    // REQUEST_METHOD empty: no CGI; an empty HTTP_PROXY gives way to http_proxy.
    p = notifyd_noproxy_from_env("http://example.org/", s_fake_env, (void *)not_cgi, &refused);
    ck_assert(!refused);
    ck_assert_str_eq(p, "p:1");
    // CGI without an http proxy: direct, no error; other schemes never have a proxy.
    p = notifyd_noproxy_from_env("http://example.org/", s_fake_env, (void *)cgi_none, &refused);
    ck_assert(!refused);
    ck_assert_ptr_null(p);
    p = notifyd_noproxy_from_env("ftp://example.org/", s_fake_env, (void *)cgi_upper, &refused);
    ck_assert(!refused);
    ck_assert_ptr_null(p);
}
END_TEST

// notifyd in a CGI environment: an integration with proxy_from_environment and an http URL
// is refused when its request is made (Go's error text, the delivery fails as bad_config);
// an https URL is taken.
START_TEST(test_notifyd_noproxy_cgi_take)
{
    setenv("REQUEST_METHOD", "POST", 1);
    setenv("HTTP_PROXY", "http://10.1.2.3:8080", 1);
    json_t *c = json_loads("{\"http_config\": {\"proxy_from_environment\": true}}", 0, NULL);
    ck_assert_ptr_nonnull(c);
    fw_err_t err;
    fw_err_clear(&err);
    struct notifyd_req req = {.url = strdup("http://hooks.example/x")};
    ck_assert_int_eq(notifyd_http_take(&req, c, &err), -1);
    ck_assert_str_eq(err.msg, NOTIFYD_NOPROXY_CGI_REFUSED);
    notifyd_req_clear(&req);
    struct notifyd_req tls = {.url = strdup("https://hooks.example/x")};
    ck_assert_int_eq(notifyd_http_take(&tls, c, &err), 0);
    notifyd_req_clear(&tls);
    unsetenv("REQUEST_METHOD");
    struct notifyd_req plain = {.url = strdup("http://hooks.example/x")};
    ck_assert_int_eq(notifyd_http_take(&plain, c, &err), 0);
    notifyd_req_clear(&plain);
    unsetenv("HTTP_PROXY");
    json_decref(c);
}
END_TEST

Suite *
notifyd_noproxy_suite(void)
{
    Suite *s = suite_create("notifyd_noproxy");
    TCase *tc = tcase_create("noproxy");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_notifyd_noproxy_go_use_proxy);
    tcase_add_test(tc, test_notifyd_noproxy_go_all);
    tcase_add_test(tc, test_notifyd_noproxy_go_for_url);
    tcase_add_test(tc, test_notifyd_noproxy_ports);
    tcase_add_test(tc, test_notifyd_noproxy_config_loopback);
    tcase_add_test(tc, test_notifyd_noproxy_environment);
    tcase_add_test(tc, test_notifyd_noproxy_idna);
    suite_add_tcase(s, tc);
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_notifyd_noproxy_use_pure);
    tcase_add_test(pure, test_notifyd_noproxy_cgi);
    tcase_add_test(pure, test_notifyd_noproxy_cgi_take);
    suite_add_tcase(s, pure);
    return s;
}
