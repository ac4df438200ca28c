"""Scenarios: the action behind the runner's proxy (HTTPS_PROXY, NO_PROXY, as a self-hosted
runner passes them on to its jobs) and with its CA bundle (REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runner.emulator.process import Emulator
from tests.conftest import mutating_calls
from tests.connect_proxy import ConnectProxy
from tests.github_runner import action_environment, assert_nothing_leaked, run_step

APP = "contoso-web"
SWAP = {"app-name": APP, "slot": "staging"}
PROXY_USER, PROXY_PASSWORD = "runner", "pr0xy:p@ss%word"


def with_credentials(proxy: ConnectProxy, password: str) -> str:
    host = proxy.url.split("://", 1)[1]
    return f"http://{quote(PROXY_USER, safe='')}:{quote(password, safe='')}@{host}"


def calls_during(emulator: Emulator, started: float) -> list[dict[str, Any]]:
    return [
        call
        for call in emulator.requests(since=started)
        if not str(call["path"]).startswith("/_emulator/")
    ]


def test_every_call_goes_through_the_runners_proxy_and_its_password_is_masked(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    with ConnectProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        env = action_environment(emulator.info, SWAP, tmp_path, debug=True)
        env["HTTPS_PROXY"] = with_credentials(proxy, PROXY_PASSWORD)
        started = time.time()

        step = run_step(env)

    calls = calls_during(emulator, started)
    assert step.succeeded, step.text
    assert {"main", f"{APP}/production", f"{APP}/staging"} <= {c["server"] for c in calls}
    assert [c for c in calls if c["path"].endswith("/idtoken")]
    assert [c for c in calls if c["client_port"] not in proxy.opened_ports] == []
    assert f"Proxy: {proxy.url} as '{PROXY_USER}'" in step.stdout
    assert_nothing_leaked(step, [PROXY_PASSWORD, quote(PROXY_PASSWORD, safe="")])


def test_no_proxy_sends_those_hosts_around_the_proxy(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")
    with ConnectProxy() as proxy:
        env = action_environment(emulator.info, SWAP, tmp_path)
        env.update(HTTPS_PROXY=proxy.url, NO_PROXY="example.com,127.0.0.1")

        step = run_step(env)

    assert step.succeeded, step.text
    assert proxy.tunnels == []


def test_a_proxy_refusing_the_credentials_is_named_with_the_setting_to_fix(
    emulator: Emulator, tmp_path: Path
) -> None:
    with ConnectProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        env = action_environment(emulator.info, SWAP, tmp_path)
        env["HTTPS_PROXY"] = with_credentials(proxy, "wrong-password")

        step = run_step(env)

    assert step.exit_code == 1
    (error,) = step.errors
    assert f"The runner's proxy {proxy.url}" in error and "407" in error, step.text
    assert "Check the user name and password in HTTPS_PROXY" in error
    assert "Nothing was changed in Azure" in error
    assert mutating_calls(emulator) == []
    assert_nothing_leaked(step, ["wrong-password"])


def test_an_untrusted_certificate_names_requests_ca_bundle(
    emulator: Emulator, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(Path(emulator.info["client_certificate"]).read_text("utf-8"), "utf-8")
    env = action_environment(emulator.info, SWAP, tmp_path)
    env["REQUESTS_CA_BUNDLE"] = str(other_ca)

    step = run_step(env)

    assert step.exit_code == 1
    (error,) = step.errors
    assert "is not trusted" in error and f"REQUESTS_CA_BUNDLE is '{other_ca}'" in error, error
    assert "Set REQUESTS_CA_BUNDLE to a PEM bundle" in error
    assert mutating_calls(emulator) == []
