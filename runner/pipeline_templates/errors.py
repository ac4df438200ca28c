"""The error a template author must fix."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from runner.errors import UserError


class TemplateError(UserError):
    """A template or pipeline that Azure Pipelines would also reject.

    The message names the file and the place in it, as the service does, so the author can find it.
    When known, `file` and `where` (the path of keys and indexes inside it, e.g.
    `.stages[1].parameters`) or `line` and `column` locate it, and `detail` is the message
    without the place.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Optional[Path] = None,
        where: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        detail: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.where = where
        self.line = line
        self.column = column
        self.detail = detail if detail is not None else message


def located(file: Path, where: str, detail: str) -> TemplateError:
    """An error at `where` in `file`, worded `file: where: detail` as before."""
    return TemplateError(
        f"{file}: {where or '(top)'}: {detail}", file=file, where=where, detail=detail
    )
