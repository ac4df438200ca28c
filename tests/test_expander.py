"""The template expander does what Azure Pipelines does before a run: scenarios on small files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from runner.pipeline_templates.errors import TemplateError
from runner.pipeline_templates.expander import expand_pipeline, expand_template
from runner.pipeline_templates.expressions import evaluate, parse, render
from runner.pipeline_templates.yaml_text import dump_yaml, load_yaml


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def value(expression: str, **context: Any) -> Any:
    return evaluate(parse(expression), context)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    return tmp_path


# Expressions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("eq('Staging', 'staging')", True),  # strings compare ignoring case
        ("ne(parameters.n, 3)", False),
        ("eq(parameters.n, '3')", True),  # the right side converts to the left side's type
        ("eq(parameters.flag, 'true')", True),
        ("and(true, parameters.flag, not(false))", True),
        ("or(false, '')", False),
        ("coalesce('', null, 'x')", "x"),
        ("format('{0}-{1}', 'web', 2)", "web-2"),
        ("format('{{literal}} {0}', 'x')", "{literal} x"),
        ("join(',', parameters.list)", "a,b"),
        ("replace('contoso-web-eu', '-', '_')", "contoso_web_eu"),
        ("lower('ABC')", "abc"),
        ("upper('abc')", "ABC"),
        ("contains('Production', 'DUCT')", True),
        ("containsValue(parameters.list, 'B')", True),
        ("startsWith('staging-2', 'STAGING')", True),
        ("endsWith('app.zip', '.zip')", True),
        ("length(parameters.list)", 2),
        ("length(parameters.apps[0].name)", 3),
        ("gt(length(parameters.list), 1)", True),
        ("le(parameters.n, 2)", False),
        ("in('b', 'a', 'b')", True),
        ("notIn('c', 'a', 'b')", True),
        ("parameters.apps[0]['name']", "web"),
        ("parameters.apps[5]", None),
        ("parameters.missing", None),
        ("PARAMETERS.N", None),  # names are case-sensitive at the top, properties are not
        ("'it''s'", "it's"),
    ],
)
def test_expression_functions_follow_the_services_rules(expression: str, expected: Any) -> None:
    context = {
        "parameters": {"n": 3, "flag": True, "list": ["a", "b"], "apps": [{"name": "web"}]},
        "PARAMETERS": {},
    }
    assert value(expression, **context) == expected


def test_property_names_are_matched_ignoring_case() -> None:
    assert value("parameters.AppName", parameters={"appName": "web"}) == "web"


def test_embedded_expressions_become_text_and_whole_ones_keep_their_type() -> None:
    context = {"parameters": {"flag": True, "list": ["a"], "n": 10}}
    assert render("Swap_${{ parameters.n }}", context) == "Swap_10"
    assert render("on: ${{ parameters.flag }}", context) == "on: True"
    assert render("${{ parameters.list }}", context) == ["a"]
    assert render(" ${{ parameters.flag }} ", context) is True
    assert (
        render("$(stagingUrl) and $[ variables.x ]", context)
        == "$(stagingUrl) and $[ variables.x ]"
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("nosuch(1)", "unknown function"),
        ("eq(1)", "takes 2..2"),
        ("parameters.", "expected a property name"),
        ("'open", "unexpected character"),
        ("other.x", "unknown name 'other'"),
        ("format('{1}', 'a')", "no argument {1}"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        value(expression, parameters={})


# YAML as the service reads it ----------------------------------------------------------------


def test_scalars_stay_text_so_deployment_hooks_keep_their_on_key() -> None:
    document = load_yaml("on:\n  failure: true\nversion: 1.10\n", "test")
    assert document == {"on": {"failure": "true"}, "version": "1.10"}
    assert "'on':" in dump_yaml(document) or "on:" in dump_yaml(document)


def test_invalid_yaml_names_the_file() -> None:
    with pytest.raises(TemplateError, match=r"broken\.yml: not valid YAML"):
        load_yaml("a: b: c", "broken.yml")


# Parameters ----------------------------------------------------------------------------------


def test_parameters_take_defaults_and_convert_to_their_types(repo: Path) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: attempts
          type: number
          default: 10
        - name: rollback
          type: boolean
          default: true
        - name: name
          type: string
        steps:
        - script: echo ${{ parameters.name }} ${{ parameters.attempts }}
          ${{ if parameters.rollback }}:
            displayName: with rollback
        """,
    )
    body = expand_template(template, {"name": "web", "attempts": "3"})
    assert body["steps"] == [{"script": "echo web 3", "displayName": "with rollback"}]
    body = expand_template(template, {"name": "web", "rollback": "false"})
    assert body["steps"] == [{"script": "echo web 10"}]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "a value for the 'name' parameter must be provided"),
        ({"name": "x", "typo": 1}, "unexpected parameter 'typo'"),
        ({"name": "x", "shell": "cmd"}, "must be one of bash, pwsh"),
        ({"name": "x", "attempts": "many"}, "parameter 'attempts' \\(number\\)"),
        ({"name": "x", "flag": "yes"}, "expected true or false"),
        ({"name": ["a"]}, "not a list or mapping"),
        ({"name": "x", "steps": [{"nonsense": 1}]}, "expected a mapping with 'task'"),
        ({"name": "x", "steps": "text"}, "expected a list"),
    ],
)
def test_wrong_parameters_are_refused_with_the_services_reason(
    repo: Path, given: dict[str, Any], message: str
) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: name
        - name: attempts
          type: number
          default: 1
        - name: flag
          type: boolean
          default: false
        - name: shell
          default: bash
          values: [bash, pwsh]
        - name: steps
          type: stepList
          default: []
        steps: []
        """,
    )
    with pytest.raises(TemplateError, match=message):
        expand_template(template, given)


# Directives ----------------------------------------------------------------------------------


def test_if_elseif_else_choose_one_branch_in_sequences_and_mappings(repo: Path) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: shell
        steps:
        - ${{ if eq(parameters.shell, 'bash') }}:
          - bash: echo bash
        - ${{ elseif eq(parameters.shell, 'pwsh') }}:
          - pwsh: echo pwsh
        - ${{ else }}:
          - script: echo other
        - script: always
          ${{ if eq(parameters.shell, 'bash') }}:
            displayName: bash
          ${{ else }}:
            displayName: not bash
        """,
    )
    assert expand_template(template, {"shell": "pwsh"})["steps"] == [
        {"pwsh": "echo pwsh"},
        {"script": "always", "displayName": "not bash"},
    ]
    assert expand_template(template, {"shell": "cmd"})["steps"][0] == {"script": "echo other"}
    assert expand_template(template, {"shell": "bash"})["steps"][1]["displayName"] == "bash"


