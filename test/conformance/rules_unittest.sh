#!/usr/bin/env bash
# rules_unittest.sh — `ruled test` against the real Debian `promtool test rules`, file by file.
#
# Every rule unit-test file under $SHARED/conformance/rules (a YAML file with a top-level
# `tests:` key; expectations.tsv marks the same files pass/fail) is run through
# `$BUILD/bin/ruled test FILE` and `promtool test rules FILE` (from the fixture's directory,
# as promtool resolves rule_files relative to the test file either way). The verdict is the
# exit status: 0 passed, 1 failed; anything else (a crash, a timeout) is a difference. Prints
# "rules unittest: N of M same verdict (K with byte-identical output)", lists every file whose
# verdicts differ, and fails unless all M agree (the output is counted, not required: error
# texts of the two PromQL engines and rule loaders differ in places). Skipped with one line when $SHARED or promtool is absent.
#
# Usage: BUILD=build SHARED=../shared bash test/conformance/rules_unittest.sh
set -euo pipefail

data="${SHARED:-}/conformance/rules"
if [ -z "${SHARED:-}" ] || [ ! -d "$data" ]; then
    echo "rules unittest: skipped, $data not found (set SHARED)"
    exit 0
fi
if ! command -v promtool >/dev/null 2>&1; then
    echo "rules unittest: skipped, promtool is not installed (make deps)"
    exit 0
fi
ruled="$(cd "$(dirname "${BUILD:-build}/bin/ruled")" && pwd)/ruled"
if [ ! -x "$ruled" ]; then
    echo "rules unittest: FAIL: $ruled is not built" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
same=0 identical=0 total=0 diffs=""
while IFS= read -r path; do
    total=$((total + 1))
    dir=$(dirname "$path") base=$(basename "$path")
    r=0 p=0
    (cd "$dir" && timeout 300 "$ruled" test "$base") >"$tmp/r" 2>&1 || r=$?
    (cd "$dir" && timeout 300 promtool test rules "$base") >"$tmp/p" 2>&1 || p=$?
    if [ "$r" = "$p" ] && { [ "$r" = 0 ] || [ "$r" = 1 ]; }; then
        same=$((same + 1))
        if cmp -s "$tmp/r" "$tmp/p"; then identical=$((identical + 1)); fi
    else
        diffs="$diffs
  ${path#"$data"/}: ruled test exit $r, promtool test rules exit $p"
    fi
done < <(grep -rlE --include='*.yml' --include='*.yaml' '^tests:' "$data" | LC_ALL=C sort)

echo "rules unittest: $same of $total same verdict ($identical with byte-identical output)"
if [ "$same" != "$total" ]; then
    echo "rules unittest: FAIL: verdicts differ:$diffs"
    exit 1
fi
