"""The pipeline checks catch the mistakes the schema cannot see: each scenario breaks one thing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from runner.pipeline_templates import checks, schema

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def knowledge() -> tuple[dict[str, schema.TaskInputs], dict[str, frozenset[str]]]:
    manifest = schema.read_task_manifest(REPO / "task.json")
    catalog = schema.task_catalog(schema.pipeline_schema([manifest]))
    return catalog, schema.task_outputs([manifest])


def swap_step(**inputs: str) -> dict[str, Any]:
    given = {"azureSubscription": "arm", "WebAppName": "web", "SourceSlot": "staging"}
    return {"task": "SwapSlots@1", "name": "swap", "inputs": {**given, **inputs}}


def good_pipeline() -> dict[str, Any]:
    return {
        "stages": [
            {
                "stage": "Swap",
                "jobs": [
                    {
                        "deployment": "Swap_web",
                        "environment": "production",
                        "strategy": {"runOnce": {"deploy": {"steps": [swap_step()]}}},
                    }
                ],
            },
            {
                "stage": "Report",
                "jobs": [
                    {
                        "job": "Report",
                        "variables": {
                            "outcome": "$[ stageDependencies.Swap.Swap_web.outputs"
                            "['Swap_web.swap.SwapOutcome'] ]"
                        },
                        "steps": [{"bash": "echo $(outcome)"}],
                    }
                ],
            },
        ]
    }


def problems(pipeline: dict[str, Any], knowledge: Any) -> list[str]:
    return checks.pipeline_problems(pipeline, *knowledge)


def test_a_good_pipeline_has_no_problems(knowledge: Any) -> None:
    assert problems(good_pipeline(), knowledge) == []


def edit(path: str, value: Any) -> dict[str, Any]:
    pipeline = copy.deepcopy(good_pipeline())
    *parents, last = path.split("/")
    node: Any = pipeline
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return pipeline


SWAP_STEPS = "stages/0/jobs/0/strategy/runOnce/deploy/steps/0"
REPORT_VARIABLE = "stages/1/jobs/0/variables/outcome"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("stages/1/stage", "Swap", "stage 'Swap': defined twice"),
        ("stages/1/stage", "Report-2", "not a valid name"),
        ("stages/1/dependsOn", "Build", "dependsOn unknown stage 'Build'"),
        ("stages/0/jobs/0/dependsOn", "Nothing", "dependsOn unknown job 'Nothing'"),
        ("stages/0/jobs/0/environment", "", "a deployment job needs an environment"),
        (SWAP_STEPS, swap_step(sourceslot="x", Bogus="1"), "unknown input 'bogus'"),
        (SWAP_STEPS, {"task": "SwapSlots@1", "inputs": {"WebAppName": "w"}}, "required input"),
        (SWAP_STEPS, {"task": "SwapSlots@9", "inputs": {}}, "unknown task"),
        (SWAP_STEPS, {"script": "echo ${{ parameters.x }}"}, "unexpanded"),
        (
            REPORT_VARIABLE,
            "$[ stageDependencies.Swap.Swap_web.outputs['swap.SwapOutcome'] ]",
            "a runOnce job's outputs are '<job>.<step>.<variable>'",
        ),
        (
            REPORT_VARIABLE,
            "$[ stageDependencies.Swap.Swap_web.outputs['Swap_web.swapper.SwapOutcome'] ]",
            "has no step named 'swapper'",
        ),
        (
            REPORT_VARIABLE,
            "$[ stageDependencies.Swap.Swap_web.outputs['Swap_web.swap.Outcome'] ]",
            "SwapSlots@1 has no output 'Outcome'",
        ),
        (
            REPORT_VARIABLE,
            "$[ stageDependencies.Swap.Swap_app.outputs['Swap_app.swap.SwapOutcome'] ]",
            "no such job",
        ),
        (
            REPORT_VARIABLE,
            "$[ stageDependencies.Deploy.D.outputs['D.s.v'] ]",
            "stage not depended on or unknown",
        ),
    ],
)
def test_each_mistake_is_reported(path: str, value: Any, expected: str, knowledge: Any) -> None:
    found = problems(edit(path, value), knowledge)
    assert any(expected in problem for problem in found), found


def test_input_names_match_ignoring_case_as_the_service_does(knowledge: Any) -> None:
    step = swap_step()
    step["inputs"] = {"AZURESUBSCRIPTION": "arm", "webappname": "web", "sourceSlot": "staging"}
    assert problems(edit(SWAP_STEPS, step), knowledge) == []


def test_a_script_output_must_be_set_by_the_script(knowledge: Any) -> None:
    pipeline = good_pipeline()
    pipeline["stages"][0]["jobs"].append(
        {"job": "Probe", "steps": [{"bash": "echo hi", "name": "probe"}]}
    )
    pipeline["stages"][0]["jobs"].append(
        {
            "job": "After",
            "dependsOn": "Probe",
            "condition": "eq(dependencies.Probe.outputs['probe.healthy'], 'true')",
            "steps": [{"bash": "echo"}],
        }
    )
    found = problems(pipeline, knowledge)
    assert any("never sets output 'healthy'" in problem for problem in found), found
    pipeline["stages"][0]["jobs"][1]["steps"][0]["bash"] = (
        'echo "##vso[task.setvariable variable=healthy;isOutput=true]true"'
    )
    assert problems(pipeline, knowledge) == []
