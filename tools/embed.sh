#!/bin/sh
# embed.sh FILE SYMBOL — print a C file defining `const char SYMBOL[]` with FILE's bytes,
# so daemons can run with an embedded default config (no file needed).
set -eu
file=$1 sym=$2
printf '/* generated from %s by tools/embed.sh — do not edit */\n' "$file"
printf 'extern const char %s[];\nconst char %s[] = {\n' "$sym" "$sym"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/    /'
printf '    0x00\n};\n'
