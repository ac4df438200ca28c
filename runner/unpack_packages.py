"""Unpacks the task's packages for this agent from the extension's xz archive, once.

Self-hosted agents' platforms (Linux arm64, macOS) ship their own package folders packed in
`python/lib/packed.tar.xz` (tools/packed_bundle.py), which keeps the extension within its size
budget. The launcher runs this when a job on such an agent finds them missing: the agent keeps
the task folder between jobs, so only the first job pays (about half a second here).

    python -S -m runner.unpack_packages ARCHIVE LIB_DIR FOLDER...

Standard library only. Only plain files and folders inside the wanted folders are written, never
a link or a path outside. Each folder appears by one rename from a private staging folder, so a
folder that exists is complete and two jobs unpacking at once on one agent both succeed. Exit 0
when every folder is in place; else exit 1 and one line on stderr says why (a Python built
without liblzma has no `lzma` module: the launcher then installs the packages with pip).
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import PurePosixPath
from typing import Any, Optional

STAGING_PREFIX = ".unpacking-"
# A staging folder this old was left by a job killed mid-unpack: another job's takes a second.
STALE_STAGING_SECONDS = 3600

# The tar module's own guard where this Python has it (3.12, and 3.9.17+ backports) on top of the
# checks below, which every supported Python gets.
SAFE_EXTRACT: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


class UnsafeArchive(Exception):
    """A member that is not a plain file or folder inside the folder it belongs to."""


def folder_of(member: tarfile.TarInfo, wanted: set[str]) -> Optional[str]:
    """The wanted folder that `member` belongs to; None for another platform's."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UnsafeArchive(f"unsafe member path {member.name!r}")
    if path.parts[0] not in wanted:
        return None
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchive(f"{member.name!r} is neither a file nor a folder")
    return path.parts[0]


def unpack(archive: str, lib_dir: str, folders: list[str]) -> list[str]:
    """Puts the `folders` not yet in `lib_dir` there from `archive`; returns those it placed."""
    import lzma  # noqa: F401  # fails here, clearly, where Python was built without liblzma

    wanted = {f for f in folders if not os.path.isdir(os.path.join(lib_dir, f))}
    if not wanted:
        return []
    remove_stale_staging(lib_dir)
    staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=lib_dir)
    try:
        found = set()
        # A stream: the archive is read once, front to back, whatever it holds.
        with tarfile.open(archive, "r|xz") as tar:
            for member in tar:
                folder = folder_of(member, wanted)
                if folder is not None:
                    found.add(folder)
                    tar.extract(member, staging, set_attrs=False, **SAFE_EXTRACT)
        if wanted - found:
            raise FileNotFoundError(f"{archive} holds no {', '.join(sorted(wanted - found))}")
        placed = []
        for folder in sorted(wanted):
            try:
                os.rename(os.path.join(staging, folder), os.path.join(lib_dir, folder))
                placed.append(folder)
            except OSError:
                if not os.path.isdir(os.path.join(lib_dir, folder)):
                    raise
                # Another job on this agent put the same folder in place first: use that one.
        return placed
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_staging(lib_dir: str) -> None:
    """Removes what jobs killed while unpacking left behind (their staging folders)."""
    now = time.time()
    with os.scandir(lib_dir) as entries:
        for entry in entries:
            if not (entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False)):
                continue
            try:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > STALE_STAGING_SECONDS
            except OSError:
                continue  # gone already
            if stale:
                shutil.rmtree(entry.path, ignore_errors=True)


def main(argv: list[str]) -> int:
    archive, lib_dir, *folders = argv
    try:
        unpack(archive, lib_dir, folders)
    except ImportError as err:
        print(f"this Python has no lzma module: built without liblzma ({err})", file=sys.stderr)
        return 1
    except Exception as err:  # one line for the launcher's log, which then falls back to pip
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
