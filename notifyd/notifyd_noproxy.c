/*  notifyd_noproxy.c — see notifyd_noproxy.h. A transcription of golang.org/x/net
    http/httpproxy (proxy.go: canonicalAddr, useProxy, config.init and the matchers) and of
    the parts of Go's net.SplitHostPort, net.ParseCIDR and net/url's host parsing it relies
    on; test/check_notifyd_noproxy.c holds proxy_test.go's cases. IDNA (httpproxy's
    idnaASCII, idna.Lookup.ToASCII) is libidn2's UTS #46 non-transitional lookup.

    The list is walked entry by entry on each call instead of being compiled once: a match
    is an OR over the entries, so their order and httpproxy's split into IP and domain
    matchers do not change the answer, and a webhook's few entries cost less than a
    delivery's allocations. Addresses are kept as 16 bytes with IPv4 v4-mapped, so that
    1.2.3.4 and ::ffff:1.2.3.4 are the same address, as under Go's net.IP.Equal.
*/
#include <arpa/inet.h>
#include <idn2.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fw_ascii.h"
#include "notifyd_noproxy.h"

// Longer hosts and entries than this are not read: no DNS name is longer than 253.
#define S_MAX 512

struct s_ip {
    uint8_t b[16];
};

static const uint8_t s_v4_in_v6[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool
s_is4(const struct s_ip *ip)
{
    return memcmp(ip->b, s_v4_in_v6, 12) == 0;
}

// Go's net.ParseIP (and netip.ParseAddr without a zone): a dotted quad without leading
// zeros, or IPv6. Returns 4 or 6 for the text's family, 0 when it is no address.
static int
s_parse_ip(const char *s, struct s_ip *ip)
{
    uint8_t a4[4];
    if (inet_pton(AF_INET, s, a4) == 1) {
        memcpy(ip->b, s_v4_in_v6, 12);
        memcpy(ip->b + 12, a4, 4);
        return 4;
    }
    return inet_pton(AF_INET6, s, ip->b) == 1 ? 6 : 0;
}

static bool
s_prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return false;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return rest == 0 || (a[whole] & m) == (b[whole] & m);
}

// --- IDNA ---

// STD3's ASCII (UseSTD3ASCIIRules, on in idna.Lookup): letters, digits, '-' and the dots.
static bool
s_std3_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80 && !(fw_ascii_lower((char)*p) >= 'a' && fw_ascii_lower((char)*p) <= 'z') &&
            !(*p >= '0' && *p <= '9') && *p != '-' && *p != '.')
            return false;
    return true;
}

// httpproxy's idnaASCII: a name with a byte past ASCII into its ASCII form (punycode labels,
// mapped and lowered as idna.Lookup does: UTS #46 non-transitional, STD3 rules) in out (cap
// bytes): true. False, out untouched, for an ASCII name (Go leaves it as it is) and for one
// the conversion refuses (Go then keeps the name as given).
static bool
s_idna_ascii(const char *name, char *out, size_t cap)
{
    bool ascii = true;
    for (const unsigned char *p = (const unsigned char *)name; *p && ascii; p++)
        ascii = *p < 0x80;
    // libidn2 drops a '_' or ':' under IDN2_USE_STD3_ASCII_RULES where Go's Lookup fails
    // on it: STD3 is checked here instead, before and after the mapping.
    if (ascii || !s_std3_ok(name))
        return false;
    char *a = NULL;
    if (idn2_lookup_u8((const uint8_t *)name, (uint8_t **)&a, IDN2_NONTRANSITIONAL) != IDN2_OK)
        return false;
    size_t n = strlen(a);
    bool ok = n < cap && s_std3_ok(a);
    if (ok)
        memcpy(out, a, n + 1);
    idn2_free(a);
    return ok;
}

// --- entries ---

struct s_cidr {
    struct s_ip net;
    int bits;
    bool v4; // compare the last 4 bytes only, and only with IPv4 (or v4-mapped) hosts
};

