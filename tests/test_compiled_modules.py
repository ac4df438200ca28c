"""The build's handling of compiled modules: Linux ones lose their static symbol table and still
load; a universal macOS binary gives up one architecture's slice byte for byte."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from tools import elf_symbols, macho_slice

SECTION_TYPE_SYMTAB = 2


def section_types(module: bytes) -> list[int]:
    shoff = struct.unpack_from("<Q", module, 40)[0]
    count = struct.unpack_from("<H", module, 60)[0]
    return [struct.unpack_from("<I", module, shoff + 64 * i + 4)[0] for i in range(count)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="an ELF module to load")
def test_a_linux_module_without_its_static_symbols_is_smaller_and_still_loads(
    tmp_path: Path,
) -> None:
    spec = find_spec("_cffi_backend")  # cffi's compiled module, installed with cryptography
    assert spec and spec.origin
    original = Path(spec.origin)
    data = original.read_bytes()
    assert SECTION_TYPE_SYMTAB in section_types(data)

    stripped = elf_symbols.without_static_symbols(data)

    assert len(stripped) < len(data) and SECTION_TYPE_SYMTAB not in section_types(stripped)
    assert elf_symbols.without_static_symbols(stripped) == stripped
    (tmp_path / original.name).write_bytes(stripped)
    if shutil.which("readelf"):  # binutils' own reading of the result, where it is installed
        subprocess.run(
            ["readelf", "-S", "-d", str(tmp_path / original.name)], check=True, capture_output=True
        )
    loaded = subprocess.run(
        [sys.executable, "-S", "-c", "import _cffi_backend as b; print(b.__file__, b.__version__)"],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.startswith(str(tmp_path / original.name))


def fat(slices: dict[int, bytes]) -> bytes:
    """A universal binary as lipo lays one out: header, one fat_arch per slice, aligned slices."""
    header = struct.pack(">II", macho_slice.FAT_MAGIC, len(slices))
    body = b""
    offset = 4096
    for cpu, data in slices.items():
        header += struct.pack(">iiIII", cpu, 3, offset + len(body), len(data), 12)
        body += data + bytes(-len(data) % 4096)
    return header + bytes(offset - len(header)) + body


def test_a_universal_binary_gives_its_x86_64_slice_unchanged() -> None:
    x86_64 = b"\xcf\xfa\xed\xfe" + b"intel code, signed as it is" * 100
    arm64 = b"\xcf\xfa\xed\xfe" + b"arm code" * 300
    universal = fat({0x01000007: x86_64, 0x0100000C: arm64})

    assert macho_slice.is_fat(universal) and not macho_slice.is_fat(x86_64)
    assert macho_slice.thin(universal, "x86_64") == x86_64
    assert macho_slice.thin(universal, "arm64") == arm64
    with pytest.raises(ValueError, match="no arm64 slice"):
        macho_slice.thin(fat({0x01000007: x86_64}), "arm64")
