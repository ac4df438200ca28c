"""Several apps released all or nothing (AdditionalWebApps): every app passes its health gate
before any swap is sent; then all are swapped at once and verified; when any swap or any
verification fails, every app that was swapped is swapped back.

The report says, per app, what Azure did and what each slot serves at the end; the set's
SwapOutcome is `set_outcome` of the apps' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

from runner.azure.traffic_routing import clear_leftover_rule
from runner.azure.web_apps import WebApps
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.outcome import Outcome, set_outcome
from runner.release.app_log import AppLog
from runner.release.app_report import AppReport, SlotVersion, report_for, sentence, versions_now
from runner.release.health_gate import HealthCheck, HealthRules, Probing, wait_until_all_healthy
from runner.release.pre_swap_reads import PreSwapReads, health_rules
from runner.release.preview import show_differences
from runner.release.rollback import SwapBack, swap_back_together
from runner.release.swap import SwapPlan, SwapResult
from runner.release.swaps_together import swap_together


@dataclass
class _App:
    """One app of the set, as far as it got."""

    plan: SwapPlan
    log: Log
    rules: Optional[HealthRules] = None
    checks: list[HealthCheck] = field(default_factory=list)
    swap: Optional[SwapResult] = None
    before: tuple[SlotVersion, ...] = ()
    outcome: Optional[Outcome] = None
    message: str = ""
    rollback_seconds: Optional[float] = None

    @property
    def name(self) -> str:
        return self.plan.source.ref.app

    @property
    def target(self) -> str:
        return self.plan.target.ref.slot

    @property
    def swapped(self) -> bool:
        return self.swap is not None and self.swap.outcome is Outcome.SWAPPED

    def end(self, outcome: Outcome, message: str) -> None:
        self.outcome, self.message = outcome, message


@dataclass(frozen=True)
class SetReport:
    """`combined`: the set's outcome, outputs and last line; `apps`: one report per app."""

    combined: AppReport
    apps: tuple[AppReport, ...]


def release_set(
    plans: Sequence[SwapPlan], web_apps: WebApps, log: Log, cancellation: Cancellation
) -> SetReport:
    run = _ReleaseSet(plans, web_apps, log, cancellation)
    try:
        run.execute()
    except StopNow:  # SIGTERM between two steps: each app's state, before the agent's kill
        cancellation.stop_raising()
        run.stopped()
    return run.report()


