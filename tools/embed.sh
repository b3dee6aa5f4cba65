#!/bin/sh
# embed.sh FILE SYMBOL — print a C file defining `const char SYMBOL[]` with FILE's bytes as a
# string (every byte an octal escape, so any UTF-8 in a config survives), so daemons can run
# with an embedded default config (no file needed).
set -eu
file=$1 sym=$2
printf '/* generated from %s by tools/embed.sh — do not edit */\n' "$file"
printf 'extern const char %s[];\nconst char %s[] =\n' "$sym" "$sym"
od -An -v -to1 "$file" | sed -e 's/ *\([0-7][0-7][0-7]\)/\\\1/g' -e 's/^/    "/' -e 's/$/"/'
printf '    "";\n'