// Go's net.ParseCIDR, then what net.IPNet.Contains makes of it: a range whose masked
// address is v4-mapped (::ffff:0:0/96 and longer) is an IPv4 range.
static bool
s_parse_cidr(const char *s, struct s_cidr *c)
{
    const char *slash = strchr(s, '/');
    char addr[64];
    if (!slash || (size_t)(slash - s) >= sizeof addr)
        return false;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    int family = s_parse_ip(addr, &c->net);
    if (!family || !slash[1])
        return false;
    long n = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (*p - '0');
        if (n > 128)
            return false;
    }
    if (n > (family == 4 ? 32 : 128))
        return false;
    c->bits = (int)n;
    c->v4 = family == 4;
    if (c->v4)
        return true;
    for (int i = 0; i < 16; i++) {
        int keep = c->bits - 8 * i;
        if (keep < 8)
            c->net.b[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
    if (s_is4(&c->net)) {
        c->v4 = true;
        c->bits -= 96;
    }
    return true;
}

static bool
s_cidr_contains(const struct s_cidr *c, const struct s_ip *ip)
{
    if (c->v4 != s_is4(ip))
        return false;
    return c->v4 ? s_prefix_eq(c->net.b + 12, ip->b + 12, c->bits)
                 : s_prefix_eq(c->net.b, ip->b, c->bits);
}

// Go's net.SplitHostPort: host copied into host (cap bytes), *port borrowed from s; false
// when s is not host:port or [host]:port (the port may be empty, and is not checked).
static bool
s_split_host_port(const char *s, char *host, size_t cap, const char **port)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return false;
    const char *h = s, *he = colon;
    size_t j = 0, k = 0;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end + 1 != colon)
            return false;
        h = s + 1;
        he = end;
        j = 1;
        k = (size_t)(end + 1 - s);
    } else if (memchr(s, ':', (size_t)(colon - s))) {
        return false;
    }
    if (strchr(s + j, '[') || strchr(s + k, ']') || (size_t)(he - h) >= cap)
        return false;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    *port = colon + 1;
    return true;
}

// The request's host: lowered, and parsed when it is an address (ip NULL otherwise).
struct s_host {
    const char *name;
    const char *port;
    const struct s_ip *ip;
};

// Whether entry e (trimmed, lowered) sends the request to h direct: httpproxy config.init's
// reading of one entry and the matcher it makes.
static bool
s_entry_matches(const char *e, const struct s_host *h)
{
    if (strcmp(e, "*") == 0)
        return true;
    struct s_cidr c;
    if (s_parse_cidr(e, &c))
        return h->ip && s_cidr_contains(&c, h->ip);
    char buf[S_MAX];
    const char *phost = buf, *pport = "";
    if (s_split_host_port(e, buf, sizeof buf, &pport)) {
        if (!buf[0])
            return false; // no host part: malformed, ignored
        size_t n = strlen(buf);
        if (buf[0] == '[' && buf[n - 1] == ']') {
            buf[n - 1] = '\0';
            phost = buf + 1;
        }
    } else {
        phost = e;
    }
    bool port_ok = !*pport || strcmp(pport, h->port) == 0;
    struct s_ip pip;
    if (s_parse_ip(phost, &pip))
        return h->ip && memcmp(pip.b, h->ip->b, 16) == 0 && port_ok;
    if (!*phost)
        return false;
    if (strncmp(phost, "*.", 2) == 0)
        phost++;
    // A name only: since x/net v0.36.0 an address (zone or not) never matches a domain.
    if (h->ip || !port_ok)
        return false;
    char ace[S_MAX];
    ace[0] = '\0';
    if (s_idna_ascii(phost, ace, sizeof ace))
        phost = ace;
    bool match_host = phost[0] != '.';
    size_t hn = strlen(h->name), pn = strlen(phost);
    if (match_host && strcmp(h->name, phost) == 0)
        return true;
    // HasSuffix(host, "." + phost) for a bare domain, HasSuffix(host, phost) for ".domain".
    if (hn < pn + match_host || strcmp(h->name + hn - pn, phost) != 0)
        return false;
    return !match_host || h->name[hn - pn - 1] == '.';
}

// --- the request URL ---

