#!/bin/sh
# check-wire-doc.sh — every message and field of common/fw_msg.def must be in docs/wire.md.
set -eu
defs=$(printf '#define FW_MSG(n,v,f,t,p,b,d) MSG n\n#define FW_FIELD(m,k,t,r) FIELD m k\n#include "fw_msg.def"\n' |
       cpp -P -Icommon - | grep -E '^(MSG|FIELD)')
fail=0 n=0
while read -r kind a b; do
    n=$((n + 1))
    if [ "$kind" = MSG ]; then
        grep -q "^### $a v" docs/wire.md || { echo "check-wire: message $a is not documented in docs/wire.md"; fail=1; }
    else
        # the field must appear as a table row in its message's section
        awk -v m="### $a v" -v k="| \`$b\` |" 'index($0, m) == 1 {s = 1; next} /^### / {s = 0} s && index($0, k) == 1 {f = 1} END {exit !f}' docs/wire.md ||
            { echo "check-wire: field $a.$b is not documented in docs/wire.md"; fail=1; }
    fi
done <<EOT
$defs
EOT
[ $fail = 0 ] && echo "check-wire: docs/wire.md covers all $n messages and fields of fw_msg.def"
exit $fail
