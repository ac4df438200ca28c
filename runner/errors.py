"""The one error type for what the user must fix."""

from __future__ import annotations


class UserError(Exception):
    """Something the user must fix: bad input, a missing permission, an unknown app or slot.

    The message is shown as it is, so it names the value at fault and says what to do.
    """
