"""`swap-slots swap`: the same engine from a terminal, with the user's own Azure login."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from runner.additional_apps import parse_additional_apps, refuse_what_several_apps_cannot_do
from runner.azure.connection import CLOUDS, Cloud, Connection, Scheme
from runner.azure.traffic_routing import routed_percent, set_route
from runner.azure.web_apps import AzureCallError, WebApps
from runner.canary_inputs import parse_bake, parse_canary
from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.names import check_name
from runner.outcome import TaskResult
from runner.release.app_release import plan_and_release
from runner.release.app_report import AppReport
from runner.release.outcome_report import task_result
from runner.release.swap import SwapPlan
from runner.report.record import RecordingLog, RunRecord
from runner.request import PRODUCTION, Action, SafetyChecks, SlotRef, SwapRequest
from runner.terminal.terminal_log import TerminalLog


@dataclass(frozen=True)
class TerminalSwap:
    """The `swap` command's arguments, as argparse gives them."""

    app: str
    resource_group: Optional[str]
    source: str
    target: str
    preserve_vnet: bool
    subscription: Optional[str]
    tenant: Optional[str]
    cloud: str
    arm_url: Optional[str]
    authority: Optional[str]
    audience: Optional[str]
    timeout_minutes: float
    debug: bool
    action: Action = Action.SWAP
    health_check_path: Optional[str] = None
    health_timeout_minutes: float = 5.0
    healthy_after: int = 3
    expected_version: Optional[str] = None
    rollback: bool = True
    also_apps: tuple[str, ...] = ()  # --also-app: more apps, all or nothing
    report_path: Optional[str] = None  # --report: the HTML page of the release
    canary: Mapping[str, str] = field(default_factory=dict)  # the canary options' text


CANARY_OPTIONS = {
    "TrafficSteps": "--traffic-steps",
    "TrafficStepMinutes": "--step-minutes",
    "MaxErrorRatePercent": "--max-error-rate",
    "MaxResponseTimeRatio": "--max-response-time-ratio",
    "ResponseTimeMarginMs": "--response-time-margin-ms",
    "MinRequests": "--min-requests",
    "InsufficientTraffic": "--insufficient-traffic",
    "BakeMinutes": "--bake-minutes",
}


@dataclass(frozen=True)
class TerminalRoute:
    """The `route` command's arguments."""

    app: str
    resource_group: Optional[str]
    slot: str
    percent: float
    subscription: Optional[str]
    tenant: Optional[str]
    cloud: str
    arm_url: Optional[str]
    authority: Optional[str]
    audience: Optional[str]
    debug: bool


def run_terminal_route(args: TerminalRoute) -> int:
    """Routes `percent` of production's traffic to the slot (0: removes its rule)."""
    log = TerminalLog(debug_enabled=args.debug)
    try:
        app = check_name("--app", args.app, "app")
        slot_name = check_name("--slot", args.slot, "slot")
        if slot_name.lower() == PRODUCTION or not 0 <= args.percent <= 100:
            raise UserError(
                f"--slot {slot_name} --percent {args.percent:g}: name a slot other than "
                "production and a percentage from 0 to 100 (0 removes the rule)."
            )
        web_apps = WebApps(_connection(args), log, args.debug)
        web_apps.authenticate()
        group = args.resource_group or web_apps.find_resource_group(app)
        subscription = web_apps.connection.subscription_id
        slot = web_apps.get_slot(SlotRef(subscription, group, app, slot_name))
        production = SlotRef(subscription, group, app, PRODUCTION)
        set_route(web_apps.arm, production, slot, args.percent, log)
        now = routed_percent(web_apps.arm, production, slot_name)
    except (UserError, AzureCallError) as error:
        log.error(str(error))
        return 1
    log.info(f"Production of '{app}' now routes {now:g} % of its traffic to '{slot_name}'.")
    return 0


def run_terminal_swap(args: TerminalSwap, cancellation: Cancellation) -> int:
    log = TerminalLog(debug_enabled=args.debug)
    record = RunRecord()
    apps: tuple[AppReport, ...] = ()
    try:
        request, connection = _parse(args)
        web_apps = WebApps(connection, log, args.debug)
        recording = RecordingLog(log, record)
        urls: list[str] = []

        def planned(plans: Sequence[SwapPlan]) -> None:
            urls.extend(each.production_url for each in plans)
            for each in plans:
                each.probes.listen(record.heard)

        result, apps = plan_and_release(request, web_apps, log, recording, cancellation, planned)
    except (UserError, AzureCallError) as error:
        log.error(f"{error} Nothing was changed in Azure.")
        return 1
    except StopNow:
        log.error("Canceled before the swap was sent: nothing was changed in Azure.")
        return 130
    cancellation.stop_raising()
    if args.report_path:
        _write_report(Path(args.report_path), record, result, apps, request, log)
    outcome = task_result(result, cancellation.requested.is_set())
    log.info(f"Outcome: {result.outcome.value}")
    if outcome is TaskResult.SUCCEEDED:
        log.info(result.message)
        print("\n".join(urls))
        return 0
    log.error(result.message)
    return 130 if outcome is TaskResult.CANCELED else 1


