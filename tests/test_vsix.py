"""The built extension: what is in it, and the task run from it as the agent runs it.

The .vsix is built once per test session (tools/build_vsix.py, tfx from package-lock.json) and
run with node and a Python that has nothing but its standard library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from importlib.util import cache_from_source
from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests import vsix_harness as harness
from tests.agent import read_until
from tests.agent_releases import AGENTS, AgentRelease, TaskRefused
from tests.conftest import StartEmulator, agent_node
from tests.connect_proxy import ConnectProxy

ROOT = Path(__file__).resolve().parent.parent
BUDGET_BYTES = 20 * 1000 * 1000
APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}

_missing = harness.missing_tools()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="session")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harness.stdlib_python(tmp_path_factory.mktemp("python") / "venv")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def project_version() -> str:
    match = re.search(
        r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert match
    return match.group(1)


def test_the_vsix_fits_the_size_budget(vsix: Path) -> None:
    assert vsix.stat().st_size <= BUDGET_BYTES, f"{vsix.stat().st_size / 1e6:.1f} MB"


def test_the_vsix_holds_the_task_and_nothing_only_tests_need(vsix: Path) -> None:
    names = zipfile.ZipFile(vsix).namelist()
    assert "SwapSlots/task.json" in names and "SwapSlots/launcher/index.js" in names
    assert "SwapSlots/launcher/bundles.js" in names
    assert "SwapSlots/python/runner/__main__.py" in names
    assert "SwapSlots/python/lib/index.json" in names
    assert not [n for n in names if "/runner/emulator" in n or n.endswith("demo.py")]
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    # The task talks to ARM through azure-mgmt-core; azure-mgmt-web is the tests' reference only.
    assert not [n for n in names if "/azure/mgmt/web/" in n or "/yaml/" in n]


def test_the_vsix_ships_the_results_tab_for_this_task_only(vsix: Path) -> None:
    package = zipfile.ZipFile(vsix)
    names = package.namelist()
    assert {"tab/tab.html", "tab/tab.js", "tab/report.css"} <= set(names)
    assert package.getinfo("tab/tab.js").file_size < 300_000  # "a few hundred KB is plenty"
    script = package.read("tab/tab.js").decode("utf-8")
    assert "swap-slots-report" in script and "\n" not in script.strip()  # one minified bundle
    assert not re.findall(r"https?://[^\"']*(?:cdn|unpkg|jsdelivr)", script)
    overview = (ROOT / "overview.md").read_text(encoding="utf-8")
    for picture in re.findall(r"\]\((images/[\w.-]+)\)", overview):
        assert picture in names
    manifest = json.loads(package.read("extension.vsomanifest"))
    task_id = json.loads((ROOT / "task.json").read_text(encoding="utf-8"))["id"]
    tabs = {c["id"]: c for c in manifest["contributions"] if c["properties"].get("uri")}
    assert tabs["swap-slots-build-tab"]["targets"] == ["ms.vss-build-web.build-results-view"]
    assert tabs["swap-slots-release-tab"]["targets"] == [
        "ms.vss-releaseManagement-web.release-environment-editor-tab"
    ]
    for tab in tabs.values():
        assert tab["properties"]["uri"] == "tab/tab.html"
        assert tab["properties"]["supportsTasks"] == [task_id]


def test_task_and_extension_carry_the_project_version(
    vsix: Path, task: harness.InstalledTask
) -> None:
    version = project_version()
    assert "{Major}.{Minor}.{Patch}".format(**task.manifest["version"]) == version
    vsixmanifest = zipfile.ZipFile(vsix).read("extension.vsixmanifest").decode("utf-8")
    assert f'Version="{version}"' in vsixmanifest


LOCAL_PYTHONS = [f"3.{minor}" for minor in range(9, 15)]

IMPORT_PROBE = """
import sys
import azure.identity, azure.mgmt.core, cryptography.x509, msal, requests
from cryptography.hazmat.primitives.asymmetric import rsa
rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the compiled part works
for module in (azure.identity, azure.mgmt.core, cryptography.x509, msal, requests):
    print("from", module.__file__)
print("python", sys.version_info[0], sys.version_info[1])
"""


def local_python(version: str) -> str | None:
    """`pythonX.Y` on PATH, or one that pyenv installed (its shims work only when selected)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        shutil.which(f"python{version}"),
        *(str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"))),
    ]
    for found in filter(None, candidates):
        works = subprocess.run([found, "-c", "pass"], capture_output=True, check=False)
        if works.returncode == 0:
            return found
    return None


