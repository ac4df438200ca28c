"""Scenarios: `swap-slots validate` asks Azure DevOps (the emulated organization) to expand a
pipeline, or expands and checks it here without an organization; errors name file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests.devops import REPO, init_args, swap_slots, swap_slots_offline, validate_args

EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
PIPELINE = "contoso-web-deploy-test-swap"


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def misspelt_parameter(folder: Path) -> tuple[Path, int]:
    """examples/one-app.yml with `appName` misspelt, and the line of the template's parameters."""
    text = (REPO / "examples" / "one-app.yml").read_text(encoding="utf-8")
    broken = text.replace("    appName: contoso-web", "    appNmae: contoso-web")
    path = folder / "azure-pipelines.yml"
    path.write_text(broken, encoding="utf-8")
    after_template = broken.splitlines()[line_of(broken, "deploy-test-swap.yml@swapslots") :]
    return path, line_of(broken, "deploy-test-swap.yml@swapslots") + 1 + next(
        n for n, line in enumerate(after_template) if line.strip() == "parameters:"
    )


@pytest.fixture
def pipeline(emulator: Emulator, tmp_path: Path) -> Emulator:
    """The emulated project with the pipeline `init` creates."""
    created = swap_slots(emulator, tmp_path, *init_args(emulator, "--repository", "emulator-repo"))
    assert created.returncode == 0, created.stderr
    return emulator


# -- offline: the project's expander and checks -------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_offline_every_shipped_example_is_valid(example: Path, tmp_path: Path) -> None:
    shutil.copy(example, tmp_path / "azure-pipelines.yml")
    result = swap_slots_offline(tmp_path, "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid: azure-pipelines.yml expands into" in result.stdout


def test_offline_a_misspelt_parameter_is_reported_at_its_file_and_line(tmp_path: Path) -> None:
    path, line = misspelt_parameter(tmp_path)
    result = swap_slots_offline(tmp_path, "validate", "--yaml-path", path.name)
    assert result.returncode == 1
    assert f"azure-pipelines.yml (Line: {line}, Col: 3): unexpected parameter 'appNmae'" in (
        result.stdout
    )


def test_offline_a_broken_template_is_reported_at_its_own_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "checks.yml").write_text(
        "parameters:\n- name: url\n  type: string\nsteps:\n"
        "- script: curl ${{ reverse(parameters.url) }}\n",
        encoding="utf-8",
    )
    (tmp_path / "azure-pipelines.yml").write_text(
        "steps:\n- template: templates/checks.yml\n  parameters:\n    url: https://example.org\n",
        encoding="utf-8",
    )
    result = swap_slots_offline(tmp_path, "validate")
    assert result.returncode == 1
    assert "templates/checks.yml (Line: 5, Col: 3): " in result.stdout
    assert "unknown function reverse()" in result.stdout


def test_offline_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "azure-pipelines.yml").write_text(
        "stages:\n- stage: Build\n  jobs: [\n", encoding="utf-8"
    )
    result = swap_slots_offline(tmp_path, "validate")
    assert result.returncode == 1
    assert "azure-pipelines.yml (Line: 4, Col: 1): " in result.stdout


def test_offline_a_missing_file_could_not_be_validated(tmp_path: Path) -> None:
    result = swap_slots_offline(tmp_path, "validate", "--yaml-path", "nothing-here.yml")
    assert result.returncode == 2
    assert "nothing-here.yml: cannot read the file" in result.stderr


# -- against Azure DevOps: the Pipelines preview --------------------------------------------------


def test_the_service_expands_every_shipped_example(pipeline: Emulator, tmp_path: Path) -> None:
    for example in EXAMPLES:
        result = swap_slots(pipeline, tmp_path, *validate_args(pipeline, PIPELINE, "--yaml-path",
                                                               str(example)))  # fmt: skip
        assert result.returncode == 0, f"{example.name}: {result.stdout}{result.stderr}"
        assert "Valid: Azure DevOps expanded pipeline" in result.stdout
        assert "stage(s) and" in result.stdout


def test_the_service_reports_a_broken_pipeline_with_file_and_line(
    pipeline: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    path, line = misspelt_parameter(tmp_path / "work")
    result = swap_slots(
        pipeline, tmp_path, *validate_args(pipeline, PIPELINE, "--yaml-path", str(path))
    )
    assert result.returncode == 1, result.stderr
    assert (
        f"/azure-pipelines.yml (Line: {line}, Col: 3): unexpected parameter 'appNmae'"
        in result.stdout
    )


def test_the_service_expands_the_file_in_the_repository_without_an_override(
    pipeline: Emulator, tmp_path: Path
) -> None:
    written = (tmp_path / "azure-pipelines.yml").read_text(encoding="utf-8")
    pipeline.control("PUT", "devops/files", {"path": "azure-pipelines.yml", "content": written})
    result = swap_slots(pipeline, tmp_path, *validate_args(pipeline, PIPELINE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "into 4 stage(s) and 4 job(s)" in result.stdout


@pytest.mark.parametrize(
    ("pipeline_name", "pat", "message"),
    [
        ("no-such-pipeline", "", "There is no pipeline named 'no-such-pipeline'"),
        (PIPELINE, "not-the-token", "did not accept the personal access token"),
    ],
)
def test_when_the_service_cannot_be_asked_the_exit_code_is_2(
    pipeline: Emulator, tmp_path: Path, pipeline_name: str, pat: str, message: str
) -> None:
    result = swap_slots(pipeline, tmp_path, *validate_args(pipeline, pipeline_name), pat=pat)
    assert result.returncode == 2
    assert message in result.stderr
