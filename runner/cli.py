"""`swap-slots`: the command line. The only module that knows argparse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Optional

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
        "managed identity, Azure CLI, ...).",
    )
    swap.add_argument("--app", required=True, help="the App Service name")
    swap.add_argument("--resource-group", "-g", help="the app's resource group (found if omitted)")
    swap.add_argument("--source", required=True, help="the slot with the new version, e.g. staging")
    swap.add_argument("--target", default="production", help="the slot to swap with (production)")
    swap.add_argument("--preserve-vnet", action="store_true", help="keep each slot's VNet")
    swap.add_argument("--subscription", help="subscription id (default: $AZURE_SUBSCRIPTION_ID)")
    swap.add_argument("--tenant", help="tenant id (default: $AZURE_TENANT_ID)")
    swap.add_argument("--cloud", default="AzureCloud", help="AzureCloud, AzureUSGovernment, ...")
    swap.add_argument("--arm-url", help="Resource Manager URL of a custom cloud")
    swap.add_argument("--authority", help="Entra authority URL of a custom cloud")
    swap.add_argument("--audience", help="token audience of a custom cloud")
    swap.add_argument("--timeout", type=float, default=30.0, help="minutes to wait (30)")
    swap.add_argument("--debug", action="store_true", help="show Azure requests (secrets hidden)")

    commands.add_parser("demo", help="run the demo against the local App Service emulator")

    from runner.emulator.command import add_subcommands

    add_subcommands(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "swap":
        from runner.terminal_run import TerminalSwap, run_terminal_swap

        cancellation = Cancellation()
        cancellation.install()
        return run_terminal_swap(
            TerminalSwap(
                app=args.app,
                resource_group=args.resource_group,
                source=args.source,
                target=args.target,
                preserve_vnet=args.preserve_vnet,
                subscription=args.subscription,
                tenant=args.tenant,
                cloud=args.cloud,
                arm_url=args.arm_url,
                authority=args.authority,
                audience=args.audience,
                timeout_minutes=args.timeout,
                debug=args.debug,
            ),
            cancellation,
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
