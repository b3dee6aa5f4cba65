#!/usr/bin/env bash
# ruled_test.sh — `ruled test` (rule unit tests) against the real Debian `promtool test rules`.
# The files in test/data/ruled_test (and test/data/ruled_tmpl/promtool_test.yml) are run by
# both; asserted: the same exit status for each, and byte-identical output (stdout and stderr
# together) where both word their results alike: a passing file, a failing one (values, a
# missing series, alerts with templated annotations, keep_firing_for, two test groups), the
# template expansions, and several files in one run. error.yml (an evaluation error and a bad
# label set) fails in both with the same failure lines up to the error texts (the two
# evaluators list the duplicate series in another order, and the parsers word errors
# differently). Also: an unknown key fails a file as in promtool 2.42; argument errors and
# --enable-feature warnings read as promtool's; every private tsdb's directory is removed.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_cmds promtool
it_need_bins ruled tsdb
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(cd "$(dirname "$0")/../data/ruled_test" && pwd)
TMPL=$(cd "$(dirname "$0")/../data/ruled_tmpl" && pwd)
it_tmpdir
export TMPDIR=$IT_DIR # the private tsdbs' directories go here, to check they are removed

# both DIR NAME FILE...: run both tools in DIR on FILE...; $IT_DIR/NAME.{ruled,promtool} hold
# the outputs, RC_R and RC_P the exit statuses.
both() {
    local dir=$1 name=$2
    shift 2
    RC_R=0 RC_P=0
    (cd "$dir" && timeout 120 "$BIN/ruled" test "$@") >"$IT_DIR/$name.ruled" 2>&1 || RC_R=$?
    (cd "$dir" && timeout 120 promtool test rules "$@") >"$IT_DIR/$name.promtool" 2>&1 || RC_P=$?
}

same_output() {
    local name=$1 want=$2
    [ "$RC_P" = "$want" ] || { cat "$IT_DIR/$name.promtool"; it_die "$name: promtool exit $RC_P, want $want"; }
    [ "$RC_R" = "$want" ] || { cat "$IT_DIR/$name.ruled"; it_die "$name: ruled test exit $RC_R, want $want"; }
    diff -u "$IT_DIR/$name.promtool" "$IT_DIR/$name.ruled" || it_die "$name: output differs from promtool's"
}

both "$DATA" pass pass.yml
same_output pass 0
it_ok "pass.yml passes in both, same output (SUCCESS)"

both "$DATA" fail fail.yml
same_output fail 1
grep -q 'got: {__name__="job:reqs:rate1m", job="api"} 1E+01' "$IT_DIR/fail.ruled" || it_die "fail.yml: no got line"
it_ok "fail.yml fails in both with promtool's exact failure text"

both "$TMPL" tmpl promtool_test.yml
same_output tmpl 0
it_ok "test/data/ruled_tmpl/promtool_test.yml: templates expand as in promtool"

both "$DATA" states states.yml
same_output states 1
it_ok "states.yml: alert states, ALERTS, ALERTS_FOR_STATE, templated labels: same listing"

both "$DATA" lazy lazy.yml
same_output lazy 1
it_ok "lazy.yml: input samples after the last evaluation are not loaded, as in promtool"

both "$DATA" syntax syntax.yml
same_output syntax 1
it_ok "syntax.yml: a rule that does not parse is named as promtool names it"

both "$DATA" results results.yml
same_output results 1
it_ok "results.yml: a matrix or string result fails as in promtool"

both "$DATA" same same_group.yml
same_output same 0
it_ok "same_group.yml: a rule sees the records before it in its group at the same time"

both "$DATA" two pass.yml fail.yml
same_output two 1
it_ok "two files in one run: exit 1, same output"

both "$DATA" error error.yml
[ "$RC_P" = 1 ] && [ "$RC_R" = 1 ] || it_die "error.yml: exit ruled $RC_R promtool $RC_P, want 1 and 1"
for f in ruled promtool; do
    grep -q '^    expr: "a + on(x) a", time: 0s, err: found duplicate series for the match group {x="1"}' \
        "$IT_DIR/error.$f" || { cat "$IT_DIR/error.$f"; it_die "error.yml: $f has no evaluation error"; }
    grep -q '^    expr: "a", time: 0s, err: labels "a{x=\\"1\\"": 1:8: parse error: ' "$IT_DIR/error.$f" ||
        { cat "$IT_DIR/error.$f"; it_die "error.yml: $f has no label parse error"; }
done
it_ok "error.yml: an evaluation error and a bad label set fail both, same lines"

sed -e 's/^tests:/unknown_key: 1\ntests:/' -e "s|^rule_files: \[rules.yml\]|rule_files: [$DATA/rules.yml]|" \
    "$DATA/pass.yml" >"$IT_DIR/unknown.yml"
both "$IT_DIR" unknown unknown.yml
same_output unknown 1
it_ok "an unknown key fails the file in both, in Go's yaml words"

# arguments: promtool's (kingpin's) errors and feature warnings, word for word but the
# program name
for args in "" "--bogus pass.yml" "nonexist.yml" "--enable-feature=foo,promql-at-modifier pass.yml" \
    "--enable-feature promql-negative-offset pass.yml"; do
    # shellcheck disable=SC2086 # word splitting of args is meant
    both "$DATA" args $args
    [ "$RC_R" = "$RC_P" ] || it_die "ruled test $args: exit $RC_R, promtool $RC_P"
    diff <(sed 's/^promtool:/P:/' "$IT_DIR/args.promtool") <(sed 's/^ruled:/P:/' "$IT_DIR/args.ruled") ||
        it_die "ruled test $args: output differs"
done
it_ok "bad flags, missing files, no file, --enable-feature: promtool's texts and exit codes"

# a test that would take more than a million evaluations is refused before any runs
printf 'evaluation_interval: 1ms\ntests:\n  - promql_expr_test:\n      - expr: up\n        eval_time: 1y\n' \
    >"$IT_DIR/huge.yml"
rc=0
timeout 20 "$BIN/ruled" test "$IT_DIR/huge.yml" >"$IT_DIR/huge.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'takes more than 1000000 evaluations: not supported' "$IT_DIR/huge.out" ||
    { cat "$IT_DIR/huge.out"; it_die "huge.yml: exit $rc, want 1 and the refusal"; }
it_ok "a test of more than 1,000,000 evaluations is refused at once"

left=$(find "$IT_DIR" -maxdepth 1 -name 'ruled-test.*' | wc -l)
[ "$left" = 0 ] || it_die "$left private tsdb directories left in TMPDIR"
it_ok "every private tsdb directory removed"
echo "$(basename "$0"): ${IT_PASSES} passed"
