"""The Node launcher, run by node as the agent runs it, in front of a stand-in Python runner."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import sysconfig
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests import conftest
from tests import vsix_harness as harness
from tests.agent_releases import node_versions
from tests.connect_proxy import ConnectProxy
from tools import packed_bundle

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(harness.node() is None, reason="node is not on PATH")

# Stands in for `python -m runner`: reports what it was given, or waits for signals.
FAKE_RUNNER = """
import json, os, signal, sys, time

if os.environ.get("FAKE_MODE") == "signals":
    def on_signal(number, frame):
        print("runner got " + signal.Signals(number).name, flush=True)
        if number == signal.SIGTERM:
            sys.exit(3)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("runner ready", flush=True)
    while True:
        time.sleep(0.05)

print(json.dumps({
    "argv0": sys.argv[0],
    "executable": sys.executable,
    "no_site": sys.flags.no_site,
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items() if k.startswith(("INPUT_", "ENDPOINT_", "PYTHON"))},
    "path": sys.path,
}))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def make_task(
    destination: Path,
    bundled: bool = True,
    requirements: str = "",
    fake: str = FAKE_RUNNER,
    packed: bool = False,
) -> Path:
    """A task folder laid out like the built one, with the fake runner and an index that
    bundles packages for this machine's platform and Python (or for none), its own folder
    packed as the self-hosted platforms' are when `packed`."""
    (destination / "launcher").mkdir(parents=True)
    shutil.copyfile(ROOT / "task.json", destination / "task.json")
    for script in (ROOT / "launcher").glob("*.js"):
        shutil.copyfile(script, destination / "launcher" / script.name)
    runner = destination / "python" / "runner"
    runner.mkdir(parents=True)
    (runner / "__init__.py").write_text("", encoding="utf-8")
    (runner / "__main__.py").write_text(fake, encoding="utf-8")
    lib = destination / "python" / "lib"
    (lib / "common").mkdir(parents=True)
    (lib / "extra").mkdir()
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    platform = sysconfig.get_platform() if bundled else "no-such-platform"
    index = {
        "common": "common",
        "platforms": {"here": {"sysconfigPlatform": platform, "pythons": {minor: ["extra"]}}},
    }
    (lib / "extra" / "extra_probe.py").write_text("", encoding="utf-8")
    (lib / "index.json").write_text(json.dumps(index), encoding="utf-8")
    (destination / "python" / "requirements.txt").write_text(requirements, encoding="utf-8")
    if packed:
        shutil.copyfile(ROOT / "runner" / "unpack_packages.py", runner / "unpack_packages.py")
        packed_bundle.pack(lib, index, ["here"])
    return destination


