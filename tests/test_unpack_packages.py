"""The first run on a self-hosted agent: its packages unpacked from the extension's archive.

runner/unpack_packages.py against archives made by the build's own packing
(tools/packed_bundle.py), and against archives that try to write outside their folders.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from runner import unpack_packages
from tools import packed_bundle

ROOT = Path(__file__).resolve().parent.parent


def packed_lib(lib: Path) -> dict[str, Any]:
    """A python/lib whose platform "arm" has two folders of its own, packed; "x64" has none."""
    for folder, module in (("common", "shared"), ("pkg-arm", "pkg"), ("ext-arm", "ext")):
        (lib / folder / module).mkdir(parents=True)
        (lib / folder / module / "__init__.py").write_text(f"NAME = {folder!r}\n", "utf-8")
    index: dict[str, Any] = {
        "common": "common",
        "platforms": {
            "x64": {"pythons": {"3.12": []}},
            "arm": {"pythons": {"3.12": ["pkg-arm"], "3.13": ["pkg-arm", "ext-arm"]}},
        },
    }
    packed_bundle.pack(lib, index, ["arm"])
    return index


def unpack_command(lib: Path, *folders: str) -> list[str]:
    return [
        sys.executable,
        "-S",
        "-m",
        "runner.unpack_packages",
        str(lib / "packed.tar.xz"),
        str(lib),
        *folders,
    ]


def test_the_build_packs_only_the_folders_no_other_platform_uses(tmp_path: Path) -> None:
    index = packed_lib(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["common", "index.json", "packed.tar.xz"]
    written = json.loads((tmp_path / "index.json").read_text("utf-8"))
    assert (
        written["platforms"]["arm"]["packed"]
        == "packed.tar.xz"
        == index["platforms"]["arm"]["packed"]
    )
    assert "packed" not in written["platforms"]["x64"]


def test_the_first_run_unpacks_the_missing_folders_and_later_runs_nothing(tmp_path: Path) -> None:
    packed_lib(tmp_path)
    assert unpack_packages.unpack(
        str(tmp_path / "packed.tar.xz"), str(tmp_path), ["pkg-arm", "ext-arm", "common"]
    ) == ["ext-arm", "pkg-arm"]
    assert (tmp_path / "ext-arm" / "ext" / "__init__.py").read_text("utf-8") == "NAME = 'ext-arm'\n"
    assert (
        unpack_packages.unpack(
            str(tmp_path / "packed.tar.xz"), str(tmp_path), ["pkg-arm", "ext-arm"]
        )
        == []
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_what_a_job_killed_mid_unpack_left_is_removed_by_the_next_unpack(tmp_path: Path) -> None:
    packed_lib(tmp_path)
    killed = tmp_path / ".unpacking-killed"  # a job killed two hours ago, mid-unpack
    (killed / "pkg-arm" / "pkg").mkdir(parents=True)
    hours_ago = time.time() - 2 * 3600
    os.utime(killed, (hours_ago, hours_ago))
    running = tmp_path / ".unpacking-running"  # another job's, unpacking right now
    running.mkdir()

    placed = unpack_packages.unpack(str(tmp_path / "packed.tar.xz"), str(tmp_path), ["pkg-arm"])

    assert placed == ["pkg-arm"]
    assert not killed.exists() and running.is_dir()


def test_two_jobs_unpacking_at_once_on_one_agent_both_succeed(tmp_path: Path) -> None:
    packed_lib(tmp_path)
    command = unpack_command(tmp_path, "pkg-arm", "ext-arm")
    with ThreadPoolExecutor(4) as pool:
        runs = list(
            pool.map(
                lambda _: subprocess.run(
                    command,
                    cwd=ROOT,
                    env={"PYTHONPATH": str(ROOT)},
                    capture_output=True,
                    text=True,
                    check=False,
                ),
                range(4),
            )
        )
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [run.stderr for run in runs]
    assert (tmp_path / "pkg-arm" / "pkg" / "__init__.py").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def archive_with(lib: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    (lib / "packed.tar.xz").write_bytes(buffer.getvalue())
    return lib / "packed.tar.xz"


def symlink(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.SYMTYPE, target
    return member


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("pkg-arm/../../outside.py"),
        tarfile.TarInfo("/srv/pkg-arm/absolute.py"),
        symlink("pkg-arm/link", "/etc/passwd"),
    ],
    ids=["parent", "absolute", "symlink"],
)
def test_a_member_that_would_land_outside_its_folder_is_refused(
    tmp_path: Path, member: tarfile.TarInfo
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    archive_with(lib, member, b"" if member.issym() else b"print('escaped')\n")
    run = subprocess.run(
        unpack_command(lib, "pkg-arm"),
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.startswith("UnsafeArchive: "), run.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["lib", "packed.tar.xz"]


def test_a_folder_missing_from_the_archive_is_reported(tmp_path: Path) -> None:
    packed_lib(tmp_path)
    run = subprocess.run(
        unpack_command(tmp_path, "pkg-arm", "pkg-risc"),
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "holds no pkg-risc" in run.stderr
    assert not (tmp_path / "pkg-arm").exists()