@pytest.mark.parametrize("version", LOCAL_PYTHONS)
def test_the_bundled_packages_work_on_each_python(
    version: str, task: harness.InstalledTask, tmp_path: Path, work: Path
) -> None:
    base = local_python(version)
    if base is None:
        pytest.skip(f"no Python {version} on this machine")
    copy = tmp_path / "task"
    shutil.copytree(task.task_dir, copy, copy_function=os.link)
    main = copy / "python" / "runner" / "__main__.py"
    main.unlink()  # a hard link into the unpacked extension: replace, don't overwrite
    main.write_text(IMPORT_PROBE, encoding="utf-8")
    python = harness.stdlib_python(tmp_path / "venv", base) / "python"
    env = {**harness.bare_environment(work, []), "INPUT_PYTHONINTERPRETER": str(python)}
    probe_task = harness.InstalledTask(copy, task.manifest)

    log = harness.run(probe_task, env, work)

    assert log.exit_code == 0, log.text
    assert "Installing" not in log.stdout
    assert f"python {version.replace('.', ' ')}" in log.stdout
    modules = [
        line.split(" ", 1)[1] for line in log.stdout.splitlines() if line.startswith("from ")
    ]
    assert len(modules) == 5 and all(Path(m).is_relative_to(copy) for m in modules), modules


def test_no_python_on_the_agent_fails_with_what_to_do(
    task: harness.InstalledTask, tmp_path: Path, work: Path
) -> None:
    env = harness.bare_environment(work, [])
    env["PATH"] = str(tmp_path)
    log = harness.run(task, env, work)
    assert log.exit_code == 1 and log.result == "Failed"
    assert "UsePythonVersion@0" in log.errors[0]


def test_bad_input_fails_before_any_change(
    task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    env = harness.bare_environment(work, [python_bin])
    env.update(harness.input_variables(task.manifest, {"azureSubscription": "abc"}))
    log = harness.run(task, env, work)
    assert log.exit_code != 0 and log.result == "Failed", log.text
    assert "WebAppName" in log.errors[0]
    assert log.outputs["SwapOutcome"] == "NotStarted"


# Scenarios against the local App Service emulator (HTTPS, its own process).


@pytest.mark.parametrize("scheme", ["secret", "certificate", "oidc", "msi"])
def test_swap_with_production_succeeds_with_each_auth_scheme(
    scheme: str,
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    python_bin: Path,
    work: Path,
) -> None:
    emulator = start_emulator("--swap-seconds", "0.5")
    emulator.deploy(APP, "staging", "v2")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin], scheme)

    log = harness.run(task, env, work)

    assert log.exit_code == 0 and log.result == "Succeeded", log.text
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"


def test_a_client_secret_swap_loads_no_module_only_other_paths_need(
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    python_bin: Path,
    work: Path,
) -> None:
    # The build moves these imports into the functions that use them (tools/deferred_imports.py):
    # certificates, HTTP/2 and async pipelines are not on a client secret's path.
    emulator = start_emulator("--swap-seconds", "0.3")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin])
    env["PYTHONPROFILEIMPORTTIME"] = "1"  # Python lists each import on stderr

    log = harness.run(task, env, work)

    assert log.exit_code == 0 and log.outputs["SwapOutcome"] == "Swapped", log.text
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in log.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert {"azure.identity", "azure.mgmt.core", "urllib3.http2"} <= imported
    assert not {"cryptography", "asyncio", "importlib.metadata"} & imported


def test_behind_the_agents_proxy_trusting_only_agent_cainfo_every_call_goes_through_it(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin], "oidc")
    del env["REQUESTS_CA_BUNDLE"]  # the emulator's CA reaches the task only as Agent.CAInfo
    with ConnectProxy("build-agent", "pr0xy;p@ss") as proxy:
        env.update(
            AGENT_CAINFO=emulator.ca_cert,
            AGENT_PROXYURL=proxy.url,
            AGENT_PROXYUSERNAME=proxy.username,
            SECRET_AGENT_PROXYPASSWORD=proxy.password,
        )
        started = time.time()

        log = harness.run(task, env, work)

    calls = [c for c in emulator.requests(since=started) if not c["path"].startswith("/_emulator/")]
    assert log.exit_code == 0 and log.result == "Succeeded", log.text
    assert {c["server"] for c in calls} >= {"main", f"{APP}/production", f"{APP}/staging"}
    assert all(c["client_port"] in proxy.opened_ports for c in calls), calls
    assert emulator.serving(APP, "production") == "v2"


