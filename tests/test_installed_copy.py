"""A new user's path, from an installed copy: `pip install .` into a fresh virtual environment,
`swap-slots emulator`, then `swap-slots validate --organization ...` against it (and a swap
that writes its report page, whose renderer is package data). The emulator's
pipeline preview needs the stage templates, task.json and the schema packages; an installed copy
must have them all (they used to be found only in a checkout: the preview dropped the connection
and validate said "Remote end closed connection without response")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The environment as the run began: other tests point REQUESTS_CA_BUNDLE at an emulator's CA,
# and pip would then trust nothing else.
ENVIRON_AT_START = dict(os.environ)


def test_validate_works_against_an_emulator_installed_with_pip(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    installed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        env=ENVIRON_AT_START,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    work = tmp_path / "work"  # away from the checkout: only the installed copy is found
    work.mkdir()
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    emulator = subprocess.Popen(
        [str(bin_dir / "swap-slots"), "emulator", "--port", "0", "--data-dir", str(work / "emu")],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        info = json.loads(emulator.stdout.readline())
        env.update(
            REQUESTS_CA_BUNDLE=info["ca_cert"],
            AZURE_DEVOPS_EXT_PAT=info["devops_token"],
            AZURE_DEVOPS_CACHE_DIR=str(work / ".azure-devops-cache"),
        )
        where = ["--organization", info["devops_url"], "--project", info["devops_project"]]

        def swap_slots(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(bin_dir / "swap-slots"), *args],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        created = swap_slots(
            "init", *where, "--service-connection", "emulator-connection-secret",
            "--app", "contoso-web", "--resource-group", "rg-swap-demo",
            "--repository", "emulator-repo",
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr

        # The YAML init wrote here, sent as the override: its stages are the shipped templates.
        validated = swap_slots(
            "validate", *where, "--pipeline", "contoso-web-deploy-test-swap",
            "--yaml-path", "azure-pipelines.yml",
        )  # fmt: skip

        shown = validated.stdout + validated.stderr
        assert validated.returncode == 0, shown
        assert "Remote end closed" not in shown
        assert "Valid: Azure DevOps expanded pipeline contoso-web-deploy-test-swap" in shown

        # The report page's renderer and style are package data too.
        env.update(
            AZURE_TENANT_ID=info["tenant_id"],
            AZURE_CLIENT_ID=info["client_id"],
            AZURE_CLIENT_SECRET=info["client_secret"],
            AZURE_SUBSCRIPTION_ID=info["subscription_id"],
        )
        cloud = ["--arm-url", info["url"], "--authority", info["url"]]
        swapped = swap_slots(
            "swap", *cloud, "--audience", info["arm_audience"], "--app", "contoso-web",
            "--source", "staging", "--report", "release.html",
        )  # fmt: skip
        assert swapped.returncode == 0, swapped.stderr
        assert "SwapSlotsReport.renderReports" in (work / "release.html").read_text("utf-8")
    finally:
        emulator.terminate()
        emulator.communicate(timeout=30)
