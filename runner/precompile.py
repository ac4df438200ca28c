"""Compiles the task's start-up modules on a spare core while the task itself starts.

A hosted agent unpacks the task afresh for every job, so Python must compile every module the
swap imports (about 0.26 s of CPU for azure-identity, azure-core, requests and the runner) before
the first request can leave. The launcher starts this next to the task, once per spare core:
each copy walks `startup-modules.txt` (written at build time, in import order) from the end,
taking every n-th module, while the task imports from the front, so the two meet in the middle
and the task finds most of its bytecode already written, exactly as it would have written it.

    python -S -m runner.precompile LIST_FILE STRIPE STRIPES

Standard library only, and silent: a module it cannot compile is left to the task's own import.
"""

from __future__ import annotations

import os
import py_compile
import sys
from importlib.util import cache_from_source

TIMESTAMP = py_compile.PycInvalidationMode.TIMESTAMP


def source_of(module: str, search_path: list[str]) -> str:
    """The .py file `module` would be imported from, or "" when there is none."""
    relative = os.path.join(*module.split("."))
    for entry in search_path:
        for candidate in (relative + ".py", os.path.join(relative, "__init__.py")):
            path = os.path.join(entry, candidate)
            if os.path.isfile(path):
                return path
    return ""


def precompile(modules: list[str], stripe: int, stripes: int, search_path: list[str]) -> int:
    """Writes the bytecode of modules[-1 - stripe], [-1 - stripe - stripes], ...; returns how many
    it wrote (the ones the task or another copy had already written are skipped)."""
    written = 0
    for index in range(len(modules) - 1 - stripe, -1, -stripes):
        source = source_of(modules[index], search_path)
        if not source:
            continue
        cached = cache_from_source(source)
        if os.path.exists(cached):
            continue
        try:
            # The import system's own format (timestamp-checked), so the task accepts the file.
            py_compile.compile(
                source,
                cached,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
            )
        except Exception:  # a race with the task's own write, a read-only folder: its loss only
            continue
        written += 1
    return written


def main(argv: list[str]) -> int:
    if hasattr(os, "nice"):  # on a busy machine the task itself comes first
        os.nice(10)
    list_file, stripe, stripes = argv[0], int(argv[1]), int(argv[2])
    with open(list_file, encoding="utf-8") as lines:
        modules = [line.strip() for line in lines if line.strip()]
    precompile(modules, stripe, max(1, stripes), [p for p in sys.path if p])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
