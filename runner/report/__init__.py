"""The run's report: what happened, as data (a versioned JSON document, docs/report.md) and as
pictures (one renderer, shared by the results tab and the terminal's HTML page).

record.py            the run as it happens: phases (the log's groups) and every probe
traffic_sections.py  one section per canary step and for the bake
document.py          the JSON report of a run: plan, timeline, probes, swaps, versions, outcome
page.py              the standalone HTML page (`swap-slots swap --report FILE.html`)
render.js            the pictures and tables, drawn from the JSON (the tab bundles it too)
"""
