/**
 * The Python recipes of docs/evidence-format.md §7 (7.1 to 7.3) and docs/audit.md §8.1 run exactly as written
 * (with python3 and its `cryptography` module, scripts/system-deps.ts) and print what the docs say.
 * A recipe is a fenced block whose info string is `python recipe <vector file>`, followed by
 * "It prints:" and a `text` block with its exact output. Each runs in a fresh folder holding only
 * that vector file, under its own name, as the docs tell a reader to run it.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const run = promisify(execFile);
const RECIPE = /^```python recipe (\S+)\n([\s\S]*?)^```\n\nIt prints:\n\n```text\n([\s\S]*?)^```$/gm;

interface Recipe {
  doc: string;
  vector: string;
  code: string;
  output: string;
}

function recipes(doc: string): Recipe[] {
  const text = readFileSync(new URL(doc, root), "utf8");
  const found = [...text.matchAll(RECIPE)].map((m) => ({ doc, vector: m[1]!, code: m[2]!, output: m[3]! }));
  // Every block marked as a recipe must be one the pattern above reads (none silently skipped).
  expect(found.length, `${doc}: recipe blocks`).toBe(text.split("\n```python recipe ").length - 1);
  return found;
}

/**
 * Debian's python3 with its python3-cryptography (what the docs name, and scripts/system-deps.ts
 * installs), and also the python3 a reader finds first on PATH when that is another one and has
 * the module too (pyenv's, say).
 */
const onPath = (process.env.PATH ?? "").split(":").map((dir) => join(dir, "python3")).find((p) => existsSync(p));
const canImport = (python: string, modules: string[]) => spawnSync(python, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0;
/** The top-level modules a recipe imports (the PATH python3 runs it only when it has them all). */
const modulesOf = (code: string) => [...new Set([...code.matchAll(/^(?:from|import) ([A-Za-z_]\w*)/gm)].map((m) => m[1]!))];
const interpretersFor = (recipe: Recipe) => [
  "/usr/bin/python3",
  ...(onPath && realpathSync(onPath) !== realpathSync("/usr/bin/python3") && canImport(onPath, modulesOf(recipe.code)) ? [onPath] : []),
];

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes the recipe and its vector (as given, or changed by `tamper`) to a fresh folder and runs it. */
async function runRecipe(recipe: Recipe, python: string, tamper?: (vector: Record<string, unknown>) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "custody-recipe-"));
  dirs.push(dir);
  const vector = JSON.parse(readFileSync(new URL(recipe.vector, root), "utf8")) as Record<string, unknown>;
  tamper?.(vector);
  writeFileSync(join(dir, basename(recipe.vector)), JSON.stringify(vector, null, 2));
  writeFileSync(join(dir, "recipe.py"), recipe.code);
  try {
    const { stdout, stderr } = await run(python, ["recipe.py"], { cwd: dir, timeout: 30_000, env: { ...process.env, PYTHONIOENCODING: "utf-8" } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const flipHex = (hex: string): string => (hex[0] === "0" ? "1" : "0") + hex.slice(1);

/** One change per vector that its recipe must catch. */
const TAMPER: Record<string, (v: any) => void> = {
  "shared/crypto/test-vector.json": (v) => (v.parts[0].ciphertextHex = flipHex(v.parts[0].ciphertextHex)),
  "shared/crypto/test-vector-2.json": (v) => (v.parts[1].lastHex = flipHex(v.parts[1].lastHex)),
  "shared/crypto/key-bundle-vector.json": (v) => (v.passphrase = v.passphrase + "!"),
  "shared/audit/test-vector.json": (v) => (v.consistency.proof[1] = flipHex(v.consistency.proof[1])),
};

const all = [...recipes("docs/evidence-format.md"), ...recipes("docs/audit.md")];

describe("the docs' Python recipes run as written", () => {
  it("finds the recipes: the two evidence vectors, the key bundle vector and the audit vector", () => {
    expect(all.map((r) => `${r.doc} ${r.vector}`)).toEqual([
      "docs/evidence-format.md shared/crypto/test-vector.json",
      "docs/evidence-format.md shared/crypto/test-vector-2.json",
      "docs/evidence-format.md shared/crypto/key-bundle-vector.json",
      "docs/audit.md shared/audit/test-vector.json",
    ]);
  });

  for (const recipe of all) {
    const interpreters = interpretersFor(recipe);
    it(`${recipe.doc} (${recipe.vector}) exits 0 printing what the doc says, with ${interpreters.join(" and ")}; and fails on a changed vector`, async () => {
      const results = await Promise.all([...interpreters.map((p) => runRecipe(recipe, p)), runRecipe(recipe, interpreters[0]!, TAMPER[recipe.vector])]);
      const tampered = results.pop()!;
      for (const [i, r] of results.entries()) {
        expect(r.stderr, interpreters[i]).toBe("");
        expect({ code: r.code, stdout: r.stdout }, interpreters[i]).toEqual({ code: 0, stdout: recipe.output });
      }
      expect(tampered.code).not.toBe(0);
      expect(tampered.stdout).not.toContain("OK");
    }, 60_000);
  }
});