@pytest.mark.parametrize("version", LOCAL_PYTHONS)
def test_a_swap_runs_on_each_python_the_agent_may_have(
    version: str,
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    tmp_path: Path,
    work: Path,
) -> None:
    base = local_python(version)
    if base is None:
        pytest.skip(f"no Python {version} on this machine")
    python = harness.stdlib_python(tmp_path / "venv", base)
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python])

    log = harness.run(task, env, work)

    assert f"Using Python {version}." in log.stdout, log.text
    assert log.exit_code == 0 and log.result == "Succeeded", log.text
    assert emulator.serving(APP, "production") == "v2"


# Each agent release picks its own handler, and so its own Node, for the same task.json.
EXPECTED_HANDLER_AND_NODE = {
    "2.144.0": ("Node10", "10"),
    "2.217.1": ("Node16", "16"),
    "5.278.0": ("Node24", "20"),  # the Node24 handler, run with node20_1 while the knob is off
    "5.278.0 with the Node 24 knob": ("Node24", "24"),
}


@pytest.mark.parametrize("agent", AGENTS, ids=lambda agent: agent.label)
def test_each_agent_release_runs_the_task_with_its_node_and_swaps(
    agent: AgentRelease,
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    python_bin: Path,
    work: Path,
) -> None:
    handler, _target, node_version = agent.pick(task.manifest)
    assert (handler, node_version.split(".")[0]) == EXPECTED_HANDLER_AND_NODE[agent.label]
    agent_node(node_version)  # fetched once into build/node/, else skipped (failed in CI)
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin], debug=True)

    log = harness.run(task, env, work, agent=agent)

    assert f"##[debug]Node v{node_version.split('.')[0]}." in log.stdout, log.text
    assert log.exit_code == 0 and log.result == "Succeeded", log.text
    assert emulator.serving(APP, "production") == "v2"


def test_an_agent_older_than_the_minimum_refuses_the_task(task: harness.InstalledTask) -> None:
    agent_2_143 = AgentRelease("2.143.0", ("Node",), {"Node": "6.10.3"})  # Node 6 only
    with pytest.raises(TaskRefused, match=r"needs agent 2\.144\.0"):
        agent_2_143.pick(task.manifest)


def test_an_agent_runs_only_handlers_it_knows(task: harness.InstalledTask) -> None:
    (agent_2_217,) = [agent for agent in AGENTS if agent.version == "2.217.1"]
    node24_only = {**task.manifest, "execution": {"Node24": task.manifest["execution"]["Node24"]}}
    with pytest.raises(TaskRefused, match="knows none"):
        agent_2_217.pick(node24_only)


def swaps(emulator: Emulator) -> list[object]:
    return [
        r
        for r in emulator.requests()
        if r["method"] == "POST" and str(r["path"]).lower().endswith("/slotsswap")
    ]


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cancel_mid_swap_as_the_agent_does_stops_before_sigterm(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "30")
    emulator.deploy(APP, "staging", "v2")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin])
    process = harness.start(task, env, work)
    deadline = time.monotonic() + 30
    while not swaps(emulator):
        assert time.monotonic() < deadline and process.poll() is None, "the swap never started"
        time.sleep(0.05)

    # The agent: SIGINT to node, SIGTERM 7.5 s later, kill 2.5 s after that.
    process.send_signal(signal.SIGINT)
    canceled = time.monotonic()
    try:
        stdout, stderr = process.communicate(timeout=7.5)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=2.5)
        pytest.fail(f"still running 7.5 s after SIGINT:\n{stdout}{stderr}")
    stopped_after = time.monotonic() - canceled

    log = harness.AgentLog(stdout, stderr, process.returncode)
    assert log.result == "Canceled", log.text
    assert "'production' serves version v1" in log.errors[0]
    assert len(swaps(emulator)) == 1
    assert stopped_after < 7.5


# The health gate, verification with its swap back, and swap with preview, from the .vsix.
CHECKS = {"HealthCheckPath": "/health", "HealthCheckTimeoutInMinutes": "0.05", "HealthyAfter": "1"}


