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

    Not done: IDNA. httpproxy turns non-ASCII hosts and entries into punycode; here they are
    compared byte for byte, so `示例.com` and `xn--fsq092h.com` do not match each other.
*/
#ifndef NOTIFYD_NOPROXY_H
#define NOTIFYD_NOPROXY_H

#include <stdbool.h>

// Whether a request to url should use the proxy under no_proxy (borrowed; NULL or "" has no
// entries, so only localhost and loopback go direct). url is absolute (scheme://host...);
// one whose authority cannot be read gives true, as httpproxy's useProxy does for an empty
// address. Pure: reads no environment, allocates nothing.
bool notifyd_noproxy_use(const char *no_proxy, const char *url);

#endif