class _ReleaseSet:
    def __init__(
        self,
        plans: Sequence[SwapPlan],
        web_apps: WebApps,
        log: Log,
        cancellation: Cancellation,
    ) -> None:
        self.apps = [_App(plan, AppLog(log, plan.source.ref.app)) for plan in plans]
        self.web_apps = web_apps
        self.log = log
        self.cancellation = cancellation
        self.swapping_back = False
        self.why = ""  # what broke the set, for every app's message

    @property
    def names(self) -> str:
        return ", ".join(f"'{app.name}'" for app in self.apps)

    def execute(self) -> None:
        self.prepare()
        if not self.gate():
            return
        with self.log.group(f"Swap: {len(self.apps)} apps at once"):
            results = swap_together(
                [app.plan for app in self.apps], self.web_apps, self.log, self.cancellation
            )
        for app, result in zip(self.apps, results):
            app.swap = result
            app.before = _before(app, result)
        troubled = [app for app in self.apps if not app.swapped]
        for app in troubled:
            assert app.swap is not None
            app.end(app.swap.outcome, app.swap.message)
        if self.cancellation.requested.is_set():
            return self.leave_unverified("before it was verified")
        if troubled:
            self.why = "; ".join(
                f"the swap of '{app.name}' did not happen as asked ({app.outcome.value})"
                for app in troubled
                if app.outcome is not None
            )
            return self.swap_back([])
        failed = self.verify()
        if self.cancellation.requested.is_set():
            return self.leave_unverified("while it was verified")
        if failed:
            self.why = "; ".join(f"'{app.name}' failed verification" for app in failed)
            return self.swap_back(failed)
        for app in self.apps:
            assert app.swap is not None
            checked = app.rules is not None and app.rules.checks_anything
            app.end(
                Outcome.SWAPPED,
                app.swap.message + (f" '{app.target}' verified." if checked else ""),
            )

    def prepare(self) -> None:
        """Each app's health rules and leftover routing rule, from the reads its plan sent with
        the slots' own; the apps at once, since clearing a rule is a call to Azure."""
        with ThreadPoolExecutor(len(self.apps)) as apps:
            for app, rules in zip(self.apps, apps.map(self._rules, self.apps)):
                app.rules = rules
        for app in self.apps:
            show_differences(app.plan, _reads_of(app).differences, app.log)

    def _rules(self, app: _App) -> HealthRules:
        plan, reads = app.plan, _reads_of(app)
        rules = health_rules(plan.request, reads, app.log)
        if reads.leftover is not None:
            # A rule an interrupted canary left would send users to the old version after the
            # swap: cleared first.
            percent = reads.leftover.result()
            clear_leftover_rule(self.web_apps.arm, plan.target.ref, plan.source, percent, app.log)
        return rules

    def gate(self) -> bool:
        """Every app's source probed at once; one failure stops the set before any swap."""
        with self.log.group(f"Health gates: {len(self.apps)} apps"):
            gated = self.probe(self.apps, "gate", lambda app: app.plan.source.url)
            for app, check in gated:
                app.log.info(f"Health gate {check.summary()}.")
        stopped = [(app, check) for app, check in gated if not check.passed]
        if not stopped:
            return True
        if any(check.canceled for _, check in stopped):
            for app in self.apps:
                app.end(
                    Outcome.CANCELED,
                    f"Canceled ({self.cancellation.signal_name}) during the health gates: no "
                    "swap was sent to any app, nothing changed.",
                )
            return False
        names = ", ".join(f"'{app.name}'" for app, _ in stopped)
        for app in self.apps:
            app.end(
                Outcome.NOT_STARTED,
                f"Not swapped: the health gate of {names} failed, and the apps are swapped all "
                "or nothing. No swap was sent to any app.",
            )
        for app, check in stopped:
            app.end(
                Outcome.NOT_STARTED,
                f"The health gate stopped the swap: '{app.plan.source.ref.slot}' ({check.url}) "
                f"{check.problem()} ({check.details()}). No swap was sent to any app.",
            )
        self.why = f"the health gate of {names} failed"
        return False

    def verify(self) -> list[_App]:
        """Every target probed at once; returns the apps that failed."""
        with self.log.group(f"Verification: {len(self.apps)} apps"):
            verified = self.probe(self.apps, "verify", lambda app: app.plan.target.url)
            for app, check in verified:
                app.log.info(f"Verification {check.summary()}.")
        return [app for app, check in verified if not check.passed and not check.canceled]

    def probe(
        self, apps: Sequence[_App], kind: str, url_of: Callable[[_App], str]
    ) -> list[tuple[_App, HealthCheck]]:
        probed = []
        for app in apps:
            assert app.rules is not None
            if app.rules.checks_anything:
                probed.append(app)
            else:
                app.log.info(
                    f"Nothing to check ({kind}): no health check path (HealthCheckPath or the "
                    "app's healthCheckPath) and no ExpectedVersion."
                )
        probings = [
            Probing(
                f"{kind}: {app.plan.source.ref.slot if kind == 'gate' else app.target}",
                url_of(app),
                app.rules,
                app.log,
                app.plan.probes,
            )
            for app in probed
            if app.rules is not None
        ]
        checks = wait_until_all_healthy(probings, self.cancellation)
        for app, check in zip(probed, checks):
            app.checks.append(check)
        return list(zip(probed, checks))

    def swap_back(self, failed: list[_App]) -> None:
        """Every swapped app swapped back (or, without RollbackOnFailure, left as it is)."""
        swapped = [app for app in self.apps if app.swapped]
        for app in failed:
            check = app.checks[-1]
            app.message = (
                f"'{app.target}' failed verification after the swap: it {check.problem()} "
                f"({check.details()})."
            )
        if not self.plan_rollback:
            for app in swapped:
                assert app.swap is not None
                if app in failed:
                    app.end(
                        Outcome.VERIFICATION_FAILED,
                        f"{app.message} RollbackOnFailure is false, so the slots stay swapped.",
                    )
                else:
                    app.end(
                        Outcome.SWAPPED,
                        f"{app.swap.message} RollbackOnFailure is false, so it stays swapped "
                        f"although {self.why}.",
                    )
            return
        if not swapped:
            return
        names = ", ".join(f"'{app.name}'" for app in swapped)
        self.log.warning(f"{self.why[:1].upper()}{self.why[1:]}: swapping back {names}.")
        self.swapping_back = True
        with self.log.group(f"Swap back: {len(swapped)} apps at once"):
            rollbacks = swap_back_together(
                [SwapBack(app.plan, _rules_of(app), app.log) for app in swapped],
                self.web_apps,
                self.log,
                self.cancellation,
            )
        for app, rollback in zip(swapped, rollbacks):
            if rollback.check is not None:
                app.checks.append(rollback.check)
            app.rollback_seconds = rollback.seconds
            own = app.message if app in failed else f"Swapped back because {self.why}."
            app.end(rollback.outcome, f"{own} {rollback.message} {rollback.meaning(app.target)}")

    @property
    def plan_rollback(self) -> bool:
        return self.apps[0].plan.request.checks.rollback_on_failure

    def leave_unverified(self, when: str) -> None:
        """Canceled after the swaps: the swapped apps are said to be live, not swapped back."""
        for app in self.apps:
            if app.swapped and app.swap is not None:
                app.end(
                    Outcome.UNVERIFIED,
                    f"{app.swap.message} Canceled ({self.cancellation.signal_name}) {when}: "
                    "no swap back was started.",
                )

    def stopped(self) -> None:
        """SIGTERM outside a swap (the swaps report themselves): each app as far as it got."""
        name = self.cancellation.signal_name
        for app in self.apps:
            if app.outcome is not None:
                continue
            if app.swap is None:
                app.end(
                    Outcome.CANCELED,
                    f"Stopped ({name}) before the swap was sent: nothing changed in Azure.",
                )
            elif self.swapping_back and app.swapped:
                app.end(
                    Outcome.ROLLBACK_FAILED,
                    f"{app.swap.message} Stopped ({name}) before the swap back was sent: "
                    f"'{app.target}' still runs the new version. Swap the slots back yourself.",
                )
            elif app.swapped:
                app.end(
                    Outcome.UNVERIFIED,
                    f"{app.swap.message} Stopped ({name}) before '{app.target}' was verified; "
                    "no swap back was started.",
                )

    def report(self) -> SetReport:
        """Each app's report, ending with what its slots serve now (probed at once)."""
        self.cancellation.stop_raising()  # the report must go out before the agent's kill
        timeout = 1.0 if self.cancellation.requested.is_set() else 5.0
        with ThreadPoolExecutor(len(self.apps)) as pool:
            afters = list(pool.map(lambda app: versions_now(app.plan, timeout), self.apps))
        reports = []
        for app, after in zip(self.apps, afters):
            outcome = app.outcome or Outcome.UNFINISHED
            app.log.info(f"{outcome.value}: {app.message}")
            swap = app.swap
            reports.append(
                report_for(
                    app.plan,
                    outcome,
                    f"{app.message} Now {sentence(after)}",
                    before=app.before,
                    after=after,
                    checks=tuple(app.checks),
                    swap_seconds=swap.seconds if swap else None,
                    rollback_seconds=app.rollback_seconds,
                )
            )
        outcome = set_outcome([r.outcome for r in reports])
        each = " ".join(f"'{r.app}' {r.outcome.value}: {sentence(r.after)}" for r in reports)
        main = reports[0]
        combined = AppReport(
            outcome,
            f"{self._headline(outcome)} {each}",
            main.app,
            main.resource_group,
            main.source_slot,
            main.target_slot,
            main.production_url,
            main.source_url,
        )
        return SetReport(combined, tuple(reports))

    def _headline(self, outcome: Outcome) -> str:
        count = f"{len(self.apps)} apps, all or nothing ({self.names})"
        why = f" ({self.why})" if self.why else ""
        return {
            Outcome.SWAPPED: f"{count}: every app swapped.",
            Outcome.NOT_STARTED: f"{count}: no swap was sent to any app{why}.",
            Outcome.CANCELED: f"{count}: canceled before any swap was sent, nothing changed.",
            Outcome.FAILED: f"{count}: Azure swapped none of them{why}.",
            Outcome.ROLLED_BACK: f"{count}: every app that was swapped was swapped back{why}; "
            "the previous versions are live.",
        }.get(outcome, f"{count}: {outcome.value}{why}. Each app:")


def _reads_of(app: _App) -> PreSwapReads:
    assert app.plan.reads is not None, "plan_swap reads ahead for every swap"
    return app.plan.reads


def _rules_of(app: _App) -> HealthRules:
    assert app.rules is not None, "read before the gate"
    return app.rules


def _before(app: _App, swap: SwapResult) -> tuple[SlotVersion, ...]:
    """What the target, then the source, served before the swap (the source: what its gate saw
    last, since the swap restarts it with the target's settings as it starts)."""
    probes = list(swap.before)
    if len(probes) == 2 and app.checks and app.checks[-1].last is not None:
        probes[1] = app.checks[-1].last
    slots = (app.plan.target, app.plan.source)
    return tuple(SlotVersion.of(s.ref.slot, p) for s, p in zip(slots, probes))
