"""The plans of several apps swapped all or nothing (AdditionalWebApps): the main app's, then
one per additional app with the same slots and checks, each checked as one app's is, before
anything changes. A problem with one app is said with the line that names it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from runner.azure.web_apps import AzureCallError, WebApps
from runner.errors import UserError
from runner.log import Log
from runner.release.swap import SwapPlan, plan_swap
from runner.request import AppName, SwapRequest


def plan_apps(request: SwapRequest, web_apps: WebApps, log: Log) -> list[SwapPlan]:
    """The main app's plan followed by each additional app's, all read at once: on Azure each
    read is a round trip. A problem with the main app is said first, then the first bad line."""
    web_apps.authenticate()  # one token for every app, before their reads go out together
    names = request.additional_apps
    with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
        found = [pool.submit(_plan_one, request, name, web_apps, log) for name in names]
        plans = [plan_swap(request, web_apps, log)] + [future.result() for future in found]
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


def _plan_one(main: SwapRequest, name: AppName, web_apps: WebApps, log: Log) -> SwapPlan:
    request = main._replace(app=name.name, resource_group=name.resource_group, additional_apps=())
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
