"""Why Azure refused or failed a swap, and what to do about it: one sentence of cause and one of
fix for each failure a swap meets, said after Azure's own words.

Azure's text is matched, not only its code: App Service's swap failures share the codes
`BadRequest` and `Conflict`, and only their messages tell them apart. The table in
docs/extension.md lists the same failures (a test keeps the two in step).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from runner.request import SlotRef


class SwapFailure(NamedTuple):
    status: int  # the HTTP status Azure answers with
    code: str  # Azure's error code
    clues: tuple[str, ...]  # words of Azure's text (lower case) that identify this failure
    cause: str  # {app}, {slot} (the source), {target}, {group} are filled in
    fix: str


ROLE = "Website Contributor"

FAILURES = (
    SwapFailure(
        417,
        "ExpectationFailed",
        ("did not respond to http ping",),
        "App Service's warm-up ping of '{slot}' got no answer it accepts: the slot is stopped, "
        "the app did not start, or the path it pings (WEBSITE_SWAP_WARMUP_PING_PATH, default /) "
        "redirects (HTTPS only, a URL rewrite rule), asks to sign in (App Service "
        "authentication), or refuses App Service's own addresses (IP restrictions).",
        "start the slot (az webapp start --name {app} --resource-group {group} --slot {slot}), "
        "set WEBSITE_SWAP_WARMUP_PING_PATH on '{slot}' to a path that answers quickly without a "
        "redirect or a sign-in (the app's health check path, as in HealthCheckPath, is a good "
        "one) and WEBSITE_SWAP_WARMUP_PING_STATUSES to what it answers (e.g. 200), then run the "
        "task again.",
    ),
    SwapFailure(
        400,
        "BadRequest",
        ("warmup requests", "timed out"),
        "'{slot}' was still starting when App Service's warm-up gave up (it waits 90 s per "
        "request and tries 5 times).",
        "make the app start faster, or let it finish starting before the swap: HealthCheckPath "
        "with a HealthCheckTimeoutInMinutes long enough holds the swap until '{slot}' answers; "
        "check its applicationInitialization pages and URL rewrite rules (exempt "
        "{{WARMUP_REQUEST}} and addresses starting with 10. or 100.).",
    ),
    SwapFailure(
        400,
        "BadRequest",
        ("application initialization", "took too long or failed"),
        "the answer of '{slot}' to App Service's warm-up (at WEBSITE_SWAP_WARMUP_PING_PATH, "
        "default /) was not one WEBSITE_SWAP_WARMUP_PING_STATUSES lists, or its "
        "applicationInitialization did not finish: a redirect (HTTPS only, a URL rewrite rule) "
        "or a sign-in page answers instead of the app.",
        "point WEBSITE_SWAP_WARMUP_PING_PATH at a path that answers without a redirect or a "
        "sign-in (the app's health check path is a good one) and list its answer in "
        "WEBSITE_SWAP_WARMUP_PING_STATUSES (e.g. 200), or remove WEBSITE_SWAP_WARMUP_PING_STATUSES "
        "to accept any answer, then run the task again.",
    ),
    SwapFailure(
        400,
        "BadRequest",
        ("worker process", "could not be started"),
        "the app in '{slot}' crashes as it starts with the settings of '{target}' (its slot "
        "settings are applied to '{slot}' first).",
        "read the slot's start-up log (Diagnose and solve problems, or the Log stream), or run "
        "Start Swap With Preview to start '{slot}' with the settings of '{target}' and see it "
        "fail there, then fix the app or its settings.",
    ),
    SwapFailure(
        409,
        "Conflict",
        ("another operation is in progress",),
        "another operation on '{app}' was running (a swap from another pipeline run, a "
        "deployment, a restart, a settings change) and did not end while the task waited.",
        "let it finish, then run the task again; so that two runs never swap the same app at "
        "once, give its production environment an exclusive lock check.",
    ),
    SwapFailure(
        409,
        "Conflict",
        ("prepared for swap",),
        "a swap with preview is prepared on '{app}' for another pair of slots: App Service "
        "allows no other swap until it is completed or canceled.",
        "cancel it: run the task with Action: Cancel Swap and that pair's source slot, or "
        "az webapp deployment slot swap --action reset --name {app} --resource-group {group} "
        "--slot <its source slot>; or complete it with Action: Complete Swap.",
    ),
    SwapFailure(
        409,
        "ScopeLocked",
        ("scopelocked",),
        "a ReadOnly resource lock on '{app}', its resource group '{group}' or the subscription "
        "refuses every write and action, the swap included.",
        "remove the lock for the release (Locks in the portal, or az lock delete), or use a "
        "CanNotDelete lock, which protects from deletion and still allows swaps.",
    ),
    SwapFailure(
        403,
        "AuthorizationFailed",
        ("authorizationfailed",),
        "the service connection's identity may not swap slots of '{app}': it lacks the action "
        "Microsoft.Web/sites/slots/slotsswap/action (and Microsoft.Web/sites/slotsswap/action "
        "for production).",
        f"give that identity the built-in role {ROLE} (or Contributor) on the app or on "
        "resource group '{group}' (az role assignment create --role \"" + ROLE + '" '
        "--assignee <the connection's client id> --scope <the app's resource id>); a new role "
        "assignment can take a few minutes to apply.",
    ),
    SwapFailure(
        409,
        "ReadOnlyDisabledSubscription",
        ("readonlydisabledsubscription",),
        "the subscription is disabled (a billing problem, a spending limit reached, a trial or "
        "credit ended) and so read-only: nothing in it can change.",
        "re-enable the subscription (Subscriptions, or Cost Management + Billing, in the "
        "portal), then run the task again.",
    ),
    SwapFailure(
        404,
        "SubscriptionNotFound",
        ("subscriptionnotfound",),
        "the service connection's subscription does not exist in its tenant, or its identity "
        "has no access to it.",
        "check the connection's subscription id, and give its identity a role on that "
        "subscription or on the app.",
    ),
)


def failure_of(azure_text: str) -> Optional[SwapFailure]:
    """The known failure Azure's text (`Code: Message (HTTP n)`) is, if any."""
    text = azure_text.lower()
    for failure in FAILURES:
        if all(clue in text for clue in failure.clues):
            return failure
    return None


def explain(azure_text: str, source: SlotRef, target: SlotRef) -> str:
    """`Likely cause: ... Fix: ...` for Azure's text, or "" when the failure is not a known one."""
    failure = failure_of(azure_text)
    if failure is None:
        return ""
    names = {
        "app": source.app,
        "slot": source.slot,
        "target": target.slot,
        "group": source.resource_group,
    }
    cause, fix = failure.cause.format(**names), failure.fix.format(**names)
    return f"Likely cause: {cause} Fix: {fix[0].upper()}{fix[1:]}"
