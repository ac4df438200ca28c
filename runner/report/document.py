"""The report of one run of the task (or of `swap-slots swap`) as a JSON document: the plan, the
timeline of phases, every probe, the swaps and their durations, what each slot served before and
after, the outcome, one section per app, and the canary steps' and the bake's traffic.
docs/report.md describes it; `REPORT_VERSION` goes up when a field changes meaning or goes away.

Nothing secret is in it: names, addresses, versions, counts and the messages the log shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from runner import __version__
from runner.release.app_report import AppReport, SlotVersion
from runner.report.record import RunRecord, SentProbe, iso
from runner.report.traffic_sections import traffic_sections
from runner.request import SwapRequest

REPORT_KIND = "swap-slots-report"
REPORT_VERSION = 1
ATTACHMENT_TYPE = "swap-slots-report"  # the type the task attaches it under, and the tab reads


def report_document(
    record: RunRecord,
    result: AppReport,
    apps: Sequence[AppReport],
    request: Optional[SwapRequest],
) -> dict[str, Any]:
    """`result` is the run's (the set's, with several apps); `apps` one per app, or empty."""
    ended = record.ended or record.started
    shown = list(apps) or ([result] if result.app else [])
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "generator": f"swap-slots {__version__}",
        "action": request.action.value if request else None,
        "outcome": result.outcome.value,
        "message": result.message,
        "startedAt": iso(record.started),
        "endedAt": iso(ended),
        "timeline": [
            {
                "kind": phase.kind,
                "title": phase.title,
                "startedAt": iso(phase.started),
                "endedAt": iso(phase.ended),
            }
            for phase in record.phases
        ],
        "apps": [_app(app, record, request, several=len(shown) > 1) for app in shown],
    }


def report_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False)


def _app(
    app: AppReport, record: RunRecord, request: Optional[SwapRequest], several: bool
) -> dict[str, Any]:
    urls = tuple(u for u in (app.production_url, app.source_url, app.target_url) if u)
    probes = [p for p in record.probes if not several or p.probe.url.startswith(urls)]
    swaps = [
        {"kind": kind, "seconds": seconds}
        for kind, seconds in (("swap", app.swap_seconds), ("swap-back", app.rollback_seconds))
        if seconds is not None
    ]
    return {
        "app": app.app,
        "resourceGroup": app.resource_group,
        "sourceSlot": app.source_slot,
        "targetSlot": app.target_slot,
        "productionUrl": app.production_url,
        "sourceUrl": app.source_url,
        "targetUrl": app.target_url,
        "outcome": app.outcome.value,
        "message": app.message,
        "before": [_version(v) for v in app.before],
        "after": [_version(v) for v in app.after],
        "checks": [
            {
                "label": check.label,
                "url": check.url,
                "result": "passed"
                if check.passed
                else ("canceled" if check.canceled else "failed"),
                "probes": check.probes,
                "seconds": round(check.seconds, 3),
                "lastAnswer": check.last_answer(),
            }
            for check in app.checks
        ],
        "swaps": swaps,
        "probes": [_probe(p, app) for p in probes],
        "traffic": traffic_sections(app.canary, app.bake, request, record.phases)
        if request is not None
        else [],
    }


def _version(version: SlotVersion) -> dict[str, Any]:
    return {
        "slot": version.slot,
        "served": version.served,
        "version": version.version,
        "status": version.status,
    }


def _probe(sent: SentProbe, app: AppReport) -> dict[str, Any]:
    probe = sent.probe
    if app.source_url and probe.url.startswith(app.source_url):
        slot = app.source_slot
    elif probe.url.startswith(app.target_url or app.production_url):
        slot = app.target_slot
    else:
        slot = None
    return {
        "at": iso(sent.sent),
        "url": probe.url,
        "slot": slot,
        "status": probe.status,
        "version": probe.version,
        "ms": round(probe.seconds * 1000, 1),
        "error": probe.error or None,
    }
