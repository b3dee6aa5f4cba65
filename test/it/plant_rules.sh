#!/usr/bin/env bash
# plant_rules.sh — the plant's rules (ruled/ruled.rules.yml, ruled/ruled.prices.yml) pass their
# unit tests (test/rules/*.test.yml, promtool's format) under both the real Debian
# `promtool test rules` and `ruled test`; every rule of the two files has a test; the real
# `promtool check rules` accepts them; every alert carries a business_impact label of
# critical, high, medium or low; and the default alertd configuration routes each of those
# values to its own receiver (asked of the real `amtool config routes test`).
#
# promtool 2.42 knows double_exponential_smoothing by its Prometheus 2 name, holt_winters:
# the promtool runs read a copy of the rules with that one word changed (the same function,
# same arguments), made in a mirror of the tree under the test's temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
BUILD=${BUILD:-build}
it_need_cmds promtool amtool
it_need_bins ruled
RULED=$(cd "$BUILD/bin" && pwd)/ruled
it_tmpdir

mkdir -p "$IT_DIR/ruled" "$IT_DIR/test/rules"
sed 's/double_exponential_smoothing(/holt_winters(/' ruled/ruled.rules.yml >"$IT_DIR/ruled/ruled.rules.yml"
cp ruled/ruled.prices.yml "$IT_DIR/ruled/"
cp test/rules/*.test.yml "$IT_DIR/test/rules/"

(cd "$IT_DIR/ruled" && promtool check rules ruled.rules.yml ruled.prices.yml) >"$IT_DIR/check.log" 2>&1 ||
    { cat "$IT_DIR/check.log"; it_die "promtool check rules refused the plant's rules"; }
it_ok "promtool check rules accepts ruled.rules.yml and ruled.prices.yml"

for f in test/rules/*.test.yml; do
    b=$(basename "$f")
    (cd "$IT_DIR/test/rules" && timeout 300 promtool test rules "$b") >"$IT_DIR/promtool-$b.log" 2>&1 ||
        { cat "$IT_DIR/promtool-$b.log"; it_die "promtool test rules $b"; }
    it_ok "promtool test rules $b"
    (cd test/rules && timeout 300 "$RULED" test "$b") >"$IT_DIR/ruled-$b.log" 2>&1 ||
        { cat "$IT_DIR/ruled-$b.log"; it_die "ruled test $b"; }
    it_ok "ruled test $b"
done

# Every record and alert name is tested: named by an alert_rule_test, or read by a
# promql_expr_test's expr.
python3 - ruled/ruled.rules.yml ruled/ruled.prices.yml test/rules/*.test.yml >"$IT_DIR/cover.log" 2>&1 <<'PY' ||
import re, sys, yaml
rules, tests = sys.argv[1:3], sys.argv[3:]
names, impacts = set(), []
for f in rules:
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            names.add(r.get("record") or r["alert"])
            if "alert" in r:
                impacts.append((r["alert"], (r.get("labels") or {}).get("business_impact")))
alerted, queried = set(), set()
for f in tests:
    for t in yaml.safe_load(open(f))["tests"]:
        alerted |= {a["alertname"] for a in t.get("alert_rule_test") or []}
        for e in t.get("promql_expr_test") or []:
            queried |= set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e["expr"]))
missing = sorted(n for n in names if n not in alerted and n not in queried)
bad = [(a, i) for a, i in impacts if i not in ("critical", "high", "medium", "low")]
print("rules without a test:", missing)
print("alerts without a valid business_impact:", bad)
print(len(names), "rules,", len(impacts), "alerts")
sys.exit(1 if missing or bad else 0)
PY
    { cat "$IT_DIR/cover.log"; it_die "some rule has no unit test or no business_impact"; }
it_ok "every rule has a unit test and every alert a business_impact ($(tail -1 "$IT_DIR/cover.log"))"

# alertd's default routes, as amtool reads them (alertd reads the same file).
for impact in critical high medium low; do
    got=$(amtool config routes test --config.file=alertd/alertd.example.yml \
        alertname=X "business_impact=$impact" 2>/dev/null)
    [ "$got" = "factory-$impact" ] || it_die "business_impact=$impact routes to '$got', want factory-$impact"
done
got=$(amtool config routes test --config.file=alertd/alertd.example.yml alertname=X 2>/dev/null)
[ "$got" = factory-webhook ] || it_die "an alert without business_impact routes to '$got'"
it_ok "alertd's default config routes business_impact critical/high/medium/low to factory-<impact>"
echo "plant_rules.sh: ${IT_PASSES} passed"
