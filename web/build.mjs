// Bundles the results tab for the .vsix: node web/build.mjs <out-dir>
// Writes tab.html, tab.js (the SDK, the REST clients and the renderer, minified) and report.css.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, "..", "build", "tab"));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "tab.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  outfile: join(out, "tab.js"),
  logLevel: "warning",
});
copyFileSync(join(here, "tab.html"), join(out, "tab.html"));
copyFileSync(join(here, "..", "runner", "report", "report.css"), join(out, "report.css"));
console.log(`tab bundle: ${join(out, "tab.js")} ${(statSync(join(out, "tab.js")).size / 1024).toFixed(1)} KB`);
