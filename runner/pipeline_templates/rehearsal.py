"""Rehearse the one-app stage template on the local App Service emulator (the README's demo piece).

The template is expanded for the emulator's app, then its stages are played in order, step by
step, as the agent would run them:

* ``AzureWebApp@1`` — stand-in: the emulator's control API deploys the version to the slot (the
  real task needs Kudu, which the emulator does not serve); its URL becomes the step's output;
* ``bash`` — the template's own script runs, with curl trusting the emulator's CA;
* ``SwapSlots@1`` — ``python -m runner`` with the agent's environment for a service connection
  to the emulator.

Lifecycle hooks of a deployment job are separate jobs here too: a variable set in ``deploy`` is
not seen in ``on.failure``. Run 1 deploys a healthy v2, which is swapped into production; run 2
deploys an unhealthy v3: the Test stage fails and nothing is swapped.

The caller hands the rehearsal a running emulator (`RehearsalGround`): the toolkit sits beside
the test bed, not on it. `make rehearse` (runner/rehearse.py) starts one and plays both runs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, NamedTuple, Protocol

from runner.agent.local_agent import agent_environment, parse_command, run_task

from . import runtime
from .errors import TemplateError
from .expander import Expander
from .schema import as_text

REPOSITORY = Path(__file__).resolve().parents[2]
ONE_APP = REPOSITORY / "templates" / "stages" / "deploy-test-swap.yml"
APP, GROUP = "contoso-web", "rg-swap-demo"
_HOOKS = ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic")


class RehearsalGround(Protocol):
    """What the rehearsal needs of the local emulator (runner.emulator.process.Emulator)."""

    info: dict[str, Any]

    def deploy(self, app: str, slot: str, version: str, health: str = ...) -> None: ...

    def slot_url(self, app: str, slot: str) -> str: ...

    def serving(self, app: str, slot: str) -> str: ...


class Release(NamedTuple):
    """What the Deploy stage's stand-in puts in the staging slot."""

    version: str
    health: str


class JobRun(NamedTuple):
    result: str  # Succeeded, Failed or Skipped, as the service names them
    outputs: dict[str, str]