def _write_report(
    path: Path,
    record: RunRecord,
    result: AppReport,
    apps: tuple[AppReport, ...],
    request: SwapRequest,
    log: TerminalLog,
) -> None:
    from runner.report.document import report_document
    from runner.report.page import write_report_page

    record.end()
    document = report_document(record, result, apps, request)
    try:
        title = f"Swap Slots: {result.app} — {result.outcome.value}"
        write_report_page(path, [document], title, log.mask)
    except OSError as error:
        log.warning(f"Could not write the report {path}: {error}")
        return
    log.info(f"Report: {path.resolve()}")


def _parse(args: TerminalSwap) -> tuple[SwapRequest, Connection]:
    app = check_name("--app", args.app, "app")
    group = (
        check_name("--resource-group", args.resource_group, "resource group")
        if args.resource_group
        else None
    )
    source = check_name("--source", args.source, "slot")
    target = check_name("--target", args.target or PRODUCTION, "slot")
    if source.lower() == target.lower():
        raise UserError(f"--source and --target are both '{source}': name two different slots.")
    if not 0 < args.timeout_minutes <= 24 * 60:
        raise UserError(f"--timeout is {args.timeout_minutes:g}: give 1 to 1440 minutes.")
    canary = parse_canary(args.action, target, args.canary, CANARY_OPTIONS)
    bake = parse_bake(args.action, target, args.canary, CANARY_OPTIONS)
    if args.also_apps:
        names = ("the preview command", "--traffic-steps", "--bake-minutes")
        refuse_what_several_apps_cannot_do("--also-app", args.action, canary, bake, names)
    also = parse_additional_apps([("--also-app", text) for text in args.also_apps])
    request = SwapRequest(
        action=args.action,
        app=app,
        resource_group=group,
        source_slot=source,
        target_slot=target,
        preserve_vnet=args.preserve_vnet,
        timeout_seconds=args.timeout_minutes * 60,
        checks=_checks(args),
        canary=canary,
        bake=bake,
        additional_apps=also,
    )
    return request, _connection(args)


def _connection(args: Union[TerminalSwap, TerminalRoute]) -> Connection:
    subscription = args.subscription or os.environ.get("AZURE_SUBSCRIPTION_ID", "")
    if not subscription:
        raise UserError(
            "No subscription given: pass --subscription or set AZURE_SUBSCRIPTION_ID "
            "(`az account show --query id -o tsv` prints yours)."
        )
    return Connection(
        name="your Azure login",
        scheme=Scheme.DEVELOPER_LOGIN,
        cloud=_cloud(args),
        subscription_id=subscription,
        tenant_id=args.tenant or os.environ.get("AZURE_TENANT_ID", ""),
    )


def _cloud(args: Union[TerminalSwap, TerminalRoute]) -> Cloud:
    known = CLOUDS.get(args.cloud.lower())
    if known is None:
        names = ", ".join(c.name for c in CLOUDS.values())
        raise UserError(f"--cloud '{args.cloud}' is not known. Use one of: {names}.")
    authority = args.authority or os.environ.get("AZURE_AUTHORITY_HOST") or known.authority
    return Cloud(
        name=known.name if not args.arm_url else "custom",
        arm_url=args.arm_url or known.arm_url,
        authority=authority if authority.endswith("/") else authority + "/",
        audience=args.audience or known.audience,
    )


def _checks(args: TerminalSwap) -> SafetyChecks:
    path = args.health_check_path
    if path is not None and (not path.strip() or "://" in path or " " in path):
        raise UserError(f"--health-check-path is '{path}': give a path on the app, e.g. /health.")
    if not 0 < args.health_timeout_minutes <= 24 * 60:
        raise UserError(
            f"--health-timeout is {args.health_timeout_minutes:g}: give 1 to 1440 minutes."
        )
    if not 1 <= args.healthy_after <= 100:
        raise UserError(f"--healthy-after is {args.healthy_after}: give 1 to 100.")
    return SafetyChecks(
        health_check_path=("/" + path.strip().lstrip("/")) if path else None,
        health_timeout_seconds=args.health_timeout_minutes * 60,
        healthy_after=args.healthy_after,
        expected_version=args.expected_version or None,
        rollback_on_failure=args.rollback,
    )
