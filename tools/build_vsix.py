"""Builds the extension: stages the task folder under build/vsix/ and packages it with tfx.

    python tools/build_vsix.py [--refresh-wheels]

The version in pyproject.toml is the one source of truth: it is stamped into the staged
task.json and vss-extension.json (agents cache tasks by version, so both move together).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import packed_bundle, vendor

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "vsix"
WHEEL_CACHE = ROOT / "build" / "cache" / "wheels"
EXTENSION_FILES = ("overview.md", "LICENSE", "images/icon.png")
# The pictures overview.md (the Marketplace page) shows: shipped beside it in images/.
OVERVIEW_PICTURES = tuple(
    sorted(
        f"images/{name}"
        for name in re.findall(
            r"\]\(images/([\w.-]+)\)", (ROOT / "overview.md").read_text(encoding="utf-8")
        )
    )
)
TASK_TYPE = "ms.vss-distributed-task.task"
TEST_ONLY_PACKAGE = "emulator"  # the local App Service emulator: tests and demos only
# What the launcher runs: the task, the compiler it starts beside it on spare cores, and the
# unpacker of packed platforms (first run on a self-hosted agent).
ENTRY_POINTS = ("runner.__main__", "runner.precompile", "runner.unpack_packages")
STARTUP_MODULES = "startup-modules.txt"


class BuildError(Exception):
    """A reason the extension cannot be built, worded for whoever runs the build."""


def project_metadata() -> tuple[str, list[str]]:
    """The version and the task's run-time requirements (`[tool.swap-slots]`) from pyproject."""
    if sys.version_info < (3, 11):
        raise BuildError("building the extension needs Python 3.11 or later (tomllib)")
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version = str(pyproject["project"]["version"])
    return version, [str(r) for r in pyproject["tool"]["swap-slots"]["task-dependencies"]]


def task_folder_name(manifest: dict[str, object]) -> str:
    contributions = manifest.get("contributions")
    assert isinstance(contributions, list)
    names = [c["properties"]["name"] for c in contributions if c.get("type") == TASK_TYPE]
    if len(names) != 1:
        raise BuildError("vss-extension.json must contribute exactly one task")
    return str(names[0])


def stamp_version(task: dict[str, object], version: str) -> None:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise BuildError(f"pyproject version '{version}' is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(n) for n in match.groups())
    task["version"] = {"Major": major, "Minor": minor, "Patch": patch}


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, package: str) -> set[str]:
    """Names of the runner modules `path` imports anywhere, relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "runner"}


def stage_runner(destination: Path, entry_points: tuple[str, ...]) -> list[str]:
    """Copies the runner modules `python -m runner` can import; returns their names.

    Only what __main__ reaches ships, so the emulator and the terminal tools stay out; an import
    of the emulator from that code fails the build rather than the task on an agent.
    """
    shipped: dict[str, Path] = {}
    pending = list(entry_points)
    while pending:
        name = pending.pop()
        path = _module_file(name)
        if name in shipped or path is None:  # `from runner.x import f`: f is no module
            continue
        if name.split(".")[:2] == ["runner", TEST_ONLY_PACKAGE]:
            raise BuildError(
                f"`python -m runner` imports {name}: the emulator is for tests and demos and "
                "does not ship in the extension. Move that import out of the task's code path."
            )
        shipped[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        pending += [*parents, *_imports(path, package)]
    for path in shipped.values():
        target = destination / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return sorted(shipped)


def record_startup_modules(python_dir: Path, index: dict[str, Any]) -> list[str]:
    """Writes `startup-modules.txt`: the task's modules, in the order `python -m runner` imports
    them (so in the order it needs their bytecode), as this Python imports them from the stage;
    then the run's report, which every run imports at its end."""
    here = sysconfig.get_platform()
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    entries = [
        e
        for e in index["platforms"].values()
        if e.get("sysconfigPlatform") == here
        or (here.startswith("macosx-") and e.get("macosMachine") == platform.machine())
    ]
    if not entries or minor not in entries[0]["pythons"]:
        raise BuildError(f"the bundle has no packages for {here} / Python {minor} to run")
    lib = python_dir / "lib"
    folders = [python_dir, lib / index["common"], *(lib / f for f in entries[0]["pythons"][minor])]
    # A finder that finds nothing but notes each import as it starts: the order of compiling.
    probe = (
        "import sys\n"
        "started = []\n"
        "class Note:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        started.append(name)\n"
        "sys.meta_path.insert(0, Note())\n"
        "import runner.__main__\n"
        # Imported by every run that planned a swap, at its end (the report for the tab): listed
        # last, so the spare cores compile it first and the run's end finds its bytecode.
        "import runner.report.document\n"
        "for name in started:\n"
        "    if (getattr(sys.modules.get(name), '__file__', None) or '').startswith(sys.argv[1]):\n"
        "        print(name)\n"
    )
    run = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(python_dir)],
        cwd=python_dir,
        env={  # no bytecode in the stage: the agent unpacks sources only
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(f) for f in folders),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise BuildError(f"the staged task does not import:\n{run.stderr}")
    modules = run.stdout.split()
    (python_dir / STARTUP_MODULES).write_text("\n".join(modules) + "\n", encoding="utf-8")
    return modules


