"""Every platform the .vsix bundles packages for, checked in the built extension.

Only Linux x64 can run them here, so for the others: the index names folders that exist (as
shipped, or in the packed archive for the self-hosted platforms), each platform's folders hold
the compiled modules built for that CPU, OS and Python, and the launcher's own choice
(launcher/bundles.js, run by node) gives each platform's interpreters those folders and sends
everything else to the pip install.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from runner import unpack_packages
from tests import vsix_harness as harness
from tools import elf_symbols

_missing = harness.missing_tools()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
COMPILED = (".so", ".pyd", ".dylib", ".dll")
# Platform key -> (what the compiled modules' names say, ELF e_machine, PE machine or Mach-O
# cputype).
BUNDLED = {
    "linux_x86_64": ("x86_64-linux-gnu", ("ELF", 62)),
    "linux_aarch64": ("aarch64-linux-gnu", ("ELF", 183)),
    "win_amd64": ("win_amd64", ("PE", 0x8664)),
    "macos_arm64": ("darwin", ("Mach-O", 0x0100000C)),
    "macos_x86_64": ("darwin", ("Mach-O", 0x01000007)),
}
# The Microsoft-hosted agents' platforms: unpacked afresh for every job, so shipped importable.
SHIPPED_AS_IS = {"linux_x86_64", "win_amd64"}
MACHO_64 = b"\xcf\xfa\xed\xfe"  # MH_MAGIC_64, little-endian: a thin 64-bit Mach-O file


def index_of(task: harness.InstalledTask) -> dict[str, Any]:
    shipped = task.task_dir / "python" / "lib" / "index.json"
    value: dict[str, Any] = json.loads(shipped.read_text(encoding="utf-8"))
    return value


@pytest.fixture(scope="module")
def lib(task: harness.InstalledTask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The task's python/lib with every packed platform unpacked as its first job would."""
    copy = tmp_path_factory.mktemp("every-platform") / "lib"
    shutil.copytree(task.task_dir / "python" / "lib", copy, copy_function=os.link)
    index = index_of(task)
    for bundle in index["platforms"].values():
        if bundle.get("packed"):
            folders = sorted({f for fs in bundle["pythons"].values() for f in fs})
            unpack_packages.unpack(str(copy / bundle["packed"]), str(copy), folders)
    return copy


def machine_of(binary: Path) -> tuple[str, int]:
    """("ELF", e_machine), ("PE", machine) or ("Mach-O", cputype) from a module's header."""
    data = binary.read_bytes()[:4096]
    if data[:4] == b"\x7fELF":
        return "ELF", struct.unpack_from("<H", data, 18)[0]
    if data[:2] == b"MZ":
        (pe,) = struct.unpack_from("<I", data, 0x3C)
        assert data[pe : pe + 4] == b"PE\0\0", binary
        return "PE", struct.unpack_from("<H", data, pe + 4)[0]
    if data[:4] == MACHO_64:  # thin: a universal binary would say 0xcafebabe
        return "Mach-O", struct.unpack_from("<i", data, 4)[0]
    raise AssertionError(f"{binary} is neither ELF, PE nor a thin Mach-O file")


def test_the_index_bundles_each_platform_for_each_python(
    task: harness.InstalledTask, lib: Path
) -> None:
    index = index_of(task)
    assert set(index["platforms"]) == set(BUNDLED)
    for bundle in index["platforms"].values():
        assert tuple(bundle["pythons"]) == PYTHONS
        for folders in bundle["pythons"].values():
            assert all((lib / folder).is_dir() for folder in [*folders, index["common"]])
    assert not [p for p in (lib / index["common"]).rglob("*") if p.suffix in COMPILED]


