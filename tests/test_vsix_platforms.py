"""Every platform the .vsix bundles packages for, checked in the built extension.

Only Linux x64 can run them here, so for the others: the index names folders that exist, each
platform's folders hold the compiled modules built for that CPU, OS and Python, and the launcher's
own choice (launcher/bundles.js, run by node) gives each platform's interpreters those folders and
sends everything else to the pip install.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from tests import vsix_harness as harness

_missing = harness.missing_tools()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
COMPILED = (".so", ".pyd", ".dylib", ".dll")
# Platform key -> (what the compiled modules' names say, ELF e_machine or PE machine).
BUNDLED = {
    "linux_x86_64": ("x86_64-linux-gnu", ("ELF", 62)),
    "linux_aarch64": ("aarch64-linux-gnu", ("ELF", 183)),
    "win_amd64": ("win_amd64", ("PE", 0x8664)),
}


def lib(task: harness.InstalledTask) -> Path:
    return task.task_dir / "python" / "lib"


def index_of(task: harness.InstalledTask) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((lib(task) / "index.json").read_text(encoding="utf-8"))
    return value


def machine_of(binary: Path) -> tuple[str, int]:
    """("ELF", e_machine) or ("PE", machine) from a compiled module's header."""
    data = binary.read_bytes()[:4096]
    if data[:4] == b"\x7fELF":
        return "ELF", struct.unpack_from("<H", data, 18)[0]
    if data[:2] == b"MZ":
        (pe,) = struct.unpack_from("<I", data, 0x3C)
        assert data[pe : pe + 4] == b"PE\0\0", binary
        return "PE", struct.unpack_from("<H", data, pe + 4)[0]
    raise AssertionError(f"{binary} is neither ELF nor PE")


def test_the_index_bundles_each_platform_for_each_python(task: harness.InstalledTask) -> None:
    index = index_of(task)
    assert set(index["platforms"]) == set(BUNDLED)
    for bundle in index["platforms"].values():
        assert tuple(bundle["pythons"]) == PYTHONS
        for folders in bundle["pythons"].values():
            assert all((lib(task) / folder).is_dir() for folder in [*folders, index["common"]])
    assert not [p for p in (lib(task) / index["common"]).rglob("*") if p.suffix in COMPILED]


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_each_platforms_folders_hold_modules_compiled_for_it(
    key: str, task: harness.InstalledTask
) -> None:
    name_tag, machine = BUNDLED[key]
    index = index_of(task)
    for minor, folders in index["platforms"][key]["pythons"].items():
        binaries = [
            p for folder in folders for p in (lib(task) / folder).rglob("*") if p.suffix in COMPILED
        ]
        names = sorted(p.name for p in binaries)
        cp = minor.replace(".", "")
        # cffi's backend per Python (cryptography's OpenSSL bindings load it), one abi3
        # cryptography per platform.
        (backend,) = [n for n in names if n.startswith("_cffi_backend.")]
        assert name_tag in backend and (f"cpython-{cp}-" in backend or f"cp{cp}-" in backend)
        assert [n for n in names if n.startswith("_rust.")] == [
            "_rust.pyd" if machine[0] == "PE" else "_rust.abi3.so"
        ]
        assert all(machine_of(p) == machine for p in binaries), (key, minor, names)


def importable(task: harness.InstalledTask, folders: list[str]) -> set[str]:
    """Top-level packages and modules on a path of these folders, compiled ones by module name."""
    names = set()
    for folder in folders:
        for entry in (lib(task) / folder).iterdir():
            if entry.is_dir() and not entry.name.endswith(".dist-info"):
                names.add(entry.name)
            elif entry.suffix in (".py", *COMPILED):
                names.add(entry.name.split(".")[0])
    return names


@pytest.mark.parametrize("minor", PYTHONS)
def test_every_platform_gets_the_same_packages(minor: str, task: harness.InstalledTask) -> None:
    index = index_of(task)
    found = {
        key: importable(task, [*bundle["pythons"][minor], index["common"]])
        for key, bundle in index["platforms"].items()
    }
    expected = found["linux_x86_64"]
    assert {"azure", "cryptography", "_cffi_backend", "msal", "requests"} <= expected
    assert all(names == expected for names in found.values()), found


# What the launcher's probe reports on an agent -> the bundle it must choose (None: pip).
AGENTS: list[tuple[str, dict[str, Any], Optional[str]]] = [
    ("ubuntu-x64", {"platform": "linux-x86_64", "libc": "glibc 2.35"}, "linux_x86_64"),
    ("centos7-x64", {"platform": "linux-x86_64", "libc": "glibc 2.17"}, "linux_x86_64"),
    ("graviton", {"platform": "linux-aarch64", "libc": "glibc 2.34"}, "linux_aarch64"),
    ("windows-x64", {"platform": "win-amd64", "libc": ""}, "win_amd64"),
    ("old-glibc", {"platform": "linux-aarch64", "libc": "glibc 2.12"}, None),
    ("alpine-musl", {"platform": "linux-x86_64", "libc": ""}, None),
    ("macos-arm64", {"platform": "macosx-11.0-arm64", "libc": ""}, None),
    ("windows-arm64", {"platform": "win-arm64", "libc": ""}, None),
    ("pypy", {"platform": "linux-x86_64", "libc": "glibc 2.35", "implementation": "pypy"}, None),
]

CHOOSE = """
const { bundledFolders } = require(process.argv[1]);
const index = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(JSON.parse(process.argv[3]).map((p) => bundledFolders(p, index))));
"""


def choose(task: harness.InstalledTask, pythons: list[dict[str, Any]]) -> list[Any]:
    """What launcher/bundles.js in the unpacked task chooses for each interpreter."""
    node = harness.node()
    assert node
    bundles = task.task_dir / "launcher" / "bundles.js"
    index = lib(task) / "index.json"
    run = subprocess.run(
        [node, "-e", CHOOSE, str(bundles), str(index), json.dumps(pythons)],
        capture_output=True,
        text=True,
        check=True,
    )
    chosen: list[Any] = json.loads(run.stdout)
    return chosen


@pytest.mark.parametrize("minor", PYTHONS)
def test_the_launcher_gives_each_platform_its_own_folders(
    minor: str, task: harness.InstalledTask
) -> None:
    version = [int(n) for n in minor.split(".")] + [1]
    pythons = [{"implementation": "cpython", "version": version, **facts} for _, facts, _ in AGENTS]
    index = index_of(task)
    for (agent, _, key), folders in zip(AGENTS, choose(task, pythons)):
        expected = None if key is None else [*index["platforms"][key]["pythons"][minor], "common"]
        assert folders == expected, agent


def test_a_python_the_task_was_not_built_for_gets_no_folders(task: harness.InstalledTask) -> None:
    newer = {"implementation": "cpython", "version": [3, 99, 0], "platform": "linux-x86_64"}
    assert choose(task, [{**newer, "libc": "glibc 2.35"}]) == [None]
