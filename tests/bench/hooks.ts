/**
 * Module hooks for `npm run bench` (plain `node`, no test runner), installed by run.ts before
 * anything else is loaded:
 *
 * 1. tests/e2e/*.ts load as they are: their extensionless relative imports resolve to `.ts`, and
 *    TypeScript outside node_modules is transformed, not only stripped (harness.ts has parameter
 *    properties, which Node's default type stripping refuses).
 *
 * 2. Playwright stops asking Chromium for every request body. Its network manager enables the
 *    CDP Network domain with no `maxPostDataSize`, so Chromium copies each request body, base64,
 *    into the `Network.requestWillBeSent` event: for 8 MiB part uploads that cut the page's
 *    upload throughput about 15× here (8 vs 110–127 MiB/s for the same XHR PUTs with and
 *    without it, same machine), a cost of the instrument, not of the app. The bench has it
 *    enable the domain with `maxPostDataSize` = 256 KiB (JSON bodies are still seen whole); part
 *    bodies are then counted by length, not copied. In memory only, for this process; the file
 *    in node_modules is untouched. If playwright-core's code changes, this fails loudly.
 */
import { readFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

export const MAX_POST_DATA_SIZE = 256 * 1024;
const PLAYWRIGHT_NETWORK_ENABLE = /session\.send\("Network\.enable"\),(\s*)this\._updateProtocolRequestInterceptionForSession\(/;

let installed = false;

export function installHooks(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
    if (String(warning).includes("stripTypeScriptTypes")) return; // experimental, and used on purpose
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (error) {
        if (/^\.\.?\//.test(specifier) && !/\.[cm]?[jt]sx?$/.test(specifier)) return next(`${specifier}.ts`, context);
        throw error;
      }
    },
    load(url, context, next) {
      if (url.endsWith("/node_modules/playwright-core/lib/coreBundle.js")) {
        const loaded = next(url, context);
        const source = String(loaded.source ?? "");
        if (!PLAYWRIGHT_NETWORK_ENABLE.test(source)) {
          throw new Error("tests/bench/hooks.ts: playwright-core's CRNetworkManager no longer enables Network as expected; update the patch");
        }
        const patched = source.replace(
          PLAYWRIGHT_NETWORK_ENABLE,
          (_, space: string) => `session.send("Network.enable", { maxPostDataSize: ${MAX_POST_DATA_SIZE} }),${space}this._updateProtocolRequestInterceptionForSession(`,
        );
        return { ...loaded, source: patched, shortCircuit: true };
      }
      if (url.startsWith("file:") && url.endsWith(".ts") && !url.includes("/node_modules/")) {
        const source = readFileSync(fileURLToPath(url), "utf8");
        return { format: "module", source: stripTypeScriptTypes(source, { mode: "transform", sourceUrl: url }), shortCircuit: true };
      }
      return next(url, context);
    },
  });
}
