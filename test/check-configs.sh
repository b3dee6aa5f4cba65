#!/bin/sh
# check-configs.sh BINDIR — every example config must pass its daemon's --check-config:
# the embedded defaults (<d>/<d>.example.yml) and the ConfigMap copies under manifests/.
# A deliberately broken config must fail with a file:line:col error and exit 2.
set -u
bin=$1
fail=0 n=0
for d in scraper tsdb ruled alertd notifyd slod; do
    for f in "$d/$d.example.yml" $(ls manifests/"$d"/*.yml 2>/dev/null | grep -v -e kustomization -e rules); do
        [ -f "$f" ] || continue
        n=$((n + 1))
        if ! out=$("$bin/$d" --check-config --config.file="$f" 2>&1); then
            echo "check-config: $d rejects $f:"; echo "$out" | sed 's/^/    /'; fail=1
        elif ! echo "$out" | grep -q 'configuration OK'; then
            echo "check-config: $d --check-config on $f did not print 'configuration OK'"; fail=1
        fi
    done
    # the embedded default (no --config.file) must be valid too
    n=$((n + 1))
    "$bin/$d" --check-config >/dev/null 2>&1 || { echo "check-config: $d embedded default is invalid"; fail=1; }
    # a config with an unknown key is refused with its position, exit 2
    tmp=$(mktemp)
    printf 'no_such_key_anywhere: 1\n' > "$tmp"
    n=$((n + 1))
    out=$("$bin/$d" --check-config --config.file="$tmp" 2>&1); rc=$?
    if [ $rc != 2 ] || ! echo "$out" | grep -q "$tmp:1:1: error: .*no_such_key_anywhere"; then
        echo "check-config: $d accepted or mis-reported a bad config (exit $rc): $out"; fail=1
    fi
    rm -f "$tmp"
done
# The scraper StatefulSet's flags (manifests/scraper/workload.yaml) start a shard of the
# ConfigMap's config, as its last pod would (HOSTNAME=scraper-<replicas-1>); --shard.count
# equals replicas; tsdb's --scraper.url names each replica once.
wl=manifests/scraper/workload.yaml
replicas=$(sed -n 's/^  replicas: *\([0-9]*\).*/\1/p' "$wl")
args=$(sed -n 's/^ *- \(--[^ ]*\).*/\1/p' "$wl" | sed 's|^--config.file=.*|--config.file=manifests/scraper/scraper.yml|')
n=$((n + 1))
# shellcheck disable=SC2086 # one flag per word
if ! out=$(HOSTNAME=scraper-$((replicas - 1)) "$bin/scraper" $args --check-config 2>&1); then
    echo "check-config: the scraper StatefulSet's flags are refused: $out"; fail=1
fi
count=$(sed -n 's/^ *- --shard.count=\([0-9]*\).*/\1/p' "$wl")
urls=$(sed -n 's/^ *- --scraper.url=\([^ ]*\).*/\1/p' manifests/tsdb/workload.yaml)
want=$(i=0; while [ $i -lt "$replicas" ]; do printf '%shttp://scraper-%d.scraper-pods:9201' "${sep:-}" $i; sep=,; i=$((i + 1)); done)
n=$((n + 1))
if [ "$count" != "$replicas" ] || [ "$urls" != "$want" ]; then
    echo "check-config: scraper replicas ($replicas), --shard.count ($count) and tsdb's --scraper.url ($urls) disagree"; fail=1
fi
[ $fail = 0 ] && echo "check-config: $n config checks passed"
exit $fail