def test_each_repeats_over_lists_and_mappings(repo: Path) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: apps
          type: object
        - name: tags
          type: object
        jobs:
        - ${{ each app in parameters.apps }}:
          - job: Deploy_${{ replace(app.name, '-', '_') }}
            variables:
              ${{ each tag in parameters.tags }}:
                ${{ tag.key }}: ${{ tag.value }}
        """,
    )
    body = expand_template(
        template, {"apps": [{"name": "web-eu"}, {"name": "web-us"}], "tags": {"a": "1", "b": "2"}}
    )
    assert body["jobs"] == [
        {"job": "Deploy_web_eu", "variables": {"a": "1", "b": "2"}},
        {"job": "Deploy_web_us", "variables": {"a": "1", "b": "2"}},
    ]


def test_a_steplist_parameter_is_spliced_into_the_steps(repo: Path) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: before
          type: stepList
          default: []
        - name: after
          type: stepList
          default: []
        steps:
        - ${{ each step in parameters.before }}:
          - ${{ step }}
        - script: middle
        - ${{ parameters.after }}
        """,
    )
    body = expand_template(
        template, {"before": [{"script": "one"}], "after": [{"bash": "two"}, {"pwsh": "three"}]}
    )
    assert [next(iter(step.values())) for step in body["steps"]] == [
        "one",
        "middle",
        "two",
        "three",
    ]


def test_insert_merges_a_mapping(repo: Path) -> None:
    template = write(
        repo,
        "t.yml",
        """
        parameters:
        - name: extra
          type: object
          default: {}
        steps:
        - script: x
          ${{ insert }}: ${{ parameters.extra }}
        """,
    )
    body = expand_template(template, {"extra": {"displayName": "X", "timeoutInMinutes": "5"}})
    assert body["steps"] == [{"script": "x", "displayName": "X", "timeoutInMinutes": "5"}]


