#!/usr/bin/env bash
# template_diff.sh — differential test of the template engine (common/fw_tmpl*.c) against the
# real Debian amtool 0.25 (Alertmanager's Go 1.19 text/template and its functions): a few
# hundred templates generated with a fixed seed from a grammar of Go's template language as
# Alertmanager configs use it (template_diff.py says which), each rendered by
# `alertd template render` and `amtool template render` over the same data, must give the same
# bytes, or the same exit code and error text. Constructs where floorwatch is known to differ
# are left out of the generator and printed as "SKIP known difference" lines (never passed).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BUILD=${BUILD:-build}
AMTMPL=/usr/share/prometheus/alertmanager
it_need_bins alertd
it_need_cmds amtool
[ -f "$AMTMPL/default.tmpl" ] || it_skip "$AMTMPL/default.tmpl is not installed"
[ -x /usr/bin/python3 ] || it_skip "/usr/bin/python3 is not installed"
it_tmpdir
set +e
/usr/bin/python3 test/it/template_diff.py "$BUILD/bin/alertd" "$AMTMPL" "$IT_DIR" 500 | tee "$IT_DIR/diff.txt"
rc=${PIPESTATUS[0]}
set -e
it_check "$(tail -n 1 "$IT_DIR/diff.txt")" test "$rc" = 0
it_finish
