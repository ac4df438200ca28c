"""Checks on the names users type: apps, slots and resource groups."""

from __future__ import annotations

import re

from runner.errors import UserError

_APP_OR_SLOT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$")
# Resource groups allow Unicode letters and digits, `_ ( ) - .`, and must not end in `.`.
_RESOURCE_GROUP = re.compile(r"^[\w().-]{0,89}[\w()-]$")
_MACRO = re.compile(r"\$\(([^)]*)\)")


def check_name(label: str, value: str, kind: str) -> str:
    """Returns `value` if it is a valid App Service (`kind` = app/slot) or resource group name."""
    macro = _MACRO.search(value)
    if macro:
        raise UserError(
            f"{label} is '{value}', which holds the pipeline variable $({macro.group(1)}) "
            f"that was never defined. Define the variable '{macro.group(1)}' in the pipeline, "
            "or type the name itself."
        )
    pattern = _RESOURCE_GROUP if kind == "resource group" else _APP_OR_SLOT
    if not pattern.match(value):
        rule = (
            "1-90 letters, digits, '_', '(', ')', '-' or '.', not ending in '.'"
            if kind == "resource group"
            else "letters, digits and '-', 60 at most, not starting or ending with '-'"
        )
        raise UserError(f"{label} '{value}' is not a valid {kind} name ({rule}).")
    return value
