#!/usr/bin/python3
"""Fails when an #include crosses the module dependency rule of docs/architecture.md.

Every source file belongs to the module of its folder; a module may include its
own headers and those of the modules listed for it below, nothing else. Run from
anywhere: `tools/check-layering.py [SOURCE_DIR]`. Exit 0 clean, 1 on a violation.
"""
import pathlib
import re
import sys

# module -> modules it may include (besides itself). Lower layers first.
ALLOWED = {
    "proto": set(),
    "config": set(),
    "codec": {"proto"},
    "drivers": {"proto"},  # line_box.hpp: the interface every box family implements
    "drivers/x800": {"drivers", "proto"},
    "drivers/audio": {"drivers"},
    "daemon/core": set(),
    "daemon/domain": {"daemon/core", "proto"},
    "daemon/store": {"daemon/domain", "daemon/core"},
    "daemon/directory": {"daemon/store", "daemon/domain", "daemon/core", "proto", "config"},
    # Recording files on disk against their rows: the daemon and the CLI judge them alike.
    "daemon/archive": {"daemon/store", "daemon/domain", "daemon/core", "codec"},
    "daemon/calls": {"daemon/store", "daemon/domain", "daemon/core", "drivers", "codec", "proto", "config"},
    "daemon/media": {"daemon/calls", "daemon/archive", "daemon/store", "daemon/domain", "daemon/core",
                     "drivers", "drivers/audio", "codec", "proto", "config"},
    "daemon/crm": {"daemon/calls", "daemon/directory", "daemon/store", "daemon/domain", "daemon/core",
                   "proto", "config"},
    "daemon/api": {"daemon/calls", "daemon/directory", "daemon/store", "daemon/domain", "daemon/core",
                   "drivers", "codec", "proto", "config"},
    "daemon/app": {"daemon/api", "daemon/crm", "daemon/media", "daemon/calls", "daemon/directory", "daemon/archive",
                   "daemon/store", "daemon/domain", "daemon/core",
                   "drivers", "drivers/x800", "drivers/audio", "codec", "proto", "config"},
    # The CLI reads the database and the directory itself when no daemon runs.
    "tools/cli": {"daemon/directory", "daemon/archive", "daemon/store", "daemon/domain", "daemon/core", "codec", "proto", "config"},
    # The virtual box knows the wire formats and makes audio; nothing of the daemon.
    "tools/sim": {"codec", "proto"},
}
SOURCES = ("proto", "config", "codec", "drivers", "daemon", "tools")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(relative: str):
    """The module a project path belongs to: the longest key of ALLOWED it lies in."""
    best = None
    for module in ALLOWED:
        if relative == module or relative.startswith(module + "/"):
            if best is None or len(module) > len(best):
                best = module
    return best


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    violations = []
    unknown = []
    for top in SOURCES:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h", ".c") or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            module = module_of(relative)
            if module is None:
                unknown.append(relative)
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = match.group(1)
                target_module = module_of(target)
                if target_module is None:
                    if "/" in target:  # a project path outside every module
                        violations.append(f"{relative}:{number}: includes {target}, which belongs to no module")
                    continue
                if target_module != module and target_module not in ALLOWED[module]:
                    violations.append(f"{relative}:{number}: {module} must not include {target} ({target_module})")
    for relative in unknown:
        violations.append(f"{relative}: belongs to no module; add its folder to tools/check-layering.py")
    for violation in violations:
        print(violation, file=sys.stderr)
    if violations:
        print(f"check-layering: {len(violations)} include(s) cross the module rule (docs/architecture.md)",
              file=sys.stderr)
        return 1
    print("check-layering: every include follows the module rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
