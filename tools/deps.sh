#!/bin/sh
# deps.sh PKG... — install the Debian packages that are missing (as root), or name them.
# Skips apt-get entirely when everything is present, so `make check` stays fast.
set -eu
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root, or: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps package scripts from starting services (prometheus would take :9090).
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
apt-get install -y -qq --no-install-recommends $missing
[ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