def test_hosted_agents_platforms_ship_importable_the_others_packed(
    task: harness.InstalledTask,
) -> None:
    shipped = task.task_dir / "python" / "lib"
    index = index_of(task)
    packed = {key for key, bundle in index["platforms"].items() if bundle.get("packed")}
    assert packed == set(BUNDLED) - SHIPPED_AS_IS
    for key in SHIPPED_AS_IS:
        for folders in index["platforms"][key]["pythons"].values():
            assert all((shipped / folder).is_dir() for folder in folders)
    # The packed platforms' own folders are only in the archive: one archive for all of them.
    (archive,) = {index["platforms"][key]["packed"] for key in packed}
    own = {f for key in packed for fs in index["platforms"][key]["pythons"].values() for f in fs}
    own -= {
        f for key in SHIPPED_AS_IS for fs in index["platforms"][key]["pythons"].values() for f in fs
    }
    assert own and not [f for f in own if (shipped / f).exists()]
    assert (shipped / archive).is_file()


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_each_platforms_folders_hold_modules_compiled_for_it(
    key: str, task: harness.InstalledTask, lib: Path
) -> None:
    name_tag, machine = BUNDLED[key]
    index = index_of(task)
    for minor, folders in index["platforms"][key]["pythons"].items():
        binaries = [
            p for folder in folders for p in (lib / folder).rglob("*") if p.suffix in COMPILED
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


def test_linux_modules_ship_without_their_static_symbol_table(lib: Path) -> None:
    modules = [p for p in lib.rglob("*.so") if elf_symbols.is_elf(p.read_bytes()[:4])]
    assert len(modules) == 2 * (1 + len(PYTHONS))  # x86_64 and aarch64: cryptography, cffi
    for module in modules:
        data = module.read_bytes()
        assert elf_symbols.without_static_symbols(data) == data, module


def code_signature_matches(module: bytes) -> Optional[bool]:
    """Whether a thin Mach-O file's code signature still covers its code: each page's hash in
    the CodeDirectory, as macOS checks them (Apple Silicon loads no code without a matching
    one). None when it has no signature, as x86_64 builds may."""
    ncmds = struct.unpack_from("<I", module, 16)[0]
    offset = 32  # mach_header_64
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", module, offset)
        if cmd == 0x1D:  # LC_CODE_SIGNATURE
            dataoff, _datasize = struct.unpack_from("<II", module, offset + 8)
            break
        offset += size
    else:
        return None
    magic, _length, count = struct.unpack_from(">III", module, dataoff)
    assert magic == 0xFADE0CC0  # the embedded signature's SuperBlob
    for i in range(count):
        _slot, blob = struct.unpack_from(">II", module, dataoff + 12 + 8 * i)
        start = dataoff + blob
        if struct.unpack_from(">I", module, start)[0] != 0xFADE0C02:  # not the CodeDirectory
            continue
        hash_offset, _ident, _special, slots, code_limit = struct.unpack_from(
            ">IIIII", module, start + 16
        )
        hash_size, hash_type, _platform, page_bits = struct.unpack_from(">BBBB", module, start + 36)
        algorithm = {1: "sha1", 2: "sha256"}[hash_type]
        page = 1 << page_bits
        for n in range(slots):
            code = module[n * page : min((n + 1) * page, code_limit)]
            stored = module[start + hash_offset + n * hash_size :][:hash_size]
            if hashlib.new(algorithm, code).digest()[:hash_size] != stored:
                return False
        return True
    return False


def macos_modules(index: dict[str, Any], lib: Path, key: str) -> dict[str, Optional[bool]]:
    folders = {f for fs in index["platforms"][key]["pythons"].values() for f in fs}
    modules = [p for folder in folders for p in (lib / folder).rglob("*.so")]
    assert len(modules) == 1 + len(PYTHONS)
    return {p.name: code_signature_matches(p.read_bytes()) for p in modules}


def test_macos_modules_keep_the_code_signature_their_wheels_have(
    task: harness.InstalledTask, lib: Path
) -> None:
    index = index_of(task)
    arm64 = macos_modules(index, lib, "macos_arm64")
    assert all(arm64.values()), arm64  # every one signed (Apple Silicon demands it) and intact
    # The Intel wheels' modules are not signed (Intel Macs load unsigned code); none is broken.
    x86_64 = macos_modules(index, lib, "macos_x86_64")
    assert False not in x86_64.values(), x86_64


def importable(lib: Path, folders: list[str]) -> set[str]:
    """Top-level packages and modules on a path of these folders, compiled ones by module name."""
    names = set()
    for folder in folders:
        for entry in (lib / folder).iterdir():
            if entry.is_dir() and not entry.name.endswith(".dist-info"):
                names.add(entry.name)
            elif entry.suffix in (".py", *COMPILED):
                names.add(entry.name.split(".")[0])
    return names


@pytest.mark.parametrize("minor", PYTHONS)
def test_every_platform_gets_the_same_packages(
    minor: str, task: harness.InstalledTask, lib: Path
) -> None:
    index = index_of(task)
    found = {
        key: importable(lib, [*bundle["pythons"][minor], index["common"]])
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
    (
        "homebrew-arm64",
        {"platform": "macosx-15.0-arm64", "machine": "arm64", "macos": "15.1"},
        "macos_arm64",
    ),
    # python.org's and the hosted image's builds are universal2: the CPU decides.
    (
        "python.org-on-arm64",
        {"platform": "macosx-10.9-universal2", "machine": "arm64", "macos": "14.6.1"},
        "macos_arm64",
    ),
    (
        "python.org-under-rosetta",
        {"platform": "macosx-10.9-universal2", "machine": "x86_64", "macos": "14.6.1"},
        "macos_x86_64",
    ),
    (
        "intel-catalina",
        {"platform": "macosx-10.9-x86_64", "machine": "x86_64", "macos": "10.15.7"},
        "macos_x86_64",
    ),
    (
        "intel-mojave",
        {"platform": "macosx-10.9-x86_64", "machine": "x86_64", "macos": "10.14.6"},
        None,
    ),
    ("windows-arm64", {"platform": "win-arm64", "libc": ""}, None),
    ("pypy", {"platform": "linux-x86_64", "libc": "glibc 2.35", "implementation": "pypy"}, None),
]

CHOOSE = """
const { chooseBundle } = require(process.argv[1]);
const index = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const chosen = JSON.parse(process.argv[3]).map((p) => chooseBundle(p, index));
console.log(JSON.stringify(chosen.map((bundle) => bundle && bundle.folders)));
"""


def choose(task: harness.InstalledTask, pythons: list[dict[str, Any]]) -> list[Any]:
    """What launcher/bundles.js in the unpacked task chooses for each interpreter."""
    node = harness.node()
    assert node
    bundles = task.task_dir / "launcher" / "bundles.js"
    index = task.task_dir / "python" / "lib" / "index.json"
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
