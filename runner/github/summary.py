"""The run summary of a GitHub Actions step: the agent's tables for each app, and the canary's
steps and the bake drawn as Mermaid charts, which GitHub renders in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner.outcome import Outcome
from runner.release.app_report import AppReport
from runner.release.outcome_report import summary_lines

if TYPE_CHECKING:  # a canary's or a bake's run alone loads their modules
    from runner.release.traffic_verdict import Side


def summary_markdown(results: Sequence[AppReport]) -> str:
    lines: list[str] = []
    for result in results:
        lines += summary_lines(result)
        lines += release_chart(result)
        lines += traffic_charts(result)
    return "\n".join(lines)


def release_chart(result: AppReport) -> list[str]:
    """The release's path as a flowchart: each canary step, the swap, the bake, the outcome."""
    if not result.canary and result.bake is None:
        return []
    nodes = [("gate", f"health gate: {result.source_slot}", "passed")]
    for i, step in enumerate(result.canary):
        nodes.append((f"step{i}", f"{step.percent} % to {step.slot_name}", step.verdict))
    if result.swap_seconds is not None:
        nodes.append(("swap", f"swap in {result.swap_seconds:.1f} s", "passed"))
    if result.bake is not None:
        bake = result.bake.span
        nodes.append(("bake", f"bake {bake.seconds:.0f} s", bake.verdict))
    if result.rollback_seconds is not None:
        nodes.append(("back", f"swapped back in {result.rollback_seconds:.1f} s", "failed"))
    good = result.outcome is Outcome.SWAPPED and not result.failed
    nodes.append(("outcome", result.outcome.value, "outcome" if good else "outcome failed"))
    lines = ["```mermaid", "flowchart LR"]
    for key, text, verdict in nodes:
        shown = text if verdict in ("passed", "outcome", "outcome failed") else f"{text}: {verdict}"
        lines.append(f'  {key}["{_label(shown)}"]:::{_style(verdict)}')
    lines.append("  " + " --> ".join(key for key, _, _ in nodes))
    lines += [
        "  classDef good fill:#d3f9d8,stroke:#2b8a3e",
        "  classDef bad fill:#ffe3e3,stroke:#c92a2a",
        "```",
        "",
    ]
    return lines


def traffic_charts(result: AppReport) -> list[str]:
    """Each watched span beside its baseline: 5xx rate (user requests and probes) and response
    time, as bar charts (watched first, then its baseline)."""
    spans = [(f"{step.percent} %", step.span) for step in result.canary]
    if result.bake is not None:
        spans.append(("bake", result.bake.span))
    if not spans:
        return []
    names = ", ".join(f'"{name}"' for name, _ in spans)
    watched_errors = [_error_percent(span.watched) for _, span in spans]
    baseline_errors = [_error_percent(span.baseline) for _, span in spans]
    watched_ms = [span.watched.response_ms or 0.0 for _, span in spans]
    baseline_ms = [span.baseline.response_ms or 0.0 for _, span in spans]
    return [
        "Errors (5xx of user requests and probes, %): each span's watched side, then its baseline.",
        "",
        *_bars("5xx %", names, watched_errors, baseline_errors),
        "Response time (ms): watched, then baseline.",
        "",
        *_bars("ms", names, watched_ms, baseline_ms),
    ]


def _bars(unit: str, names: str, watched: list[float], baseline: list[float]) -> list[str]:
    top = max([*watched, *baseline, 1.0]) * 1.1
    return [
        "```mermaid",
        "xychart-beta",
        f"  x-axis [{names}]",
        f'  y-axis "{unit}" 0 --> {top:.2f}',
        f"  bar [{', '.join(f'{v:.2f}' for v in watched)}]",
        f"  bar [{', '.join(f'{v:.2f}' for v in baseline)}]",
        "```",
        "",
    ]


def _error_percent(side: Side) -> float:
    requests = side.user_requests + side.probes
    errors = side.user_errors + side.probe_errors
    return 100.0 * errors / requests if requests else 0.0


def _style(verdict: str) -> str:
    return "good" if verdict in ("passed", "outcome") else "bad"


def _label(text: str) -> str:
    # Mermaid reads quotes and brackets in a label; `#quot;` is its escape for a quote.
    return text.replace('"', "#quot;").replace("[", "(").replace("]", ")")
