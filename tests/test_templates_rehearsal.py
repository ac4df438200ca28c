"""The one-app template, played on the local emulator: a healthy version is swapped in, an
unhealthy one never reaches production (about five seconds: real emulator, real swap)."""

from __future__ import annotations

from pathlib import Path

from runner.rehearse import rehearse_on_emulator


def test_a_healthy_release_is_swapped_in_and_an_unhealthy_one_stops_at_test(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    assert rehearse_on_emulator(tmp_path, lines.append), "\n".join(lines)
    log = "\n".join(lines)
    assert "Verify: production serves v2" in log
    assert "Stage Swap: skipped" in log
    assert log.count("SwapSlots: Succeeded") == 1  # only the first run swapped
    assert "Verify: production serves v2; staging serves v3" in log
