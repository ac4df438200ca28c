"""Compiles the task's start-up modules on a spare core while the task itself starts.

A hosted agent unpacks the task afresh for every job, so Python must compile every module the
swap imports (about 0.25 s of CPU for azure-identity, azure-core, requests and the runner) before
the first request can leave. The launcher starts this next to the task, once per spare core:
each copy walks `startup-modules.txt` (written at build time, in import order) from the end,
taking every n-th module, while the task imports from the front, so the two meet in the middle
and the task finds most of its bytecode already written, exactly as it would have written it.

    python -S -m runner.precompile LIST_FILE STRIPE STRIPES

Standard library only (nothing that would itself need compiling), and silent: a module it cannot
compile is left to the task's own import.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source


def locate(modules: list[str], search_path: list[str]) -> list[str]:
    """The .py file of each module ("" when there is none, e.g. a compiled one), found as the
    import system finds it: inside its parent package's folder once that is known (the list
    names parents first), along the whole path for top-level names and namespace packages."""
    folders: dict[str, str] = {}  # regular package -> its folder
    sources = []
    for module in modules:
        parent, _, name = module.rpartition(".")
        if parent in folders:
            bases = [folders[parent]]
        else:
            bases = [
                os.path.join(entry, *parent.split(".")) if parent else entry
                for entry in search_path
            ]
        source = ""
        for base in bases:
            package = os.path.join(base, name, "__init__.py")
            if os.path.isfile(package):
                folders[module] = os.path.dirname(package)
                source = package
                break
            plain = os.path.join(base, name + ".py")
            if os.path.isfile(plain):
                source = plain
                break
        sources.append(source)
    return sources


def write_bytecode(source: str) -> bool:
    """Writes `source`'s bytecode where and how the import system would (a timestamp-checked
    .pyc in __pycache__); False when it exists already or cannot be written."""
    cached = cache_from_source(source)
    if os.path.exists(cached):
        return False
    partial = f"{cached}.{os.getpid()}"
    try:
        with open(source, "rb") as file:
            text = file.read()
        stat = os.stat(source)
        code = compile(text, source, "exec", dont_inherit=True)
        header = MAGIC_NUMBER + b"\0\0\0\0"  # flags 0: checked against the source's mtime and size
        header += (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        header += (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        with open(partial, "wb") as out:
            out.write(header + marshal.dumps(code))
        os.replace(partial, cached)  # whole or not at all, for the task reading beside us
    except (OSError, SyntaxError, ValueError):  # a read-only folder, a race: the task compiles
        with contextlib.suppress(OSError):
            os.unlink(partial)  # e.g. Windows refuses to replace a file the task has open
        return False
    return True


def precompile(modules: list[str], stripe: int, stripes: int, search_path: list[str]) -> int:
    """Writes the bytecode of modules[-1 - stripe], [-1 - stripe - stripes], ...; returns how many
    it wrote (the ones the task or another copy had already written are skipped)."""
    sources = locate(modules, search_path)
    written = 0
    for index in range(len(sources) - 1 - stripe, -1, -stripes):
        if sources[index] and write_bytecode(sources[index]):
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
