"""Turns an app's report into what the pipeline shows: outputs, summary, task result."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import Optional

from runner.log import StepLog
from runner.outcome import Outcome, TaskResult
from runner.release.app_report import AppReport
from runner.report.record import RunRecord
from runner.request import SwapRequest

_RESULTS = {
    Outcome.SWAPPED: TaskResult.SUCCEEDED,
    Outcome.FAILED: TaskResult.FAILED,
    Outcome.NOT_STARTED: TaskResult.FAILED,
    Outcome.CANARY_FAILED: TaskResult.FAILED,
    Outcome.CANCELED: TaskResult.CANCELED,
    Outcome.UNFINISHED: TaskResult.FAILED,
    Outcome.UNVERIFIED: TaskResult.FAILED,
    Outcome.VERIFICATION_FAILED: TaskResult.FAILED,
    Outcome.ROLLED_BACK: TaskResult.FAILED,
    Outcome.ROLLBACK_FAILED: TaskResult.FAILED,
    Outcome.ROLLBACK_UNFINISHED: TaskResult.FAILED,
    Outcome.PREVIEW_STARTED: TaskResult.SUCCEEDED,
    Outcome.PREVIEW_CANCELED: TaskResult.SUCCEEDED,
    Outcome.PARTLY_SWAPPED: TaskResult.FAILED,
}
# Stopped by the agent: these end the step as Canceled rather than Failed.
_CANCELABLE = (
    Outcome.UNFINISHED,
    Outcome.UNVERIFIED,
    Outcome.ROLLBACK_UNFINISHED,
    Outcome.PARTLY_SWAPPED,
)


def task_result(result: AppReport, canceled: bool) -> TaskResult:
    outcome = result.outcome
    if canceled and (outcome in _CANCELABLE or result.failed):
        return TaskResult.CANCELED
    if result.failed and _RESULTS[outcome] is TaskResult.SUCCEEDED:
        return TaskResult.FAILED
    return _RESULTS[outcome]


def report(
    log: StepLog,
    result: AppReport,
    temp_dir: str,
    canceled: bool,
    apps: Sequence[AppReport] = (),
    record: Optional[RunRecord] = None,
    request: Optional[SwapRequest] = None,
    tab_url: str = "",
) -> int:
    """Writes outputs, the run's report (attached for the results tab), the run summary (one
    section per app of `apps`, else of `result`) and `task.complete`; returns the exit code."""
    log.set_output("SwapOutcome", result.outcome.value)
    if result.production_url:
        log.set_output("ProductionUrl", result.production_url)
    if result.source_url:
        log.set_output("SourceSlotUrl", result.source_url)
    if temp_dir and (apps or result.app):
        attached = record is not None and attach_report(
            log, record, result, apps, request, temp_dir
        )
        upload_summary(log, list(apps) or [result], temp_dir, tab_url if attached else "")
    outcome = task_result(result, canceled)
    if outcome is TaskResult.SUCCEEDED:
        log.info(result.message)
        if log.issues:
            outcome = TaskResult.SUCCEEDED_WITH_ISSUES
    else:
        log.error(result.message)
    log.complete(outcome, result.message)
    return 0 if outcome in (TaskResult.SUCCEEDED, TaskResult.SUCCEEDED_WITH_ISSUES) else 1


def attach_report(
    log: StepLog,
    record: RunRecord,
    result: AppReport,
    apps: Sequence[AppReport],
    request: Optional[SwapRequest],
    temp_dir: str,
) -> bool:
    """The run's JSON report, attached to the step for the results tab (one per run of the
    task: several steps in one pipeline run each attach theirs). True when attached."""
    from runner.report.document import ATTACHMENT_TYPE, report_document, report_json

    record.end()
    text = report_json(report_document(record, result, apps, request))
    name = f"{result.app or 'swap'}-{uuid.uuid4().hex[:8]}.json"
    path = os.path.join(temp_dir, name)
    try:
        with open(path, "w", encoding="utf-8") as written:
            written.write(log.mask(text))
    except OSError as error:
        log.debug(f"Could not write the run's report: {error}")
        return False
    log.add_attachment(ATTACHMENT_TYPE, name, path)
    return True


def upload_summary(
    log: StepLog, results: Sequence[AppReport], temp_dir: str, tab_url: str = ""
) -> None:
    """The run's summary page: a link to the results tab, then one section per app."""
    lines: list[str] = []
    if tab_url:
        lines += [f"[Pictures of this release: the Swap Slots tab]({tab_url})", ""]
    for result in results:
        lines += summary_lines(result)
    path = os.path.join(temp_dir, f"swap-slots-{uuid.uuid4().hex[:8]}.md")
    try:
        with open(path, "w", encoding="utf-8") as summary:
            summary.write("\n".join(lines))
    except OSError as error:
        log.debug(f"Could not write the run summary: {error}")
        return
    log.upload_summary(path)


