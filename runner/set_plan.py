"""The plans of several apps swapped all or nothing (AdditionalWebApps): the main app's, then
one per additional app with the same slots and checks, each checked as one app's is, before
anything changes. A problem with one app is said with the line that names it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from runner.errors import UserError
from runner.log import Log
from runner.request import AppName
from runner.swap import SwapPlan, plan_swap
from runner.web_apps import AzureCallError, WebApps


def plan_additional_apps(main: SwapPlan, web_apps: WebApps, log: Log) -> list[SwapPlan]:
    """The main plan followed by each additional app's, read at once (each is a round trip)."""
    names = main.request.additional_apps
    with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
        found = [pool.submit(_plan_one, main, name, web_apps, log) for name in names]
        plans = [main] + [future.result() for future in found]  # the first bad line is said
    seen: dict[tuple[str, str], str] = {}
    distinct = []
    for name, plan in zip((None, *names), plans):
        ref = plan.source.ref
        key = (ref.resource_group.lower(), ref.app.lower())
        where = name.origin if name else "WebAppName"
        if key in seen and seen[key] == "WebAppName":
            log.info(f"{where} is the main app (WebAppName): it is swapped once.")
            continue
        if key in seen:
            raise UserError(
                f"{where} names App Service '{ref.app}' of resource group '{ref.resource_group}', "
                f"which {seen[key]} names already: each app is swapped once. Remove one of them."
            )
        seen[key] = where
        distinct.append(plan)
    return distinct


def _plan_one(main: SwapPlan, name: AppName, web_apps: WebApps, log: Log) -> SwapPlan:
    request = main.request._replace(
        app=name.name, resource_group=name.resource_group, additional_apps=()
    )
    try:
        return plan_swap(request, web_apps, log)
    except (UserError, AzureCallError) as error:
        raise UserError(f"{name.origin}: {error}") from None


def describe_additional_apps(plans: list[SwapPlan], log: Log) -> None:
    with log.group(f"All or nothing: {len(plans)} apps"):
        for plan in plans:
            ref = plan.source.ref
            note = " (found from the app's name)" if plan.found_group else ""
            log.info(
                f"{ref.app} in {ref.resource_group}{note}: {ref.slot} -> {plan.target.ref.slot}"
                f"   ({plan.source.url} -> {plan.target.url})"
            )
