// Plays the "Swap Slots" action of Microsoft's AzureAppServiceManage@0 with Microsoft's own
// published libraries (azure-pipelines-task-lib, azure-pipelines-tasks-azure-arm-rest), for
// tests/test_emulator_ms_task.py. The task itself is not published on npm; this driver makes the
// same library calls in the same order, reading the same INPUT_* and ENDPOINT_* variables the
// agent exports:
//
//   1. the AzureRM endpoint from ENDPOINT_* (ADAL v1 token unless the USE_MSAL variable says so);
//   2. the app's Kudu client (publishing credentials, basic-auth policy) and its details;
//   3. "warm-up": one unchecked GET of each slot's site (URL from the publish profile);
//   4. POST slotsswap from the source slot, then poll the operation until it ends;
//   5. a deployment record on each slot's Kudu, whatever the outcome.
//
// MS_TASK_PACKAGES names the folder whose node_modules hold the pinned packages.
// On failure it writes ##vso[task.complete result=Failed;]<message>, as the task does (task-lib
// leaves the exit code at 0: the agent fails the step by that command); on success, nothing.

"use strict";

const path = require("path");
const { createRequire } = require("module");

const packages = process.env.MS_TASK_PACKAGES;
if (!packages) {
  console.error("MS_TASK_PACKAGES is not set");
  process.exit(2);
}
const load = createRequire(path.join(path.resolve(packages), "package.json"));
const tl = load("azure-pipelines-task-lib/task");
const arm = "azure-pipelines-tasks-azure-arm-rest/";
const { AzureRMEndpoint, dispose } = load(arm + "azure-arm-endpoint");
const { AzureAppService } = load(arm + "azure-arm-app-service");
const { AzureAppServiceUtility } = load(arm + "azureAppServiceUtility");

function deploymentRecord(succeeded, id, sourceSlot, targetSlot) {
  // The shape Kudu's deployment log takes (status 4 = success, 3 = failed).
  return {
    id: id || `${tl.getVariable("build.buildId") || "local"}${Date.now()}`,
    active: false,
    status: succeeded ? 4 : 3,
    message: JSON.stringify({ type: "SlotSwap", sourceSlot, targetSlot }),
    author: tl.getVariable("agent.name") || "ms-task-driver",
    deployer: "VSTS",
    details: "",
  };
}

async function recordDeployment(utility, succeeded, id, sourceSlot, targetSlot) {
  try {
    const kudu = await utility.getKuduService();
    return await kudu.updateDeployment(deploymentRecord(succeeded, id, sourceSlot, targetSlot));
  } catch (error) {
    tl.warning(String(error));
    return id;
  }
}

async function run() {
  let succeeded = true;
  let message = "";
  let source;
  let target;
  let sourceUtility;
  let targetUtility;
  let recordStatus = true;
  try {
    const action = tl.getInput("Action", true);
    if (action !== "Swap Slots") {
      throw new Error(`this driver plays only "Swap Slots", not "${action}"`);
    }
    const connection = tl.getInput("ConnectedServiceName", true);
    const appName = tl.getInput("WebAppName", true);
    const resourceGroup = tl.getInput("ResourceGroupName", false);
    const sourceSlot = tl.getInput("SourceSlot", false);
    const swapWithProduction = tl.getBoolInput("SwapWithProduction", false);
    const targetSlot = swapWithProduction ? "production" : tl.getInput("TargetSlot", false);
    const preserveVnet = tl.getBoolInput("PreserveVnet", false);

    const endpoint = await new AzureRMEndpoint(connection).getEndpoint();

    const app = new AzureAppService(endpoint, resourceGroup, appName, null);
    await new AzureAppServiceUtility(app).getKuduService();
    const details = await app.get(true);
    console.log(`App kind: ${details.kind}`);

    source = new AzureAppService(endpoint, resourceGroup, appName, sourceSlot);
    target = new AzureAppService(endpoint, resourceGroup, appName, targetSlot);
    sourceUtility = new AzureAppServiceUtility(source);
    targetUtility = new AzureAppServiceUtility(target);
    if (source.getSlot().toLowerCase() === target.getSlot().toLowerCase()) {
      recordStatus = false;
      throw new Error("The source slot and the target slot must differ.");
    }

    console.log("Warming up the slots");
    try {
      await Promise.all([sourceUtility.pingApplication(), targetUtility.pingApplication()]);
    } catch (error) {
      tl.debug(`warm-up failed: ${error}`);
    }

    await source.swap(targetSlot, preserveVnet);
  } catch (error) {
    succeeded = false;
    message = String(error && error.message ? error.message : error);
  }

  if (sourceUtility && targetUtility && recordStatus) {
    const id = await recordDeployment(
      sourceUtility, succeeded, null, source.getSlot(), target.getSlot());
    await recordDeployment(targetUtility, succeeded, id, source.getSlot(), target.getSlot());
  }
  dispose();

  if (!succeeded) {
    tl.setResult(tl.TaskResult.Failed, message);
  }
}

run();
