"""Where in a YAML file a place named like `.stages[1].parameters` is: its line and column.

The expander names places by keys and indexes; the service names them by line and column. This
walks the file's YAML nodes along the keys and indexes as far as they go, so an error points at
the deepest place of the file that it is about (for a place that a directive produced, the
directive's own line or the one above).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import yaml

_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def locate(file: Path, where: str) -> Optional[tuple[int, int]]:
    """1-based (line, column) of `where` in `file`, or None when the file cannot be read."""
    try:
        root = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError):
        return None
    if root is None:
        return None
    node: yaml.Node = root
    mark = root.start_mark
    for match in _SEGMENT.finditer(where):
        key, index = match.group(1), match.group(2)
        found: Optional[tuple[yaml.Node, yaml.Mark]] = None
        if key is not None and isinstance(node, yaml.MappingNode):
            found = next(((v, k.start_mark) for k, v in node.value if k.value == key), None)
        elif index is not None and isinstance(node, yaml.SequenceNode):
            position = int(index)
            if position < len(node.value):
                found = (node.value[position], node.value[position].start_mark)
        if found is None:
            break
        node, mark = found
    return mark.line + 1, mark.column + 1
