#!/bin/sh
# buildinfo.sh — the build's identity as C defines, for alertd's /api/v2/status versionInfo:
# the git revision (with "-modified" when the tree differs from it), the branch, the user and
# host that built, and the date: SOURCE_DATE_EPOCH when set, else the commit's date (so the
# text only changes with the source; Prometheus's format 20060102-15:04:05, UTC).
rev=$(git rev-parse HEAD 2>/dev/null) || rev=unknown
if [ "$rev" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then rev="$rev-modified"; fi
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null) || branch=unknown
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null)}
if [ -n "$epoch" ]; then date=$(date -u -d "@$epoch" +%Y%m%d-%H:%M:%S); else date=unknown; fi
user="$(id -un 2>/dev/null || echo unknown)@$(hostname 2>/dev/null || echo unknown)"
printf '#define FW_BUILD_REVISION "%s"\n#define FW_BUILD_BRANCH "%s"\n' "$rev" "$branch"
printf '#define FW_BUILD_DATE "%s"\n#define FW_BUILD_USER "%s"\n' "$date" "$user"
