"""Files this project ships beside the program: the stage templates, task.json and the classic
editor's task group. A checkout has them at its root; an installed copy (`pip install .`) has
them in the package, under runner/shipped_files/ (setup.py copies them there when it builds)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

CHECKOUT = Path(__file__).resolve().parent.parent
INSTALLED = Path(__file__).resolve().parent / "shipped_files"


def shipped_root() -> Optional[Path]:
    """The folder with templates/ and task.json: the checkout, else the installed copy's."""
    for root in (CHECKOUT, INSTALLED):
        if (root / "templates").is_dir() and (root / "task.json").is_file():
            return root
    return None
