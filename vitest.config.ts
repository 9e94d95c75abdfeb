import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";

/**
 * Projects, all run by `npm test`:
 * - unit: plain Node (shared/ libraries, tools);
 * - worker: the API inside the Workers runtime (workerd) with real local D1, R2 and
 *   Durable Objects, the D1 migrations applied before each file;
 * - worker-deno: the same API test files against the Deno server (deno/), one per file, over
 *   HTTP, its SQLite and data folder read directly (tests/worker/backend.ts says how), and the
 *   Deno host's own tests (tests/deno: killed during writes, tampered on disk);
 * - crypto-workers, crypto-browser: the same evidence-crypto suite (tests/unit/crypto) again
 *   inside workerd and inside headless Debian Chromium, so shared/crypto is proven on every
 *   runtime it ships to (node-only test files are left out, see CRYPTO_NODE_ONLY);
 * - e2e: Debian's Chromium (playwright-core) against the server `npm start` runs;
 * - e2e-deno: the evidence and video end-to-end tests again (the site agent, on Node and on Deno,
 *   and the video pages in Chromium), against `npm run start:deno`.
 */

/** Debian's Chromium (no Playwright browser download), with the flags used everywhere in tests. */
const CHROMIUM = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
};

const CRYPTO_TESTS = "tests/unit/crypto/*.test.ts";
const cryptoTestDir = new URL("./tests/unit/crypto/", import.meta.url);
/** Crypto test files that only make sense in Node: package.test.ts, and any file importing a `node:` module. */
/**
 * Not in workerd: the key bundle's Argon2id runs in the browser only (a Web Worker), on
 * hash-wasm, and workerd forbids compiling WebAssembly at run time. Node and Chromium run it.
 */
const CRYPTO_BROWSER_ONLY = ["tests/unit/crypto/key-bundle.test.ts"];
const CRYPTO_NODE_ONLY = [
  "tests/unit/crypto/package.test.ts",
  ...readdirSync(cryptoTestDir)
    .filter((name) => name.endsWith(".test.ts"))
    .filter((name) => /\bfrom\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/.test(readFileSync(new URL(name, cryptoTestDir), "utf8")))
    .map((name) => `tests/unit/crypto/${name}`),
];

/** The API tests: run by both the `worker` and the `worker-deno` project, each with its own test backend. */
const API_TESTS = "tests/worker/**/*.test.ts";
const TEST_BACKEND = {
  workers: fileURLToPath(new URL("./tests/worker/backend-workers.ts", import.meta.url)),
  deno: fileURLToPath(new URL("./tests/worker/backend-deno.ts", import.meta.url)),
};

/** The data key (the DATA_KEY Workers secret; docs/security.md, "Secrets at rest") for the tests inside workerd: a fresh one per run. */
const TEST_DATA_KEY = randomBytes(32).toString("base64");

const workersRuntime = () =>
  cloudflareTest(async () => ({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      // OIDC_ALLOW_LOOPBACK: the tests' OpenID providers run on 127.0.0.1 (the development setting, docs/security.md).
      // TRUST_CF_CONNECTING_IP: the API tests play Cloudflare's edge: the CF-Connecting-IP a test sends is the client's
      // address, as on a deployment (`npm run deploy`). backend.withLocalDefaults() runs without it.
      // AUDIT_PERIOD_BITS: audit log periods of 8 events (docs/audit.md, "How the log grows"), so every API test's
      // trail spans several periods and is sealed as it grows.
      bindings: {
        TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        DATA_KEY: TEST_DATA_KEY,
        OIDC_ALLOW_LOOPBACK: "1",
        TRUST_CF_CONNECTING_IP: "true",
        AUDIT_PERIOD_BITS: "3", // the same for Deno: tests/worker/backend-deno.ts
      },
    },
  }));

/**
 * With two files at a time on two cores, a CPU-bound test can take a few times its quiet duration:
 * the time limit guards against hangs, it is not a speed check (those are in `npm run bench`).
 * Projects do not inherit the root's test options, so each sets it.
 */
const HANG_GUARD = 30_000;

export default defineConfig({
  test: {
    // Vitest's default is one worker per core less one: a single worker on a 2-core machine, so
    // every file would wait for the one before it. The API and unit files spend much of their time
    // waiting on workerd, Deno and Chromium processes, so two at a time use both cores. The e2e
    // projects still run one file at a time (fileParallelism: false), after the others.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default", "./tests/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: HANG_GUARD,
          hookTimeout: 2 * HANG_GUARD,
        },
      },
      {
        plugins: [workersRuntime()],
        resolve: { alias: { "#test-backend": TEST_BACKEND.workers } },
        test: {
          name: "worker",
          include: [API_TESTS],
          setupFiles: ["./tests/worker/setup.ts"],
          testTimeout: HANG_GUARD,
          hookTimeout: 2 * HANG_GUARD,
          // OpenID providers (oidc-provider and a fake one for crafted tokens) run in Node for the API tests.
          globalSetup: ["./tests/support/oidc-global-setup.ts", "./tests/support/tsa-global-setup.ts", "./tests/support/smtp-global-setup.ts", "./tests/support/geocoder-global-setup.ts"],
        },
      },
      {
        resolve: { alias: { "#test-backend": TEST_BACKEND.deno } },
        test: {
          name: "worker-deno",
          include: [API_TESTS, "tests/deno/**/*.test.ts"],
          environment: "node",
          setupFiles: ["./tests/worker/setup-deno.ts"],
          testTimeout: HANG_GUARD,
          hookTimeout: 60_000,
          globalSetup: ["./tests/support/oidc-global-setup.ts", "./tests/support/tsa-global-setup.ts", "./tests/support/smtp-global-setup.ts", "./tests/support/geocoder-global-setup.ts"],
        },
      },
      {
        plugins: [workersRuntime()],
        test: {
          name: "crypto-workers",
          testTimeout: HANG_GUARD,
          hookTimeout: 2 * HANG_GUARD,
          include: [CRYPTO_TESTS],
          exclude: [...CRYPTO_NODE_ONLY, ...CRYPTO_BROWSER_ONLY],
        },
      },
      {
        // Pre-bundle the libraries up front: discovering them mid-run makes Vite reload the page.
        // @vladmandic/face-api and mediabunny: the face finder's Worker and the tracker's video frames (tests/browser).
        optimizeDeps: { include: ["jose", "hash-wasm", "@vladmandic/face-api", "mediabunny"] },
        test: {
          name: "crypto-browser",
          testTimeout: HANG_GUARD,
          hookTimeout: 2 * HANG_GUARD,
          // tests/browser: browser-only crypto (hash-wasm needs run-time WebAssembly, which workerd forbids),
          // and the redaction editors' face finder and region tracker (Workers, OffscreenCanvas).
          include: [CRYPTO_TESTS, "tests/browser/**/*.test.ts"],
          exclude: CRYPTO_NODE_ONLY,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: CHROMIUM }),
            instances: [{ browser: "chromium" }],
          },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e-deno",
          // Against the Deno server: the evidence flows (upload, resume, playback, tamper, confidentiality of
          // everything stored), and video requests (the real agent's live connection to the site's Durable
          // Object, export, delivery, denial; the web app's video pages).
          include: ["tests/e2e/evidence.test.ts", "tests/e2e/agent.test.ts", "tests/e2e/video-ui.test.ts"],
          environment: "node",
          env: { CUSTODY_E2E_RUNTIME: "deno" },
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