class Player:
    """Plays an expanded pipeline against the emulator; ``say`` shows what happens."""

    def __init__(self, emulator: RehearsalGround, work: Path, say: Callable[[str], None]) -> None:
        self.emulator = emulator
        self.work = work
        self.say = say

    def play(self, pipeline: Mapping[str, Any], release: Release) -> dict[str, str]:
        """Runs every stage; returns each stage's result."""
        results: dict[str, str] = {}
        jobs: dict[str, dict[str, JobRun]] = {}
        previous: list[str] = []
        for stage in pipeline["stages"]:
            name = str(stage["stage"])
            depends_on = stage.get("dependsOn", previous[-1:])
            depends_on = [depends_on] if isinstance(depends_on, str) else list(depends_on)
            previous.append(name)
            if any(results.get(dependency) != "Succeeded" for dependency in depends_on):
                results[name], jobs[name] = "Skipped", {}
                self.say(f"Stage {name}: skipped (a stage it depends on did not succeed)")
                continue
            self.say(f"Stage {name}")
            context = {"stageDependencies": _as_dependencies(jobs)}
            jobs[name] = {_job_name(job): self._job(job, context, release) for job in stage["jobs"]}
            failed = any(run.result == "Failed" for run in jobs[name].values())
            results[name] = "Failed" if failed else "Succeeded"
            self.say(f"Stage {name}: {results[name]}")
        return results

    def _job(self, job: Mapping[str, Any], context: Mapping[str, Any], release: Release) -> JobRun:
        name = _job_name(job)
        variables = {
            str(key): runtime.resolve_variable(value, context)
            for key, value in (job.get("variables") or {}).items()
        }
        outputs: dict[str, str] = {}
        if "deployment" not in job:
            self.say(f"  {name}")
            failed = self._steps(job["steps"], variables, outputs, "", release)
            return JobRun("Failed" if failed else "Succeeded", outputs)
        run_once = job["strategy"]["runOnce"]
        failed = False
        for hook in _HOOKS:
            if hook in run_once and not failed:
                self.say(f"  {name} / {hook}")
                # Each hook is its own job: it starts from the job's variables only.
                hook_variables = dict(variables)
                failed = self._steps(
                    run_once[hook]["steps"], hook_variables, outputs, f"{name}.", release
                )
        finishing = (run_once.get("on") or {}).get("failure" if failed else "success")
        if finishing:
            self.say(f"  {name} / on.{'failure' if failed else 'success'}")
            self._steps(finishing["steps"], dict(variables), outputs, f"{name}.", release, failed)
        return JobRun("Failed" if failed else "Succeeded", outputs)

    def _steps(
        self,
        steps: list[Mapping[str, Any]],
        variables: dict[str, str],
        outputs: dict[str, str],
        prefix: str,
        release: Release,
        failed: bool = False,
    ) -> bool:
        """Runs steps in order; returns whether the job has failed."""
        for step in steps:
            if "download" in step or "checkout" in step:
                continue
            title = str(step.get("displayName") or step.get("name") or "step")
            if not runtime.condition_holds(step.get("condition"), failed, variables):
                self.say(f"    - {title}: skipped (condition)")
                continue
            ok, step_outputs = self._step(step, variables, release)
            self.say(f"    - {title}: {'succeeded' if ok else 'FAILED'}")
            for variable, value in step_outputs.items():
                key = f"{step.get('name', '')}.{variable}"
                variables[key] = value
                outputs[prefix + key] = value
            failed = failed or not ok
        return failed

    def _step(
        self, step: Mapping[str, Any], variables: Mapping[str, str], release: Release
    ) -> tuple[bool, dict[str, str]]:
        if step.get("task") == "AzureWebApp@1":
            inputs = step["inputs"]
            app, slot = str(inputs["appName"]), str(inputs["slotName"])
            self.emulator.deploy(app, slot, release.version, release.health)
            self.say(f"      deployed {release.version} ({release.health}) to {app}/{slot}")
            return True, {"AppServiceApplicationUrl": self.emulator.slot_url(app, slot)}
        if str(step.get("task", "")).startswith("SwapSlots@"):
            return self._swap(step, variables)
        if "bash" in step:
            return self._bash(step, variables)
        raise TemplateError(f"the rehearsal cannot play this step: {dict(step)}")

    def _swap(
        self, step: Mapping[str, Any], variables: Mapping[str, str]
    ) -> tuple[bool, dict[str, str]]:
        inputs = {
            str(key): runtime.expand_macros(str(as_text(value)), variables)
            for key, value in step["inputs"].items()
        }
        agent = self.work / "agent"
        env = agent_environment(self.emulator.info, inputs, agent)
        log = run_task(env, agent)
        for message in log.errors:
            self.say(f"      error: {message}")
        self.say(f"      SwapSlots: {log.results[-1] if log.results else 'no result'}")
        return log.exit_code == 0, log.outputs

    def _bash(
        self, step: Mapping[str, Any], variables: Mapping[str, str]
    ) -> tuple[bool, dict[str, str]]:
        env = dict(os.environ)
        env.update(
            {
                str(key): runtime.expand_macros(str(as_text(value)), variables)
                for key, value in (step.get("env") or {}).items()
            }
        )
        env["CURL_CA_BUNDLE"] = str(self.emulator.info["ca_cert"])
        script = runtime.expand_macros(str(step["bash"]), variables)
        done = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, check=False
        )
        outputs: dict[str, str] = {}
        for line in done.stdout.splitlines():
            command = parse_command(line)
            if command is None:
                self.say(f"      {line}")
            elif command.name == "task.setvariable":
                outputs[command.properties["variable"]] = command.data
            elif command.name == "task.logissue":
                self.say(f"      {command.properties.get('type', 'issue')}: {command.data}")
        return done.returncode == 0, outputs


def _job_name(job: Mapping[str, Any]) -> str:
    return str(job.get("deployment") or job.get("job"))


def _as_dependencies(jobs: Mapping[str, Mapping[str, JobRun]]) -> dict[str, Any]:
    return {
        stage: {name: {"result": run.result, "outputs": run.outputs} for name, run in runs.items()}
        for stage, runs in jobs.items()
    }


def one_app_pipeline(emulator: RehearsalGround) -> dict[str, Any]:
    """The one-app template expanded for the emulator's app, with quick probes."""
    parameters = {
        "serviceConnection": emulator.info["service_connection_id"],
        "appName": APP,
        "resourceGroupName": GROUP,
        "productionUrl": emulator.slot_url(APP, "production"),
        "probeAttempts": 3,
        "probeIntervalSeconds": 1,
        "probeShell": "bash",
    }
    body = Expander(REPOSITORY, {}).expand_template(ONE_APP, parameters)
    return {"stages": body["stages"]}


def rehearse(emulator: RehearsalGround, work: Path, say: Callable[[str], None]) -> bool:
    """Both runs on `emulator` (started with quick swaps); True when each ends as it should."""
    player = Player(emulator, work, say)
    pipeline = one_app_pipeline(emulator)
    say(f"Production serves {emulator.serving(APP, 'production')} before the first run")

    say("Run 1: a healthy v2")
    first = player.play(pipeline, Release("v2", "healthy"))
    after_first = emulator.serving(APP, "production")
    say(f"Verify: production serves {after_first}")

    say("Run 2: an unhealthy v3")
    second = player.play(pipeline, Release("v3", "unhealthy"))
    after_second = emulator.serving(APP, "production")
    say(
        f"Verify: production serves {after_second}; staging serves "
        f"{emulator.serving(APP, 'staging')}"
    )
    first_ok = set(first.values()) == {"Succeeded"} and after_first == "v2"
    second_ok = (
        second.get("Test") == "Failed" and second.get("Swap") == "Skipped" and after_second == "v2"
    )
    return first_ok and second_ok
