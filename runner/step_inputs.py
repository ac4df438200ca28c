"""A step's inputs, by their task.json names, parsed once into a validated `SwapRequest`.

Each host reads its own environment into `StepInputs` (the agent's `INPUT_WebAppName`, a GitHub
action's `INPUT_APP-NAME`) and says how its users spell each input, so both hosts apply the same
rules and every message names the input as the user wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.additional_apps import (
    lines_of,
    parse_additional_apps,
    refuse_what_several_apps_cannot_do,
)
from runner.canary_inputs import CANARY_INPUTS, parse_bake, parse_canary
from runner.errors import UserError
from runner.names import check_name
from runner.request import (
    DEFAULT_HEALTH_TIMEOUT_SECONDS,
    DEFAULT_HEALTHY_AFTER,
    PRODUCTION,
    Action,
    SafetyChecks,
    SwapRequest,
)

DEFAULT_TIMEOUT_MINUTES = 30.0

# Every input the request is made of, by its task.json name.
REQUEST_INPUTS = (
    "Action",
    "WebAppName",
    "ResourceGroupName",
    "SourceSlot",
    "SwapWithProduction",
    "TargetSlot",
    "PreserveVnet",
    "SwapTimeoutInMinutes",
    "HealthCheckPath",
    "HealthCheckTimeoutInMinutes",
    "HealthyAfter",
    "ExpectedVersion",
    "RollbackOnFailure",
    "AdditionalWebApps",
    *CANARY_INPUTS,
)


@dataclass(frozen=True)
class StepInputs:
    """The inputs' text by task.json name ("" when not given), and how the host spells them."""

    texts: Mapping[str, str]
    spelled: Mapping[str, str] = field(default_factory=dict)  # task.json name -> the user's
    where: str = "the task's inputs"  # where the user sets an input, for messages
    macros: bool = True  # the host leaves an undefined $(variable) unexpanded

    def name(self, name: str) -> str:
        return self.spelled.get(name, name)

    def text(self, name: str) -> str:
        return self.texts.get(name, "").strip()

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        return default if value == "" else value.lower() == "true"

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise UserError(
                f"Input {self.name(name)} is required but empty. Set it in {self.where}."
            )
        return value

    def no_macro(self, name: str, value: str) -> None:
        if self.macros and "$(" in value:
            raise UserError(
                f"{self.name(name)} is '{value}': the pipeline variable in it was not defined, "
                "so the agent passed it unexpanded. Define the variable or fix its name."
            )


def read_request(inputs: StepInputs, warnings: list[str]) -> SwapRequest:
    """The validated request; a `UserError` names the first input that is wrong."""
    n = inputs.name
    action_text = inputs.text("Action") or Action.SWAP.value
    actions = {a.value.lower(): a for a in Action}
    if action_text.lower() not in actions:
        names = ", ".join(f"'{a.value}'" for a in Action)
        raise UserError(f"Action '{action_text}' is not one this task knows. Use one of: {names}.")
    app = check_name(n("WebAppName"), inputs.required("WebAppName"), "app")
    group_text = inputs.text("ResourceGroupName")
    group = check_name(n("ResourceGroupName"), group_text, "resource group") if group_text else None
    source = check_name(n("SourceSlot"), inputs.required("SourceSlot"), "slot")
    with_production = inputs.flag("SwapWithProduction", default=True)
    target_text = inputs.text("TargetSlot")
    if with_production:
        if target_text and target_text.lower() != PRODUCTION:
            # Microsoft's task ignores TargetSlot here; keep that, but never silently.
            warnings.append(
                f"TargetSlot is '{target_text}' but SwapWithProduction is true, so "
                f"'{source}' is swapped into PRODUCTION, not into '{target_text}'. "
                f"To swap with '{target_text}', set SwapWithProduction: false."
            )
        target = PRODUCTION
    else:
        if not target_text:
            raise UserError(
                "TargetSlot is empty while SwapWithProduction is false. "
                "Name the slot to swap with, or set SwapWithProduction: true."
            )
        target = check_name(n("TargetSlot"), target_text, "slot")
    if source.lower() == target.lower():
        raise UserError(
            f"{n('SourceSlot')} and the target are both '{source}' on app '{app}': a slot cannot "
            f"be swapped with itself. Set {n('SourceSlot')} to the slot holding the new version "
            "(e.g. staging)."
        )
    action = actions[action_text.lower()]
    canary_texts = {name: inputs.text(name) for name in CANARY_INPUTS}
    spelled = {name: n(name) for name in CANARY_INPUTS}
    canary = parse_canary(action, target, canary_texts, spelled)
    bake = parse_bake(action, target, canary_texts, spelled)
    additional = lines_of(inputs.texts.get("AdditionalWebApps", ""), n("AdditionalWebApps"))
    if additional:
        refuse_what_several_apps_cannot_do(
            n("AdditionalWebApps"),
            action,
            canary,
            bake,
            (n("Action"), n("TrafficSteps"), n("BakeMinutes")),
        )
    return SwapRequest(
        action=action,
        app=app,
        resource_group=group,
        source_slot=source,
        target_slot=target,
        preserve_vnet=inputs.flag("PreserveVnet", default=False),
        timeout_seconds=_minutes(
            inputs, "SwapTimeoutInMinutes", DEFAULT_TIMEOUT_MINUTES, "between 1 and 1440"
        )
        * 60,
        checks=_safety_checks(inputs),
        canary=canary,
        bake=bake,
        additional_apps=parse_additional_apps(additional),
    )


def _safety_checks(inputs: StepInputs) -> SafetyChecks:
    n = inputs.name
    path = inputs.text("HealthCheckPath")
    if path and (path.lower().startswith(("http:", "https:")) or any(c.isspace() for c in path)):
        raise UserError(
            f"{n('HealthCheckPath')} is '{path}': give a path on the app, such as /health "
            "(the task probes it on each slot's own address)."
        )
    inputs.no_macro("HealthCheckPath", path)
    minutes = _minutes(
        inputs,
        "HealthCheckTimeoutInMinutes",
        DEFAULT_HEALTH_TIMEOUT_SECONDS / 60,
        "above 0 and up to 1440, e.g. 5 or 0.5",
    )
    after_text = inputs.text("HealthyAfter")
    healthy_after = DEFAULT_HEALTHY_AFTER
    if after_text:
        healthy_after = int(after_text) if after_text.isdigit() else 0
        if not 1 <= healthy_after <= 100:
            raise UserError(
                f"{n('HealthyAfter')} is '{after_text}': give how many healthy answers in a row "
                "are needed, from 1 to 100."
            )
    version = inputs.text("ExpectedVersion")
    inputs.no_macro("ExpectedVersion", version)
    return SafetyChecks(
        health_check_path=("/" + path.lstrip("/")) if path else None,
        health_timeout_seconds=minutes * 60,
        healthy_after=healthy_after,
        expected_version=version or None,
        rollback_on_failure=inputs.flag("RollbackOnFailure", default=True),
    )


def _minutes(inputs: StepInputs, name: str, default: float, allowed: str) -> float:
    """A number of minutes above 0 and up to a day; `default` when the input is empty."""
    text = inputs.text(name)
    if not text:
        return default
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 24 * 60:
        raise UserError(f"{inputs.name(name)} is '{text}': give a number of minutes {allowed}.")
    return minutes
