/**
 * The module graph of the web app (web/src) and of the API (worker/src): no import cycles, and
 * the web app's parts keep to their own folders (ARCHITECTURE.md, "Web app layout";
 * CONVENTIONS.md, "Feature folders").
 *
 * Every .ts/.tsx file is parsed with TypeScript's own parser, and each of these counts as an
 * edge to the file it names: `import … from`, `import type … from`, `export … from`,
 * side-effect `import "…"`, dynamic `import("…")`, type-level `import("…").X`, and
 * `new URL("…", import.meta.url)` (how a Web Worker is started). Type-only imports count too: a
 * cycle through types is still two modules that cannot be read (or moved) one without the other.
 * Only relative specifiers are followed; Vite's `?worker`, `?url`, `?raw` suffixes are dropped;
 * a specifier may name the file with or without its extension, or a folder's index. Anything
 * that is not a script (CSS, JSON, images) is not a node. A relative import that resolves to
 * nothing fails the test, so a resolver gap cannot hide a cycle.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = /\.tsx?$/;

/** Every .ts/.tsx file under `dir` (declaration files left out), as paths relative to the repo. */
function scripts(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...scripts(path));
    else if (SCRIPT.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** The module specifiers a file names, in source order. */
function specifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "URL" &&
      node.arguments?.length === 2 &&
      /^import\.meta\.url$/.test(node.arguments[1]!.getText(source))
    )
      literal(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The script a relative specifier names, relative to the repo; null for a non-script (CSS…); throws when nothing is there. */
function resolveSpecifier(from: string, specifier: string): string | null {
  const bare = specifier.replace(/\?.*$/, "");
  const base = join(dirname(join(ROOT, from)), bare);
  const candidates = [base, base.replace(/\.js$/, ".ts"), base.replace(/\.jsx$/, ".tsx"), `${base}.ts`, `${base}.tsx`, join(base, "index.ts"), join(base, "index.tsx")];
  for (const candidate of candidates) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return SCRIPT.test(candidate) && !candidate.endsWith(".d.ts") ? relative(ROOT, candidate) : null;
  }
  throw new Error(`${from}: cannot resolve "${specifier}"`);
}

type Graph = Map<string, string[]>;

