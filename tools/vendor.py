"""The task's Python packages, bundled for each platform and Python version it supports.

`pip download` resolves the runtime requirements once per (platform, Python version); the wheels
are unpacked into folders under `python/lib/`, shared wherever the same files serve several
interpreters, and `python/lib/index.json` tells the launcher which folders one interpreter needs.
The platforms of self-hosted agents only ship their own folders packed (`pack`): see PACKED.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional

from tools import deferred_imports, elf_symbols, macho_slice

# Resolved for the oldest release of each minor version we claim (cryptography excludes 3.9.0/1).
PYTHONS = ("3.9.2", "3.10", "3.11", "3.12", "3.13", "3.14")

# Packages whose compiled modules only speed up pure-Python code that the wheel also carries:
# without them one copy serves every platform and Python (PyYAML falls back to its Python parser,
# charset-normalizer to its uncompiled detector).
OPTIONAL_ACCELERATORS = frozenset({"pyyaml", "charset-normalizer"})
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# Type stubs are for type checkers; RECORD is for installers, and its hashes would not match the
# stripped modules. Nothing at run time reads either.
LEFT_OUT_SUFFIXES = (".pyi", ".dist-info/RECORD")
COMMON = "common"


class Platform(NamedTuple):
    key: str
    pip_platforms: tuple[str, ...]
    # What the launcher matches with the interpreter's own facts. sysconfig.get_platform() on
    # Linux and Windows; on macOS it names how Python was built (python.org's: macosx-10.9-
    # universal2), not the CPU it runs on, so there platform.machine() and the macOS version.
    sysconfig_platform: Optional[str] = None
    min_glibc: Optional[tuple[int, int]] = None
    macos_machine: Optional[str] = None
    min_macos: Optional[tuple[int, int]] = None


# Linux on Arm is the self-hosted agent on Graviton or Ampere machines; macOS x86_64 stops at
# 10.15 because cffi's newest wheels do (cryptography's last Intel build is universal2: its
# x86_64 slice ships).
PLATFORMS = (
    Platform(
        "linux_x86_64",
        ("manylinux2014_x86_64", "manylinux_2_17_x86_64"),
        sysconfig_platform="linux-x86_64",
        min_glibc=(2, 17),
    ),
    Platform(
        "linux_aarch64",
        ("manylinux2014_aarch64", "manylinux_2_17_aarch64"),
        sysconfig_platform="linux-aarch64",
        min_glibc=(2, 17),
    ),
    Platform("win_amd64", ("win_amd64",), sysconfig_platform="win-amd64"),
    Platform("macos_arm64", ("macosx_11_0_arm64",), macos_machine="arm64", min_macos=(11, 0)),
    Platform("macos_x86_64", ("macosx_10_15_x86_64",), macos_machine="x86_64", min_macos=(10, 15)),
)

# Microsoft-hosted agents (Linux x64, Windows x64) unpack the task afresh for every job and import
# cryptography on the way to the first request, so their files ship as they are, importable at
# once. The others are self-hosted machines, which keep the task folder between jobs: their own
# folders ship in one xz archive (tools/packed_bundle.py) that the launcher has the agent's
# Python unpack into the task folder on the first run (runner/unpack_packages.py). Without
# that, the five platforms do not fit the 20 MB budget. (Microsoft's macOS agents start fresh
# too, so they unpack in every job: under a second, where they ran a pip install before.)
PACKED = ("linux_aarch64", "macos_arm64", "macos_x86_64")


class Wheel(NamedTuple):
    path: Path
    dist: str  # canonical name: lower case, runs of -_. as -
    version: str
    python_tag: str
    abi_tag: str
    platform_tag: str

    @classmethod
    def parse(cls, path: Path) -> Wheel:
        parts = path.name[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise ValueError(f"not a wheel file name: {path.name}")
        dist = re.sub(r"[-_.]+", "-", parts[0]).lower()
        return cls(path, dist, parts[1], parts[-3], parts[-2], parts[-1])


class Unit(NamedTuple):
    """One folder's worth of packages: a wheel, or the part of it that `keep` says."""

    folder: str
    wheel: Path
    keep: Literal["all", "pure", "compiled"]  # pure: without compiled modules; compiled: only them
    platform: Platform