static bool
s_valid_optional_port(const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (p[0] != ':')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

// net/url's Parse, Hostname and Port as canonicalAddr uses them: the host (brackets off,
// %-escapes decoded, case kept) into host, the port, or the scheme's default (80 for http,
// 443 for https, 1080 for socks5), into port. False when the URL has no readable authority.
static bool
s_url_addr(const char *url, char *host, size_t cap, char *port, size_t pcap)
{
    size_t sl = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    if (sl == 0 || url[sl] != ':' || url[sl + 1] != '/' || url[sl + 2] != '/')
        return false;
    char scheme[8] = "";
    for (size_t i = 0; i < sl && sl < sizeof scheme; i++)
        scheme[i] = fw_ascii_lower(url[i]);
    const char *a = url + sl + 3;
    size_t an = strcspn(a, "/?#");
    for (size_t i = an; i > 0; i--)
        if (a[i - 1] == '@') { // userinfo ends at the last '@'
            a += i;
            an -= i;
            break;
        }
    // Go's parseHost: after "]" or the last ':' only an optional ":digits".
    const char *colon = NULL;
    if (an && a[0] == '[') {
        const char *end = NULL;
        for (size_t i = 0; i < an; i++)
            if (a[i] == ']')
                end = a + i;
        if (!end || !s_valid_optional_port(end + 1, an - (size_t)(end + 1 - a)))
            return false;
        colon = end[1] == ':' && end + 1 < a + an ? end + 1 : NULL;
    } else {
        for (size_t i = an; i > 0 && !colon; i--)
            if (a[i - 1] == ':')
                colon = a + i - 1;
        if (colon && !s_valid_optional_port(colon, an - (size_t)(colon - a)))
            return false;
    }
    const char *h = a, *he = colon ? colon : a + an;
    if (he - h >= 2 && h[0] == '[' && he[-1] == ']') {
        h++;
        he--;
    }
    size_t n = 0;
    for (const char *p = h; p < he; p++) {
        char c = *p;
        if (c == '%') {
            int hi = p + 2 < he ? fw_ascii_hex(p[1]) : -1, lo = hi >= 0 ? fw_ascii_hex(p[2]) : -1;
            if (lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (n + 1 >= cap)
            return false;
        host[n++] = c;
    }
    host[n] = '\0';
    const char *pp = colon ? colon + 1 : "";
    size_t pn = colon ? (size_t)(a + an - pp) : 0;
    if (pn == 0)
        pp = strcmp(scheme, "http") == 0     ? "80"
             : strcmp(scheme, "https") == 0  ? "443"
             : strcmp(scheme, "socks5") == 0 ? "1080"
                                             : "";
    pn = pn ? pn : strlen(pp);
    if (pn >= pcap)
        return false;
    memcpy(port, pp, pn);
    port[pn] = '\0';
    return true;
}

// netip.ParseAddr: an address, IPv6 with an optional non-empty zone (dropped here).
static bool
s_host_ip(const char *host, struct s_ip *ip)
{
    char buf[64];
    const char *pct = strchr(host, '%');
    size_t n = pct ? (size_t)(pct - host) : strlen(host);
    if (n >= sizeof buf || (pct && !pct[1]))
        return false;
    memcpy(buf, host, n);
    buf[n] = '\0';
    int family = s_parse_ip(buf, ip);
    return pct ? family == 6 : family != 0;
}

bool
notifyd_noproxy_use(const char *no_proxy, const char *url)
{
    char host[S_MAX], port[16], ace[S_MAX];
    if (!url || !s_url_addr(url, host, sizeof host, port, sizeof port))
        return true;
    // canonicalAddr's IDNA comes first: a name that maps to "localhost" is localhost.
    if (s_idna_ascii(host, ace, sizeof ace))
        memcpy(host, ace, strlen(ace) + 1);
    if (strcmp(host, "localhost") == 0) // before lowering, as httpproxy does
        return false;
    struct s_ip ip;
    bool is_ip = s_host_ip(host, &ip);
    if (is_ip &&
        (s_is4(&ip) ? ip.b[12] == 127 : memcmp(ip.b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
        return false;
    for (char *p = host; *p; p++)
        *p = fw_ascii_lower(*p);
    struct s_host h = {.name = host, .port = port, .ip = is_ip ? &ip : NULL};
    for (const char *s = no_proxy; s && *s;) {
        size_t len = strcspn(s, ",");
        const char *b = s, *e = s + len;
        s = *e ? e + 1 : e;
        while (b < e && strchr(" \t\n\v\f\r", *b)) // strings.TrimSpace, ASCII part
            b++;
        while (e > b && strchr(" \t\n\v\f\r", e[-1]))
            e--;
        char entry[S_MAX];
        if (b == e || (size_t)(e - b) >= sizeof entry)
            continue;
        for (size_t i = 0; i < (size_t)(e - b); i++)
            entry[i] = fw_ascii_lower(b[i]);
        entry[e - b] = '\0';
        if (s_entry_matches(entry, &h))
            return false;
    }
    return true;
}

const char *
notifyd_noproxy_from_env(const char *url, notifyd_noproxy_getenv_fn *env, void *arg, bool *refused)
{
    *refused = false;
    size_t sl = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    bool https = sl == 5 && strncasecmp(url, "https", 5) == 0 && url[5] == ':';
    bool plain = sl == 4 && strncasecmp(url, "http", 4) == 0 && url[4] == ':';
    if (!https && !plain)
        return NULL;
    // getEnvAny: the first of the two names with a non-empty value.
    const char *names[2] = {https ? "HTTPS_PROXY" : "HTTP_PROXY",
                            https ? "https_proxy" : "http_proxy"};
    const char *proxy = NULL;
    for (int i = 0; i < 2 && !proxy; i++) {
        const char *v = env(names[i], arg);
        proxy = v && *v ? v : NULL;
    }
    if (!proxy)
        return NULL;
    // proxyForURL, before no_proxy is read: in a CGI process (REQUEST_METHOD set) an http
    // request's proxy, from either name, may be the client's Proxy: header (httpoxy).
    const char *cgi = env("REQUEST_METHOD", arg);
    if (plain && cgi && *cgi) {
        *refused = true;
        return NULL;
    }
    const char *no_proxy = env("NO_PROXY", arg);
    if (!no_proxy || !*no_proxy)
        no_proxy = env("no_proxy", arg);
    return notifyd_noproxy_use(no_proxy, url) ? proxy : NULL;
}
