"""The emulator as a separate process, for tests (the same helper the demo uses)."""

from __future__ import annotations

from runner.emulator.process import Emulator, start_emulator

__all__ = ["Emulator", "start_emulator"]
