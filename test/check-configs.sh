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
        # rule files (ruled.prices.yml) are checked by promtool and ruled test in plant_rules.sh
        grep -q '^groups:' "$f" && continue
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
# The alertd StatefulSet (manifests/alertd/workload.yaml) is a cluster: its flags are
# accepted, --cluster.peer names each replica once, and ruled and slod send every alert to
# each replica (--zmq.alertd-address), as alertd(8) HIGH AVAILABILITY asks.
wl=manifests/alertd/workload.yaml
replicas=$(sed -n 's/^  replicas: *\([0-9]*\).*/\1/p' "$wl")
args=$(sed -n 's/^ *- \(--[^ ]*\).*/\1/p' "$wl" | sed 's|^--config.file=.*|--config.file=manifests/alertd/alertd.yml|')
n=$((n + 1))
# shellcheck disable=SC2086 # one flag per word
if ! out=$("$bin/alertd" $args --check-config 2>&1); then
    echo "check-config: the alertd StatefulSet's flags are refused: $out"; fail=1
fi
peers=$(sed -n 's/^ *- --cluster.peer=\([^ ]*\).*/\1/p' "$wl" | paste -sd, -)
want=$(i=0; while [ $i -lt "$replicas" ]; do printf '%salertd-%d.alertd-cluster:9094' "${sep2:-}" $i; sep2=,; i=$((i + 1)); done)
n=$((n + 1))
[ "$peers" = "$want" ] || { echo "check-config: alertd replicas ($replicas) and --cluster.peer ($peers) disagree"; fail=1; }
want=$(echo "$want" | sed 's|\([^,]*\):9094|tcp://\1:5566|g')
for d in ruled slod; do
    n=$((n + 1))
    got=$(sed -n 's/^ *- --zmq.alertd-address=\([^ ]*\).*/\1/p' manifests/$d/workload.yaml)
    [ "$got" = "$want" ] || { echo "check-config: $d's --zmq.alertd-address ($got) is not every alertd replica ($want)"; fail=1; }
done
# kubernetes_sd_configs in-cluster runs as the scraper StatefulSet's serviceAccountName: that
# ServiceAccount is in manifests/scraper/rbac.yaml (and in the kustomization), a
# ClusterRoleBinding binds it to the ClusterRole there, and that role may get, list and watch
# every resource the roles request (scraper_sd_kube.h).
rbac=manifests/scraper/rbac.yaml
sa=$(sed -n 's/^ *serviceAccountName: *\([^ #]*\).*/\1/p' manifests/scraper/workload.yaml)
n=$((n + 1))
if [ -z "$sa" ] || ! grep -q "^  - scraper/rbac.yaml" manifests/kustomization.yaml ||
    ! awk -v sa="$sa" '/^kind: ServiceAccount/ {k=1} k && $1 == "name:" {found = found || $2 == sa; k=0}
        END {exit !found}' "$rbac" ||
    ! grep -A3 '^  - kind: ServiceAccount' "$rbac" | grep -q "name: $sa\$"; then
    echo "check-config: the scraper's serviceAccountName ($sa) is not a ServiceAccount bound in $rbac"; fail=1
fi
for r in pods services endpoints nodes namespaces endpointslices ingresses; do
    n=$((n + 1))
    grep -q "resources: \[.*\b$r\b.*\]" "$rbac" && grep -A2 "resources: \[.*\b$r\b" "$rbac" |
        grep -q 'verbs: \[get, list, watch\]' ||
        { echo "check-config: $rbac does not let the scraper get, list and watch $r"; fail=1; }
done
# The backup CronJob's flags (manifests/tsdb/backup-cronjob.yaml) are tsdb backup's: run on
# a directory without storage they get as far as opening it (exit 1), not a usage error.
cj=manifests/tsdb/backup-cronjob.yaml
sas=$(mktemp)
echo 'sv=2021-08-06&sig=x' >"$sas"
args=$(sed -n 's/^ *- \(--[^ ]*\).*/\1/p' "$cj" | sed "s|^--to=.*|--to=http://127.0.0.1:9/c/b|; s|^--azure.sas-file=.*|--azure.sas-file=$sas|; s|^--storage.tsdb.path=.*|--storage.tsdb.path=/nonexistent/tsdb|")
n=$((n + 1))
# shellcheck disable=SC2086 # one flag per word
out=$("$bin/tsdb" $(sed -n 's/^ *- \(backup\)$/\1/p' "$cj") $args 2>&1); rc=$?
rm -f "$sas"
if [ $rc != 1 ] || ! echo "$out" | grep -q "no floorwatch storage here"; then
    echo "check-config: the backup CronJob's tsdb backup flags are refused (exit $rc): $out"; fail=1
fi
[ $fail = 0 ] && echo "check-config: $n config checks passed"
exit $fail