def _compiled_members(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if name.endswith(COMPILED_SUFFIXES)]


def units_for(
    wheel: Wheel, platform: Platform, lowest_abi3: dict[tuple[str, str], Wheel]
) -> list[Unit]:
    pure_folder = f"{wheel.dist}-{wheel.version}"
    if wheel.platform_tag == "any":
        return [Unit(pure_folder, wheel.path, "all", platform)]
    if wheel.dist in OPTIONAL_ACCELERATORS:
        return [Unit(pure_folder, wheel.path, "pure", platform)]
    if wheel.abi_tag == "abi3":
        # One abi3 wheel serves every later Python: take the one built for the oldest.
        lowest = lowest_abi3[(wheel.dist, wheel.version)]
        return [Unit(f"{pure_folder}-abi3-{platform.key}", lowest.path, "all", platform)]
    compiled = Unit(f"{pure_folder}-{wheel.python_tag}-{platform.key}", wheel.path, "all", platform)
    if all("/" not in name for name in _compiled_members(wheel.path)):
        # Top-level extension modules (cffi's _cffi_backend) need not sit beside the package:
        # its Python code is shared by every platform and Python, the module is not.
        return [
            Unit(pure_folder, wheel.path, "pure", platform),
            compiled._replace(keep="compiled"),
        ]
    return [compiled]


