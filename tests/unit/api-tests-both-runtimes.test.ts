import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const dir = resolve(import.meta.dirname, "../worker");
/** The one file that may reach into the Workers runtime: the workerd side of the test backend (and its type declarations). */
const WORKERS_ONLY = new Set(["backend-workers.ts", "env.d.ts"]);

describe("the API tests run on both runtimes (workerd and the Deno server)", () => {
  it("reach the server only through tests/worker/backend.ts, never through cloudflare:test or cloudflare:workers", () => {
    const offenders = readdirSync(dir)
      .filter((name) => name.endsWith(".ts") && !WORKERS_ONLY.has(name))
      .filter((name) => /["']cloudflare:(test|workers)["']/.test(readFileSync(join(dir, name), "utf8")));
    expect(offenders, "use `call`, and `db`/`bucket`/`backend` from ./backend, instead: see tests/worker/backend.ts").toEqual([]);
  });
});
