"""The action as a GitHub runner runs it: environment in, workflow commands and the step's files
out, an exit code back."""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import Optional, TextIO

from runner.azure.web_apps import AzureCallError, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.github.environment import read_action_step, read_step_files, secrets_in
from runner.github.summary import summary_markdown
from runner.github.workflow_log import WorkflowLog
from runner.log import route_sdk_logging
from runner.outcome import Outcome, TaskResult
from runner.release.app_release import plan_and_release
from runner.release.app_report import AppReport
from runner.release.outcome_report import task_result
from runner.release.swap import SwapPlan


def run_action_step(
    environ: Mapping[str, str], stream: TextIO, cancellation: Optional[Cancellation] = None
) -> int:
    files = read_step_files(environ)
    log = WorkflowLog(stream, files.debug, files.output_file, files.summary_file)
    for secret in secrets_in(environ):  # before anything else can print
        log.add_secret(secret)
    cancellation = cancellation or Cancellation()
    plan: Optional[SwapPlan] = None
    apps: tuple[AppReport, ...] = ()  # with additional-apps: one per app
    try:
        step = read_action_step(environ)
        for secret in (*step.connection.secrets, *step.network.secrets):
            log.add_secret(secret)
        for warning in step.warnings:
            log.warning(warning)
        if files.debug:
            route_sdk_logging(log)
        web_apps = WebApps(step.connection, log, files.debug, step.network)
        log.info(f"Connecting to {step.connection.cloud.arm_url} ({step.connection.scheme.value}).")
        for line in step.network.describe():
            log.info(line)

        def planned(plans: Sequence[SwapPlan]) -> None:
            nonlocal plan
            plan = plans[0]

        result, apps = plan_and_release(step.request, web_apps, log, log, cancellation, planned)
    except UserError as error:
        result = AppReport(Outcome.NOT_STARTED, str(error) + " Nothing was changed in Azure.")
    except AzureCallError as error:
        result = AppReport(Outcome.NOT_STARTED, f"{error}. Nothing was changed in Azure.")
    except (StopNow, KeyboardInterrupt):
        result = AppReport(
            Outcome.CANCELED, "Canceled before the swap was sent: nothing was changed in Azure."
        )
    except Exception as error:  # the log must still end with one clear line and an outcome
        log.debug(traceback.format_exc())
        log.error(
            f"Unexpected error: {type(error).__name__}: {error}. Re-run the job with debug "
            "logging to see the details, and report it if it persists."
        )
        # After planning, a swap may have been sent: say so rather than guess.
        outcome = Outcome.NOT_STARTED if plan is None else Outcome.UNFINISHED
        log.set_output("SwapOutcome", outcome.value)
        return 1
    cancellation.stop_raising()
    return report(log, result, cancellation.requested.is_set(), apps)


def report(
    log: WorkflowLog, result: AppReport, canceled: bool, apps: Sequence[AppReport] = ()
) -> int:
    """The outputs, the run summary (one section per app) and the last line; the exit code."""
    log.set_output("SwapOutcome", result.outcome.value)
    if result.production_url:
        log.set_output("ProductionUrl", result.production_url)
    if result.source_url:
        log.set_output("SourceSlotUrl", result.source_url)
    if apps or result.app:
        log.write_summary(summary_markdown(list(apps) or [result]))
    outcome = task_result(result, canceled)
    if outcome is TaskResult.SUCCEEDED:
        log.info(result.message)
        return 0
    log.error(result.message)
    return 1
