// The "Swap Slots" tab on a pipeline run (build results) and on a classic release stage: it reads
// the reports the task attached (type swap-slots-report) through Azure DevOps's REST API and
// draws them with the report's own renderer (runner/report/render.js).
import * as SDK from "azure-devops-extension-sdk";
import { getClient } from "azure-devops-extension-api/Common";
import { BuildRestClient } from "azure-devops-extension-api/Build";
import { ReleaseRestClient } from "azure-devops-extension-api/Release";
import { renderReports } from "../../runner/report/render.js";

const ATTACHMENT_TYPE = "swap-slots-report";
const container = () => document.getElementById("swap-slots-report");

function decode(buffer) {
  return JSON.parse(new TextDecoder("utf-8").decode(buffer));
}

// A build's attachment list names each one only by its link:
// .../builds/{buildId}/{timelineId}/{recordId}/attachments/{type}/{name}
function coordinates(attachment) {
  const parts = attachment._links.self.href.split("?")[0].split("/");
  const at = parts.lastIndexOf("attachments");
  return { timelineId: parts[at - 2], recordId: parts[at - 1], name: decodeURIComponent(parts[at + 2]) };
}

async function buildReports(project, buildId) {
  const client = getClient(BuildRestClient);
  const attachments = await client.getAttachments(project, buildId, ATTACHMENT_TYPE);
  return Promise.all(
    attachments.map((attachment) => {
      const at = coordinates(attachment);
      return client
        .getAttachment(project, buildId, at.timelineId, at.recordId, ATTACHMENT_TYPE, at.name)
        .then(decode);
    })
  );
}

async function releaseReports(project, environment) {
  const client = getClient(ReleaseRestClient);
  const reports = [];
  for (const step of environment.deploySteps || []) {
    for (const phase of step.releaseDeployPhases || []) {
      if (!phase.runPlanId) continue;
      const found = await client.getReleaseTaskAttachments(
        project, environment.releaseId, environment.id, step.attempt, phase.runPlanId, ATTACHMENT_TYPE
      );
      for (const a of found) {
        const content = await client.getReleaseTaskAttachmentContent(
          project, environment.releaseId, environment.id, step.attempt, phase.runPlanId,
          a.timelineId, a.recordId, ATTACHMENT_TYPE, a.name
        );
        reports.push(decode(content));
      }
    }
  }
  return reports;
}

// Azure DevOps sets its theme as CSS variables; the report's own accents need to know which.
function followTheme() {
  const background = getComputedStyle(document.documentElement).getPropertyValue("--background-color");
  const rgb = (background.match(/[\d.]+/g) || []).map(Number);
  const dark = rgb.length >= 3 && 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128;
  document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
}

async function show(load) {
  try {
    renderReports(container(), await load());
  } catch (error) {
    container().innerHTML = "";
    const p = document.createElement("p");
    p.className = "ss-note";
    p.textContent = "Could not read the Swap Slots report: " + (error && error.message ? error.message : error);
    container().appendChild(p);
  }
  SDK.resize();
}

SDK.init({ loaded: false, applyTheme: true });
SDK.ready().then(() => {
  followTheme();
  window.addEventListener("themeApplied", followTheme);
  const project = SDK.getWebContext().project.id;
  const config = SDK.getConfiguration();
  if (config.releaseEnvironment) {
    show(() => releaseReports(project, config.releaseEnvironment));
  } else if (typeof config.onBuildChanged === "function") {
    config.onBuildChanged((build) => show(() => buildReports(project, build.id)));
  } else if (config.buildId) {
    show(() => buildReports(project, config.buildId));
  }
  SDK.notifyLoadSucceeded();
});
