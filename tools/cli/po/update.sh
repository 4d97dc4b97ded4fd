#!/usr/bin/env bash
# Refreshes the CLI's message catalogues after its messages change:
# deskline.pot (the English messages, from tr() and trf() in tools/cli) and
# each LANG.po (msgmerge adds the new messages, untranslated, for the
# translator; the catalogue check fails until each has its translation).
set -euo pipefail
po_dir=$(cd "$(dirname "$0")" && pwd)
"$(dirname "$0")/extract.sh" "$po_dir/deskline.pot"
for catalogue in "$po_dir"/*.po; do
  msgmerge --quiet --update --backup=none --no-fuzzy-matching "$catalogue" "$po_dir/deskline.pot"
  msgattrib --no-obsolete --output-file="$catalogue" "$catalogue"  # git keeps the history
done
