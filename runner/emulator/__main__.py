"""python -m runner.emulator: serve the local App Service emulator."""

from __future__ import annotations

import sys

from runner.emulator.command import main

if __name__ == "__main__":
    sys.exit(main())
