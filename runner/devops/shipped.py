"""Files this project ships beside the program (templates, the task group, task.json): found in
the checkout the program runs from, or in the installed package (runner/shipped.py)."""

from __future__ import annotations

from pathlib import Path

from runner.errors import UserError
from runner.shipped import CHECKOUT, shipped_root


def shipped_file(relative: str) -> Path:
    root = shipped_root()
    path = (root or CHECKOUT) / relative
    if not path.is_file():
        raise UserError(
            f"{relative} is not in this installation of swap-slots ({root or CHECKOUT}): "
            "install it again from a checkout of the repository (pip install .)."
        )
    return path
