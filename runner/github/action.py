"""`python -m runner.github.action`: the Swap Slots action, as a GitHub runner runs it (the last
step of action.yml)."""

from __future__ import annotations

import os
import sys

from runner.cancellation import Cancellation
from runner.github.run import run_action_step


def main() -> None:
    cancellation = Cancellation()
    # The runner cancels a step as the agent does: SIGINT, then SIGTERM, then a kill.
    cancellation.install()
    code = run_action_step(os.environ, sys.stdout, cancellation)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (and joining idle probe threads): the log is complete.
    os._exit(code)


if __name__ == "__main__":
    main()
