#!/usr/bin/env bash
# ruled_tmpl_promtool.sh — alert templates with if/else if, range, with, define/template,
# variables, printf, reReplaceAll, stripPort, index, len, humanize*, title and a missing label
# (test/data/ruled_tmpl/rules.yml) expand in the real Debian promtool (`promtool test rules`)
# to the strings that test/check_ruled_tmpl.c (test_ruled_tmpl_promtool) asserts for ruled's
# expansion, and ruled --check-config loads the rule file. Templates calling `query`
# (query_rules.yml): promtool and `ruled test` both pass query_test.yml.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_cmds promtool
it_need_bins ruled
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(cd "$(dirname "$0")/../data/ruled_tmpl" && pwd)
it_tmpdir

(cd "$DATA" && promtool test rules promtool_test.yml) >"$IT_DIR/promtool.out" 2>&1 ||
    { cat "$IT_DIR/promtool.out"; it_die "promtool test rules: the expected expansions differ"; }
it_ok "promtool expands the templates to the strings check_ruled_tmpl asserts for ruled"

printf 'global:\n  evaluation_interval: 1m\nrule_files: [%s]\n' "$DATA/rules.yml" >"$IT_DIR/prom.yml"
"$BIN/ruled" --config.file="$IT_DIR/prom.yml" --check-config >"$IT_DIR/check.out" 2>&1 ||
    { cat "$IT_DIR/check.out"; it_die "ruled --check-config refused the templates"; }
it_ok "ruled --check-config loads the rule file"

# a template Prometheus refuses at load is refused by ruled at load too
sed 's/{{ title "hELLO" }}/{{ nosuch "hELLO" }}/' "$DATA/rules.yml" >"$IT_DIR/bad.yml"
printf 'rule_files: [%s]\n' "$IT_DIR/bad.yml" >"$IT_DIR/bad.prom.yml"
if promtool check rules "$IT_DIR/bad.yml" >/dev/null 2>&1; then it_die "promtool accepted nosuch"; fi
rc=0
"$BIN/ruled" --config.file="$IT_DIR/bad.prom.yml" --check-config >"$IT_DIR/bad.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'function "nosuch" not defined' "$IT_DIR/bad.out" ||
    { cat "$IT_DIR/bad.out"; it_die "ruled --check-config: want exit 2 and function \"nosuch\" not defined, got $rc"; }
it_ok "an undefined function is refused at load by both"
# query in templates (first, label, value, strvalue, sortByLabel, with/else, a scalar, the
# evaluation time): query_test.yml holds promtool's expansions; ruled test must pass it too
(cd "$DATA" && promtool test rules query_test.yml) >"$IT_DIR/promtool_q.out" 2>&1 ||
    { cat "$IT_DIR/promtool_q.out"; it_die "promtool test rules query_test.yml failed"; }
it_ok "promtool expands the query templates to query_test.yml's strings"
(cd "$DATA" && timeout 60 "$BIN/ruled" test query_test.yml) >"$IT_DIR/ruled_q.out" 2>&1 ||
    { cat "$IT_DIR/ruled_q.out"; it_die "ruled test query_test.yml failed (promtool passed it)"; }
it_ok "ruled test expands them to the same strings"
printf 'rule_files: [%s]\n' "$DATA/query_rules.yml" >"$IT_DIR/q.prom.yml"
"$BIN/ruled" --config.file="$IT_DIR/q.prom.yml" --check-config >"$IT_DIR/q.check" 2>&1 ||
    { cat "$IT_DIR/q.check"; it_die "ruled --check-config refused query_rules.yml"; }
it_ok "ruled --check-config loads query_rules.yml"
echo "$(basename "$0"): ${IT_PASSES} passed"
