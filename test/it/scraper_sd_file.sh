#!/usr/bin/env bash
# scraper_sd_file.sh — file_sd_configs: the scraper's targets follow the files.
#
# Asserts, through /api/v1/targets: a JSON file's targets with their group labels and
# __meta_filepath; a YAML file added to the glob's directory is picked up (inotify, well
# before the 1m refresh_interval); a changed file changes the targets; a broken file keeps
# its last good targets and the reason is logged with file:line; fixing it applies the fix;
# deleting a file removes its targets; a file changed while inotify sees nothing (a
# directory outside the watched one, moved in place by rename) is still read at the next
# refresh_interval; and the discovery metrics (prometheus_sd_file_read_errors_total,
# prometheus_sd_file_scan_duration_seconds, prometheus_sd_discovered_targets,
# prometheus_sd_failed_configs, 0: as in Prometheus a file_sd_config cannot fail to load)
# count it; prometheus_sd_file_mtime_seconds{filename} is each file's mtime at its last good
# read (a broken write leaves it, a deleted file's series goes),
# prometheus_sd_file_watcher_errors_total stays 0 (inotify works here: the failure path is
# not exercised), and prometheus_sd_last_update_timestamp_seconds{config,name} is the time
# the scraper last took the targets (start, then each change).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl /usr/bin/python3
it_tmpdir

