#!/usr/bin/python3
"""Checks the CLI's message catalogues (ctest cli_catalogues).

deskline.pot must hold exactly the English messages of the source (every tr()
and trf() in tools/cli), and each LANG.po must translate every one of them,
with the same fmt placeholders, and nothing else. Run with Debian's python3
(python3-polib) and xgettext on PATH.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

import polib

PO_DIR = pathlib.Path(__file__).resolve().parent
# fmt's replacement fields; "{{" and "}}" are literal braces.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


def placeholders(text):
    return sorted(field for field in PLACEHOLDER.findall(text) if field not in ("{{", "}}"))


def active_messages(catalogue):
    return {entry.msgid: entry for entry in catalogue if entry.msgid and not entry.obsolete}


def main():
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        fresh_path = pathlib.Path(scratch) / "deskline.pot"
        subprocess.run([str(PO_DIR / "extract.sh"), str(fresh_path)], check=True)
        source = active_messages(polib.pofile(str(fresh_path)))
    if not source:
        problems.append("no message found in tools/cli: is extract.sh looking at the right files?")
    template = active_messages(polib.pofile(str(PO_DIR / "deskline.pot")))
    for msgid in sorted(source.keys() - template.keys()):
        problems.append(f"deskline.pot: missing {msgid!r} (run tools/cli/po/update.sh)")
    for msgid in sorted(template.keys() - source.keys()):
        problems.append(f"deskline.pot: {msgid!r} is no longer in the source (run tools/cli/po/update.sh)")

    languages = sorted(PO_DIR.glob("*.po"))
    if not languages:
        problems.append("no LANG.po catalogue in " + str(PO_DIR))
    for path in languages:
        before = len(problems)
        catalogue = polib.pofile(str(path))
        if not catalogue.metadata.get("Language"):
            problems.append(f"{path.name}: the header names no Language")
        translated = active_messages(catalogue)
        for msgid, english in sorted(source.items()):
            entry = translated.get(msgid)
            # A message about a count (trn) has a form per plural of the language.
            forms = list(entry.msgstr_plural.values()) if entry is not None and english.msgid_plural else (
                [entry.msgstr] if entry is not None else [])
            if entry is None:
                problems.append(f"{path.name}: missing {msgid!r}")
            elif not forms or not all(form.strip() for form in forms):
                problems.append(f"{path.name}: {msgid!r} is not translated")
            elif "fuzzy" in entry.flags:
                problems.append(f"{path.name}: {msgid!r} is marked fuzzy (check its translation)")
            else:
                for form in forms:
                    if placeholders(form) != placeholders(english.msgid_plural or msgid):
                        problems.append(f"{path.name}: {msgid!r} has placeholders {placeholders(msgid)}, "
                                        f"its translation {form!r} {placeholders(form)}")
        for msgid in sorted(translated.keys() - source.keys()):
            problems.append(f"{path.name}: {msgid!r} is no longer in the source (run tools/cli/po/update.sh)")
        if len(problems) == before:
            print(f"{path.name}: {len(source)} messages, each translated")

    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
