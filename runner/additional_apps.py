"""AdditionalWebApps (the terminal's --also-app): more apps swapped with the main one, all or
nothing. Parsed once at the edge, and refused with what cannot be done for several apps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from runner.errors import UserError
from runner.names import check_name
from runner.request import Action, AppName, Bake, CanarySteps


def parse_additional_apps(entries: Sequence[tuple[str, str]]) -> tuple[AppName, ...]:
    """`entries`: (where the user wrote it, text), one app each: `app` or `resourceGroup/app`.
    The main app itself may be listed too (a template lists every app): planning finds it,
    once its resource group is known, and swaps it once."""
    apps: list[AppName] = []
    seen: set[tuple[str, str]] = set()
    for origin, text in entries:
        where = f"{origin} ('{text}')"
        group_text, slash, app_text = text.rpartition("/")
        if text.count("/") > 1 or (slash and not group_text):
            raise UserError(
                f"{where} is not an app: give one app a line, as 'app' or 'resourceGroup/app'."
            )
        name = check_name(where, app_text.strip(), "app")
        group = check_name(where, group_text.strip(), "resource group") if slash else None
        key = (name.lower(), (group or "").lower())
        if key in seen:
            raise UserError(
                f"{where} names '{name}' twice: each app is swapped once. Remove the repeated line."
            )
        seen.add(key)
        apps.append(AppName(name, group, where))
    return tuple(apps)


def lines_of(text: str, label: str) -> list[tuple[str, str]]:
    """The task input's apps, one a line or separated by commas (no app or resource group name
    holds a comma), each with its line number for messages."""
    return [
        (f"{label} line {number}", entry.strip())
        for number, line in enumerate(text.splitlines(), 1)
        for entry in line.split(",")
        if entry.strip()
    ]


def refuse_what_several_apps_cannot_do(
    label: str,
    action: Action,
    canary: Optional[CanarySteps],
    bake: Optional[Bake],
    names: tuple[str, str, str] = ("Action", "TrafficSteps", "BakeMinutes"),
) -> None:
    """Several apps are swapped with Swap Slots only: a canary, a bake or a swap with preview
    of several apps at once is not done (yet), so it is refused before anything changes."""
    action_name, steps_name, bake_name = names
    if action is not Action.SWAP:
        raise UserError(
            f"{label} swaps several apps all or nothing with the '{Action.SWAP.value}' action "
            f"only, not '{action.value}' ({action_name}): swap with preview works on one app. "
            f"Clear {label}, or use '{Action.SWAP.value}'."
        )
    for name, used in ((steps_name, canary is not None), (bake_name, bake is not None)):
        if used:
            raise UserError(
                f"{label} cannot be combined with {name}: the canary and the bake watch one "
                f"app's production. Clear {name}, or release the apps one by one."
            )
