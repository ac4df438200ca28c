"""The standalone HTML page of a run's report (`swap-slots swap ... --report FILE.html`): the
same pictures as the results tab, drawn by the same renderer (render.js), inlined with its style
and the report itself, so the page opens anywhere, offline, with nothing fetched."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable


def report_page(reports: Sequence[dict[str, Any]], title: str, theme: str = "") -> str:
    """`theme`: "light" or "dark" to fix it; empty follows the reader's system setting."""
    here = files("runner.report")
    script = here.joinpath("render.js").read_text(encoding="utf-8")
    style = here.joinpath("report.css").read_text(encoding="utf-8")
    # Inside <script>, only "</" could end the element early.
    data = json.dumps(list(reports), ensure_ascii=False).replace("</", "<\\/")
    theme_attribute = f' data-theme="{escape(theme)}"' if theme else ""
    return f"""<!DOCTYPE html>
<html lang="en"{theme_attribute}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
{style}
</style>
</head>
<body>
<main id="swap-slots-report"><noscript>This page draws its pictures with JavaScript; the
report's data is in it as JSON.</noscript></main>
<script type="application/json" id="swap-slots-data">{data}</script>
<script>
{script}
</script>
<script>
SwapSlotsReport.renderReports(document.getElementById("swap-slots-report"),
  JSON.parse(document.getElementById("swap-slots-data").textContent));
</script>
</body>
</html>
"""


def write_report_page(
    path: Path,
    reports: Sequence[dict[str, Any]],
    title: str,
    mask: Callable[[str], str] = lambda text: text,
) -> None:
    """`mask` hides the run's secrets (the log's), should any have reached a message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mask(report_page(reports, title)), encoding="utf-8")
