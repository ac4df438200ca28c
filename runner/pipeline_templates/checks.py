"""Checks the service makes when a run starts, made here on an expanded pipeline.

Unique stage, job and step names; ``dependsOn`` naming stages and jobs that exist; no ``${{ }}``
left over; task inputs the task knows, with the required ones present; and every
``dependencies``/``stageDependencies`` reference pointing at a stage, job and step that exist and
are depended on, so that an output variable is not silently empty at run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .schema import TaskInputs

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGE_OUTPUT = re.compile(
    r"stageDependencies\.(?P<stage>\w+)\.(?P<job>\w+)\.(?:outputs\[\s*'(?P<key>[^']*)'\s*\]|result)"
)
_JOB_OUTPUT = re.compile(
    r"(?<![A-Za-z])dependencies\.(?P<job>\w+)\.(?:outputs\[\s*'(?P<key>[^']*)'\s*\]|result)"
)
_HOOKS = ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic")


class Job(NamedTuple):
    name: str
    body: Mapping[str, Any]
    is_deployment: bool

    def steps(self) -> list[Mapping[str, Any]]:
        if not self.is_deployment:
            return [step for step in self.body.get("steps", []) or [] if isinstance(step, Mapping)]
        found: list[Mapping[str, Any]] = []
        for strategy in (self.body.get("strategy") or {}).values():
            hooks = [strategy.get(hook) for hook in _HOOKS]
            on = strategy.get("on") or {}
            hooks += [on.get("failure"), on.get("success")]
            for hook in hooks:
                if isinstance(hook, Mapping):
                    found += [
                        step for step in hook.get("steps", []) or [] if isinstance(step, Mapping)
                    ]
        return found

    def step_names(self) -> set[str]:
        return {str(step["name"]) for step in self.steps() if "name" in step}


class Stage(NamedTuple):
    name: str
    body: Mapping[str, Any]
    depends_on: tuple[str, ...]

    def jobs(self) -> list[Job]:
        jobs = []
        for entry in self.body.get("jobs", []) or []:
            if isinstance(entry, Mapping):
                is_deployment = "deployment" in entry
                name = str(entry.get("deployment") if is_deployment else entry.get("job", ""))
                jobs.append(Job(name, entry, is_deployment))
        return jobs


def _names(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return (str(value),)


def stages_of(pipeline: Mapping[str, Any]) -> list[Stage]:
    """The stages, each with the stages it depends on (by default, the one before it)."""
    stages: list[Stage] = []
    for entry in pipeline.get("stages", []) or []:
        if not isinstance(entry, Mapping):
            continue
        if "dependsOn" in entry:
            depends_on = _names(entry["dependsOn"])
        else:
            depends_on = (stages[-1].name,) if stages else ()
        stages.append(Stage(str(entry.get("stage", "")), entry, depends_on))
    return stages


def _strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(key, where)
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(node, str):
        yield where, node


def leftover_expressions(pipeline: Any) -> list[str]:
    return [f"{where}: unexpanded {text!r}" for where, text in _strings(pipeline) if "${{" in text]


def _name_problems(stages: list[Stage]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for stage in stages:
        if not _NAME.match(stage.name):
            problems.append(f"stage {stage.name!r}: not a valid name (letters, digits, _)")
        if stage.name in seen:
            problems.append(f"stage {stage.name!r}: defined twice")
        seen.add(stage.name)
    names = {stage.name for stage in stages}
    for stage in stages:
        problems += [
            f"stage {stage.name!r}: dependsOn unknown stage {dependency!r}"
            for dependency in stage.depends_on
            if dependency not in names
        ]
        jobs = stage.jobs()
        job_names = [job.name for job in jobs]
        for job in jobs:
            where = f"stage {stage.name!r}, job {job.name!r}"
            if not _NAME.match(job.name):
                problems.append(f"{where}: not a valid name (letters, digits, _)")
            if job_names.count(job.name) > 1:
                problems.append(f"{where}: defined twice in the stage")
            problems += [
                f"{where}: dependsOn unknown job {dependency!r}"
                for dependency in _names(job.body.get("dependsOn"))
                if dependency not in job_names
            ]
            step_names = [str(step["name"]) for step in job.steps() if "name" in step]
            problems += [
                f"{where}: step name {name!r} used twice"
                for name in sorted(set(step_names))
                if step_names.count(name) > 1
            ]
            if job.is_deployment and not job.body.get("environment"):
                problems.append(f"{where}: a deployment job needs an environment")
    return problems


def _input_problems(stages: list[Stage], catalog: Mapping[str, TaskInputs]) -> list[str]:
    problems: list[str] = []
    for stage in stages:
        for job in stage.jobs():
            for step in job.steps():
                if "task" not in step:
                    continue
                reference = str(step["task"])
                where = f"stage {stage.name!r}, job {job.name!r}, task {reference}"
                known = catalog.get(reference.lower())
                if known is None:
                    problems.append(f"{where}: unknown task")
                    continue
                given = {str(name).lower() for name in (step.get("inputs") or {})}
                problems += [
                    f"{where}: unknown input {name!r}" for name in sorted(given - known.names)
                ]
                problems += [
                    f"{where}: required input {sorted(group)[0]!r} missing"
                    for group in known.required
                    if not group & given
                ]
    return problems


def _reference_problems(
    stages: list[Stage], task_outputs: Mapping[str, frozenset[str]]
) -> list[str]:
    by_name = {stage.name: stage for stage in stages}
    problems: list[str] = []
    for stage in stages:
        jobs = {job.name: job for job in stage.jobs()}
        for where, text in _strings(stage.body, f"stage {stage.name}"):
            for match in _STAGE_OUTPUT.finditer(text):
                source = by_name.get(match["stage"])
                if source is None or match["stage"] not in stage.depends_on:
                    problems.append(f"{where}: {match[0]}: stage not depended on or unknown")
                    continue
                job = {j.name: j for j in source.jobs()}.get(match["job"])
                problems += _output_problems(where, match, job, task_outputs)
            for match in _JOB_OUTPUT.finditer(text):
                if match["job"] in by_name and ".result" in match[0]:
                    if match["job"] not in stage.depends_on:
                        problems.append(f"{where}: {match[0]}: stage not depended on")
                    continue
                problems += _output_problems(where, match, jobs.get(match["job"]), task_outputs)
    return problems


def _output_problems(
    where: str, match: re.Match[str], job: Job | None, task_outputs: Mapping[str, frozenset[str]]
) -> list[str]:
    if job is None:
        return [f"{where}: {match[0]}: no such job"]
    key = match["key"]
    if key is None:
        return []
    parts = key.split(".")
    if job.is_deployment:
        if len(parts) != 3 or parts[0] != job.name:
            return [f"{where}: {match[0]}: a runOnce job's outputs are '<job>.<step>.<variable>'"]
        parts = parts[1:]
    if len(parts) != 2:
        return [f"{where}: {match[0]}: expected '<step>.<variable>'"]
    step_name, variable = parts
    steps = [step for step in job.steps() if step.get("name") == step_name]
    if not steps:
        return [f"{where}: {match[0]}: job {job.name!r} has no step named {step_name!r}"]
    step = steps[0]
    outputs = task_outputs.get(str(step.get("task", "")).lower())
    if outputs is not None and variable not in outputs:
        return [f"{where}: {match[0]}: {step['task']} has no output {variable!r}"]
    script = next((str(step[k]) for k in ("bash", "pwsh", "script", "powershell") if k in step), "")
    if script and f"variable={variable};isOutput=true" not in script:
        return [f"{where}: {match[0]}: step {step_name!r} never sets output {variable!r}"]
    return []


def pipeline_problems(
    pipeline: Mapping[str, Any],
    catalog: Mapping[str, TaskInputs],
    task_outputs: Mapping[str, frozenset[str]],
) -> list[str]:
    """Everything wrong with an expanded pipeline that the schema cannot see."""
    stages = stages_of(pipeline)
    return (
        leftover_expressions(pipeline)
        + _name_problems(stages)
        + _input_problems(stages, catalog)
        + _reference_problems(stages, task_outputs)
    )
