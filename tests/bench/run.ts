/**
 * `npm run bench`: every figure the project quotes, measured in Debian's Chromium, each as a
 * ratio against a baseline measured in the same run. Three sections, run one after the other:
 *  - crypto (crypto.ts): the evidence crypto pipeline in a page, against raw WebCrypto;
 *    writes bench-results/crypto.json;
 *  - upload (upload.ts): cases and evidence through the real web app against `npm start`'s
 *    server: encrypted vs plain upload of 1 GiB, bytes re-sent after a connection drop, peak
 *    memory at 256 MiB vs 2 GiB; writes bench-results/upload.json;
 *  - lighthouse (lighthouse.ts): Lighthouse's performance, accessibility and best-practices
 *    scores of the installed app (mobile emulation), against an empty page; writes
 *    bench-results/lighthouse.json;
 *  - casepkg (casepkg.ts): peak memory building a 5 GiB case package against a small one, with
 *    the browser worker's shared builder in Node; both verified; writes bench-results/casepkg.json.
 * Flags: `--only crypto`, `--only upload`, `--only lighthouse` or `--only casepkg` (during development; `--only drop` runs just the
 * upload section's connection drop and prints its figures), `--keep` (leave the upload
 * section's temp files, profile and server state), `--quick` (upload sizes divided by 8, written
 * to bench-results/upload-quick.json: to try changes out, not figures to quote). `npm run bench -- --only upload`.
 * Figures only: nothing here passes or fails on time; a section fails only when something is wrong.
 */
import { parseArgs } from "node:util";
import { installHooks } from "./hooks.ts";

installHooks(); // before playwright-core and the end-to-end helpers load: see hooks.ts
const { runCrypto } = await import("./crypto.ts");
const { runUpload } = await import("./upload.ts");
const { runLighthouse } = await import("./lighthouse.ts");
const { runCasePackage } = await import("./casepkg.ts");

const { values } = parseArgs({ options: { only: { type: "string" }, keep: { type: "boolean", default: false }, quick: { type: "boolean", default: false } } });
const sections: Record<string, () => Promise<number>> = {
  crypto: () => runCrypto(),
  upload: () => runUpload({ keep: values.keep, quick: values.quick }),
  lighthouse: () => runLighthouse(),
  casepkg: () => runCasePackage(),
};
/** Parts of a section, run only when asked for by name. */
const partial: Record<string, () => Promise<number>> = { drop: () => runUpload({ keep: values.keep, quick: values.quick, only: "b" }) };
if (values.only !== undefined && !(values.only in sections) && !(values.only in partial)) {
  console.error(`--only takes one of: ${[...Object.keys(sections), ...Object.keys(partial)].join(", ")}`);
  process.exit(2);
}
const started = Date.now();
const took: string[] = [];
for (const [name, run] of Object.entries({ ...sections, ...partial })) {
  if (values.only === undefined && name in partial) continue;
  if (values.only !== undefined && values.only !== name) continue;
  console.log(`\n=== ${name} ===`);
  took.push(`${name} ${(await run()).toFixed(0)} s`);
}
console.log(`\nBench done in ${((Date.now() - started) / 1000).toFixed(0)} s (${took.join(", ")}).`);
