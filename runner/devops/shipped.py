"""Files this project ships beside the program (templates, the task group, task.json): found in
the checkout the program runs from."""

from __future__ import annotations

from pathlib import Path

from runner.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shipped_file(relative: str) -> Path:
    path = PROJECT_ROOT / relative
    if not path.is_file():
        raise UserError(
            f"{relative} is not beside this installation of swap-slots ({PROJECT_ROOT}): "
            "install it from a checkout of the repository (pip install -e .)."
        )
    return path