# Every Node an agent runs the task with (Node10 .. Node24 handlers), from the npm registry.
AGENT_NODES = node_versions(json.loads((ROOT / "task.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module", params=AGENT_NODES, ids=lambda v: f"node{v.split('.')[0]}")
def agent_node(request: pytest.FixtureRequest) -> str:
    return conftest.agent_node(request.param)


@pytest.fixture(scope="module")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harness.stdlib_python(tmp_path_factory.mktemp("stdlib-python") / "venv")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def launch(
    task_dir: Path, env: Mapping[str, str], cwd: Path, node: str | None = None
) -> harness.AgentLog:
    node = node or harness.node()
    assert node
    done = subprocess.run(
        [node, str(task_dir / "launcher" / "index.js")],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return harness.AgentLog(done.stdout, done.stderr, done.returncode)


def report(log: harness.AgentLog) -> dict[str, object]:
    line = next(line for line in log.stdout.splitlines() if line.startswith("{"))
    value: dict[str, object] = json.loads(line)
    return value


def test_runs_the_runner_with_the_agents_environment(
    tmp_path: Path, work: Path, python_bin: Path, agent_node: str
) -> None:
    task = make_task(tmp_path / "task")
    env = harness.bare_environment(work, [python_bin])
    env.update(
        INPUT_WEBAPPNAME="contoso; web]",
        ENDPOINT_URL_ABC="https://arm.example/",
        PYTHONPATH="/somewhere/else",
    )
    log = launch(task, env, work, agent_node)
    assert log.exit_code == 0, log.text
    assert "Using Python" in log.stdout and "'python3' on PATH" in log.stdout
    seen = report(log)
    assert Path(str(seen["argv0"])) == task / "python" / "runner" / "__main__.py"
    assert seen["no_site"] == 1  # packages installed on the agent cannot shadow the bundled ones
    assert Path(str(seen["cwd"])) == work
    passed = seen["env"]
    assert isinstance(passed, dict)
    assert passed["INPUT_WEBAPPNAME"] == "contoso; web]"
    assert passed["ENDPOINT_URL_ABC"] == "https://arm.example/"
    assert passed["PYTHONUNBUFFERED"] == "1"
    assert passed["PYTHONPATH"].split(os.pathsep) == [
        str(task / "python"),
        str(task / "python" / "lib" / "extra"),
        str(task / "python" / "lib" / "common"),
    ]


def test_the_runners_exit_code_is_the_steps(tmp_path: Path, work: Path, python_bin: Path) -> None:
    task = make_task(tmp_path / "task")
    env = {**harness.bare_environment(work, [python_bin]), "FAKE_EXIT": "7"}
    assert launch(task, env, work).exit_code == 7


def test_no_python_fails_the_step_with_what_to_do(tmp_path: Path, work: Path) -> None:
    task = make_task(tmp_path / "task")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = harness.bare_environment(work, [empty])
    env["PATH"] = str(empty)
    log = launch(task, env, work)
    assert log.exit_code == 1
    assert log.result == "Failed"
    (error,) = log.errors
    assert "UsePythonVersion@0" in error and "pythonInterpreter" in error
    assert "python3: not found" in error


def test_a_python_that_is_too_old_is_passed_over(tmp_path: Path, work: Path) -> None:
    old = tmp_path / "old-bin"
    old.mkdir()
    script = old / "python3"
    probe = {
        "version": [3, 8, 18],
        "implementation": "cpython",
        "platform": "linux-x86_64",
        "libc": "",
        "executable": str(script),
    }
    script.write_text(f"#!/bin/sh\necho '{json.dumps(probe)}'\n", encoding="utf-8")
    script.chmod(0o755)
    task = make_task(tmp_path / "task")
    env = harness.bare_environment(work, [old])
    env["PATH"] = str(old)
    log = launch(task, env, work)
    assert log.result == "Failed"
    assert "python3: Python 3.8.18 is older than 3.9.2" in log.errors[0]


def test_an_unusable_interpreter_input_is_named_exactly(tmp_path: Path, work: Path) -> None:
    task = make_task(tmp_path / "task")
    odd = str(tmp_path / "no such;dir]%41" / "python")
    env = {**harness.bare_environment(work, []), "INPUT_PYTHONINTERPRETER": odd}
    log = launch(task, env, work)
    assert log.exit_code == 1 and log.result == "Failed"
    assert f"The pythonInterpreter input '{odd}' cannot be used: not found" in log.errors[0]
    assert "%AZP2541" in log.stdout  # `%` travels escaped, so the agent cannot misread %41


def test_a_python_in_a_folder_with_quotes_and_non_ascii_letters_is_used_as_it_is(
    tmp_path: Path, work: Path, agent_node: str
) -> None:
    """The probe writes its JSON line by hand: quotes, backslashes and letters outside ASCII in
    the interpreter's path must reach the launcher intact."""
    odd = tmp_path / (('Build "agent" \\ ' if os.name != "nt" else "") + "café ünïcode 😀")
    python_bin = harness.stdlib_python(odd / "venv")
    task = make_task(tmp_path / "task")
    log = launch(task, harness.bare_environment(work, [python_bin]), work, agent_node)
    assert log.exit_code == 0, log.text
    assert Path(str(report(log)["executable"])).parent == python_bin


def test_the_interpreter_input_wins_over_path(tmp_path: Path, work: Path, python_bin: Path) -> None:
    task = make_task(tmp_path / "task")
    chosen = python_bin / "python"
    env = {**harness.bare_environment(work, []), "INPUT_PYTHONINTERPRETER": f"  {chosen} "}
    log = launch(task, env, work)
    assert log.exit_code == 0, log.text
    assert "(pythonInterpreter input)" in log.stdout


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cancellation_signals_reach_python(
    tmp_path: Path, work: Path, python_bin: Path, agent_node: str
) -> None:
    task = make_task(tmp_path / "task")
    env = {**harness.bare_environment(work, [python_bin]), "FAKE_MODE": "signals"}
    process = subprocess.Popen(
        [agent_node, str(task / "launcher" / "index.js")],
        env=env,
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = read_until(process.stdout, "runner ready")
    process.send_signal(signal.SIGINT)  # what the agent sends first, to node only
    lines += read_until(process.stdout, "runner got SIGINT")
    process.send_signal(signal.SIGTERM)  # 7.5 s later on the agent
    rest, _ = process.communicate(timeout=10)
    output = "".join(lines) + rest
    assert "runner got SIGTERM" in output
    assert "Passing SIGINT on to the swap" in output and "Passing SIGTERM on" in output
    assert process.returncode == 3


def read_until(stream: Iterator[str], marker: str, timeout: float = 20) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in stream:
        lines.append(line)
        if marker in line or time.monotonic() > deadline:
            break
    assert marker in "".join(lines), "".join(lines)
    return lines


def make_wheel(destination: Path) -> Path:
    """A one-module wheel, so pip can install offline."""
    wheel = destination / "swapslots_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("swapslots_probe.py", "VALUE = 42\n")
        info = "swapslots_probe-1.0.dist-info"
        archive.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: swapslots-probe\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_other_platforms_install_the_packages_once_with_pip(
    tmp_path: Path, work: Path, agent_node: str
) -> None:
    wheel = make_wheel(tmp_path)
    task = make_task(tmp_path / "task", bundled=False, requirements=f"{wheel}\n")
    env = {
        **harness.bare_environment(work, []),
        "INPUT_PYTHONINTERPRETER": sys.executable,
        "PIP_NO_INDEX": "1",
    }
    first = launch(task, env, work, agent_node)
    assert first.exit_code == 0, first.text
    assert "Installing them once with pip" in first.stdout
    assert f"not for this agent ({sysconfig.get_platform()}" in first.stdout
    installed = [p for p in report(first)["path"] if "SwapSlotsTask" in str(p)]  # type: ignore[attr-defined]
    assert len(installed) == 1
    assert (Path(installed[0]) / "swapslots_probe.py").is_file()
    assert Path(installed[0]).is_relative_to(work / "_tool")

    second = launch(task, env, work, agent_node)
    assert second.exit_code == 0, second.text
    assert "Installing" not in second.stdout


def test_a_failed_install_fails_the_step_and_leaves_nothing_behind(
    tmp_path: Path, work: Path, agent_node: str
) -> None:
    task = make_task(tmp_path / "task", bundled=False, requirements="swapslots-not-there==1\n")
    env = {
        **harness.bare_environment(work, []),
        "INPUT_PYTHONINTERPRETER": sys.executable,
        "PIP_NO_INDEX": "1",
    }
    log = launch(task, env, work, agent_node)
    assert log.exit_code == 1 and log.result == "Failed", log.text
    assert "Installing the task's Python packages with pip failed" in log.errors[0]
    cache = work / "_tool" / "SwapSlotsTask"
    assert [p.name for p in cache.rglob("*") if p.is_dir() and p.parent != cache] == []


class WheelServer:
    """Serves one folder over HTTPS with the emulator's certificate for 127.0.0.1."""

    def __init__(self, folder: Path, certificates: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificates / "server-cert.pem", certificates / "server-key.pem")
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_the_install_goes_through_the_agents_proxy_and_trusts_its_ca(
    tmp_path: Path, work: Path, agent_node: str, emulator: Emulator, pki_dir: Path
) -> None:
    wheel = make_wheel(tmp_path)
    server = WheelServer(tmp_path, pki_dir)
    url = f"https://127.0.0.1:{server.port}/{wheel.name}"
    task = make_task(tmp_path / "task", bundled=False, requirements=f"{url}\n")
    env = {
        **harness.bare_environment(work, []),
        "INPUT_PYTHONINTERPRETER": sys.executable,
        "AGENT_PROXYUSERNAME": "build agent",
        "SECRET_AGENT_PROXYPASSWORD": "p@ss:word",
        "AGENT_CAINFO": str(pki_dir / "ca-cert.pem"),  # the only way to trust the server
    }
    try:
        with ConnectProxy("build agent", "p@ss:word") as proxy:
            env["AGENT_PROXYURL"] = proxy.url
            log = launch(task, env, work, agent_node)
            tunnels = proxy.tunnels
    finally:
        server.close()

    assert log.exit_code == 0, log.text
    assert "Installing them once with pip" in log.stdout
    assert [(t.target, t.status) for t in tunnels] == [(f"127.0.0.1:{server.port}", 200)]
    assert "p@ss:word" not in log.stdout + log.stderr


def test_a_packed_bundle_is_unpacked_into_the_task_on_the_first_run_only(
    tmp_path: Path, work: Path, python_bin: Path, agent_node: str
) -> None:
    task = make_task(tmp_path / "task", packed=True)
    extra = task / "python" / "lib" / "extra"
    assert not extra.exists()
    env = harness.bare_environment(work, [python_bin])

    first = launch(task, env, work, agent_node)
    second = launch(task, env, work, agent_node)

    assert first.exit_code == 0 and second.exit_code == 0, first.text + second.text
    assert "Unpacked this agent's Python packages (here) into the task folder in " in first.stdout
    assert "Unpacked" not in second.stdout
    assert (extra / "extra_probe.py").is_file()
    assert str(extra) in report(first)["path"]  # type: ignore[operator]
    assert str(extra) in report(second)["path"]  # type: ignore[operator]
    assert [p.name for p in extra.parent.iterdir() if p.name.startswith(".")] == []


def test_a_python_without_lzma_installs_with_pip_instead_and_says_why(
    tmp_path: Path, work: Path, agent_node: str
) -> None:
    wheel = make_wheel(tmp_path)
    task = make_task(tmp_path / "task", requirements=f"{wheel}\n", packed=True)
    # What a Python built without liblzma does on `import lzma`.
    (task / "python" / "_lzma.py").write_text(
        "raise ModuleNotFoundError(\"No module named '_lzma'\")\n", encoding="utf-8"
    )
    env = {
        **harness.bare_environment(work, []),
        "INPUT_PYTHONINTERPRETER": sys.executable,
        "PIP_NO_INDEX": "1",
    }

    log = launch(task, env, work, agent_node)

    assert log.exit_code == 0, log.text
    assert (
        "This task bundles its Python packages for this agent (here) packed, and this Python "
        "could not unpack them: this Python has no lzma module: built without liblzma"
    ) in log.stdout
    assert "Installing them once with pip into" in log.stdout
    installed = [p for p in report(log)["path"] if "SwapSlotsTask" in str(p)]  # type: ignore[attr-defined]
    assert (Path(installed[0]) / "swapslots_probe.py").is_file()
    assert not (task / "python" / "lib" / "extra").exists()
