"""The task as the agent runs it: environment in, logging commands out, an exit code back."""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import Optional, TextIO

from runner.agent.environment import read_agent_task, secrets_in
from runner.agent.pipeline_log import PipelineLog, TaskResult
from runner.azure.web_apps import AzureCallError, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.log import route_sdk_logging
from runner.outcome import Outcome
from runner.release.app_release import plan_and_release
from runner.release.app_report import AppReport
from runner.release.outcome_report import report
from runner.release.swap import SwapPlan
from runner.report.record import RecordingLog, RunRecord


def run_agent_task(
    environ: Mapping[str, str], stream: TextIO, cancellation: Optional[Cancellation] = None
) -> int:
    debug = environ.get("SYSTEM_DEBUG", "").lower() == "true"
    log = PipelineLog(stream, debug_enabled=debug)
    for secret in secrets_in(environ):  # before anything else can print
        log.add_secret(secret)
    cancellation = cancellation or Cancellation()
    plan: Optional[SwapPlan] = None
    apps: tuple[AppReport, ...] = ()  # with AdditionalWebApps: one per app
    temp_dir = tab_url = ""
    record = RunRecord()
    request = None
    try:
        task = read_agent_task(environ)
        temp_dir, tab_url, request = task.temp_dir, task.results_tab_url, task.request
        for secret in (*task.connection.secrets, *task.network.secrets):
            log.add_secret(secret)
        for warning in task.warnings:
            log.warning(warning)
        if debug:
            route_sdk_logging(log)
        web_apps = WebApps(task.connection, log, debug, task.network)
        release_log = RecordingLog(log, record)
        log.info(f"Connecting to {task.connection.cloud.arm_url} ({task.connection.scheme.value}).")
        for line in task.network.describe():
            log.info(line)

        def planned(plans: Sequence[SwapPlan]) -> None:
            nonlocal plan
            plan = plans[0]
            for each in plans:
                each.probes.listen(record.heard)

        result, apps = plan_and_release(
            task.request, web_apps, log, release_log, cancellation, planned
        )
    except UserError as error:
        result = AppReport(Outcome.NOT_STARTED, str(error) + " Nothing was changed in Azure.")
    except AzureCallError as error:
        result = AppReport(Outcome.NOT_STARTED, f"{error}. Nothing was changed in Azure.")
    except (StopNow, KeyboardInterrupt):
        result = AppReport(
            Outcome.CANCELED, "Canceled before the swap was sent: nothing was changed in Azure."
        )
    except Exception as error:  # the log must still end with one clear line and a result
        log.debug(traceback.format_exc())
        log.error(
            f"Unexpected error: {type(error).__name__}: {error}. Run again with "
            "system.debug=true to see the details, and report it if it persists."
        )
        # After planning, a swap may have been sent: say so rather than guess.
        outcome = Outcome.NOT_STARTED if plan is None else Outcome.UNFINISHED
        log.set_output("SwapOutcome", outcome.value)
        log.complete(TaskResult.FAILED, f"Unexpected error: {type(error).__name__}")
        return 1
    cancellation.stop_raising()
    canceled = cancellation.requested.is_set()
    return report(log, result, temp_dir, canceled, apps, record, request, tab_url)
