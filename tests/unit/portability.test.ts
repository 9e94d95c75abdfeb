import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|js|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g;
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

describe("worker/ and shared/ use web-standard APIs only (they must run on Workers and Deno)", () => {
  const files = [...sourceFiles(join(root, "worker/src")), ...sourceFiles(join(root, "shared"))];

  it("finds the sources", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it("imports no Node built-in module", () => {
    const offenders = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(IMPORT)]
        .map((m) => m[1] ?? m[2] ?? m[3] ?? "")
        .filter((specifier) => builtins.has(specifier) || specifier.startsWith("node:"))
        .map((specifier) => `${relative(root, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it("uses no Node-only global", () => {
    const offenders = files.flatMap((file) =>
      /\b(Buffer|process|__dirname|__filename)\b\s*[.([]/.test(readFileSync(file, "utf8")) ? [relative(root, file)] : [],
    );
    expect(offenders).toEqual([]);
  });
});

describe("agent/ reaches the machine only through its platform layer (so it runs on Node and Deno)", () => {
  const files = sourceFiles(join(root, "agent")).filter((file) => !file.endsWith("/platform.ts"));

  it("imports no Node built-in module outside agent/platform.ts", () => {
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(IMPORT)]
        .map((m) => m[1] ?? m[2] ?? m[3] ?? "")
        .filter((specifier) => builtins.has(specifier) || specifier.startsWith("node:"))
        .map((specifier) => `${relative(root, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it("uses no Node-only global outside agent/platform.ts", () => {
    const offenders = files.flatMap((file) => (/\b(Buffer|process|__dirname|__filename)\b\s*[.([]/.test(readFileSync(file, "utf8")) ? [relative(root, file)] : []));
    expect(offenders).toEqual([]);
  });
});
