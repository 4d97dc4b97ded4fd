#!/usr/bin/env bash
# Writes the CLI's English messages (every tr(), trf(), trn() and translatable() in
# tools/cli) to the .pot file $1.
set -euo pipefail
output=$(realpath "$1")
cd "$(dirname "$0")/../../.."
xgettext --language=C++ --from-code=UTF-8 --keyword= --keyword=tr --keyword=trf --keyword=translatable \
  --keyword=trn:1,2 \
  --add-comments=TRANSLATORS: --sort-output --no-location --package-name=deskline \
  --output="$output" tools/cli/*.cpp tools/cli/*.hpp
# No creation date: the file changes when the messages do, not at each run.
sed -i '/^"POT-Creation-Date: /d' "$output"
