/* Swap Slots: the pictures of a release, drawn from its JSON report (docs/report.md).
 *
 * One renderer for the results tab (bundled by web/build.mjs) and for the terminal's standalone
 * HTML page (runner/report/page.py inlines this file). No dependencies, no network: it turns
 * reports into HTML and inline SVG, with a table under each picture. Colours come from CSS
 * variables (report.css), which follow the Azure DevOps theme in the tab.
 */
(function (root) {
  "use strict";

  var KNOWN_VERSION = 1;
  var PHASE_NAMES = {
    plan: "Plan",
    gate: "Health gate",
    "canary-step": "Canary step",
    swap: "Swap",
    verification: "Verification",
    bake: "Bake",
    "swap-back": "Swap back",
    other: "Other",
  };
  var GOOD = { Swapped: 1, PreviewStarted: 1, PreviewCanceled: 1 };
  var NOTHING_CHANGED = { NotStarted: 1, Canceled: 1, CanaryFailed: 1, Failed: 1 };

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function ms(iso) {
    var t = iso ? Date.parse(iso) : NaN;
    return isNaN(t) ? null : t;
  }

  function clock(iso) {
    var t = ms(iso);
    return t === null ? "—" : new Date(t).toISOString().slice(11, 19);
  }

  function seconds(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1) + " s";
  }

  function milliseconds(value) {
    if (value === null || value === undefined) return "—";
    var number = Number(value);
    return (number >= 10 ? number.toFixed(0) : number.toPrecision(2)) + " ms";
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1) + " %";
  }

  function outcomeClass(outcome) {
    if (GOOD[outcome]) return "ss-good";
    if (NOTHING_CHANGED[outcome]) return "ss-neutral";
    return "ss-bad";
  }

  function table(headers, rows, caption) {
    var html = '<table class="ss-table">';
    if (caption) html += "<caption>" + esc(caption) + "</caption>";
    html += "<thead><tr>";
    headers.forEach(function (h) {
      html += "<th>" + esc(h) + "</th>";
    });
    html += "</tr></thead><tbody>";
    rows.forEach(function (row) {
      html += "<tr>";
      row.forEach(function (cell) {
        html += "<td>" + esc(cell) + "</td>";
      });
      html += "</tr>";
    });
    return html + "</tbody></table>";
  }

  function versionOf(list, slot) {
    for (var i = 0; i < (list || []).length; i++) {
      if (list[i].slot === slot) return list[i];
    }
    return null;
  }

  function label(version) {
    if (!version) return "unknown";
    if (version.version) return version.version;
    return version.status ? "HTTP " + version.status : "no answer";
  }

  /* What production served, in time: the version before the swap, the new one once the swap
   * ended, and the old one again once a swap back ended. */
  function servedSegments(report, app, t0, t1) {
    var before = versionOf(app.before, app.targetSlot);
    var after = versionOf(app.after, app.targetSlot);
    var newVersion = versionOf(app.before, app.sourceSlot);
    var ends = function (kind) {
      var found = (report.timeline || []).filter(function (p) {
        return p.kind === kind;
      });
      return found.length ? ms(found[found.length - 1].endedAt) : null;
    };
    var swapped = (app.swaps || []).some(function (s) {
      return s.kind === "swap";
    });
    var swappedBack = (app.swaps || []).some(function (s) {
      return s.kind === "swap-back";
    });
    var swapEnd = swapped ? ends("swap") : null;
    if (swapEnd === null) return [{ from: t0, to: t1, text: label(before || after) }];
    var segments = [{ from: t0, to: swapEnd, text: label(before) }];
    var backEnd = swappedBack ? ends("swap-back") : null;
    if (backEnd !== null) {
      segments.push({ from: swapEnd, to: backEnd, text: label(newVersion) });
      segments.push({ from: backEnd, to: t1, text: label(after) });
    } else {
      segments.push({ from: swapEnd, to: t1, text: label(after || newVersion) });
    }
    return segments;
  }

  function timeAxis(t0, t1, x0, width, y) {
    var svg = "";
    var span = Math.max(1, t1 - t0);
    for (var i = 0; i <= 4; i++) {
      var t = t0 + (span * i) / 4;
      var x = x0 + (width * i) / 4;
      svg +=
        '<line class="ss-grid" x1="' + x + '" x2="' + x + '" y1="4" y2="' + y + '"/>' +
        '<text class="ss-axis" x="' + x + '" y="' + (y + 12) + '" text-anchor="middle">' +
        esc(new Date(t).toISOString().slice(11, 19)) + "</text>";
    }
    return svg;
  }

  function timelineFigure(report, app) {
    var t0 = ms(report.startedAt);
    var t1 = ms(report.endedAt);
    if (t0 === null || t1 === null) return "";
    t1 = Math.max(t1, t0 + 1);
    var W = 720, x0 = 110, width = W - x0 - 40, H = 118;
    var x = function (t) {
      return x0 + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * width;
    };
    var svg =
      '<svg class="ss-chart ss-timeline" role="img" viewBox="0 0 ' + W + " " + H + '" ' +
      'aria-label="What production served during the release of ' + esc(app.app) + '">';
    svg += '<text class="ss-label" x="4" y="26">Phases</text>';
    svg += '<text class="ss-label" x="4" y="66">Production</text>';
    (report.timeline || []).forEach(function (phase) {
      var a = ms(phase.startedAt), b = ms(phase.endedAt) || t1;
      if (a === null) return;
      var w = Math.max(2, x(b) - x(a));
      svg +=
        '<rect class="ss-phase ss-phase-' + esc(phase.kind) + '" x="' + x(a) + '" y="12" width="' +
        w + '" height="20"><title>' + esc(phase.title) + ": " + clock(phase.startedAt) + "–" +
        clock(phase.endedAt) + "</title></rect>";
      if (w > 44) {
        svg +=
          '<text class="ss-on-bar" x="' + (x(a) + 3) + '" y="26">' +
          esc(PHASE_NAMES[phase.kind] || phase.kind) + "</text>";
      }
    });
    servedSegments(report, app, t0, t1).forEach(function (segment, i) {
      var w = Math.max(2, x(segment.to) - x(segment.from));
      svg +=
        '<rect class="ss-served ss-served-' + (i % 3) + '" x="' + x(segment.from) +
        '" y="52" width="' + w + '" height="22"><title>' + esc(segment.text) + "</title></rect>" +
        '<text class="ss-on-bar" x="' + (x(segment.from) + 4) + '" y="67">' +
        esc(segment.text) + "</text>";
    });
    svg +=
      '<text class="ss-outcome-mark ' + outcomeClass(app.outcome) + '" x="' + (x0 + width) +
      '" y="90" text-anchor="end">' + esc(app.outcome) + "</text>";
    svg += timeAxis(t0, t1, x0, width, 100);
    return (
      '<figure class="ss-figure"><figcaption>What production served, with the phases (UTC)' +
      "</figcaption>" + svg + "</svg>" +
      table(
        ["Phase", "Started", "Ended", "Took"],
        (report.timeline || []).map(function (p) {
          var took = ms(p.endedAt) !== null ? (ms(p.endedAt) - ms(p.startedAt)) / 1000 : null;
          return [p.title, clock(p.startedAt), clock(p.endedAt), seconds(took)];
        })
      ) +
      "</figure>"
    );
  }

  function probesFigure(report, app) {
    var probes = app.probes || [];
    if (!probes.length) return "";
    var t0 = ms(report.startedAt), t1 = Math.max(ms(report.endedAt), t0 + 1);
    var slots = [];
    probes.forEach(function (p) {
      var s = p.slot || "other";
      if (slots.indexOf(s) < 0) slots.push(s);
    });
    var W = 720, x0 = 110, width = W - x0 - 40, row = 22, H = 20 + slots.length * row + 16;
    var svg =
      '<svg class="ss-chart ss-probes" role="img" viewBox="0 0 ' + W + " " + H + '" ' +
      'aria-label="Health probes of ' + esc(app.app) + '">';
    slots.forEach(function (slot, i) {
      svg += '<text class="ss-label" x="4" y="' + (24 + i * row) + '">' + esc(slot) + "</text>";
    });
    var failed = 0;
    probes.forEach(function (p) {
      var t = ms(p.at);
      if (t === null) return;
      var ok = p.status >= 200 && p.status < 300;
      if (!ok) failed++;
      var cx = x0 + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * width;
      var cy = 20 + slots.indexOf(p.slot || "other") * row;
      svg +=
        '<rect class="' + (ok ? "ss-ok" : "ss-fail") + '" x="' + (cx - 2) + '" y="' + (cy - 7) +
        '" width="4" height="14"><title>' + esc(clock(p.at) + " " + p.url + ": " +
        (p.status ? "HTTP " + p.status : "no answer") + (p.version ? ", version " + p.version : "") +
        ", " + p.ms + " ms") + "</title></rect>";
    });
    svg += timeAxis(t0, t1, x0, width, H - 16);
    return (
      '<figure class="ss-figure"><figcaption>Health probes: ' + probes.length + " sent, " +
      failed + " failed (green: 2xx, red: anything else)</figcaption>" + svg + "</svg>" +
      "<details><summary>Every probe</summary>" +
      table(
        ["Time", "Slot", "URL", "Status", "Version", "Latency"],
        probes.map(function (p) {
          return [
            clock(p.at),
            p.slot || "—",
            p.url,
            p.status ? "HTTP " + p.status : "no answer" + (p.error ? " (" + p.error + ")" : ""),
            p.version || "—",
            p.ms + " ms",
          ];
        })
      ) +
      "</details></figure>"
    );
  }

  function rate(minute) {
    return minute && minute.requests ? (100 * minute.errors) / minute.requests : null;
  }

  /* Both sides' minutes, lined up by their start. */
  function minuteRows(section) {
    var starts = [];
    var index = function (side) {
      var byStart = {};
      ((section[side] || {}).minutes || []).forEach(function (m) {
        byStart[m.start] = m;
        if (starts.indexOf(m.start) < 0) starts.push(m.start);
      });
      return byStart;
    };
    var watched = index("watched"), baseline = index("baseline");
    starts.sort(function (a, b) {
      return (ms(a) || 0) - (ms(b) || 0);
    });
    return starts.map(function (start) {
      return { start: start, watched: watched[start] || null, baseline: baseline[start] || null };
    });
  }

  function barChart(rows, pick, unit, limitOf, title, aria) {
    var W = 720, x0 = 56, width = W - x0 - 16, H = 170, top = 14, bottom = 140;
    var values = [];
    rows.forEach(function (r) {
      values.push(pick(r.watched), pick(r.baseline), limitOf(r));
    });
    var max = 0;
    values.forEach(function (v) {
      if (v !== null && v !== undefined && v > max) max = v;
    });
    max = max > 0 ? max * 1.15 : 1;
    var y = function (v) {
      return bottom - ((bottom - top) * v) / max;
    };
    var svg =
      '<svg class="ss-chart ss-traffic-chart" role="img" viewBox="0 0 ' + W + " " + H + '" ' +
      'aria-label="' + esc(aria) + '">';
    for (var i = 0; i <= 4; i++) {
      var v = (max * i) / 4;
      svg +=
        '<line class="ss-grid" x1="' + x0 + '" x2="' + (x0 + width) + '" y1="' + y(v) + '" y2="' +
        y(v) + '"/><text class="ss-axis" x="' + (x0 - 4) + '" y="' + (y(v) + 4) +
        '" text-anchor="end">' + esc(v.toFixed(v < 10 ? 1 : 0) + unit) + "</text>";
    }
    var slot = width / Math.max(1, rows.length);
    var bar = Math.min(28, slot / 3);
    var limitPath = "";
    rows.forEach(function (r, i) {
      var cx = x0 + slot * i + slot / 2;
      [["watched", pick(r.watched), -bar - 1], ["baseline", pick(r.baseline), 1]].forEach(
        function (entry) {
          if (entry[1] === null || entry[1] === undefined) return;
          svg +=
            '<rect class="ss-' + entry[0] + '" x="' + (cx + entry[2]) + '" y="' + y(entry[1]) +
            '" width="' + bar + '" height="' + Math.max(0.5, bottom - y(entry[1])) + '"><title>' +
            esc(entry[0] + " " + clock(r.start) + ": " + entry[1].toFixed(2) + unit) +
            "</title></rect>";
        }
      );
      var limit = limitOf(r);
      if (limit !== null && limit !== undefined) {
        limitPath += (limitPath ? " L" : "M") + (x0 + slot * i) + " " + y(limit) +
          " L" + (x0 + slot * (i + 1)) + " " + y(limit);
      }
      svg +=
        '<text class="ss-axis" x="' + cx + '" y="' + (bottom + 14) + '" text-anchor="middle">' +
        esc(clock(r.start)) + "</text>";
    });
    if (limitPath) svg += '<path class="ss-limit" d="' + limitPath + '"/>';
    svg +=
      '<text class="ss-legend" x="' + x0 + '" y="' + (H - 2) + '">' + esc(title) + "</text>";
    return svg + "</svg>";
  }

  function trafficFigure(section) {
    var watched = section.watched || {}, baseline = section.baseline || {};
    var limits = section.limits || {};
    var name =
      section.kind === "bake" ? "Bake" : "Canary step at " + section.percent + " %";
    var rows = minuteRows(section);
    var html =
      '<figure class="ss-figure ss-traffic" data-kind="' + esc(section.kind) + '">' +
      '<figcaption><strong>' + esc(name) + ": " + esc(section.verdict) + "</strong> — " +
      esc(watched.label) + " against " + esc(baseline.label) + ", " + clock(section.startedAt) +
      "–" + clock(section.endedAt) + " (planned " + seconds(section.plannedSeconds) +
      (section.stoppedEarly ? ", stopped early" : "") + ")</figcaption>";
    if (section.perMinute === false) {
      html +=
        '<p class="ss-note">This report has each side\'s published minutes as one total, ' +
        "drawn as one bar pair; minute-by-minute counts come with a later version of the task.</p>";
    }
    if (rows.length) {
      html += barChart(
        rows,
        rate,
        " %",
        function (r) {
          // The limit is relative: the baseline's rate in the same minute, plus the margin.
          var base = rate(r.baseline);
          return base === null ? null : base + limits.maxErrorRatePercent;
        },
        "5xx rate: " + (watched.label || "watched") + " (blue), " +
          (baseline.label || "baseline") + " (grey), limit (red)",
        "5xx rate per minute, " + name
      );
      var timed = rows.some(function (r) {
        return (r.watched && r.watched.responseMs !== null) ||
          (r.baseline && r.baseline.responseMs !== null);
      });
      if (timed) {
        html += barChart(
          rows,
          function (m) {
            return m ? m.responseMs : null;
          },
          " ms",
          function (r) {
            if (!limits.maxResponseTimeRatio || !r.baseline || r.baseline.responseMs === null) {
              return null;
            }
            // Slower only past both: the ratio and the margin.
            var base = r.baseline.responseMs;
            return Math.max(base * limits.maxResponseTimeRatio,
              base + (limits.responseTimeMarginMs || 0));
          },
          "Response time: " + (watched.label || "watched") + " (blue), " +
            (baseline.label || "baseline") + " (grey), limit (red)",
          "Response time per minute, " + name
        );
      } else {
        html += '<p class="ss-note">Response times: not in this report.</p>';
      }
    } else {
      html += '<p class="ss-note">Azure had published no minute of this span.</p>';
    }
    var cell = function (m, key) {
      return m ? (m[key] === null || m[key] === undefined ? "—" : m[key]) : "—";
    };
    html += table(
      ["Minute", watched.label + ": requests", "5xx", "5xx rate", "response",
        baseline.label + ": requests", "5xx", "5xx rate", "response"],
      rows.map(function (r) {
        return [
          clock(r.start),
          cell(r.watched, "requests"), cell(r.watched, "errors"), percent(rate(r.watched)),
          milliseconds(r.watched && r.watched.responseMs),
          cell(r.baseline, "requests"), cell(r.baseline, "errors"), percent(rate(r.baseline)),
          milliseconds(r.baseline && r.baseline.responseMs),
        ];
      })
    );
    var probes = watched.probes || {};
    html +=
      '<p class="ss-reason">Probes: ' + esc(probes.errors) + " of " + esc(probes.count) +
      " failed" + (probes.medianMs !== null && probes.medianMs !== undefined
        ? ", median " + esc(milliseconds(probes.medianMs)) : "") +
      ". Limit: 5xx " + esc(limits.maxErrorRatePercent) + " points over " +
      esc(baseline.label || "the baseline") +
      (limits.maxResponseTimeRatio ? ", response time ×" + esc(limits.maxResponseTimeRatio) +
        (limits.responseTimeMarginMs ? " and +" + esc(limits.responseTimeMarginMs) + " ms" : "")
        : "") +
      ". " + esc(section.reason) + "</p>";
    return html + "</figure>";
  }

  function appSection(report, app) {
    var html =
      '<section class="ss-app"><h3><span class="ss-badge ' + outcomeClass(app.outcome) + '">' +
      esc(app.outcome) + "</span> " + esc(app.app) +
      ' <span class="ss-dim">(' + esc(app.resourceGroup) + "): " + esc(app.sourceSlot) + " → " +
      esc(app.targetSlot) + "</span></h3>";
    var prodBefore = versionOf(app.before, app.targetSlot);
    var prodAfter = versionOf(app.after, app.targetSlot);
    html +=
      '<p class="ss-versions">Production served <strong>' + esc(label(prodBefore)) +
      "</strong> before and <strong>" + esc(label(prodAfter)) + "</strong> at the end.</p>";
    html += timelineFigure(report, app);
    html += probesFigure(report, app);
    (app.traffic || []).forEach(function (section) {
      html += trafficFigure(section);
    });
    var slots = [];
    (app.before || []).concat(app.after || []).forEach(function (v) {
      if (slots.indexOf(v.slot) < 0) slots.push(v.slot);
    });
    if (slots.length) {
      html += table(
        ["Slot", "Before", "After"],
        slots.map(function (s) {
          var b = versionOf(app.before, s), a = versionOf(app.after, s);
          return [s, b ? b.served : "—", a ? a.served : "—"];
        }),
        "What each slot served"
      );
    }
    if ((app.checks || []).length) {
      html += table(
        ["Health check", "URL", "Result", "Probes", "Time", "Last answer"],
        app.checks.map(function (c) {
          return [c.label, c.url, c.result, c.probes, seconds(c.seconds), c.lastAnswer];
        }),
        "Health checks"
      );
    }
    if ((app.swaps || []).length) {
      html += table(
        ["Swap", "Took"],
        app.swaps.map(function (s) {
          return [s.kind === "swap-back" ? "swap back" : "swap", seconds(s.seconds)];
        }),
        "Swaps"
      );
    }
    if (app.message !== report.message) {
      html += '<p class="ss-message">' + esc(app.message) + "</p>";
    }
    return html + "</section>";
  }

  function reportSection(report, index, count) {
    var apps = report.apps || [];
    var names = apps.map(function (a) {
      return a.app;
    });
    var took = ms(report.endedAt) !== null && ms(report.startedAt) !== null
      ? (ms(report.endedAt) - ms(report.startedAt)) / 1000 : null;
    var html =
      '<article class="ss-run"><header><h2>' +
      (count > 1 ? "Run " + (index + 1) + " of " + count + ": " : "") +
      '<span class="ss-badge ' + outcomeClass(report.outcome) + '">' + esc(report.outcome) +
      "</span> " + esc(names.join(", ") || "Swap Slots") + "</h2>" +
      '<p class="ss-dim">' + esc(report.action || "Swap Slots") + ", started " +
      clock(report.startedAt) + " UTC, took " + seconds(took) + " · " + esc(report.generator) +
      "</p>";
    if (report.version > KNOWN_VERSION) {
      html +=
        '<p class="ss-note">This report is version ' + esc(report.version) +
        "; this page knows version " + KNOWN_VERSION + " and shows what it understands.</p>";
    }
    html += '<p class="ss-message">' + esc(report.message) + "</p></header>";
    apps.forEach(function (app) {
      html += appSection(report, app);
    });
    return html + "</article>";
  }

  function renderReports(container, reports) {
    if (!reports.length) {
      container.innerHTML =
        '<p class="ss-note">No Swap Slots report is attached to this run (a run of an ' +
        "older task version, or the step did not get as far as a plan).</p>";
      return;
    }
    container.innerHTML = reports
      .map(function (report, i) {
        return reportSection(report, i, reports.length);
      })
      .join("");
  }

  var api = { renderReports: renderReports, KNOWN_VERSION: KNOWN_VERSION };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.SwapSlotsReport = api;
})(typeof self !== "undefined" ? self : this);
