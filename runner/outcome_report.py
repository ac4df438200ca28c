"""Turns a swap's result into what the pipeline shows: outputs, summary, task result."""

from __future__ import annotations

import os
import uuid
from typing import Optional

from runner.pipeline_log import PipelineLog, TaskResult
from runner.swap import Outcome, SwapPlan, SwapResult

_RESULTS = {
    Outcome.SWAPPED: TaskResult.SUCCEEDED,
    Outcome.FAILED: TaskResult.FAILED,
    Outcome.NOT_STARTED: TaskResult.FAILED,
    Outcome.CANCELED: TaskResult.CANCELED,
    Outcome.UNFINISHED: TaskResult.FAILED,
}


def report(
    log: PipelineLog,
    result: SwapResult,
    plan: Optional[SwapPlan],
    temp_dir: str,
    canceled: bool,
) -> int:
    """Writes outputs, the run summary and `task.complete`; returns the exit code."""
    log.set_output("SwapOutcome", result.outcome.value)
    if result.production_url:
        log.set_output("ProductionUrl", result.production_url)
    if result.source_url:
        log.set_output("SourceSlotUrl", result.source_url)
    if plan is not None and temp_dir:
        _upload_summary(log, result, plan, temp_dir)
    task_result = _RESULTS[result.outcome]
    if canceled and result.outcome is Outcome.UNFINISHED:
        task_result = TaskResult.CANCELED
    if task_result is TaskResult.SUCCEEDED:
        log.info(result.message)
        if log.issues:
            task_result = TaskResult.SUCCEEDED_WITH_ISSUES
    else:
        log.error(result.message)
    log.complete(task_result, result.message)
    return 0 if task_result in (TaskResult.SUCCEEDED, TaskResult.SUCCEEDED_WITH_ISSUES) else 1


def _upload_summary(log: PipelineLog, result: SwapResult, plan: SwapPlan, temp_dir: str) -> None:
    source, target = plan.source.ref, plan.target.ref
    lines = [
        f"### Swap Slots: {result.outcome.value}",
        "",
        "| | |",
        "|---|---|",
        f"| App Service | `{source.app}` (resource group `{source.resource_group}`) |",
        f"| Swap | `{source.slot}` → `{target.slot}` |",
        f"| Production | {result.production_url} |",
        "",
        result.message,
        "",
    ]
    path = os.path.join(temp_dir, f"swap-slots-{uuid.uuid4().hex[:8]}.md")
    try:
        with open(path, "w", encoding="utf-8") as summary:
            summary.write("\n".join(lines))
    except OSError as error:
        log.debug(f"Could not write the run summary: {error}")
        return
    log.upload_summary(path)