def test_the_gate_stops_a_broken_build_before_any_swap_request(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--health-check-path", "/health")
    emulator.deploy(APP, "staging", "v2", health="unhealthy")
    env = harness.emulator_environment(task, emulator.info, {**SWAP, **CHECKS}, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert "The health gate stopped the swap" in log.errors[0]
    assert "Unhealthy: the app fails." in log.errors[0]
    assert swaps(emulator) == [] and emulator.operations() == []


def test_a_build_broken_only_in_production_is_swapped_back(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--health-check-path", "/health")
    emulator.deploy(APP, "staging", "v2", health="needs-setting:SLOT_NAME=staging")
    inputs = {**SWAP, **CHECKS, "ExpectedVersion": "v2"}
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "RolledBack"
    assert "failed verification" in log.errors[-1]
    assert "'production' serves version v1" in log.errors[-1]
    assert emulator.serving(APP, "production") == "v1"
    assert len(emulator.operations()) == 2


def test_three_apps_all_or_nothing_one_swap_fails_and_the_others_are_swapped_back(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    apps = ("web-weu", "web-eus", "web-sea")
    seeded = [arg for app in apps for arg in ("--app", f"{app}:staging")]
    emulator = start_emulator("--swap-seconds", "0.3", "--health-check-path", "/health", *seeded)
    for app in apps:
        emulator.deploy(app, "staging", "v2")
    emulator.add_fault("swap-fails", app=apps[1])
    inputs = {
        "WebAppName": apps[0],
        "SourceSlot": "staging",
        "AdditionalWebApps": f"{apps[1]}\n{GROUP}/{apps[2]}",
        **CHECKS,
        "ExpectedVersion": "v2",
    }
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "RolledBack"
    final = log.errors[-1]
    assert f"the swap of '{apps[1]}' did not happen as asked (Failed)" in final
    for app in apps:
        assert f"'{app}' " in final and emulator.serving(app, "production") == "v1"
    succeeded = [op["app"] for op in emulator.operations() if op["outcome"] == "Succeeded"]
    assert sorted(succeeded) == sorted([apps[0], apps[0], apps[2], apps[2]])


def test_swap_with_preview_start_cancel_start_complete(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")

    logs = []
    for action in ("Start Swap With Preview", "Cancel Swap", "Start Swap With Preview"):
        inputs = {**SWAP, "Action": action}
        env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])
        logs.append(harness.run(task, env, work))
    assert emulator.serving(APP, "production") == "v1"
    env = harness.emulator_environment(
        task, emulator.info, {**SWAP, "Action": "Complete Swap"}, work, [python_bin]
    )
    logs.append(harness.run(task, env, work))

    assert [log.outputs["SwapOutcome"] for log in logs] == [
        "PreviewStarted",
        "PreviewCanceled",
        "PreviewStarted",
        "Swapped",
    ], logs[-1].text
    changed = [
        str(r["path"]).split("/sites/")[1]
        for r in emulator.requests()
        if r["method"] == "POST" and str(r["path"]).endswith(("SlotConfig", "slotsswap"))
    ]
    assert changed == [
        f"{APP}/slots/staging/applySlotConfig",
        f"{APP}/slots/staging/resetSlotConfig",
        f"{APP}/slots/staging/applySlotConfig",
        f"{APP}/slotsswap",
    ]
    assert emulator.serving(APP, "production") == "v2"


def test_the_wrong_version_in_the_slot_stops_the_swap(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    inputs = {**SWAP, "ExpectedVersion": "v3", "HealthCheckTimeoutInMinutes": "0.03"}
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert "(expected v3)" in log.stdout
    assert swaps(emulator) == []


def start_release_to_swap_back(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> tuple[Emulator, subprocess.Popen[str]]:
    """Starts a release of a build that fails in production; returns once the swap is sent."""
    emulator = start_emulator("--swap-seconds", "0.3", "--health-check-path", "/health")
    emulator.deploy(APP, "staging", "v2", health="needs-setting:SLOT_NAME=staging")
    env = harness.emulator_environment(task, emulator.info, {**SWAP, **CHECKS}, work, [python_bin])
    process = harness.start(task, env, work)
    deadline = time.monotonic() + 30
    while not emulator.operations():
        assert time.monotonic() < deadline and process.poll() is None, "the swap never started"
        time.sleep(0.05)
    return emulator, process


@pytest.mark.parametrize("kind", ["throttle", "drop"])
def test_the_swap_back_survives_throttling_and_a_dropped_connection(
    kind: str,
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    python_bin: Path,
    work: Path,
) -> None:
    emulator, process = start_release_to_swap_back(start_emulator, task, python_bin, work)
    emulator.add_fault(kind, method="POST", path="slotsswap")

    stdout, stderr = process.communicate(timeout=60)

    log = harness.AgentLog(stdout, stderr, process.returncode)
    assert log.outputs["SwapOutcome"] == "RolledBack", log.text
    assert len(emulator.operations()) == 2
    assert emulator.serving(APP, "production") == "v1"


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_sigint_during_the_swap_back_says_where_the_app_stands(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator, process = start_release_to_swap_back(start_emulator, task, python_bin, work)
    emulator.add_fault("slow-swap", seconds=30)
    deadline = time.monotonic() + 30
    while len(emulator.operations()) < 2:
        assert time.monotonic() < deadline and process.poll() is None, "no swap back"
        time.sleep(0.05)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=7.5)

    log = harness.AgentLog(stdout, stderr, process.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "RollbackUnfinished"
    assert "The swap back was still running in Azure" in log.errors[-1]
    assert "'production' serves version v2" in log.errors[-1]
    assert len(emulator.operations()) == 2


FIND_SOURCES = """
import importlib.util, sys
for name in open(sys.argv[1], encoding="utf-8").read().split():
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # one only its importer can find (an alias)
        continue
    if spec and spec.origin and spec.origin.endswith(".py"):
        print(spec.origin)
"""


def test_the_precompiler_writes_bytecode_the_task_then_uses(
    task: harness.InstalledTask, python_bin: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "task"
    shutil.copytree(task.task_dir, copy, copy_function=os.link)
    python_dir = copy / "python"
    index = json.loads((python_dir / "lib" / "index.json").read_text(encoding="utf-8"))
    minor = ".".join(map(str, sys.version_info[:2]))
    folders = [index["common"], *index["platforms"]["linux_x86_64"]["pythons"][minor]]
    path = os.pathsep.join([str(python_dir), *(str(python_dir / "lib" / f) for f in folders)])
    env = {"PYTHONPATH": path, "PATH": os.environ["PATH"]}
    listing = str(python_dir / "startup-modules.txt")
    python = str(python_bin / "python")

    for stripe in (0, 1):  # what two spare cores would do
        subprocess.run(
            [python, "-S", "-m", "runner.precompile", listing, str(stripe), "2"],
            env=env,
            check=True,
        )

    found = subprocess.run(
        [python, "-S", "-c", FIND_SOURCES, listing],
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(found) > 200  # azure-identity, azure-core, requests, the runner...
    bytecode = {Path(cache_from_source(source)) for source in found}
    missing = [str(p) for p in bytecode if not p.exists()]
    assert not missing, missing
    written = {p: p.stat().st_mtime_ns for p in bytecode}
    subprocess.run([python, "-S", "-c", "import runner.agent.run"], env=env, check=True)
    # Python rewrites bytecode it does not accept: the task took these as its own.
    assert {p: p.stat().st_mtime_ns for p in bytecode} == written


# The canary, from the .vsix: short steps, compressed metrics minutes, user traffic.
CANARY = {
    **CHECKS,
    "TrafficSteps": "10,50",
    "TrafficStepMinutes": "0.04",
    "MinRequests": "5",
}


def canary_emulator(start_emulator: StartEmulator, health: str) -> Emulator:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25")
    emulator.deploy(APP, "staging", "v2", health=health)
    emulator.control("POST", "traffic", {"app": APP, "rate": 150, "seconds": 30})
    return emulator


def routing_rules(emulator: Emulator) -> list[object]:
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def wait_for_rule(emulator: Emulator, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not routing_rules(emulator):
        assert time.monotonic() < deadline and process.poll() is None, "no rule was set"
        time.sleep(0.05)


def summary_rows(work: Path) -> list[str]:
    """The canary's rows of the run summary the task uploaded."""
    summary = "".join(p.read_text(encoding="utf-8") for p in work.rglob("swap-slots-*.md"))
    return [row for row in summary.splitlines() if "% to `staging`" in row]


@pytest.mark.parametrize("health", ["healthy", "flaky:20"])
def test_a_canary_lets_a_good_version_through_and_stops_a_flaky_one_despite_throttling(
    start_emulator: StartEmulator,
    task: harness.InstalledTask,
    python_bin: Path,
    work: Path,
    health: str,
) -> None:
    emulator = canary_emulator(start_emulator, health)
    env = harness.emulator_environment(task, emulator.info, {**SWAP, **CANARY}, work, [python_bin])
    process = harness.start(task, env, work)
    if health != "healthy":
        wait_for_rule(emulator, process)
        # Azure throttles the PATCH that removes the rule after the failed step: retried.
        emulator.add_fault("throttle", count=2, method="PATCH", path="/config/web$")

    stdout, stderr = process.communicate(timeout=60)

    log = harness.AgentLog(stdout, stderr, process.returncode)
    if health == "healthy":
        assert log.outputs["SwapOutcome"] == "Swapped", log.text
        assert "Canary passed at 10 %, 50 %." in log.stdout
        assert emulator.serving(APP, "production") == "v2"
    else:
        assert log.outputs["SwapOutcome"] == "CanaryFailed", log.text
        assert "The canary stopped the swap: the step at 10 % failed (" in log.errors[-1]
        assert "5xx on 'staging' more than 1 point above production's" in log.errors[-1]
        assert "Routing rule removed" in log.stdout
        patches = [r["status"] for r in emulator.requests() if r["method"] == "PATCH"]
        assert patches[-3:] == [429, 429, 200], patches
        assert emulator.serving(APP, "production") == "v1" and swaps(emulator) == []
    assert routing_rules(emulator) == []


def test_a_rule_left_by_an_earlier_run_is_cleared_and_too_little_traffic_stops_the_canary(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25")
    emulator.deploy(APP, "staging", "v2")  # and no user traffic at all
    host = emulator.host_name(APP, "staging")
    rule = {"name": "staging", "actionHostName": host, "reroutePercentage": 30}
    emulator.control(
        "POST",
        "config",
        {"app": APP, "slot": "production", "properties": {"experiments": {"rampUpRules": [rule]}}},
    )
    inputs = {**SWAP, **CANARY, "MinRequests": "50", "InsufficientTraffic": "fail"}
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])

    log = harness.run(task, env, work)

    assert "still routes 30 % of its traffic to 'staging'" in log.warnings[0], log.text
    assert log.outputs["SwapOutcome"] == "CanaryFailed", log.text
    assert "too little traffic to judge the step at 10 %" in log.errors[-1]
    assert routing_rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1" and swaps(emulator) == []


def test_too_little_traffic_goes_on_and_a_bake_that_degrades_production_swaps_back(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25")
    emulator.deploy(APP, "staging", "v2")  # no user traffic: the canary has too little
    inputs = {
        **SWAP,
        **CANARY,
        "TrafficSteps": "10",
        "TrafficStepMinutes": "0.02",
        "MinRequests": "50",
        "InsufficientTraffic": "continue",
        "BakeMinutes": "0.1",
    }
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])
    process = harness.start(task, env, work)
    seen = read_until(process, "Baking:")  # swapped and verified: the bake begins
    # Now in production, the new version starts failing half of its requests.
    emulator.deploy(APP, "production", "v2", health="flaky:50")

    rest, stderr = process.communicate(timeout=60)

    log = harness.AgentLog(seen + rest, stderr, process.returncode)
    assert log.outputs["SwapOutcome"] == "RolledBack", log.text
    assert "going on (InsufficientTraffic: continue)" in log.stdout
    assert "Canary passed at 10 %." in log.stdout
    assert "'production' degraded during the bake (5xx on production more" in log.errors[-1]
    assert "The previous version is live again" in log.errors[-1]
    assert emulator.serving(APP, "production") == "v1"
    assert [op["outcome"] for op in emulator.operations()] == ["Succeeded", "Succeeded"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cancel_during_a_canary_step_removes_the_rule_before_exit(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = canary_emulator(start_emulator, "healthy")
    inputs = {**SWAP, **CANARY, "TrafficStepMinutes": "1"}
    env = harness.emulator_environment(task, emulator.info, inputs, work, [python_bin])
    process = harness.start(task, env, work)
    wait_for_rule(emulator, process)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=7.5)

    log = harness.AgentLog(stdout, stderr, process.returncode)
    assert log.result == "Canceled", log.text
    assert "Routing rule removed" in log.stdout
    assert routing_rules(emulator) == [] and swaps(emulator) == []
    (row,) = summary_rows(work)
    assert row.startswith("| 10 % to `staging` |") and row.endswith(" | canceled |"), row
