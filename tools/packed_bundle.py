"""Packs the folders only some platforms use into one xz tar inside python/lib.

The build side of runner/unpack_packages.py. One archive for all the packed platforms, not one
each: their cryptography builds share most of their code (Linux and macOS on arm64 are the same
Rust compiled for the same CPU) and their Python code, so one xz stream over all of them, whose
dictionary spans the whole tar, is 0.75 MB smaller than three. The agent reads the whole stream
(about half a second) and writes only its own platform's folders.
"""

from __future__ import annotations

import io
import lzma
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools import vendor

ARCHIVE = "packed.tar.xz"
# The x86 branch filter makes the x86_64 macOS code a tenth smaller and costs the arm64 code less
# than that; preset 9 extreme: its 64 MiB dictionary holds the whole tar. Every liblzma decodes it.
FILTERS = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def folders_of(index: dict[str, Any], key: str) -> set[str]:
    return {f for folders in index["platforms"][key]["pythons"].values() for f in folders}


def packable(index: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """The folders that only these platforms use: what their archive holds."""
    keys = set(keys)
    others = set().union(*(folders_of(index, k) for k in index["platforms"] if k not in keys))
    return sorted(set().union(*(folders_of(index, k) for k in keys)) - others)


def _tar_info(name: str, size: int, directory: bool) -> tarfile.TarInfo:
    """Same bytes on every build machine: no owner, time or local permissions."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = size
    return info


def pack(lib_dir: Path, index: dict[str, Any], keys: Iterable[str], archive: str = ARCHIVE) -> Path:
    """Moves the folders only `keys` use into `lib_dir/archive`; the index marks those platforms
    packed (the launcher unpacks what it finds missing). Returns the archive."""
    keys = list(keys)
    folders = packable(index, keys)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in folders:
            for path in sorted([lib_dir / folder, *(lib_dir / folder).rglob("*")]):
                name = path.relative_to(lib_dir).as_posix()
                if path.is_dir():
                    tar.addfile(_tar_info(name, 0, directory=True))
                else:
                    data = path.read_bytes()
                    tar.addfile(_tar_info(name, len(data), directory=False), io.BytesIO(data))
    target = lib_dir / archive
    target.write_bytes(lzma.compress(buffer.getvalue(), format=lzma.FORMAT_XZ, filters=FILTERS))
    for folder in folders:
        shutil.rmtree(lib_dir / folder)
    for key in keys:
        index["platforms"][key]["packed"] = archive
    vendor.write_index(lib_dir, index)
    return target