def test_else_without_if_and_duplicate_keys_are_errors(repo: Path) -> None:
    orphan = write(repo, "a.yml", "steps:\n- ${{ else }}:\n  - script: x\n")
    with pytest.raises(TemplateError, match="'else' without a preceding 'if'"):
        expand_template(orphan)
    twice = write(
        repo,
        "b.yml",
        """
        steps:
        - script: x
          displayName: a
          ${{ if true }}:
            displayName: b
        """,
    )
    with pytest.raises(TemplateError, match="'displayName' is already defined"):
        expand_template(twice)


def test_compile_time_variables_are_visible_in_the_same_scope_and_templates(repo: Path) -> None:
    write(repo, "steps.yml", "steps:\n- script: echo ${{ variables.app }}\n")
    pipeline = write(
        repo,
        "azure-pipelines.yml",
        """
        variables:
          app: contoso-web
        stages:
        - stage: A
          variables:
          - name: slot
            value: staging
          jobs:
          - job: J
            displayName: ${{ variables.app }} ${{ variables.slot }}
            steps:
            - template: steps.yml
        """,
    )
    stage = expand_pipeline(pipeline)["stages"][0]
    assert stage["jobs"][0]["displayName"] == "contoso-web staging"
    assert stage["jobs"][0]["steps"] == [{"script": "echo contoso-web"}]


# Template references -------------------------------------------------------------------------


def test_templates_resolve_relative_to_the_including_file_and_take_parameters(repo: Path) -> None:
    write(
        repo,
        "templates/steps/hello.yml",
        """
        parameters:
        - name: who
        steps:
        - script: echo hello ${{ parameters.who }}
        """,
    )
    write(
        repo,
        "templates/jobs/greet.yml",
        """
        parameters:
        - name: people
          type: object
        jobs:
        - job: Greet
          steps:
          - ${{ each person in parameters.people }}:
            - template: ../steps/hello.yml
              parameters:
                who: ${{ person }}
        """,
    )
    pipeline = write(
        repo,
        "azure-pipelines.yml",
        """
        parameters:
        - name: people
          type: object
          default: [ada, alan]
        jobs:
        - template: templates/jobs/greet.yml
          parameters:
            people: ${{ parameters.people }}
        """,
    )
    jobs = expand_pipeline(pipeline)["jobs"]
    assert jobs[0]["steps"] == [{"script": "echo hello ada"}, {"script": "echo hello alan"}]
    assert "parameters" not in expand_pipeline(pipeline)


def test_a_repository_alias_points_at_its_checkout(repo: Path, tmp_path_factory: Any) -> None:
    shared = Path(tmp_path_factory.mktemp("shared"))
    write(shared, "templates/s.yml", "stages:\n- stage: FromShared\n  jobs: []\n")
    write(repo, "templates/local.yml", "stages:\n- stage: Local\n  jobs: []\n")
    pipeline = write(
        repo,
        "pipelines/azure-pipelines.yml",
        """
        resources:
          repositories:
          - repository: shared
            type: git
            name: Tooling/shared
        stages:
        - template: templates/s.yml@shared
        - template: /templates/local.yml
        - template: templates/local.yml@self
        """,
    )
    stages = expand_pipeline(pipeline, {"shared": shared})["stages"]
    assert [stage["stage"] for stage in stages] == ["FromShared", "Local", "Local"]


def test_an_undeclared_alias_or_missing_file_is_an_error(repo: Path) -> None:
    undeclared = write(repo, "a.yml", "stages:\n- template: t.yml@elsewhere\n")
    with pytest.raises(TemplateError, match=r"not declared under resources\.repositories"):
        expand_pipeline(undeclared, {"elsewhere": repo})
    missing = write(repo, "b.yml", "stages:\n- template: nowhere.yml\n")
    with pytest.raises(TemplateError, match="cannot read the file"):
        expand_pipeline(missing)


def test_a_template_that_includes_itself_stops(repo: Path) -> None:
    loop = write(repo, "loop.yml", "steps:\n- template: loop.yml\n")
    with pytest.raises(TemplateError, match="nested more than"):
        expand_template(loop)


def test_errors_name_the_file_and_the_place(repo: Path) -> None:
    broken = write(repo, "t.yml", "steps:\n- script: ${{ nosuch() }}\n")
    with pytest.raises(TemplateError, match=r"t\.yml: \.steps\[0\]\.script: unknown function"):
        expand_template(broken)
