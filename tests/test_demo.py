"""The README's first command: the demo must show the release it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_swaps_v2_into_production_and_rehearses_the_template() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runner.demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "After the deployment: production serves v1, staging serves v2" in out
    assert "Result: Succeeded" in out
    assert "After the swap: production serves v2, staging serves v1" in out
    assert "The health gate stopped the swap" in out
    assert "Output SwapOutcome = RolledBack" in out
    assert "After the swap back: production serves v1, staging serves v3" in out
    assert "Stage Swap: skipped" in out
    assert "Output SwapOutcome = CanaryFailed" in out
    assert "After the canary: production serves v1, staging serves v2" in out
    assert "Canary passed at 10 %, 50 %." in out
    assert "After the canary and the swap: production serves v3, staging serves v1" in out
    assert out.rstrip().endswith("== Demo complete.")
    runs = {1: 1, 2: 2, 3: 1, 4: 2}  # the releases of each part that got as far as a plan
    for part, count in runs.items():
        page = Path("build") / "demo" / f"part-{part}.html"
        assert f"Report of part {part}, with its pictures: {page}" in out
        html = page.read_text(encoding="utf-8")
        data = html.split('id="swap-slots-data">', 1)[1].split("</script>", 1)[0]
        assert len(json.loads(data)) == count, part
