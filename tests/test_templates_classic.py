"""The classic-editor task group and diagrams agree with task.json and with the guide."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CLASSIC = REPO / "docs" / "classic-release"
BASH_TASK_ID = "6c731c3c-3c68-459a-a5c9-bde6e6595b5b"  # Bash@3


@pytest.fixture(scope="module")
def task_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "task.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def group() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CLASSIC / "swap-task-group.json").read_text("utf-8"))
    return loaded


def swap_tasks(group: dict[str, Any], task_json: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in group["tasks"] if t["task"]["id"] == task_json["id"]]


def test_the_task_group_uses_this_task_by_id_and_major_version(
    group: dict[str, Any], task_json: dict[str, Any]
) -> None:
    assert group["definitionType"] == "metaTask"
    swaps = swap_tasks(group, task_json)
    assert len(swaps) == 2  # the swap and the swap back
    for task in swaps:
        assert task["task"] == {
            "id": task_json["id"],
            "versionSpec": f"{task_json['version']['Major']}.*",
            "definitionType": "task",
        }


def test_swap_inputs_are_task_json_names_with_the_required_ones_set(
    group: dict[str, Any], task_json: dict[str, Any]
) -> None:
    names = {task_input["name"] for task_input in task_json["inputs"]}
    required = {
        task_input["name"]
        for task_input in task_json["inputs"]
        if task_input.get("required") and not task_input.get("defaultValue")
    }
    for task in swap_tasks(group, task_json):
        assert set(task["inputs"]) <= names
        assert all(task["inputs"].get(name) for name in required)


def test_every_parameter_is_declared_and_used(group: dict[str, Any]) -> None:
    declared = {parameter["name"] for parameter in group["inputs"]}
    text = json.dumps(group["tasks"])
    used = set(re.findall(r"\$\(([A-Za-z][A-Za-z0-9_]*)\)", text))
    assert used == declared


def test_scripts_hold_no_dollar_parentheses_the_editor_would_take_for_parameters(
    group: dict[str, Any],
) -> None:
    for task in group["tasks"]:
        if task["task"]["id"] == BASH_TASK_ID:
            assert "$(" not in task["inputs"]["script"]


def test_the_swap_back_runs_only_after_a_failure_with_production_still_unhealthy(
    group: dict[str, Any], task_json: dict[str, Any]
) -> None:
    swap, swap_back = swap_tasks(group, task_json)
    assert swap["condition"] == "succeeded()"
    assert swap_back["inputs"] == swap["inputs"]
    assert swap_back["condition"] == (
        "and(failed(), eq(variables['SwapSlots.ProductionHealthy'], 'false'))"
    )
    recheck = group["tasks"][group["tasks"].index(swap_back) - 1]
    assert recheck["condition"] == "failed()"
    assert recheck["environment"]["PROBE_REQUIRED"] == "false"
    assert "variable=SwapSlots.ProductionHealthy]false" in recheck["inputs"]["script"]


def test_the_diagrams_are_the_ones_the_script_draws() -> None:
    spec = importlib.util.spec_from_file_location("diagrams", CLASSIC / "diagrams.py")
    assert spec is not None and spec.loader is not None
    diagrams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diagrams)
    assert (CLASSIC / "release-pipeline.svg").read_text("utf-8") == diagrams.release_pipeline()
    assert (CLASSIC / "swap-stage.svg").read_text("utf-8") == diagrams.swap_stage()


def test_the_guide_shows_the_diagrams_and_links_the_task_group() -> None:
    guide = (CLASSIC / "README.md").read_text(encoding="utf-8")
    for name in ("release-pipeline.svg", "swap-stage.svg", "swap-task-group.json"):
        assert f"({name})" in guide
