"""What one step of `swap-slots init` did: the record setup.py and classic.py both write."""

from __future__ import annotations

from typing import NamedTuple

CREATED, WRITTEN, EXISTED = "created", "written", "already existed"


class Step(NamedTuple):
    what: str
    result: str
