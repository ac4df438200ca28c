"""Draw the classic release guide's diagrams as SVG: python docs/classic-release/diagrams.py.

Azure DevOps cannot be screenshot here, so the pictures are drawn from the same facts the guide
states: the three stages, their tasks and the conditions between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
FONT = "font-family='Segoe UI, Helvetica, Arial, sans-serif'"
_QUOTE = {"'": "&apos;"}


class Box(NamedTuple):
    x: int
    y: int
    width: int
    height: int
    title: str
    lines: tuple[str, ...]
    fill: str


def _box(box: Box) -> str:
    parts = [
        f"<rect x='{box.x}' y='{box.y}' width='{box.width}' height='{box.height}' rx='8' "
        f"fill='{box.fill}' stroke='#3b4a5a' stroke-width='1.5'/>",
        f"<text x='{box.x + 12}' y='{box.y + 24}' {FONT} font-size='15' font-weight='600' "
        f"fill='#1b2733'>{escape(box.title)}</text>",
    ]
    for index, line in enumerate(box.lines):
        parts.append(
            f"<text x='{box.x + 12}' y='{box.y + 48 + 19 * index}' {FONT} font-size='12.5' "
            f"fill='#1b2733'>{escape(line)}</text>"
        )
    return "\n".join(parts)


def _arrow(x1: int, y1: int, x2: int, y2: int, label: str = "") -> str:
    text = ""
    if label:
        text = (
            f"<text x='{(x1 + x2) // 2}' y='{min(y1, y2) - 8}' {FONT} font-size='11.5' "
            f"text-anchor='middle' fill='#5a3b00'>{escape(label)}</text>"
        )
    return (
        f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#3b4a5a' stroke-width='1.5' "
        f"marker-end='url(#head)'/>{text}"
    )


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, _QUOTE)}'>",
            "<defs><marker id='head' markerWidth='10' markerHeight='7' refX='9' refY='3.5' "
            "orient='auto'><polygon points='0 0, 10 3.5, 0 7' fill='#3b4a5a'/></marker></defs>",
            f"<rect width='{width}' height='{height}' fill='white'/>",
            f"<text x='20' y='30' {FONT} font-size='17' font-weight='600'>{escape(title)}</text>",
            *body,
            "</svg>",
            "",
        ]
    )


def release_pipeline() -> str:
    """The three stages and what gates each."""
    stages = [
        Box(
            20,
            60,
            280,
            150,
            "1  Deploy to staging",
            (
                "Agent job",
                "Azure Web App (AzureWebApp@1)",
                "  Deploy to Slot: on",
                "  Slot: staging",
                "Trigger: after release",
            ),
            "#e8f1fb",
        ),
        Box(
            380,
            60,
            280,
            150,
            "2  Test staging",
            (
                "Agent job",
                "Bash: probe $(StagingUrl)$(HealthPath)",
                "  (must answer 2xx)",
                "Your test tasks",
                "Trigger: after stage 1",
            ),
            "#eaf7ea",
        ),
        Box(
            740,
            60,
            300,
            150,
            "3  Swap into production",
            (
                "Pre-deployment approvals + gates",
                "Agent job: task group",
                "  Swap Slots (SwapSlots@1)",
                "  Check production health",
                "  on failure: recheck, swap back",
            ),
            "#fdf1e1",
        ),
    ]
    body = [_box(box) for box in stages]
    body.append(_arrow(300, 135, 378, 135, "succeeded"))
    body.append(_arrow(660, 135, 738, 135, "approved"))
    body.append(
        f"<text x='20' y='245' {FONT} font-size='12.5' fill='#3b4a5a'>"
        "Release variables: AppName, ResourceGroupName, StagingUrl, ProductionUrl, HealthPath "
        "(scope: Release)</text>"
    )
    return _svg(1060, 265, "Classic release pipeline: Deploy -> Test -> Swap", body)


def swap_stage() -> str:
    """The Swap stage's tasks and the conditions that choose them."""
    tasks = [
        Box(
            20,
            60,
            360,
            90,
            "Swap Slots",
            (
                "Swap $(SourceSlot) of $(WebAppName)",
                "Run: only when all previous tasks succeeded",
            ),
            "#fdf1e1",
        ),
        Box(
            20,
            190,
            360,
            90,
            "Check production health (Bash)",
            (
                "GET $(ProductionUrl)$(HealthPath), retries",
                "sets SwapSlots.ProductionHealthy; fails if not 2xx",
            ),
            "#eaf7ea",
        ),
        Box(
            460,
            60,
            360,
            90,
            "Recheck production health (Bash)",
            (
                "Run: custom condition failed()",
                "3 attempts; never fails; sets the variable",
            ),
            "#fbeaea",
        ),
        Box(
            460,
            190,
            360,
            90,
            "Swap Slots: swap back",
            (
                "Run: and(failed(), eq(variables",
                "  ['SwapSlots.ProductionHealthy'], 'false'))",
            ),
            "#fbeaea",
        ),
    ]
    body = [_box(box) for box in tasks]
    body.append(_arrow(200, 150, 200, 188, ""))
    body.append(_arrow(380, 105, 458, 105, "failed"))
    body.append(_arrow(380, 235, 458, 140, "failed"))
    body.append(_arrow(640, 150, 640, 188, ""))
    body.append(
        f"<text x='20' y='315' {FONT} font-size='12.5' fill='#3b4a5a'>"
        "A failed swap leaves the old version in production: it answers, so nothing is "
        "swapped back.</text>"
    )
    body.append(
        f"<text x='20' y='335' {FONT} font-size='12.5' fill='#3b4a5a'>"
        "A failed production check after the swap: the recheck fails too, and the swap back "
        "restores the old version.</text>"
    )
    return _svg(840, 355, "Stage 3, one agent job: the task group's four tasks", body)


def main() -> None:
    (HERE / "release-pipeline.svg").write_text(release_pipeline(), encoding="utf-8")
    (HERE / "swap-stage.svg").write_text(swap_stage(), encoding="utf-8")


if __name__ == "__main__":
    main()
