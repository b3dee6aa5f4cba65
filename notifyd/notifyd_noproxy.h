/*  notifyd_noproxy.h — whether a request goes through the proxy, decided as
    golang.org/x/net/http/httpproxy decides it (useProxy over NoProxy, the rules Prometheus
    common's ProxyConfig applies to both http_config's `no_proxy` and NO_PROXY/no_proxy), so
    libcurl's CURLOPT_NOPROXY, whose rules differ, is never used.

    no_proxy is a comma-separated list; each entry is trimmed and lowered, then it is "*"
    (every request goes direct), an IP range in CIDR notation (matches IP hosts in it), an
    IP address with an optional port (`1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
    `[2001:db8::1]:443`), or a domain with an optional port: `example.com` matches it and
    its subdomains, `.example.com` and `*.example.com` only its subdomains. An entry with a
    port matches only requests to that port, the URL's port being 80 for http and 443 for
    https when it names none. Entries that parse as nothing (`:1`) are ignored. A request to
    `localhost` or a loopback address always goes direct. IP entries match IP hosts only and
    domain entries host names only, an IPv6 zone such as `%25eth0` included: x/net v0.36.0
    on (CVE-2025-22870), as in Prometheus 3; the x/net of Alertmanager 0.25 and Prometheus
    2.42 let a domain entry match an address as text (`0.2.7` sent 192.0.2.7 direct).

    IDNA: as httpproxy's canonicalAddr and config.init do, a request host or a domain entry
    holding a byte past ASCII is turned into its ASCII form first (idna.Lookup.ToASCII:
    UTS #46 non-transitional mapping, which lowers and maps widths, STD3 rules, punycode
    labels; here libidn2's idn2_lookup_u8 with IDN2_NONTRANSITIONAL), so `bücher.example`
    and `xn--bcher-kva.example` match each other whichever side holds which, and a host that
    maps to `localhost` is localhost. A name the conversion refuses is compared as given, as
    Go keeps it. Known differences: libidn2 validates labels by IDNA2008, which refuses
    symbols Go's UTS #46 tables accept (`☃.net`: Go converts it, here it stays as given), and
    a name left unconverted has only its ASCII letters lowered (Go lowers every letter).

    The environment (proxy_from_environment): httpproxy.FromEnvironment then ProxyFunc. The
    proxy of an http URL is HTTP_PROXY, else http_proxy (the first non-empty); of an https
    URL HTTPS_PROXY, else https_proxy; other schemes have none; NO_PROXY, else no_proxy,
    applies as above. In a CGI process (REQUEST_METHOD set and not empty) an http URL whose
    proxy either name gives is refused, whatever no_proxy says: Go's ProxyFunc returns the
    error "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy"
    and the request fails (httpoxy: a CGI server puts the client's Proxy: header in
    HTTP_PROXY). https URLs keep their proxy under CGI, as in Go.
*/
#ifndef NOTIFYD_NOPROXY_H
#define NOTIFYD_NOPROXY_H

#include <stdbool.h>

// Whether a request to url should use the proxy under no_proxy (borrowed; NULL or "" has no
// entries, so only localhost and loopback go direct). url is absolute (scheme://host...);
// one whose authority cannot be read gives true, as httpproxy's useProxy does for an empty
// address. Pure: reads no environment; allocates only inside libidn2, for a name past ASCII.
bool notifyd_noproxy_use(const char *no_proxy, const char *url);

// Reads one environment variable: its value (borrowed until the next call), or NULL.
typedef const char *notifyd_noproxy_getenv_fn(const char *name, void *arg);

#define NOTIFYD_NOPROXY_CGI_REFUSED                                                                \
    "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy"

// The proxy for a request to url from the environment read through env (see above): the
// variable's value (borrowed from env), or NULL for a direct request. *refused is set (and
// NULL returned) when Go would fail the request under CGI (NOTIFYD_NOPROXY_CGI_REFUSED).
const char *notifyd_noproxy_from_env(const char *url, notifyd_noproxy_getenv_fn *env, void *arg,
                                     bool *refused);

#endif
