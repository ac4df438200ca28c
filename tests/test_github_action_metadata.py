"""action.yml and the example workflows are what GitHub accepts, and the action offers every
capability of the task with the task's defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.github.environment import ACTION_INPUTS, SIGN_IN_INPUTS
from tests.github_runner import action_inputs

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / "examples" / "github").glob("*.yml"))
# Task inputs the action spells differently: one `target-slot` stands for both.
NOT_ACTION_INPUTS = {"ConnectedServiceName", "SwapWithProduction", "pythonInterpreter"}


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_action_yml_validates_against_githubs_action_metadata_schema() -> None:
    checked = check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_example_workflows_validate_against_githubs_workflow_schema(path: Path) -> None:
    checked = check_jsonschema("vendor.github-workflows", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_schema_check_really_fails_a_wrong_workflow(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yml"
    wrong.write_text("on: push\njobs:\n  swap:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    assert check_jsonschema("vendor.github-workflows", wrong).returncode != 0


def test_every_task_input_is_an_action_input_with_the_same_default() -> None:
    task = json.loads((REPO / "task.json").read_text("utf-8"))
    inputs = action_inputs()
    for task_input in task["inputs"]:
        name = task_input["name"]
        if name in NOT_ACTION_INPUTS:
            continue
        spelled = ACTION_INPUTS[name]
        assert spelled in inputs, spelled
        if name in ("Action", "TargetSlot"):
            continue  # swap / production: the action's own spelling of the task's defaults
        assert str(inputs[spelled].get("default", "")) == task_input.get("defaultValue", ""), name
        assert bool(inputs[spelled].get("required")) == (name in ("WebAppName", "SourceSlot"))
    assert set(inputs) == set(ACTION_INPUTS.values()) | set(SIGN_IN_INPUTS)


def test_the_action_runs_its_step_with_each_input_as_the_runner_names_it() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
    steps = action["runs"]["steps"]
    swap = next(step for step in steps if step.get("id") == "swap")
    assert swap["run"] == 'exec "$PYTHON" -m runner.github.action'
    for name in action["inputs"]:
        assert swap["env"]["INPUT_" + name.upper()] == f"${{{{ inputs.{name} }}}}"
    for output in ("swap-outcome", "production-url", "source-slot-url"):
        assert action["outputs"][output]["value"] == f"${{{{ steps.swap.outputs.{output} }}}}"


def test_the_action_installs_what_the_task_bundles() -> None:
    import tomllib  # Python 3.11 or later, as the .vsix build

    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    wanted = project["tool"]["swap-slots"]["task-dependencies"]
    lines = (REPO / "action-requirements.txt").read_text("utf-8").splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == wanted
