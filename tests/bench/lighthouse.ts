/**
 * `npm run bench`, lighthouse section: Lighthouse (the npm package, its Node API) on Debian's
 * Chromium, mobile emulation (Lighthouse's default: a mid-range phone's screen and simulated
 * slow 4G with a 4× slower CPU), against the local server run exactly as `npm start` runs it
 * (tests/e2e/harness.ts). Scores for performance, accessibility and best practices of:
 *  - the signed-in case list (`/cases`): set up through the UI first (flows.ts), keys on the
 *    device, a case; Lighthouse opens it in the same browser and profile, storage kept, so the
 *    page is the installed app as a user opens it (service worker and all);
 *  - the sign-in screen, as a first visit (Lighthouse clears the origin's storage first);
 *  - a BASELINE in the same run, browser and settings: an empty HTML page from a plain local
 *    HTTP server, the floor of what the lab metrics can be here. The app's metrics are quoted
 *    as ratios to it.
 * Prints a table and writes bench-results/lighthouse.json. Figures only: nothing passes or fails
 * on them. Runs with no network at all (Lighthouse needs none for these categories).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./probe.ts";

const root = resolve(import.meta.dirname, "../..");
const CATEGORIES = ["performance", "accessibility", "best-practices"] as const;
const METRICS = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index", "interactive"] as const;

interface Audited {
  url: string;
  scores: Record<(typeof CATEGORIES)[number], number | null>;
  metrics: Record<(typeof METRICS)[number], number | null>;
  /** Audits below full marks in accessibility and best practices, to act on. */
  failing: { category: string; id: string; title: string }[];
  runWarnings: string[];
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const { freePort: find } = await import("../e2e/harness.ts");
  return find();
}

/** An empty page on a plain HTTP server: the baseline. */
function emptyPageServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Empty</title><meta name="description" content="Baseline"></head><body><p>Empty page.</p></body></html>');
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/` });
  }));
}

export async function runLighthouse(): Promise<number> {
  const started = Date.now();
  const loadAtStart = loadavg();
  const { default: lighthouse } = await import("lighthouse");
  const { CustodyServer } = await import("../e2e/harness.ts");
  const flows = await import("../e2e/flows.ts");
  const profile = await mkdtemp(join(tmpdir(), "custody-bench-lighthouse-"));
  const server = await CustodyServer.start();
  const baseline = await emptyPageServer();
  const port = await freePort();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--remote-debugging-port=${port}`],
    headless: true,
    baseURL: server.url,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    console.log(`Server ${server.url}; setting up through the UI (organisation, TOTP, keys, a case)…`);
    await flows.setUpThroughUi(page);
    await flows.createKeys(page, flows.ADMIN.keyPassphrase);
    await flows.expectSignedIn(page);
    await page.getByRole("button", { name: "New case" }).click();
    const form = page.getByRole("form", { name: "New case" });
    await form.getByLabel("Case number").fill("LH-1");
    await form.getByLabel("Title").fill("Lighthouse");
    await form.getByRole("button", { name: "Create case" }).click();
    await flows.visible(page.getByRole("heading", { name: "Lighthouse", level: 1 }));
    await page.goto("/cases");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });

    const audit = async (url: string, keepStorage: boolean): Promise<Audited> => {
      const result = await lighthouse(url, { port, output: "json", logLevel: "error", onlyCategories: [...CATEGORIES], disableStorageReset: keepStorage });
      if (!result) throw new Error(`Lighthouse returned nothing for ${url}`);
      const { lhr } = result;
      if (lhr.runtimeError) throw new Error(`Lighthouse could not audit ${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
      const failing = (["accessibility", "best-practices"] as const).flatMap((category) =>
        (lhr.categories[category]?.auditRefs ?? [])
          .filter((ref) => ref.weight > 0 && (lhr.audits[ref.id]?.score ?? 1) < 1)
          .map((ref) => ({ category, id: ref.id, title: lhr.audits[ref.id]!.title })),
      );
      return {
        url,
        scores: Object.fromEntries(CATEGORIES.map((c) => [c, lhr.categories[c]?.score ?? null])) as Audited["scores"],
        metrics: Object.fromEntries(METRICS.map((m) => [m, lhr.audits[m]?.numericValue ?? null])) as Audited["metrics"],
        failing,
        runWarnings: lhr.runWarnings,
      };
    };

    console.log("Lighthouse: the signed-in case list…");
    const cases = await audit(`${server.url}/cases`, true);
    console.log("Lighthouse: the sign-in screen, first visit (storage cleared)…");
    const signIn = await audit(`${server.url}/`, false);
    console.log("Lighthouse: baseline, an empty page…");
    const empty = await audit(baseline.url, false);

    const pct = (v: number | null) => (v === null ? "—" : String(Math.round(v * 100)));
    const ms = (v: number | null) => (v === null ? "—" : `${Math.round(v)} ms`);
    const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? "—" : (a / b).toFixed(2));
    const col = (s: string, w = 16) => s.padStart(w);
    const lines = [
      "",
      "Lighthouse (npm), Debian's Chromium, mobile emulation (Lighthouse defaults: phone screen, simulated slow 4G, 4× CPU slowdown), local server (npm start)",
      `  ${"".padEnd(28)}${col("case list¹")}${col("sign-in²")}${col("empty page³")}`,
      ...CATEGORIES.map((c) => `  ${`${c} score`.padEnd(28)}${col(pct(cases.scores[c]))}${col(pct(signIn.scores[c]))}${col(pct(empty.scores[c]))}`),
      ...METRICS.map((m) =>
        m === "cumulative-layout-shift"
          ? `  ${m.padEnd(28)}${col(String(cases.metrics[m]?.toFixed(3)))}${col(String(signIn.metrics[m]?.toFixed(3)))}${col(String(empty.metrics[m]?.toFixed(3)))}`
          : `  ${m.padEnd(28)}${col(`${ms(cases.metrics[m])} ×${ratio(cases.metrics[m], empty.metrics[m])}`)}${col(`${ms(signIn.metrics[m])} ×${ratio(signIn.metrics[m], empty.metrics[m])}`)}${col(ms(empty.metrics[m]))}`,
      ),
      `  ¹ /cases signed in, installed: its shell comes from the service worker's cache, not the network, keys on the device, storage kept;`,
      `  ² / on a first visit, storage cleared, everything from the network; ³ baseline, same browser and settings; ×: ratio to it.`,
      ...[cases, signIn].flatMap((a) => a.failing.map((f) => `  below full marks on ${new URL(a.url).pathname}: ${f.category} / ${f.id}: ${f.title}`)),
      `${cpus().length} CPUs, load average ${loadAtStart[0]!.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end. Lighthouse section done in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ];
    console.log(lines.join("\n"));
    await mkdir(join(root, "bench-results"), { recursive: true });
    await writeFile(
      join(root, "bench-results/lighthouse.json"),
      JSON.stringify({ date: new Date().toISOString(), settings: "lighthouse defaults: mobile form factor and screen emulation, simulated throttling", caseList: cases, signIn, baselineEmptyPage: empty }, null, 2) + "\n",
    );
    console.log("Wrote bench-results/lighthouse.json");
    return (Date.now() - started) / 1000;
  } catch (error) {
    console.error(`--- server log (${server.url}) ---\n${server.log.join("").slice(-20_000)}\n--- end of server log ---`);
    throw error;
  } finally {
    await context.close();
    await new Promise((done) => baseline.server.close(done));
    await server.dispose();
    await rm(profile, { recursive: true, force: true });
  }
}