@functools.cache
def _pure_members(wheel: Path) -> set[tuple[str, str]]:
    """The Python code of a wheel (name, digest; line endings aside, as Windows wheels may have
    CRLF): what two wheels sharing a folder must agree on."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            (info.filename, hashlib.sha256(archive.read(info).replace(b"\r\n", b"\n")).hexdigest())
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.endswith(COMPILED_SUFFIXES)
            and ".dist-info/" not in info.filename
        }


def _python_tag_order(wheel: Wheel) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", wheel.python_tag)[:1] or ["0"])


def download(
    requirements: list[str], platform: Platform, python: str, cache: Path, refresh: bool
) -> list[Wheel]:
    """The wheels pip picks for one platform and Python; a cached answer when it is still valid."""
    folder = cache / f"{platform.key}-{python}"
    record = folder / "resolved.json"
    if record.exists() and not refresh:
        saved = json.loads(record.read_text(encoding="utf-8"))
        paths = [folder / name for name in saved["wheels"]]
        if saved["requirements"] == requirements and all(p.exists() for p in paths):
            return [Wheel.parse(p) for p in paths]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--dest",
        str(folder),
    ]
    for tag in platform.pip_platforms:
        command += ["--platform", tag]
    run = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        errors = [line for line in run.stderr.splitlines() if not line.startswith("WARNING")]
        raise RuntimeError(
            f"pip download for {platform.key} / Python {python} failed:\n" + "\n".join(errors)
        )
    wheels = sorted(folder.glob("*.whl"))
    record.write_text(
        json.dumps({"requirements": requirements, "wheels": [w.name for w in wheels]}, indent=1),
        encoding="utf-8",
    )
    return [Wheel.parse(w) for w in wheels]


def slimmed(module: bytes, platform: Platform) -> bytes:
    """A compiled module as it ships: Linux ones without their static symbol table (a fifth of
    cryptography's), a universal macOS one cut to the platform's slice. A Mach-O file itself is
    never edited: Apple Silicon runs only code whose signature matches it."""
    if elf_symbols.is_elf(module):
        return elf_symbols.without_static_symbols(module)
    if platform.macos_machine and macho_slice.is_fat(module):
        return macho_slice.thin(module, platform.macos_machine)
    return module


def unpack(unit: Unit, destination: Path) -> None:
    with zipfile.ZipFile(unit.wheel) as archive:
        for member in archive.infolist():
            name = member.filename
            compiled = name.endswith(COMPILED_SUFFIXES)
            if member.is_dir() or (unit.keep == "pure" and compiled):
                continue
            if unit.keep == "compiled" and not compiled:
                continue
            if name.split("/", 1)[0].endswith(".data") or name.endswith(LEFT_OUT_SUFFIXES):
                continue  # scripts and headers, stubs, RECORD: not needed to run
            target = destination / name
            if not target.resolve().is_relative_to(destination.resolve()):
                raise ValueError(f"{unit.wheel.name}: unsafe member path {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            content = archive.read(member)
            if compiled:
                content = slimmed(content, unit.platform)
            elif name in deferred_imports.DEFERRED:
                content = deferred_imports.defer_imports(
                    content.decode("utf-8"), deferred_imports.DEFERRED[name], name
                ).encode("utf-8")
            target.write_bytes(content)


def bundle(
    requirements: list[str], lib_dir: Path, cache: Path, refresh: bool = False
) -> dict[str, object]:
    """Fills `lib_dir` with the packages for every platform and Python; returns the index."""
    combos = [(platform, python) for platform in PLATFORMS for python in PYTHONS]
    with ThreadPoolExecutor(max_workers=len(combos)) as pool:
        resolved = list(
            pool.map(lambda c: download(requirements, c[0], c[1], cache, refresh), combos)
        )

    # A folder name says what is in it, so the first wheel seen for a folder serves them all.
    units: dict[str, Unit] = {}
    folders_by_combo: list[set[str]] = []
    for (platform, _python), wheels in zip(combos, resolved):
        lowest_abi3: dict[tuple[str, str], Wheel] = {}
        for (other, _), other_wheels in zip(combos, resolved):
            for w in other_wheels:
                key = (w.dist, w.version)
                if (
                    other == platform
                    and w.abi_tag == "abi3"
                    and (
                        key not in lowest_abi3
                        or _python_tag_order(w) < _python_tag_order(lowest_abi3[key])
                    )
                ):
                    lowest_abi3[key] = w
        combo_units = [u for w in wheels for u in units_for(w, platform, lowest_abi3)]
        for unit in combo_units:
            first = units.setdefault(unit.folder, unit)
            if unit.keep == "pure" and _pure_members(first.wheel) != _pure_members(unit.wheel):
                raise RuntimeError(
                    f"{first.wheel.name} and {unit.wheel.name} differ in {unit.folder}"
                )
        folders_by_combo.append({unit.folder for unit in combo_units})

    everywhere = set.intersection(*folders_by_combo)
    shipped = {name for unit in units.values() for name, _ in _pure_members(unit.wheel)}
    stale = sorted(set(deferred_imports.DEFERRED) - shipped)
    if stale:  # a package that moved the file: the deferral would silently stop applying
        raise RuntimeError(f"no shipped package has {', '.join(stale)} (tools/deferred_imports.py)")
    if lib_dir.exists():
        shutil.rmtree(lib_dir)
    lib_dir.mkdir(parents=True)
    for folder, unit in sorted(units.items()):
        unpack(unit, lib_dir / (COMMON if folder in everywhere else folder))

    platforms: dict[str, object] = {}
    for platform in PLATFORMS:
        pythons: dict[str, list[str]] = {}
        for (combo_platform, python), folders in zip(combos, folders_by_combo):
            if combo_platform == platform:
                minor = ".".join(python.split(".")[:2])
                pythons[minor] = sorted(folders - everywhere)
        entry: dict[str, object] = {}
        if platform.sysconfig_platform:
            entry["sysconfigPlatform"] = platform.sysconfig_platform
        if platform.min_glibc:
            entry["minGlibc"] = list(platform.min_glibc)
        if platform.macos_machine and platform.min_macos:
            entry["macosMachine"] = platform.macos_machine
            entry["minMacos"] = list(platform.min_macos)
        entry["pythons"] = pythons
        platforms[platform.key] = entry
    index: dict[str, object] = {"common": COMMON, "platforms": platforms}
    write_index(lib_dir, index)
    return index


def write_index(lib_dir: Path, index: dict[str, Any]) -> None:
    (lib_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
