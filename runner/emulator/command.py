"""The emulator's command line: `swap-slots emulator`, `emulator-deploy`, `emulator-traffic` and
`python -m runner.emulator`. The only emulator module that knows argparse."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.emulator.appservice.health import HEALTH_HELP, parse_health
from runner.emulator.faults import KINDS, parse_fault_option
from runner.emulator.settings import (
    DEFAULT_APPS,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MSI_HEADER,
    DEFAULT_SYSTEM_ACCESS_TOKEN,
    EmulatorSettings,
    FaultSpec,
    parse_app_seed,
)


def add_subcommands(subparsers: Any) -> None:
    """Register `emulator` and `emulator-deploy`; each parser sets `handler(args) -> int`."""
    serve = subparsers.add_parser(
        "emulator",
        help="run the local App Service emulator (Entra ID, ARM, slot sites) over HTTPS",
        description="Run the local App Service emulator. It prints one JSON line with its URL, "
        "CA certificate and credentials when ready, then serves until Ctrl+C.",
    )
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)

    deploy = subparsers.add_parser(
        "emulator-deploy",
        help="deploy a version to a slot of a running emulator",
        description="Deploy a version to a slot of a running emulator (what a build pipeline's "
        "deployment to the staging slot would do).",
    )
    add_deploy_arguments(deploy)
    deploy.set_defaults(handler=run_deploy)

    traffic = subparsers.add_parser(
        "emulator-traffic",
        help="send steady user traffic to an app's production site on a running emulator",
        description="Send new clients to the app's production site, each honouring cookies as a "
        "browser does (so routing rules pin it to a slot), then print where they were served.",
    )
    add_traffic_arguments(traffic)
    traffic.set_defaults(handler=run_traffic)

    slot_state = subparsers.add_parser(
        "emulator-slot",
        help="stop or start a slot of a running emulator",
        description="Stop or start a slot of a running emulator (what az webapp stop/start "
        "--slot does): a stopped slot's site answers 403 and a swap from it fails at warm-up.",
    )
    add_slot_arguments(slot_state)
    slot_state.set_defaults(handler=run_slot)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (0 = any free port)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder for certificates and keys (default: a new temporary folder)",
    )
    parser.add_argument(
        "--app",
        action="append",
        dest="apps",
        metavar="NAME[@RG][:SLOT,...]",
        help="an app to seed (repeatable; replaces the default contoso-web)",
    )
    parser.add_argument(
        "--swap-seconds", type=_non_negative_float, default=3.0, help="how long a swap runs (3)"
    )
    parser.add_argument(
        "--retry-after",
        type=_retry_after,
        default=1,
        help="Retry-After seconds on running swaps, or 'none' (1)",
    )
    parser.add_argument(
        "--warmup-timeout",
        type=_non_negative_float,
        default=450.0,
        metavar="SECONDS",
        help="how long a swap's warm-up waits for a starting app before the swap fails (450: "
        "Azure's 5 tries of 90 s)",
    )
    parser.add_argument(
        "--state-file", type=Path, help="JSON file: loaded if it exists, saved after each change"
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="faults",
        default=[],
        metavar="KIND[@APP][:COUNT][:PATH-REGEX]",
        type=_fault,
        help=f"inject a fault (repeatable), @APP: only that app's requests; "
        f"kinds: {', '.join(KINDS)}",
    )
    parser.add_argument(
        "--health-check-path",
        help="the healthCheckPath of every seeded slot's site config, e.g. /healthz (none)",
    )
    parser.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="the service principal's secret"
    )
    parser.add_argument(
        "--client-secret-expired",
        action="store_true",
        help="the secret is right but expired: Entra answers AADSTS7000222",
    )
    parser.add_argument(
        "--system-access-token",
        default=DEFAULT_SYSTEM_ACCESS_TOKEN,
        help="the Azure DevOps job token the OIDC endpoint accepts",
    )
    parser.add_argument(
        "--msi-header",
        default=DEFAULT_MSI_HEADER,
        help="the managed identity endpoint's X-IDENTITY-HEADER secret",
    )
    parser.add_argument(
        "--client-ca",
        type=Path,
        metavar="PEM",
        help="ask every caller for a TLS client certificate (optional) issued by this CA, and "
        "log its subject",
    )
    parser.add_argument(
        "--metrics-minute-seconds",
        type=_positive_float,
        default=60.0,
        help="wall-clock seconds one metrics minute lasts; less compresses time for tests (60)",
    )
    parser.add_argument(
        "--metrics-delay-minutes",
        type=_non_negative_float,
        default=1.0,
        help="metrics minutes after its end before a minute's metrics are published (1)",
    )
    parser.add_argument(
        "--seed", type=int, help="seed of the routing rules' choices, for repeatable runs"
    )
    parser.add_argument(
        "--token-lifetime-seconds",
        type=int,
        default=3600,
        help="how long the access tokens Entra issues last (3600)",
    )
    parser.add_argument(
        "--base-error-percent",
        type=_percent,
        default=0.0,
        help="every version (seeded or deployed without --error-percent) fails this share of "
        "its requests at random, as real apps do (0)",
    )
    parser.add_argument(
        "--arm-latency",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="how long each management API (ARM) answer waits, as a round trip from an agent to "
        "Azure takes (0)",
    )


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the emulator's url (from its ready line)")
    parser.add_argument("--ca-cert", required=True, help="the emulator's CA certificate file")
    parser.add_argument("--app", required=True, help="the app name")
    parser.add_argument("--resource-group", help="the app's resource group, when ambiguous")
    parser.add_argument("--slot", required=True, help="the slot, e.g. staging")
    parser.add_argument("--version", required=True, dest="app_version", help="e.g. v2")
    parser.add_argument(
        "--health",
        type=_health,
        default="healthy",
        help="healthy (200), unhealthy (500), broken (never starts), needs-setting:NAME[=VALUE] "
        "(healthy only while its slot has that app setting)",
    )
    parser.add_argument(
        "--warmup-seconds",
        type=_non_negative_float,
        default=0.0,
        help="the site answers 503 for this long after the deployment or a restart of its slot (0)",
    )
    parser.add_argument(
        "--slower-ms",
        type=_non_negative_float,
        default=0.0,
        help="every answer of this version takes this many milliseconds longer (0)",
    )
    parser.add_argument(
        "--error-percent",
        type=_percent,
        default=None,
        help="this version fails this share of its requests at random (default: the emulator's "
        "--base-error-percent)",
    )


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the emulator's url (from its ready line)")
    parser.add_argument("--ca-cert", required=True, help="the emulator's CA certificate file")
    parser.add_argument("--app", required=True, help="the app whose production site gets traffic")
    parser.add_argument("--resource-group", help="the app's resource group, when ambiguous")
    parser.add_argument(
        "--rate", type=_positive_float, default=10.0, help="new clients a second (10)"
    )
    parser.add_argument("--seconds", type=_positive_float, default=10.0, help="for how long (10)")
    parser.add_argument(
        "--requests-per-client", type=int, default=1, help="requests each client makes (1)"
    )
    parser.add_argument("--path", default="/", help="the path requested (/)")


def add_slot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("stop", "start"), help="stop or start the slot")
    parser.add_argument("--url", required=True, help="the emulator's url (from its ready line)")
    parser.add_argument("--ca-cert", required=True, help="the emulator's CA certificate file")
    parser.add_argument("--app", required=True, help="the app name")
    parser.add_argument("--resource-group", help="the app's resource group, when ambiguous")
    parser.add_argument("--slot", required=True, help="the slot, e.g. staging or production")


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="swap-slots-emulator-"))
    apps = tuple(parse_app_seed(spec) for spec in args.apps) if args.apps else DEFAULT_APPS
    return EmulatorSettings(
        data_dir=data_dir.resolve(),
        port=args.port,
        apps=apps,
        swap_seconds=args.swap_seconds,
        retry_after=args.retry_after,
        warmup_timeout=args.warmup_timeout,
        state_file=args.state_file.resolve() if args.state_file else None,
        faults=tuple(args.faults),
        health_check_path=args.health_check_path,
        client_secret=args.client_secret,
        client_secret_expired=args.client_secret_expired,
        system_access_token=args.system_access_token,
        msi_header=args.msi_header,
        client_ca=args.client_ca,
        metrics_minute_seconds=args.metrics_minute_seconds,
        metrics_delay_minutes=args.metrics_delay_minutes,
        seed=args.seed,
        arm_latency=args.arm_latency,
        token_lifetime_seconds=args.token_lifetime_seconds,
        base_error_percent=args.base_error_percent,
    )


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValueError as error:
        print(f"swap-slots emulator: {error}", file=sys.stderr)
        return 2
    from runner.emulator.service import serve

    return serve(settings)


def run_deploy(args: argparse.Namespace) -> int:
    from runner.emulator.deploy_client import DeployFailed, deploy_version

    try:
        result = deploy_version(
            args.url,
            args.ca_cert,
            args.app,
            args.slot,
            args.app_version,
            args.health,
            args.resource_group,
            args.warmup_seconds,
            args.slower_ms,
            args.error_percent,
        )
    except DeployFailed as error:
        print(f"swap-slots emulator-deploy: {error}", file=sys.stderr)
        return 1
    print(
        f"Deployed {result['version']} ({result['health']}) to {result['app']}/"
        f"{result['slot']} in {result['resource_group']}: {result['url']}"
    )
    return 0


def run_traffic(args: argparse.Namespace) -> int:
    from runner.emulator.traffic_client import TrafficFailed, traffic_report

    try:
        report = traffic_report(
            args.url,
            args.ca_cert,
            args.app,
            args.resource_group,
            args.rate,
            args.seconds,
            max(1, args.requests_per_client),
            args.path,
        )
    except TrafficFailed as error:
        print(f"swap-slots emulator-traffic: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0


def run_slot(args: argparse.Namespace) -> int:
    from runner.emulator.deploy_client import DeployFailed, set_slot_state

    try:
        result = set_slot_state(
            args.url, args.ca_cert, args.app, args.slot, args.action, args.resource_group
        )
    except DeployFailed as error:
        print(f"swap-slots emulator-slot: {error}", file=sys.stderr)
        return 1
    print(f"{result['app']}/{result['slot']} is {result['state']}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runner.emulator", description="Run the local App Service emulator."
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


def _percent(text: str) -> float:
    value = _non_negative_float(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage from 0 to 100")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _retry_after(text: str) -> int | None:
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer number of seconds or 'none'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _health(text: str) -> str:
    try:
        parse_health(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {HEALTH_HELP}") from None
    return text


def _fault(text: str) -> FaultSpec:
    try:
        return parse_fault_option(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