def build_tab(destination: Path) -> Path:
    """The results tab (web/): bundled by esbuild from node_modules; returns its script."""
    if not (ROOT / "node_modules" / "esbuild").is_dir():
        raise BuildError("esbuild is not installed: run `npm ci` in the repository root")
    run = subprocess.run(
        ["node", str(ROOT / "web" / "build.mjs"), str(destination)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise BuildError(f"bundling the results tab failed:\n{run.stdout}\n{run.stderr}")
    return destination / "tab.js"


def tfx_command() -> list[str]:
    tfx = ROOT / "node_modules" / ".bin" / ("tfx.cmd" if os.name == "nt" else "tfx")
    if not tfx.exists():
        raise BuildError(
            "tfx is not installed: run `npm ci` in the repository root (or `make vsix`)"
        )
    return [str(tfx)]


def build(refresh_wheels: bool = False) -> Path:
    """Stages the extension and packages it; returns the .vsix path."""
    version, requirements = project_metadata()
    manifest = json.loads((ROOT / "vss-extension.json").read_text(encoding="utf-8"))
    manifest["version"] = version
    folder = task_folder_name(manifest)

    stage = BUILD / "stage"
    if stage.exists():
        shutil.rmtree(stage)
    task_dir = stage / folder
    (task_dir / "launcher").mkdir(parents=True)
    task = json.loads((ROOT / "task.json").read_text(encoding="utf-8"))
    stamp_version(task, version)
    (task_dir / "task.json").write_text(json.dumps(task, indent=2) + "\n", encoding="utf-8")
    for script in sorted((ROOT / "launcher").glob("*.js")):
        shutil.copyfile(script, task_dir / "launcher" / script.name)
    shipped = stage_runner(task_dir / "python", ENTRY_POINTS)
    print(f"runner modules in the task: {len(shipped)}")
    (task_dir / "python" / "requirements.txt").write_text(
        "\n".join(requirements) + "\n", encoding="utf-8"
    )
    index = vendor.bundle(requirements, task_dir / "python" / "lib", WHEEL_CACHE, refresh_wheels)
    modules = record_startup_modules(task_dir / "python", index)
    print(f"start-up modules for the parallel precompile: {len(modules)}")
    archive = packed_bundle.pack(task_dir / "python" / "lib", index, vendor.PACKED)
    print(f"packed for {', '.join(vendor.PACKED)}: {archive.stat().st_size / 1e6:.1f} MB")

    for name in EXTENSION_FILES:
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, stage / name)
    for picture in OVERVIEW_PICTURES:
        shutil.copyfile(ROOT / picture, stage / picture)
    tab = build_tab(stage / "tab")
    print(f"results tab: {tab.stat().st_size / 1024:.1f} KB (tab/tab.js)")
    (stage / "vss-extension.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    output = BUILD / f"{manifest['publisher']}.{manifest['id']}-{version}.vsix"
    for old in BUILD.glob("*.vsix"):  # one extension in the folder: the one just built
        old.unlink()
    run = subprocess.run(
        [
            *tfx_command(),
            "extension",
            "create",
            "--root",
            str(stage),
            "--manifests",
            "vss-extension.json",
            "--output-path",
            str(output),
            "--no-prompt",
            "--no-color",
        ],
        cwd=stage,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0 or not output.exists():
        raise BuildError(f"tfx extension create failed:\n{run.stdout}\n{run.stderr}")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--refresh-wheels",
        action="store_true",
        help="resolve the bundled packages again instead of reusing the cache",
    )
    args = parser.parse_args(argv)
    try:
        vsix = build(refresh_wheels=args.refresh_wheels)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{vsix.relative_to(ROOT)}: {vsix.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
