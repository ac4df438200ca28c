"""What the user asked for, parsed and validated once at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

PRODUCTION = "production"


class Action(Enum):
    """The task's `Action` input. Only the swap exists today; preview and cancel come later."""

    SWAP = "Swap Slots"


@dataclass(frozen=True)
class SlotRef:
    """One slot of one app. `slot` is `production` for the app itself."""

    subscription_id: str
    resource_group: str
    app: str
    slot: str

    @property
    def is_production(self) -> bool:
        return self.slot.lower() == PRODUCTION

    def __str__(self) -> str:
        return f"{self.app}/{self.slot}"


@dataclass(frozen=True)
class SwapRequest:
    """A swap of `source_slot` into `target_slot` of one app.

    `resource_group` is None when the user left it empty: the runner finds it.
    """

    action: Action
    app: str
    resource_group: Optional[str]
    source_slot: str
    target_slot: str
    preserve_vnet: bool
    timeout_seconds: float = 30 * 60

    @property
    def with_production(self) -> bool:
        return self.target_slot.lower() == PRODUCTION
