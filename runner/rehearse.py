"""`make rehearse`: the one-app stage template played on a local emulator started here.

python -m runner.rehearse
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable

from runner.emulator.process import start_emulator
from runner.pipeline_templates.rehearsal import rehearse


def rehearse_on_emulator(work: Path, say: Callable[[str], None]) -> bool:
    with start_emulator(work / "emulator", "--swap-seconds", "1") as emulator:
        return rehearse(emulator, work, say)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="swap-slots-rehearsal-") as temp:
        ok = rehearse_on_emulator(Path(temp), lambda text: print(text, flush=True))
    print("Rehearsal ended as expected." if ok else "Rehearsal did NOT end as expected.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
