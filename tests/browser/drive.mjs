// Drives headless Chromium (Debian's /usr/bin/chromium) with playwright-core for the browser
// tests: node tests/browser/drive.mjs <plan.json>. For each scenario it loads the results tab
// inside the test host (host.html) or a standalone report page, waits until the report is drawn,
// keeps a screenshot and prints what a person sees, as JSON, for the Python test to judge.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf-8"));
const THEMES = {
  light: {
    "background-color": "rgba(255, 255, 255, 1)",
    "text-primary-color": "rgba(0, 0, 0, .9)",
    "text-secondary-color": "rgba(0, 0, 0, .55)",
    "palette-neutral-8": "rgba(0, 0, 0, .08)",
    "palette-neutral-2": "rgba(0, 0, 0, .02)",
  },
  dark: {
    "background-color": "rgba(32, 31, 30, 1)",
    "text-primary-color": "rgba(255, 255, 255, .87)",
    "text-secondary-color": "rgba(255, 255, 255, .55)",
    "palette-neutral-8": "rgba(255, 255, 255, .12)",
    "palette-neutral-2": "rgba(255, 255, 255, .04)",
  },
};

const browser = await chromium.launch({
  executablePath: plan.chromium,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const seen = [];
try {
  for (const scenario of plan.scenarios) {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true, // the emulator's own CA
      viewport: { width: 1000, height: 800 },
      colorScheme: scenario.theme,
    });
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // A failed request is reported below with its address.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) {
        problems.push(`HTTP ${response.status()}: ${response.url()}`);
      }
    });
    let frame;
    if (scenario.pageUrl) {
      await page.goto(scenario.pageUrl);
      frame = page.mainFrame();
    } else {
      await page.addInitScript((config) => {
        window.HOST_CONFIG = config;
      }, {
        extensionUrl: plan.extensionUrl,
        devopsUrl: plan.devopsUrl,
        token: plan.token,
        project: plan.project,
        buildId: scenario.buildId,
        releaseEnvironment: scenario.releaseEnvironment,
        contributionId: scenario.releaseEnvironment
          ? "swap-slots.swap-slots.swap-slots-release-tab"
          : "swap-slots.swap-slots.swap-slots-build-tab",
        themeData: THEMES[scenario.theme],
      });
      await page.goto(plan.hostUrl);
      const element = await page.waitForSelector("#extension");
      frame = await element.contentFrame();
    }
    let drawn = true;
    try {
      await frame.waitForSelector(".ss-run, .ss-note:not(:has-text('Loading'))", { timeout: 15000 });
      if (!scenario.pageUrl) await page.waitForFunction(() => window.hostEvents.includes("resized"));
    } catch (error) {
      drawn = false;
      problems.push(`not drawn: ${error.message}`);
    }
    const count = (selector) => frame.locator(selector).count();
    const screenshot = `${plan.screenshots}/${scenario.name}-${scenario.theme}.png`;
    await page.screenshot({ path: screenshot, fullPage: true });
    if (scenario.picture) {
      // The README's and the Marketplace page's pictures: one figure, or the first screenful.
      const options = { path: scenario.picture, type: "jpeg", quality: 82 };
      if (scenario.pictureOf) await frame.locator(scenario.pictureOf).screenshot(options);
      else await page.screenshot(options);
    }
    seen.push({
      name: scenario.name,
      theme: scenario.theme,
      drawn,
      text: await frame.locator("body").innerText(),
      runs: await count(".ss-run"),
      apps: await count(".ss-app"),
      timelines: await count("svg.ss-timeline"),
      probeStrips: await count("svg.ss-probes"),
      trafficFigures: await count("figure.ss-traffic"),
      trafficCharts: await frame
        .locator("svg.ss-traffic-chart")
        .evaluateAll((charts) => charts.map((c) => c.getAttribute("aria-label"))),
      dataTheme: await frame.evaluate(() => document.documentElement.getAttribute("data-theme")),
      background: await frame.evaluate(() => getComputedStyle(document.body).backgroundColor),
      hostEvents: scenario.pageUrl ? [] : await page.evaluate(() => window.hostEvents),
      problems,
      screenshot,
    });
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen));
