"""`python -m runner`: the Swap Slots task, as the Azure Pipelines agent runs it."""

from __future__ import annotations

import os
import sys

from runner.agent_run import run_agent_task
from runner.cancellation import Cancellation


def main() -> None:
    cancellation = Cancellation()
    cancellation.install()
    code = run_agent_task(os.environ, sys.stdout, cancellation)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (and joining idle probe threads): the log is complete.
    os._exit(code)


if __name__ == "__main__":
    main()
