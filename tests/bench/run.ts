/**
 * `npm run bench`: every figure the project quotes, measured in Debian's Chromium, each as a
 * ratio against a baseline measured in the same run. Four sections, run one after the other:
 *  - crypto (crypto.ts): the evidence crypto pipeline in a page, against raw WebCrypto;
 *    writes bench-results/crypto.json;
 *  - upload (upload.ts): cases and evidence through the real web app against `npm start`'s
 *    server: encrypted vs plain upload of 1 GiB, bytes re-sent after a connection drop, peak
 *    memory at 256 MiB vs 2 GiB; writes bench-results/upload.json;
 *  - playback (playback.ts): streaming playback in the real web app against the same MP4 served
 *    plain with Range support by a local server: first frame and seek to 90 % at 64 MiB, 512 MiB
 *    and 1 GiB, unthrottled and at 40 Mbit/s, and peak renderer memory; writes
 *    bench-results/playback.json (`--sizes 64,512` limits the sizes, in MiB);
 *  - lighthouse (lighthouse.ts): Lighthouse's performance, accessibility and best-practices
 *    scores of the installed app (mobile emulation), against an empty page; writes
 *    bench-results/lighthouse.json;
 *  - keys (keys.ts): the key bundle's Argon2id seal against the PBKDF2 seal it replaced, in a page
 *    and in the app's Web Worker; writes bench-results/keys.json;
 *  - casepkg (casepkg.ts): peak memory building a 5 GiB case package against a small one, with
 *    the browser worker's shared builder in Node; both verified; writes bench-results/casepkg.json.
 *  - redaction (redaction.ts): a redacted copy of a 5-minute 720p 30 fps clip with two regions
 *    keyed every second, made in the app: time as a ratio to the clip's duration, and peak
 *    memory; writes bench-results/redaction.json (`--quick`: a 1-minute clip; `--large`: also a
 *    ~1 GiB high-bitrate clip of the same length, its peak renderer memory as a ratio to the first's).
 *  - detection (detection.ts): one pass of the face finder on the demo photos of face-api at
 *    960 px, on TensorFlow.js's WebAssembly backend against its plain JavaScript one, at input
 *    sizes 608 and 416; writes bench-results/detection.json.
 *  - facepass (redaction.ts `runFacePass`): issue 22's "blur every face in a 5-minute video": a
 *    5-minute 720p 30 fps clip panning over face-api's demo photos, made in the app: "Find faces in
 *    the whole video" at the default step, every face found added, "Make redacted copy"; the pass's
 *    and the copy's times as ratios to the clip's duration, frames looked at, tracks found, and the
 *    total in minutes; writes bench-results/facepass.json.
 *  - scale (scale.ts): issue 24's baseline: a synthetic agency (a sample made through the API,
 *    the rest bulk-written into the local D1 and audit Durable Object files at the real rows'
 *    shapes): bytes per item, per case and per audit event, each object's size extrapolated to
 *    ten years of a 500-investigator agency against the 10 GB cap, and the latency of four queries
 *    against the same queries on the nearly empty deployment; writes bench-results/scale.json
 *    (`--scale 0.2` smaller, `--scale 3` larger; 1: 300 cases, 100 000 items, ~950 000 events).
 * Flags: `--only crypto`, `--only upload`, `--only playback`, `--only lighthouse`, `--only keys`, `--only casepkg`, `--only redaction`, `--only detection`, `--only facepass` or `--only scale` (during development; `--only drop` runs just the
 * upload section's connection drop and prints its figures, `--only first-part` just its 1 GiB
 * upload, plain and encrypted, with the time from choosing the file to its first part stored), `--keep` (leave the upload
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
const { runKeys } = await import("./keys.ts");
const { runPlayback } = await import("./playback.ts");
const { runCasePackage } = await import("./casepkg.ts");
const { runRedaction, runFacePass } = await import("./redaction.ts");
const { runDetection } = await import("./detection.ts");
const { runScale } = await import("./scale.ts");

const { values } = parseArgs({ options: { only: { type: "string" }, keep: { type: "boolean", default: false }, quick: { type: "boolean", default: false }, large: { type: "boolean", default: false }, sizes: { type: "string" }, scale: { type: "string" } } });
const sizes = values.sizes?.split(",").map(Number);
if (sizes?.some((mib) => !Number.isInteger(mib) || mib <= 0)) {
  console.error("--sizes takes sizes in MiB, comma-separated: --sizes 64,512");
  process.exit(2);
}
const scale = values.scale === undefined ? undefined : Number(values.scale);
if (scale !== undefined && !(scale > 0 && scale <= 100)) {
  console.error("--scale takes a factor above 0 (1: 300 cases, 100 000 items): --scale 0.2");
  process.exit(2);
}
const sections: Record<string, () => Promise<number>> = {
  crypto: () => runCrypto(),
  upload: () => runUpload({ keep: values.keep, quick: values.quick }),
  playback: () => runPlayback({ keep: values.keep, quick: values.quick, ...(sizes ? { sizes } : {}) }),
  lighthouse: () => runLighthouse(),
  keys: () => runKeys(),
  casepkg: () => runCasePackage(),
  redaction: () => runRedaction({ keep: values.keep, quick: values.quick, large: values.large }),
  detection: () => runDetection(),
  facepass: () => runFacePass({ keep: values.keep }),
  scale: () => runScale({ keep: values.keep, ...(scale ? { scale } : {}) }),
};
/** Parts of a section, run only when asked for by name. */
const partial: Record<string, () => Promise<number>> = {
  drop: () => runUpload({ keep: values.keep, quick: values.quick, only: "b" }),
  "first-part": () => runUpload({ keep: values.keep, quick: values.quick, only: "a" }),
};
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