/** Files under `roots` and their relative imports (edges leaving the roots are kept as targets, never followed). */
function graphOf(roots: string[]): Graph {
  const graph: Graph = new Map();
  for (const file of roots.flatMap(scripts)) {
    const targets = specifiers(file, readFileSync(join(ROOT, file), "utf8"))
      .filter((s) => s.startsWith("."))
      .map((s) => resolveSpecifier(file, s))
      .filter((target): target is string => target !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * The graph's cycles, each as a closed path (a → b → … → a): Tarjan's algorithm finds the
 * strongly connected components (more than one file, or a file importing itself), then for every
 * file of a component a shortest cycle through it is named (so a knot of five files is reported
 * as the few cycles it is made of, not as one list).
 */
function cyclesOf(graph: Graph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) strongConnect(v);
  const cycles = new Map<string, string[]>();
  for (const component of components) {
    const members = new Set(component);
    for (const start of component) {
      const cycle = shortestCycle(graph, members, start);
      // One entry per cycle, however many of its files it was found from: rotated to start at its first file.
      const first = cycle.indexOf([...cycle].sort()[0]!);
      const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
      cycles.set(rotated.join("\0"), [...rotated, rotated[0]!]);
    }
  }
  return [...cycles.values()];
}

/** A shortest closed path from `start` back to it, within `members` (breadth-first); its files, `start` first, not repeated at the end. */
function shortestCycle(graph: Graph, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let at = v; at !== start; at = previous.get(at)!) path.unshift(at);
        return [start, ...path];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

const WEB = "web/src";

/**
 * The web app's part a file belongs to: its first folder under web/src (`cases`, `video`, …);
 * "ui" and "api" are the building blocks; a file directly in web/src (app.tsx, shell.tsx,
 * main.tsx, sw.ts, db.ts) belongs to no part.
 */
function partOf(file: string): string | null {
  const rest = file.slice(WEB.length + 1).split("/");
  return rest.length > 1 ? rest[0]! : null;
}

const BUILDING_BLOCKS = new Set(["ui", "api"]);
/** The files that compose the parts into the app: they may import any part's screens. */
const COMPOSITION = new Set([`${WEB}/app.tsx`, `${WEB}/shell.tsx`, `${WEB}/main.tsx`]);
/** A screen: a part's file named for the page it shows, `…Page.tsx` (inside the app) or `…Screen.tsx` (before it). */
const SCREEN_FILE = /(Page|Screen)\.tsx$/;
/** A component module (.tsx) that exports a page or screen (`export function CasesPage`, `export const SignInScreen`). */
const EXPORTS_SCREEN = /^export\s+(?:async\s+)?(?:function|const|class)\s+\w+(?:Page|Screen)\b/m;

/**
 * Where the web app's modules may reach, beyond "no cycles". The rule that no module imports
 * another part's screen to reach a helper, in a form a test can hold:
 * - A part's screens are its `…Page.tsx` / `…Screen.tsx` files, and a part's .tsx file that
 *   exports a page or screen component must be named so (so the rule cannot be dodged by a file
 *   name, and `ls` tells a folder's screens from its other modules). `ui/placeholder.tsx`'s
 *   generic pages (not found, no access) are building blocks, not a part's screens.
 * - Only the composition (app.tsx, shell.tsx, main.tsx) and the screen's own part import a
 *   screen. A helper another part needs moves out of the screen: to a plain module of its part
 *   (like `video/format.ts`), or into `ui/`. A part may still import another part's plain
 *   modules (its API calls, state, labels) and its components that are not screens (the upload
 *   list on a case page, the inbox count in the menu): those are what it offers the others.
 * - The building blocks (`ui/`, `api/`) and db.ts import no part and no composition file: they
 *   sit under every part, so nothing in them can close a cycle through a part.
 * `exportsScreen` tells whether a file's source exports a page or screen component.
 */
function layoutViolations(graph: Graph, exportsScreen: (file: string) => boolean): string[] {
  const problems: string[] = [];
  const isBlock = (file: string) => file === `${WEB}/db.ts` || BUILDING_BLOCKS.has(partOf(file) ?? "");
  const isScreen = (file: string) => partOf(file) !== null && !isBlock(file) && SCREEN_FILE.test(file);
  for (const [file, targets] of graph) {
    if (!file.startsWith(`${WEB}/`)) continue;
    const part = partOf(file);
    if (part !== null && !isBlock(file) && file.endsWith(".tsx") && !SCREEN_FILE.test(file) && exportsScreen(file)) problems.push(`${file} exports a page or screen, but is not named …Page.tsx or …Screen.tsx`);
    for (const target of targets) {
      if (!target.startsWith(`${WEB}/`)) continue;
      if (isBlock(file) && !isBlock(target)) problems.push(`${file} is a building block but imports ${target}`);
      else if (!COMPOSITION.has(file) && isScreen(target) && partOf(target) !== part) problems.push(`${file} imports ${target}, a screen of ${partOf(target)}/`);
    }
  }
  return problems;
}

describe("module graph", () => {
  const graph = graphOf([WEB, "worker/src"]);

  it("reads the files and follows their imports", () => {
    // A sanity floor: the walk found both trees and their edges (an empty graph has no cycles either).
    expect([...graph.keys()].filter((f) => f.startsWith(`${WEB}/`)).length).toBeGreaterThan(40);
    expect([...graph.keys()].filter((f) => f.startsWith("worker/src/")).length).toBeGreaterThan(40);
    expect(graph.get(`${WEB}/main.tsx`)).toContain(`${WEB}/app.tsx`);
  });

  it("has no import cycles in web/src or worker/src", () => {
    const cycles = cyclesOf(graph).map((cycle) => cycle.join(" → "));
    expect(cycles, `import cycles:\n${cycles.join("\n")}`).toEqual([]);
  });

  it("keeps each web part to its own screens, and the building blocks below every part", () => {
    const exportsScreen = (file: string) => EXPORTS_SCREEN.test(readFileSync(join(ROOT, file), "utf8"));
    expect(layoutViolations(graph, exportsScreen)).toEqual([]);
  });
});

describe("the checks themselves", () => {
  it("finds every kind of import", () => {
    const text = [
      `import a from "./a";`,
      `import type { B } from "./b";`,
      `export { c } from "./c";`,
      `export * from "./d";`,
      `import "./e.css";`,
      `const f = await import("./f");`,
      `let g: typeof import("./g");`,
      `type H = import("./h").H;`,
      `const w = new Worker(new URL("./w.worker.ts", import.meta.url));`,
      `import W from "./x?worker";`,
      `const s = "./not-an-import";`,
      `// import z from "./commented";`,
    ].join("\n");
    expect(specifiers("t.ts", text)).toEqual(["./a", "./b", "./c", "./d", "./e.css", "./f", "./g", "./h", "./w.worker.ts", "./x?worker"]);
  });

  it("names a cycle's files in order, and passes a graph without one", () => {
    const graph: Graph = new Map([
      ["a", ["b"]],
      ["b", ["c", "d"]],
      ["c", ["a"]],
      ["d", ["b"]],
      ["e", ["e"]],
    ]);
    expect(cyclesOf(graph)).toEqual([["a", "b", "c", "a"], ["b", "d", "b"], ["e", "e"]]);
    expect(cyclesOf(new Map([["a", ["b"]], ["b", []]]))).toEqual([]);
  });

  it("flags a part importing another part's screen, a screen in disguise, and a building block importing a part", () => {
    const graph: Graph = new Map([
      [`${WEB}/app.tsx`, [`${WEB}/cases/CasesPage.tsx`, `${WEB}/video/RequestsPage.tsx`]],
      [`${WEB}/video/RequestsPage.tsx`, [`${WEB}/cases/CasesPage.tsx`, `${WEB}/cases/api.ts`, `${WEB}/video/format.ts`]],
      [`${WEB}/video/format.ts`, []],
      [`${WEB}/video/SitesPage.tsx`, [`${WEB}/video/RequestsPage.tsx`]],
      [`${WEB}/cases/CasesPage.tsx`, [`${WEB}/ui/forms.tsx`, `${WEB}/cases/Sneaky.tsx`]],
      [`${WEB}/cases/Sneaky.tsx`, []],
      [`${WEB}/ui/forms.tsx`, [`${WEB}/cases/api.ts`]],
      [`${WEB}/cases/api.ts`, []],
    ]);
    expect(layoutViolations(graph, (file) => file.endsWith("Page.tsx") || file.endsWith("Sneaky.tsx"))).toEqual([
      `${WEB}/video/RequestsPage.tsx imports ${WEB}/cases/CasesPage.tsx, a screen of cases/`,
      `${WEB}/cases/Sneaky.tsx exports a page or screen, but is not named …Page.tsx or …Screen.tsx`,
      `${WEB}/ui/forms.tsx is a building block but imports ${WEB}/cases/api.ts`,
    ]);
  });
});
