/**
 * Lets a Node script import shared/ (written for bundlers: extensionless imports, TypeScript
 * parameter properties, which plain `node file.ts` does not load). Import this module first,
 * then load shared/ with a dynamic `import()`: "./x" resolves to "./x.ts" and the project's .ts
 * files are transformed (not just stripped), for this process only.
 */
import { readFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(import.meta.dirname, "..");
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning instanceof Error ? warning.message : warning).includes("stripTypeScriptTypes")) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!/^\.\.?\//.test(specifier) || /\.[cm]?[jt]s$/.test(specifier)) throw error;
      return nextResolve(`${specifier}.ts`, context);
    }
  },
  load(url, context, nextLoad) {
    if (!url.startsWith("file:") || !url.endsWith(".ts") || url.includes("/node_modules/")) return nextLoad(url, context);
    const path = fileURLToPath(url);
    if (!path.startsWith(root)) return nextLoad(url, context);
    const source = stripTypeScriptTypes(readFileSync(path, "utf8"), { mode: "transform", sourceUrl: url });
    return { format: "module", source, shortCircuit: true };
  },
});

