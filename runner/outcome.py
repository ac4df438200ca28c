"""What happened to an app, as the `SwapOutcome` output variable says it (one value per app)."""

from __future__ import annotations

from enum import Enum


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
