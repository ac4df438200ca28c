"""`swap-slots init --classic`: the shipped task group (docs/classic-release/) imported into the
project, once."""

from __future__ import annotations

import json
from typing import Any

from runner.errors import UserError

from .organization import Organization
from .shipped import shipped_file
from .steps import CREATED, EXISTED, Step

TASK_GROUP = "docs/classic-release/swap-task-group.json"


def import_task_group(project: str, organization: Organization, dry_run: bool) -> Step:
    path = shipped_file(TASK_GROUP)
    try:
        task_group: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"Cannot read the shipped task group {path}: {error}") from None
    name = str(task_group["name"])
    what = f"task group '{name}'"
    if name.lower() in (n.lower() for n in organization.task_group_names(project)):
        return Step(what, EXISTED)
    if not dry_run:
        organization.add_task_group(project, task_group)
    return Step(what, "would be created" if dry_run else CREATED)