def summary_lines(result: AppReport) -> list[str]:
    lines = [
        f"### Swap Slots: `{result.app}` — {result.outcome.value}",
        "",
        "| | |",
        "|---|---|",
        f"| App Service | `{result.app}` (resource group `{result.resource_group}`) |",
        f"| Slots | `{result.source_slot}` → `{result.target_slot}` |",
        f"| Production | {result.production_url} |",
        f"| Swap took | {_seconds(result.swap_seconds)} |",
        f"| Swap back took | {_seconds(result.rollback_seconds)} |",
        "",
    ]
    if result.before or result.after:
        before = {v.slot: v.served for v in result.before}
        after = {v.slot: v.served for v in result.after}
        lines += ["| Slot | Before | After |", "|---|---|---|"]
        for slot in dict.fromkeys([*before, *after]):
            lines.append(f"| `{slot}` | {before.get(slot, '—')} | {after.get(slot, '—')} |")
        lines.append("")
    if result.checks:
        lines += ["| Health check | URL | Result | Probes | Time |", "|---|---|---|---|---|"]
        for check in result.checks:
            verdict = "passed" if check.passed else ("canceled" if check.canceled else "failed")
            lines.append(
                f"| {check.label} | {check.url} | {verdict}: {check.last_answer()} | "
                f"{check.probes} | {check.seconds:.1f} s |"
            )
        lines.append("")
    lines += canary_lines(result)
    return [*lines, result.message.replace("|", "\\|"), ""]


def canary_lines(result: AppReport) -> list[str]:
    """Each canary step's and the bake's evidence, watched side against its baseline."""
    spans = [
        (f"{step.percent} % to `{step.slot_name}`", step.verdict, step.span)
        for step in result.canary
    ]
    if result.bake is not None:
        spans.append(("bake: `production`", result.bake.span.verdict, result.bake.span))
    if not spans:
        return []
    lines = [
        "| Watched | User requests | 5xx | Probes failed | Response time | Baseline | Verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, verdict, span in spans:
        watched, baseline = span.watched, span.baseline
        # No published minute (a step cut short, say): its counts are unknown, not zero.
        requests, rate = (
            (str(watched.user_requests), f"{watched.user_error_percent:.1f} %")
            if watched.metrics.minutes
            else ("—", "—")
        )
        base_rate = f"{baseline.user_error_percent:.1f} %" if baseline.metrics.minutes else "—"
        lines.append(
            f"| {name} | {requests} | {rate} | {watched.probe_errors} of {watched.probes} | "
            f"{_ms(watched.response_ms)} | {baseline.label}: 5xx {base_rate}, "
            f"{baseline.probe_errors} of {baseline.probes} probes failed, "
            f"{_ms(baseline.response_ms)} | {verdict} |"
        )
    return [*lines, ""]


def _ms(milliseconds: Optional[float]) -> str:
    if milliseconds is None:
        return "—"
    return f"{milliseconds:.0f} ms" if milliseconds >= 10 else f"{milliseconds:.2g} ms"


def _seconds(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f} s"
