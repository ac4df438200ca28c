"""The layout's promise, checked: imports point one way. The hosts (agent/, github/,
terminal/) use the release, the release uses Azure, and all of them the shared leaves at the
top of runner/; no host imports another, and the release never learns which host it runs under."""

from __future__ import annotations

import ast
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "runner"
HOSTS = ("agent", "github", "terminal")
LEVELS = {"azure": 1, "release": 2, "report": 2, **{host: 3 for host in HOSTS}}
ENTRY_POINTS = {"runner.__main__", "runner.cli", "runner.demo", "runner.rehearse"}
ASIDE = ("emulator", "devops", "pipeline_templates")  # the test bed and the set-up tools


def family(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in (*LEVELS, *ASIDE) else "leaf"


def imports() -> list[tuple[str, str]]:
    found = []
    for path in RUNNER.rglob("*.py"):
        module = ".".join(path.relative_to(RUNNER.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runner"):
                found.append((module, str(node.module)))
            elif isinstance(node, ast.Import):
                found += [(module, a.name) for a in node.names if a.name.startswith("runner")]
    return found


def test_imports_point_one_way() -> None:
    backwards = []
    for importer, imported in imports():
        if importer in ENTRY_POINTS or family(importer) in ASIDE:
            continue
        mine, theirs = family(importer), family(imported)
        if theirs == mine:
            continue
        level = LEVELS.get(mine, 0)
        other = LEVELS.get(theirs, 4 if theirs in ASIDE else 0)
        if other > level or (mine in HOSTS and theirs in HOSTS):
            backwards.append(f"{importer} -> {imported}")
    assert backwards == []
