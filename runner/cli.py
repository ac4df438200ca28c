"""`swap-slots`: the command line. The only module that knows argparse."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from runner import __version__
from runner.cancellation import Cancellation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swap-slots",
        description="Swap Azure App Service deployment slots, from a terminal or a pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"swap-slots {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    swap = commands.add_parser(
        "swap",
        help="swap a slot into production (or into another slot)",
        description="Swap slots with your Azure login (DefaultAzureCredential: environment, "
        "managed identity, Azure CLI, ...): health gate, swap, verification, swap back when "
        "the target fails it.",
    )
    _add_swap_arguments(swap)
    preview = commands.add_parser(
        "preview",
        help="swap with preview: start, complete or cancel",
        description="Start: give the source slot the target's slot settings and run the health "
        "gate on it. Complete: swap (with every check of `swap`). Cancel: reset the source "
        "slot's own settings.",
    )
    preview.add_argument("step", choices=sorted(PREVIEW_STEPS), help="which step of the preview")
    _add_swap_arguments(preview)

    commands.add_parser("demo", help="run the demo against the local App Service emulator")
    _add_route(commands)
    _add_init(commands)
    _add_validate(commands)

    from runner.emulator.command import add_subcommands

    add_subcommands(commands)
    return parser


PREVIEW_STEPS = {
    "start": "Start Swap With Preview",
    "complete": "Complete Swap",
    "cancel": "Cancel Swap",
}


def _add_swap_arguments(swap: argparse.ArgumentParser) -> None:
    swap.add_argument("--app", required=True, help="the App Service name")
    swap.add_argument("--resource-group", "-g", help="the app's resource group (found if omitted)")
    swap.add_argument("--source", required=True, help="the slot with the new version, e.g. staging")
    swap.add_argument("--target", default="production", help="the slot to swap with (production)")
    swap.add_argument("--preserve-vnet", action="store_true", help="keep each slot's VNet")
    _add_login_arguments(swap)
    swap.add_argument("--timeout", type=float, default=30.0, help="minutes to wait (30)")
    swap.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write the release's report as a standalone HTML page with its pictures",
    )
    swap.add_argument(
        "--also-app",
        action="append",
        default=[],
        dest="also_apps",
        metavar="[RG/]APP",
        help="another app swapped with --app, all or nothing, with the same slots and checks "
        "(repeatable; swap only: not with preview, --traffic-steps or --bake-minutes)",
    )
    checks = swap.add_argument_group("health gate, verification and swap back")
    checks.add_argument(
        "--health-check-path",
        help="path probed on the source before and on the target after the swap, e.g. /health "
        "(default: the app's own healthCheckPath, if any)",
    )
    checks.add_argument(
        "--health-timeout", type=float, default=5.0, help="minutes the probes may take (5)"
    )
    checks.add_argument(
        "--healthy-after", type=int, default=3, help="healthy answers in a row needed (3)"
    )
    checks.add_argument(
        "--expected-version", help="the version the source must serve, and the target after"
    )
    checks.add_argument(
        "--no-rollback",
        dest="rollback",
        action="store_false",
        help="leave the slots swapped when the target fails verification",
    )
    canary = swap.add_argument_group("canary: a share of production's traffic first")
    canary.add_argument(
        "--traffic-steps",
        default="",
        help="percentages of production's traffic routed to the source, step by step, e.g. 10,50",
    )
    canary.add_argument("--step-minutes", default="", help="minutes per step (5)")
    canary.add_argument(
        "--max-error-rate",
        default="",
        help="points the 5xx rate may exceed the baseline's before a step fails (1)",
    )
    canary.add_argument(
        "--max-response-time-ratio",
        default="",
        help="times the baseline's response time a step may take (2; 0: not judged)",
    )
    canary.add_argument(
        "--response-time-margin-ms",
        default="",
        help="and slower by more than these milliseconds (50)",
    )
    canary.add_argument(
        "--min-requests",
        default="",
        help="fewest requests (user requests and probes) to judge a step or the bake (100)",
    )
    canary.add_argument(
        "--insufficient-traffic",
        default="",
        choices=["", "fail", "continue"],
        help="too little traffic: fail (default; a step: no swap, the bake: swap back) or continue",
    )
    canary.add_argument(
        "--bake-minutes",
        default="",
        help="after the swap, watch production this long; swap back when it degrades (0)",
    )


def _add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscription", help="subscription id (default: $AZURE_SUBSCRIPTION_ID)")
    parser.add_argument("--tenant", help="tenant id (default: $AZURE_TENANT_ID)")
    parser.add_argument("--cloud", default="AzureCloud", help="AzureCloud, AzureUSGovernment, ...")
    parser.add_argument("--arm-url", help="Resource Manager URL of a custom cloud")
    parser.add_argument("--authority", help="Entra authority URL of a custom cloud")
    parser.add_argument("--audience", help="token audience of a custom cloud")
    parser.add_argument("--debug", action="store_true", help="show Azure requests (secrets hidden)")


LOGIN_OPTIONS = ("subscription", "tenant", "cloud", "arm_url", "authority", "audience", "debug")


def _login(args: argparse.Namespace) -> dict[str, Any]:
    """What _add_login_arguments read: the cloud, subscription and tenant to sign in to."""
    return {name: getattr(args, name) for name in LOGIN_OPTIONS}


def _add_route(commands: Any) -> None:
    route = commands.add_parser(
        "route",
        help="route a share of production's traffic to a slot (0 removes the rule)",
        description="Set the routing rule of one slot on production's site config "
        "(experiments.rampUpRules), keeping other slots' rules; --percent 0 removes it.",
    )
    route.add_argument("--app", required=True, help="the App Service name")
    route.add_argument("--resource-group", "-g", help="the app's resource group (found if omitted)")
    route.add_argument("--slot", required=True, help="the slot to route to, e.g. staging")
    route.add_argument("--percent", required=True, type=float, help="0 to 100; 0 removes the rule")
    _add_login_arguments(route)


def _add_init(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="set up Azure DevOps for the stage templates: environments, approval, pipeline",
        description="Check the project, the service connection and the approvers, then create "
        "what is missing: the staging and production environments, an approval on production, "
        "the pipeline YAML (and with --repository the pipeline, allowed to use the environments "
        "and the connection). Credentials: AZURE_DEVOPS_EXT_PAT, else SYSTEM_ACCESSTOKEN, else "
        "your Azure login. A second run changes nothing.",
    )
    init.add_argument("--organization", required=True, help="https://dev.azure.com/ORGANIZATION")
    init.add_argument("--project", required=True, help="the Azure DevOps project")
    init.add_argument(
        "--service-connection", required=True, help="the Azure Resource Manager connection"
    )
    init.add_argument("--app", required=True, help="the App Service name")
    init.add_argument("--resource-group", "-g", help="the app's resource group")
    init.add_argument("--slot", default="staging", help="the slot to deploy to (staging)")
    init.add_argument(
        "--approver",
        action="append",
        default=[],
        dest="approvers",
        metavar="EMAIL_OR_GROUP",
        help="who approves the swap into production (repeatable); a group as [PROJECT]\\Group",
    )
    init.add_argument("--repository", help="the Azure Repos repository holding the pipeline YAML")
    init.add_argument(
        "--yaml-path",
        type=Path,
        default=Path("azure-pipelines.yml"),
        help="where to write the pipeline YAML (azure-pipelines.yml)",
    )
    init.add_argument("--pipeline-name", help="the pipeline's name (APP-deploy-test-swap)")
    init.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    init.add_argument(
        "--classic",
        action="store_true",
        help="import the classic-editor task group instead of writing YAML",
    )


def _add_validate(commands: Any) -> None:
    validate = commands.add_parser(
        "validate",
        help="expand a pipeline as Azure DevOps does and report its errors",
        description="With --organization, ask Azure DevOps to expand the pipeline (Pipelines "
        "preview; --yaml-path overrides its YAML). Without it, expand and check the file here. "
        "Exit codes: 0 valid, 1 invalid, 2 could not ask.",
    )
    validate.add_argument("--organization", help="https://dev.azure.com/ORGANIZATION")
    validate.add_argument("--project", help="the Azure DevOps project")
    validate.add_argument("--pipeline", help="the pipeline's name or id")
    validate.add_argument(
        "--yaml-path", type=Path, help="the pipeline YAML (offline: azure-pipelines.yml)"
    )


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("swap", "preview"):
        from runner.request import Action
        from runner.terminal.run import TerminalSwap, run_terminal_swap

        action = Action(PREVIEW_STEPS[args.step]) if args.command == "preview" else Action.SWAP

        cancellation = Cancellation()
        cancellation.install()
        return run_terminal_swap(
            TerminalSwap(
                app=args.app,
                resource_group=args.resource_group,
                source=args.source,
                target=args.target,
                preserve_vnet=args.preserve_vnet,
                timeout_minutes=args.timeout,
                **_login(args),
                action=action,
                health_check_path=args.health_check_path,
                health_timeout_minutes=args.health_timeout,
                healthy_after=args.healthy_after,
                expected_version=args.expected_version,
                rollback=args.rollback,
                also_apps=tuple(args.also_apps),
                report_path=args.report,
                canary={
                    "TrafficSteps": args.traffic_steps,
                    "TrafficStepMinutes": args.step_minutes,
                    "MaxErrorRatePercent": args.max_error_rate,
                    "MaxResponseTimeRatio": args.max_response_time_ratio,
                    "ResponseTimeMarginMs": args.response_time_margin_ms,
                    "MinRequests": args.min_requests,
                    "InsufficientTraffic": args.insufficient_traffic,
                    "BakeMinutes": args.bake_minutes,
                },
            ),
            cancellation,
        )
    if args.command == "route":
        from runner.terminal.run import TerminalRoute, run_terminal_route

        return run_terminal_route(
            TerminalRoute(
                app=args.app,
                resource_group=args.resource_group,
                slot=args.slot,
                percent=args.percent,
                **_login(args),
            )
        )
    if args.command == "init":
        from runner.devops.setup import InitRequest, run_init

        request = InitRequest(
            organization=args.organization,
            project=args.project,
            service_connection=args.service_connection,
            app=args.app,
            resource_group=args.resource_group,
            slot=args.slot,
            approvers=tuple(args.approvers),
            repository=args.repository,
            yaml_path=args.yaml_path,
            pipeline_name=args.pipeline_name,
            dry_run=args.dry_run,
            classic=args.classic,
        )
        return run_init(request, os.environ, _say, _warn)
    if args.command == "validate":
        from runner.devops.validate import ValidateRequest, run_validate

        return run_validate(
            ValidateRequest(args.organization, args.project, args.pipeline, args.yaml_path),
            os.environ,
            _say,
            _warn,
        )
    if args.command == "demo":
        from runner.demo import run_demo

        return run_demo()
    handler = getattr(args, "handler", None)
    if handler is None:
        build_parser().error(f"unknown command {args.command}")
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