WEB_PORT=$(it_free_port)
mkdir -p "$IT_DIR/sd"
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: files
    file_sd_configs:
      - files: [sd/*.json, sd/*.yml]
        refresh_interval: 3s
YML
cat > "$IT_DIR/sd/a.json" <<'JSON'
[{"targets": ["127.0.0.2:9100", "127.0.0.3:9100"], "labels": {"env": "prod", "team": "line1"}}]
JSON
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT"

# targets: the sorted instance=env pairs of the active targets, one line.
targets() {
    curl -sf "$API" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["activeTargets"]
print(" ".join(sorted(t["labels"]["instance"] + "=" + t["labels"].get("env", "-") for t in d)))'
}
is_targets() { [ "$(targets)" = "$1" ]; }

it_wait_for "a.json's targets" is_targets "127.0.0.2:9100=prod 127.0.0.3:9100=prod"
curl -sf "$API" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"][0]
assert t["labels"] == {"job": "files", "instance": t["labels"]["instance"], "env": "prod", "team": "line1"}, t["labels"]
assert t["discoveredLabels"]["__meta_filepath"].endswith("/sd/a.json"), t["discoveredLabels"]
' || it_die "labels of a file target"
it_ok "JSON file: targets, group labels, __meta_filepath (dropped from the target labels)"

metrics() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics"; }
metric() { metrics | awk -v n="$1" '$1 == n {print $2}'; }
# mtime_is FILE SECONDS: prometheus_sd_file_mtime_seconds of sd/FILE (the path as globbed)
mtime_is() { [ "$(metric "prometheus_sd_file_mtime_seconds{filename=\"$IT_DIR/sd/$1\"}")" = "$2" ]; }
mtime_a=$(stat -c %Y "$IT_DIR/sd/a.json")
it_wait_for "a.json's mtime" mtime_is a.json "$mtime_a"
[ "$(metric prometheus_sd_file_watcher_errors_total)" = 0 ] \
    || it_die "watcher errors: $(metrics | grep watcher_errors)"
LU='prometheus_sd_last_update_timestamp_seconds{config="files",name="scrape"}'
lu1=$(metric "$LU")
python3 -c 'import sys, time; t = float(sys.argv[1]); sys.exit(0 if time.time() - 60 < t <= time.time() else 1)' "${lu1:-0}" \
    || it_die "last update timestamp: ${lu1:-none}"
it_ok "prometheus_sd_file_mtime_seconds{filename} = a.json's mtime ($mtime_a), prometheus_sd_file_watcher_errors_total 0, prometheus_sd_last_update_timestamp_seconds set ($lu1)"

printf -- '- targets: ["127.0.0.4:9100"]\n  labels:\n    env: dev\n' > "$IT_DIR/sd/b.yml"
it_wait_for "b.yml picked up" is_targets "127.0.0.2:9100=prod 127.0.0.3:9100=prod 127.0.0.4:9100=dev"
it_ok "YAML file added: its target appears"
mtime_b=$(stat -c %Y "$IT_DIR/sd/b.yml")
it_wait_for "b.yml's mtime" mtime_is b.yml "$mtime_b"
lu2=$(metric "$LU")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)' "$lu1" "${lu2:-0}" \
    || it_die "last update timestamp not moved by the new file: $lu1 -> ${lu2:-none}"
it_ok "new file: its mtime series ($mtime_b), and the last update timestamp moves ($lu1 -> $lu2)"

echo '[{"targets": ["127.0.0.2:9100"], "labels": {"env": "stage"}}]' > "$IT_DIR/sd/a.json.tmp"
touch -d @1700000100 "$IT_DIR/sd/a.json.tmp"; mv "$IT_DIR/sd/a.json.tmp" "$IT_DIR/sd/a.json"
it_wait_for "a.json changed" is_targets "127.0.0.2:9100=stage 127.0.0.4:9100=dev"
it_wait_for "a.json's mtime after the change" mtime_is a.json 1700000100
it_ok "file changed: targets follow, prometheus_sd_file_mtime_seconds is the new mtime"

printf '[{"targets": ["127.0.0.9:1"],\n  "labels": {"env": }}]\n' > "$IT_DIR/sd/a.json"
printf -- '- targets: ["127.0.0.4:9100"]\n  lables: {env: x}\n' > "$IT_DIR/sd/b.yml"
logged() { it_has "$1" grep "event=sd.file.fail" "$IT_DIR/scraper.log"; }
it_wait_for "broken a.json logged with file:line" logged "a.json:2:"
it_wait_for "broken b.yml logged with file:line" logged "b.yml:2:3: error: field lables not found"
# A whole scan after both were logged (the refresh_interval's, at most 3 s on): the last
# good targets are what it leaves, not a race with it.
scans=$(metric prometheus_sd_file_scan_duration_seconds_count)
errors=$(metric prometheus_sd_file_read_errors_total)
rescanned() { [ "$(metric prometheus_sd_file_scan_duration_seconds_count)" -gt "$scans" ]; }
it_wait_for "a scan of the broken files" rescanned
is_targets "127.0.0.2:9100=stage 127.0.0.4:9100=dev" || it_die "broken files must keep the last good targets: $(targets)"
it_ok "broken files: last good targets kept, reason logged with file:line:col"
[ "$errors" -ge 2 ] && [ "$(metric prometheus_sd_file_read_errors_total)" -gt "$errors" ] \
    && [ "$(metric prometheus_sd_file_scan_duration_seconds_count)" -ge 3 ] \
    && [ "$(metric 'prometheus_sd_discovered_targets{config="files",name="scrape"}')" = 2 ] \
    && [ "$(metric 'prometheus_sd_failed_configs{name="scrape"}')" = 0 ] \
    || it_die "file SD metrics: $(curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | grep '^prometheus_sd_')"
it_ok "prometheus_sd_file_read_errors_total counts each broken read (again on the rescan); scans and targets counted; a file config never fails to load (prometheus_sd_failed_configs 0)"
mtime_is a.json 1700000100 || it_die "a broken write must leave the mtime of the last good read: $(metrics | grep '^prometheus_sd_file_mtime')"
it_ok "broken file: prometheus_sd_file_mtime_seconds stays the last good read's (1700000100)"

echo '[{"targets": ["127.0.0.5:9100"], "labels": {"env": "fixed"}}]' > "$IT_DIR/sd/a.json"
it_wait_for "a.json fixed" is_targets "127.0.0.4:9100=dev 127.0.0.5:9100=fixed"
it_ok "fixed file: its new targets apply"

rm "$IT_DIR/sd/b.yml"
it_wait_for "b.yml deleted" is_targets "127.0.0.5:9100=fixed"
no_b() { it_lacks "^prometheus_sd_file_mtime_seconds{filename=\"$IT_DIR/sd/b.yml\"}" metrics; }
it_wait_for "b.yml's mtime series gone" no_b
mtime_is a.json "$(stat -c %Y "$IT_DIR/sd/a.json")" || it_die "a.json's mtime after the fix: $(metrics | grep '^prometheus_sd_file_mtime')"
it_ok "deleted file: its targets and its prometheus_sd_file_mtime_seconds series go; the fixed file's mtime is its new one"

# Written elsewhere and renamed over a.json keeps inotify informed too; to check the timer,
# change the file's content through a path inotify does not watch (a hard link).
mkdir -p "$IT_DIR/other"
ln "$IT_DIR/sd/a.json" "$IT_DIR/other/a.json"
python3 - "$IT_DIR/other/a.json" <<'PY'
import sys
with open(sys.argv[1], "r+") as f:
    f.seek(0); f.truncate()
    f.write('[{"targets": ["127.0.0.6:9100"], "labels": {"env": "timer"}}]\n')
PY
it_wait_for "refresh_interval re-read" is_targets "127.0.0.6:9100=timer"
it_ok "refresh_interval: a change inotify did not see is read on the next refresh"

# A reload starts the new providers before it stops the old ones: the file's mtime series,
# held by both for a moment, stays (Prometheus keeps an unchanged discoverer running).
mtime_a=$(stat -c %Y "$IT_DIR/sd/a.json")
kill -HUP "$PID_scraper"
reloaded() { grep -q "event=config.reload " "$IT_DIR/scraper.log"; }
it_wait_for "reload" reloaded
held=1
for _ in 1 2 3 4 5 6 7 8; do mtime_is a.json "$mtime_a" || held=0; sleep 0.25; done
[ "$held" = 1 ] || it_die "mtime series lost over a reload: $(metrics | grep '^prometheus_sd_file_mtime')"
it_ok "reload: prometheus_sd_file_mtime_seconds stays through the providers' restart"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "scraper stops cleanly"
echo "$(basename "$0"): ${IT_PASSES} passed"
