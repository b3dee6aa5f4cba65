#!/usr/bin/env bash
# rules.sh — runs the upstream rule-file fixtures through ruled's real loader.
#
# Design: $SHARED/conformance/rules/expectations.tsv lists each fixture as
# `file<TAB>expected<TAB>reason`. Rows expected valid/invalid are rule files: for each one a
# throw-away prometheus.yml whose rule_files names the fixture (absolute path) is checked
# with `$BUILD/bin/ruled --check-config`; a row whose reason says "only under legacy name
# validation" (upstream loads that fixture with model.LegacyValidation) gets
# `metric_name_validation_scheme: legacy` in that file's global section, every other row
# Prometheus 3's default (UTF-8 names). Exit 0 means "loaded", exit 2 (config error)
# "rejected", anything else (a crash) is a failure either way; the row passes when the
# outcome matches the expectation. Rows expected pass/fail are promtool
# rule unit-test files (the TSV's own classification): counted as not applicable here;
# test/conformance/rules_unittest.sh runs them through `ruled test` against promtool. A floor file (first number in it) guards against
# regressions: fewer passes than the floor fails the run.
#
# Usage: BUILD=build SHARED=../shared bash test/conformance/rules.sh [FLOOR_FILE]
set -euo pipefail

data="${SHARED:-}/conformance/rules"
tsv="$data/expectations.tsv"
if [ -z "${SHARED:-}" ] || [ ! -f "$tsv" ]; then
    echo "rules conformance: skipped, $tsv not found (set SHARED)"
    exit 0
fi
ruled="${BUILD:-build}/bin/ruled"
if [ ! -x "$ruled" ]; then
    echo "rules conformance: FAIL: $ruled is not built" >&2
    exit 1
fi
floor_file="${1:-}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 total=0 na=0 n_fail=0 shown=0
pass_valid=0 total_valid=0 pass_invalid=0 total_invalid=0
fails=""
while IFS=$'\t' read -r file expected reason; do
    case "$file" in '' | '#'*) continue ;; esac
    case "$expected" in
    pass | fail)
        na=$((na + 1))
        continue
        ;;
    valid | invalid) ;;
    *)
        echo "rules conformance: FAIL: $tsv: unknown expectation '$expected' for $file"
        exit 1
        ;;
    esac
    total=$((total + 1))
    if [ "$expected" = valid ]; then total_valid=$((total_valid + 1)); else total_invalid=$((total_invalid + 1)); fi
    path="$data/$file"
    if [ ! -f "$path" ]; then
        got="missing"
        why="fixture file not found"
    else
        scheme=""
        case "$reason" in *"only under legacy name validation"*)
            scheme="  metric_name_validation_scheme: legacy"$'\n' ;;
        esac
        printf 'global:\n  evaluation_interval: 1m\n%srule_files:\n  - "%s"\n' "$scheme" "$path" \
            >"$tmp/prometheus.yml"
        st=0
        out=$("$ruled" --config.file="$tmp/prometheus.yml" --check-config 2>&1) || st=$?
        if [ "$st" = 0 ]; then
            got=valid
            why="loaded"
        elif [ "$st" = 2 ]; then # ruled's exit code for a configuration error
            got=invalid
            why=$(printf '%s\n' "$out" | grep -m1 -i 'error' || printf '%s\n' "$out" | head -n1)
            why="${why#"$data"/}"
        else # a crash or runtime failure is never a correct rejection
            got="exit status $st"
            why=$(printf '%s\n' "$out" | tail -n1)
        fi
    fi
    if [ "$got" = "$expected" ]; then
        pass=$((pass + 1))
        if [ "$expected" = valid ]; then pass_valid=$((pass_valid + 1)); else pass_invalid=$((pass_invalid + 1)); fi
    else
        n_fail=$((n_fail + 1))
        if [ "$shown" -lt 60 ]; then
            shown=$((shown + 1))
            fails+=$(printf '  %-48s expected %s, got %s: %.140s' "$file" "$expected" "$got" "${why//$tmp\//}")$'\n'
        fi
    fi
done <"$tsv"

if [ "$n_fail" -gt 0 ]; then
    echo "rules conformance: failing fixtures:"
    printf '%s' "$fails"
    [ "$n_fail" -le "$shown" ] || echo "  ... and $((n_fail - shown)) more"
fi
echo "rules conformance: valid $pass_valid of $total_valid, invalid $pass_invalid of $total_invalid" \
    "($na promtool unit-test files: rules_unittest.sh runs them)"
echo "rules conformance: $pass of $total pass"

rc=0
if [ -n "$floor_file" ]; then
    floor=$(grep -v '^#' "$floor_file" | grep -m1 -o '[0-9][0-9]*' || true)
    if [ -z "$floor" ]; then
        echo "rules conformance: FAIL: no number in floor file $floor_file"
        rc=1
    elif [ "$pass" -lt "$floor" ]; then
        echo "rules conformance: FAIL: $pass passing is below the floor $floor ($floor_file)"
        rc=1
    elif [ "$pass" -gt "$floor" ]; then
        echo "rules conformance: $pass passing is above the floor $floor; raise $floor_file"
    fi
fi
exit "$rc"
