"""`python -m runner`: the Swap Slots task, as the Azure Pipelines agent runs it."""

from __future__ import annotations

import gc
import os
import sys
import threading

# Start-up builds thousands of long-lived objects (modules, classes); collecting garbage among
# them only delays the swap. Collection resumes once the task is under way.
gc.disable()

from runner.agent.run import run_agent_task  # noqa: E402
from runner.cancellation import Cancellation  # noqa: E402

GC_PAUSE_SECONDS = 2.0


def main() -> None:
    resume = threading.Timer(GC_PAUSE_SECONDS, gc.enable)
    resume.daemon = True
    resume.start()
    cancellation = Cancellation()
    cancellation.install()
    code = run_agent_task(os.environ, sys.stdout, cancellation)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (and joining idle probe threads): the log is complete.
    os._exit(code)


if __name__ == "__main__":
    main()
