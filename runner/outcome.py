"""What happened to an app, as the `SwapOutcome` output variable says it (one value per app)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class TaskResult(Enum):
    """How the step ends, in the agent's words (`task.complete result=`); a GitHub step
    succeeds or fails by its exit code."""

    SUCCEEDED = "Succeeded"
    SUCCEEDED_WITH_ISSUES = "SucceededWithIssues"
    FAILED = "Failed"
    CANCELED = "Canceled"


class Outcome(Enum):
    """The `SwapOutcome` output variable: what Azure did to one app, and what the checks found."""

    SWAPPED = "Swapped"
    FAILED = "Failed"  # Azure failed the swap and kept both slots as they were
    NOT_STARTED = "NotStarted"  # stopped before the swap was sent: nothing changed
    CANARY_FAILED = "CanaryFailed"  # a canary step failed; its rule removed, no swap was sent
    CANCELED = "Canceled"  # canceled before the swap was sent: nothing changed
    UNFINISHED = "Unfinished"  # the task stopped while Azure was still swapping
    UNVERIFIED = "Unverified"  # swapped; the task stopped before production was verified
    VERIFICATION_FAILED = "VerificationFailed"  # swapped; production failed; no swap back asked
    ROLLED_BACK = "RolledBack"  # swapped, production failed, swapped back: the old version is live
    ROLLBACK_FAILED = "RollbackFailed"  # swapped, production failed, Azure did not swap back
    ROLLBACK_UNFINISHED = "RollbackUnfinished"  # the task stopped while Azure was swapping back
    PREVIEW_STARTED = "PreviewStarted"  # swap with preview, phase 1 done: the source is prepared
    PREVIEW_CANCELED = "PreviewCanceled"  # the source slot's own settings are back
    # Several apps (AdditionalWebApps) only: some stay swapped, some were never swapped.
    PARTLY_SWAPPED = "PartlySwapped"


# What a set of apps reports when its apps differ: the state that most needs a person first.
_FIRST_TO_SAY = (
    Outcome.ROLLBACK_UNFINISHED,
    Outcome.UNFINISHED,
    Outcome.ROLLBACK_FAILED,
    Outcome.UNVERIFIED,
    Outcome.VERIFICATION_FAILED,
)


def set_outcome(outcomes: Sequence[Outcome]) -> Outcome:
    """SwapOutcome of several apps swapped all or nothing: theirs when they agree; else the first
    of `_FIRST_TO_SAY` any app has; else PartlySwapped when some apps stay swapped and others
    were not; else RolledBack (every swapped app is back), Failed, Canceled, NotStarted."""
    found = set(outcomes)
    if len(found) == 1:
        return outcomes[0]
    for outcome in _FIRST_TO_SAY:
        if outcome in found:
            return outcome
    if Outcome.SWAPPED in found:
        return Outcome.PARTLY_SWAPPED
    for outcome in (Outcome.ROLLED_BACK, Outcome.FAILED, Outcome.CANCELED):
        if outcome in found:
            return outcome
    return Outcome.NOT_STARTED
