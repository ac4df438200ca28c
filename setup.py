"""The package's build: everything is in pyproject.toml, except that the files the emulator's
pipeline preview, `validate` and `init --classic` read (runner/shipped.py: the stage templates,
task.json, the classic task group) are copied into the package, so an installed copy has them."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "task.json", "docs/classic-release/swap-task-group.json")


class BuildWithShippedFiles(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "runner" / "shipped_files"
        for name in SHIPPED:
            source, copy = ROOT / name, target / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, copy, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, copy)


setup(cmdclass={"build_py": BuildWithShippedFiles})
