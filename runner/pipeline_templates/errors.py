"""The error a template author must fix."""

from __future__ import annotations

from runner.errors import UserError


class TemplateError(UserError):
    """A template or pipeline that Azure Pipelines would also reject.

    The message names the file and the place in it, as the service does, so the author can find it.
    """
